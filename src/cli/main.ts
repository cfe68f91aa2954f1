import { Command, CommanderError } from 'commander';
import { accountsCommand } from './accounts.js';
import { ApiClient, CliError, type CliProblem } from './client.js';
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

/**
 * Runs the CLI; API and usage errors become a message on stderr and a non-zero exit code. With
 * --json that message is one JSON object, `{"error": {code, title, detail, status, ...}}`, so a
 * script can tell failures apart without parsing prose.
 */
export async function runCli(argv: string[]): Promise<void> {
  const json = argv.slice(2).includes('--json');
  const program = buildCli();
  for (const command of allCommands(program)) {
    // Commander exits the process on bad usage; thrown instead, it is reported like any other error.
    command.exitOverride();
    if (json) command.configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end parsing this way too, with exit code 0.
      if (err.exitCode !== 0 && json) printError(usageProblem(err));
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof CliError) {
      if (json) printError(err.problem);
      else process.stderr.write(`${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    if (json) {
      printError({ code: 'cli_error', title: 'The command failed', detail: (err as Error).message ?? String(err), status: null });
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

function* allCommands(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* allCommands(sub);
}

function usageProblem(err: CommanderError): CliProblem {
  // A command group run without a command shows its help, which --json keeps off stderr.
  const detail = err.code === 'commander.help' ? 'A command is missing: add --help to list the commands.' : err.message.replace(/^error: /, '');
  return { code: 'invalid_usage', title: 'Invalid usage', detail, status: null };
}

function printError(problem: CliProblem): void {
  process.stderr.write(JSON.stringify({ error: problem }) + '\n');
}
