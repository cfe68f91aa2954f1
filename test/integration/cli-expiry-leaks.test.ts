import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { createAccount, createKey, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';

const DAY = 86_400_000;

describeEachStore('CLI: expiry reminders, leak response, credits low', (kp) => {
  let env: Record<string, string>;
  before(async () => {
    env = { KEYPORT_URL: kp.url, KEYPORT_TOKEN: TEST_TOKEN };
  });

  test('the settings are changed and shown; bad values are refused before anything is sent', async () => {
    const account = await createAccount(kp.api);
    const set = await runCli(['accounts', 'settings', account, '--expiry-notice-days', '1,30,7', '--leak-response', 'notify', '--credits-low-threshold', '50'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /expiry reminders:\s+30, 7, 1 days before/);
    assert.match(set.stdout, /leaked keys:\s+notify only/);
    assert.match(set.stdout, /credits low at:\s+50/);
    const none = await runCli(['--json', 'accounts', 'settings', account, '--expiry-notice-days', 'none'], env);
    assert.deepEqual(JSON.parse(none.stdout).settings.expiryNoticeDays, []);
    for (const args of [['--expiry-notice-days', '0'], ['--expiry-notice-days', '7,7'], ['--leak-response', 'ignore'], ['--credits-low-threshold', '-1']]) {
      const bad = await runCli(['accounts', 'settings', account, ...args], env);
      assert.notEqual(bad.code, 0, args.join(' '));
      assert.match(bad.stderr, /invalid/i, bad.stderr);
    }
  });

  test('keys list --expires-within N shows the keys that expire in the next N days', async () => {
    const account = await createAccount(kp.api);
    const iso = (ms: number) => new Date(kp.clock.now() + ms).toISOString();
    await createKey(kp.api, account, { name: 'in three days', expiresAt: iso(3 * DAY) });
    await createKey(kp.api, account, { name: 'in a month', expiresAt: iso(30 * DAY) });
    await createKey(kp.api, account, { name: 'never' });
    const names = async (args: string[]) => {
      const out = await runCli(['--json', 'keys', 'list', '-a', account, '--sort', 'name', ...args], env);
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout).items.map((k: any) => k.name);
    };
    assert.deepEqual(await names(['--expires-within', '7']), ['in three days']);
    assert.deepEqual(await names(['--expires-before', iso(60 * DAY)]), ['in a month', 'in three days']);
    assert.deepEqual(await names(['--expires-after', iso(7 * DAY)]), ['in a month']);
    const both = await runCli(['keys', 'list', '-a', account, '--expires-within', '7', '--expires-after', iso(0)], env);
    assert.equal(both.code, 2);
  });
});
