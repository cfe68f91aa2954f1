import { Command } from 'commander';
import type { ApiClient } from './client.js';
import { printFields, printJson, printTable } from './output.js';
import { requireYes } from './parse.js';

type Globals = () => { client: ApiClient; json: boolean };

/** `keyport signing-keys ...`: the keys that sign access tokens (platform owner token). */
export function signingKeysCommand(globals: Globals): Command {
  const cmd = new Command('signing-keys').description('list, rotate and withdraw the keys that sign access tokens (platform owner)');

  cmd
    .command('list')
    .description('every signing key: next, current, retired ones still published, and withdrawn ones')
    .action(async () => {
      const { client, json } = globals();
      const { items } = await client.request('GET', '/v1/signing-keys');
      if (json) return printJson({ items });
      printTable(items, [
        { key: 'kid', label: 'kid' },
        { key: 'status', label: 'status' },
        { key: 'alg', label: 'alg' },
        { key: 'activatesAt', label: 'signs from' },
        { key: 'publishedUntil', label: 'published until' },
      ]);
    });

  cmd
    .command('rotate')
    .description('add a new signing key; tokens already issued stay valid until they expire')
    .option('--immediately', 'sign with the new key at once instead of after the pre-publication delay')
    .action(async (opts: { immediately?: boolean }) => {
      const { client, json } = globals();
      const key = await client.request('POST', '/v1/signing-keys/rotate', { immediately: Boolean(opts.immediately) });
      if (json) return printJson(key);
      printFields([
        ['kid', key.kid],
        ['alg', key.alg],
        ['status', key.status],
        ['published', 'now, in /.well-known/jwks.json'],
        ['signs from', key.activatesAt],
      ]);
    });

  cmd
    .command('withdraw')
    .description('after a suspected compromise: unpublish a key and refuse every token it signed, at once')
    .argument('<kid>', 'the key to withdraw (see signing-keys list)')
    .option('-y, --yes', 'confirm: its tokens stop at once and it cannot be used again')
    .action(async (kid: string, opts: { yes?: boolean }) => {
      requireYes(opts, `Withdrawing signing key ${kid}`);
      const { client, json } = globals();
      const key = await client.request('POST', `/v1/signing-keys/${encodeURIComponent(kid)}/withdraw`);
      if (json) return printJson(key);
      printFields([
        ['kid', key.kid],
        ['status', key.status],
        ['withdrawn at', key.withdrawnAt],
        ['its tokens', 'refused (revoked) from now on'],
      ]);
      const { items } = await client.request('GET', '/v1/signing-keys');
      const current = items.find((k: { status: string }) => k.status === 'current');
      if (current) process.stdout.write(`\nSigning now with ${current.kid}. Resource servers that cache the JWKS should refetch it.\n`);
    });

  return cmd;
}
