import { Command } from 'commander';
import { accountsCommand } from './accounts.js';
import { ApiClient, CliError } from './client.js';
import { keysCommand } from './keys.js';
import { signingKeysCommand } from './signing-keys.js';
import { usageCommand } from './usage.js';
import { webhooksCommand } from './webhooks.js';
import { savedToken } from './credentials.js';
import { auditCommand, encryptionCommand, loginCommands } from './operators.js';

/**
 * The keyport command. Every command but `serve` is a thin client of the REST API: it needs the
 * server's URL (--url, KEYPORT_URL) and a token (--token, KEYPORT_TOKEN).
 */
export function buildCli(): Command {
  const program = new Command('keyport')
    .description('Keyport: API key management. Talks to a Keyport server over its REST API.')
    .option('--url <url>', 'the Keyport server', process.env.KEYPORT_URL ?? 'http://127.0.0.1:8080')
    .option('--token <token>', 'a management token (default: KEYPORT_TOKEN, then the token saved by keyport login)')
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) });

  const globals = () => {
    const opts = program.opts<{ url: string; token?: string; json?: boolean }>();
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new CliError(`--url / KEYPORT_URL '${opts.url}' is not a URL, e.g. http://127.0.0.1:8080`, 2);
    }
    const token = opts.token ?? process.env.KEYPORT_TOKEN ?? savedToken(url.toString());
    return { client: new ApiClient({ url: url.toString(), token }), json: Boolean(opts.json), url: url.toString() };
  };

  program
    .command('serve')
    .description('start a Keyport node, configured from the environment (see README)')
    .action(async () => {
      const { main } = await import('../main.js');
      await main();
    });
  program.addCommand(accountsCommand(globals));
  program.addCommand(keysCommand(globals));
  program.addCommand(signingKeysCommand(globals));
  program.addCommand(usageCommand(globals));
  program.addCommand(webhooksCommand(globals));
  for (const command of loginCommands(globals)) program.addCommand(command);
  program.addCommand(auditCommand(globals));
  program.addCommand(encryptionCommand());
  return program;
}

/** Runs the CLI; API and usage errors become a message on stderr and a non-zero exit code. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

