import { Command, Option } from 'commander';
import type { Usage } from '../contract/usage.js';
import { ENVIRONMENTS } from '../domain/environment.js';
import { USAGE_GRANULARITIES, USAGE_OUTCOMES } from '../domain/verification.js';
import type { ApiClient } from './client.js';
import { CliError } from './client.js';
import { printJson, printTable } from './output.js';
import { dateTime, integer } from './parse.js';

type Globals = () => { client: ApiClient; json: boolean };

/** A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
const csvField = (value: string | number) => {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** One line per bucket: start, total, then a column per outcome (every outcome, for spreadsheets). */
function printCsv(usage: Usage): void {
  const lines = [['start', 'total', ...USAGE_OUTCOMES].join(',')];
  for (const b of usage.buckets) lines.push([b.start, b.total, ...USAGE_OUTCOMES.map((o) => b.counts[o])].map(csvField).join(','));
  process.stdout.write(lines.join('\n') + '\n');
}

/** A table of the buckets with the outcomes that occurred, then the most used keys (account-wide). */
function printUsage(usage: Usage): void {
  const seen = USAGE_OUTCOMES.filter((o) => usage.totals.counts[o] > 0);
  const columns = [{ key: 'start', label: 'start' }, { key: 'total', label: 'total' }, ...seen.map((o) => ({ key: o, label: o }))];
  printTable(usage.buckets.map((b) => ({ start: b.start, total: b.total, ...b.counts })), columns);
  process.stdout.write(`\nTotal ${usage.totals.total}${seen.map((o) => `, ${o} ${usage.totals.counts[o]}`).join('')} (${usage.from} to ${usage.to}).\n`);
  if (usage.key === null && usage.keys.length > 0) {
    process.stdout.write('\nMost used keys:\n');
    printTable(
      usage.keys.map((k) => ({ key: k.keyId, name: k.name ?? '(deleted)', total: k.total, refused: k.total - k.counts.valid })),
      [
        { key: 'key', label: 'key' },
        { key: 'name', label: 'name' },
        { key: 'total', label: 'total' },
        { key: 'refused', label: 'refused' },
      ],
    );
  }
}

/** A plain date is that day's start in UTC. */
const instant = (value: string | undefined) => (value !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00.000Z` : value);

/** `keyport usage ...` */
export function usageCommand(globals: Globals): Command {
  return new Command('usage')
    .description("verifications and token requests by outcome over time: one key's, or the account's with its most used keys")
    .addOption(new Option('-a, --account <account>', 'account id').env('KEYPORT_ACCOUNT').makeOptionMandatory())
    .option('--key <key>', "one key's usage (default: the whole account's)")
    .addOption(new Option('-e, --environment <environment>', 'only keys of this environment').choices(ENVIRONMENTS))
    .addOption(new Option('--granularity <granularity>', 'hour (kept 90 days) or day (kept 2 years)').choices(USAGE_GRANULARITIES).default('hour'))
    .option('--from <date>', 'start (default: 24 hours, or 30 days, before --to)', dateTime)
    .option('--to <date>', 'end (default: now)', dateTime)
    .option('--top <n>', 'how many of the most used keys to list (account-wide)', integer(0, 100))
    .option('--csv', 'print CSV (a line per bucket, a column per outcome)')
    .action(async (opts) => {
      const { client, json } = globals();
      if (json && opts.csv) throw new CliError('--json and --csv exclude each other.', 2);
      const usage = await client.api.usage(opts.account, {
        key: opts.key,
        environment: opts.environment,
        granularity: opts.granularity,
        from: instant(opts.from),
        to: instant(opts.to),
        top: opts.top,
      });
      if (json) printJson(usage);
      else if (opts.csv) printCsv(usage);
      else printUsage(usage);
    });
}
