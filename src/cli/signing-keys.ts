import { Command } from 'commander';
import type { ApiClient } from './client.js';
import { printFields, printJson, printTable } from './output.js';

type Globals = () => { client: ApiClient; json: boolean };

/** `keyport signing-keys ...`: the keys that sign access tokens (platform owner token). */
export function signingKeysCommand(globals: Globals): Command {
  const cmd = new Command('signing-keys').description('list and rotate the keys that sign access tokens (platform owner)');

  cmd
    .command('list')
    .description('every signing key: next, current and retired ones still published')
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

  return cmd;
}
