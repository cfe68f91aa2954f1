import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { CliError, formatProblem, type ApiClient } from './client.js';
import { savedEntry, saveToken } from './credentials.js';
import { printJson } from './output.js';
import { dateTime, integer } from './parse.js';

type Globals = () => { client: ApiClient; json: boolean; url: string };

/** Reads a password: the first line of standard input, or a prompt that does not echo on a terminal. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split('\n')[0]!.replace(/\r$/, '');
  }
  let muted = false;
  const output = new Writable({ write: (chunk, _enc, cb) => ((muted ? undefined : process.stderr.write(chunk)), cb()) });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  process.stderr.write('Password: ');
  muted = true;
  const answer = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  let res: Response;
  try {
    res = await fetch(new URL(path, url), {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new CliError(`Cannot reach Keyport at ${url}. Is it running? Set --url or KEYPORT_URL.`);
  }
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new CliError(formatProblem(res.status, parsed));
  return { body: parsed, headers: res.headers };
}

/** `keyport login` / `keyport logout`: a personal API token for this machine, saved for later commands. */
export function loginCommands(globals: Globals): Command[] {
  const login = new Command('login')
    .description('sign in as an operator; saves a personal API token for the following commands')
    .requiredOption('--email <email>', 'your operator e-mail')
    .option('--days <n>', 'how long the saved token lives', integer(1, 365), 30)
    .action(async (opts: { email: string; days: number }) => {
      const { url, json } = globals();
      const password = await readPassword();
      if (!password) throw new CliError('No password given.', 2);
      const session = await call(url, 'POST', '/v1/session', { email: opts.email, password });
      const cookie = session.headers.get('set-cookie')?.split(';')[0] ?? '';
      const headers = { cookie, 'x-csrf-token': session.body.csrfToken as string };
      const expiresAt = new Date(Date.now() + opts.days * 86_400_000).toISOString();
      const token = await call(url, 'POST', '/v1/me/tokens', { name: `CLI on ${hostname()}`, expiresAt }, headers);
      await call(url, 'DELETE', '/v1/session', undefined, headers);
      const path = saveToken(url, { token: token.body.token, id: token.body.id });
      if (json) return printJson({ operator: session.body.operator, tokenId: token.body.id, expiresAt });
      process.stdout.write(`Signed in as ${session.body.operator.email}. A personal token (until ${expiresAt.slice(0, 10)}) is saved in ${path}.\n`);
    });

  const logout = new Command('logout')
    .description('revoke and forget the token saved by login')
    .action(async () => {
      const { url } = globals();
      const saved = savedEntry(url);
      if (!saved) throw new CliError(`Not signed in to ${url}.`, 2);
      await call(url, 'DELETE', `/v1/me/tokens/${saved.id}`, undefined, { authorization: `Bearer ${saved.token}` }).catch(() => {});
      saveToken(url, null);
      process.stdout.write('Signed out: the saved token is revoked and forgotten.\n');
    });
  return [login, logout];
}

/** `keyport audit export`: the audit log as JSON lines, every page, oldest filters applied. */
export function auditCommand(globals: Globals): Command {
  const cmd = new Command('audit').description("read the audit log of an account, or the platform's");
  cmd
    .command('export')
    .description('write the audit log as JSON lines (one entry a line, newest first)')
    .option('-a, --account <account>', "the account's log")
    .option('--platform', "the platform's log: what belongs to no account (platform owner)")
    .option('--from <date>', 'entries at or after', dateTime)
    .option('--to <date>', 'entries at or before', dateTime)
    .option('--actor <actor>', 'an operator or token id, or an e-mail')
    .option('--action <action>', "an action ('key.created') or a prefix ('key')")
    .option('--key <key>', 'entries about this key')
    .action(async (opts) => {
      if (Boolean(opts.account) === Boolean(opts.platform)) throw new CliError('Name the log to export: --account <account> or --platform.', 2);
      const path = opts.platform ? '/v1/audit' : `/v1/accounts/${encodeURIComponent(opts.account)}/audit`;
      const { client } = globals();
      const params = new URLSearchParams({ limit: '500' });
      if (opts.from) params.set('from', new Date(opts.from).toISOString());
      if (opts.to) params.set('to', /^\d{4}-\d{2}-\d{2}$/.test(opts.to) ? new Date(Date.parse(opts.to) + 86_399_999).toISOString() : new Date(opts.to).toISOString());
      for (const name of ['actor', 'action', 'key'] as const) if (opts[name]) params.set(name, opts[name]);
      let count = 0;
      let cursor: string | null = null;
      do {
        if (cursor) params.set('cursor', cursor);
        const page: { items: unknown[]; nextCursor: string | null } = await client.request('GET', `${path}?${params}`);
        for (const item of page.items) process.stdout.write(JSON.stringify(item) + '\n');
        count += page.items.length;
        cursor = page.nextCursor;
        if (cursor && process.stderr.isTTY) process.stderr.write(`\r${count} entries...`);
      } while (cursor);
      if (process.stderr.isTTY) process.stderr.write(`\r${count} entries exported.\n`);
    });
  return cmd;
}

/** `keyport encryption rewrap`: runs beside the server's configuration, not over the API. */
export function encryptionCommand(): Command {
  const cmd = new Command('encryption').description('manage the key-encryption key (runs with the server\u2019s environment, not over the API)');
  cmd
    .command('rewrap')
    .description('re-encrypt stored secrets and signing keys under KEYPORT_ENCRYPTION_KEY (old keys in KEYPORT_PREVIOUS_ENCRYPTION_KEYS)')
    .action(async () => {
      const [{ loadConfig, ConfigError }, { openStorage }, { Store }, { Keyring }, { rewrapAll }] = await Promise.all([
        import('../config.js'),
        import('../storage/database.js'),
        import('../storage/repositories.js'),
        import('../domain/envelope.js'),
        import('../services/encryption-service.js'),
      ]);
      let config;
      try {
        config = loadConfig();
      } catch (err) {
        throw new CliError((err as InstanceType<typeof ConfigError>).message, 2);
      }
      if (!config.encryptionKey)
        throw new CliError('Set KEYPORT_ENCRYPTION_KEY to the new key and KEYPORT_PREVIOUS_ENCRYPTION_KEYS to the old one(s) (for a SQLite store, the old one is in encryption.key of the data directory).', 2);
      const storage = await openStorage(config.storage).catch((err: Error) => {
        throw new CliError(err.message, 2);
      });
      try {
        const keyring = new Keyring(config.encryptionKey, config.previousEncryptionKeys);
        const result = await rewrapAll(new Store(storage), keyring, (done, total) => process.stderr.write(`re-encrypted ${done} of ${total}\n`));
        process.stdout.write(`Done: ${result.rewrapped} value(s) re-encrypted under key ${keyring.current.id}, ${result.unchanged} already were. Keep the old key until every node runs with the new one.\n`);
      } catch (err) {
        throw new CliError(`Re-encryption stopped: ${(err as Error).message}. Nothing already written is lost; fix the keys and run it again.`);
      } finally {
        await storage.close();
      }
    });
  return cmd;
}
