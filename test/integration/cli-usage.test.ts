import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { USAGE_OUTCOMES } from '../../src/domain/verification.js';
import { runCli } from '../helpers/cli.js';
import { createAccount, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';

describeEachStore('CLI: usage controls and usage', (kp) => {
  let env: Record<string, string>;
  let account: string;
  before(async () => {
    env = { KEYPORT_URL: kp.url, KEYPORT_TOKEN: TEST_TOKEN };
    account = await createAccount(kp.api);
  });

  test('creates and changes a key\'s allowlist, credits, refill, meta and owner id', async () => {
    const created = await runCli(
      ['keys', 'create', '-a', account, '-n', 'Metered', '-e', 'sandbox', '--type', 'token', '--active', '--scopes', 'product.read',
        '--ip-allowlist', '203.0.113.0/24,2001:db8::/32', '--credits', '100', '--refill', '100/month:15', '--meta', '{"plan":"pro"}', '--external-id', 'org_9'],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /ip allowlist:\s+203.0.113.0\/24 2001:db8::\/32/);
    assert.match(created.stdout, /credits:\s+100 left, refilled to 100 every month on day 15 \(next \S+\)/);
    assert.match(created.stdout, /external id:\s+org_9/);
    assert.match(created.stdout, /meta:\s+\{"plan":"pro"\}/);
    const keyId = /^id:\s+(key_\S+)/m.exec(created.stdout)![1]!;
    const secret = /API key: (kp_test_\S+)/.exec(created.stdout)![1]!;

    const topUp = await runCli(['--json', 'keys', 'update', keyId, '-a', account, '--credits', '500'], env);
    assert.equal(topUp.code, 0, topUp.stderr);
    assert.deepEqual(JSON.parse(topUp.stdout).credits.refill, { amount: 100, interval: 'month', dayOfMonth: 15 }, 'a top-up keeps the refill');
    assert.equal(JSON.parse(topUp.stdout).credits.remaining, 500);
    const changed = JSON.parse((await runCli(['--json', 'keys', 'update', keyId, '-a', account, '--no-refill', '--no-ip-allowlist', '--no-meta', '--no-external-id'], env)).stdout);
    assert.deepEqual([changed.credits, changed.ipAllowlist, changed.meta, changed.externalId], [{ remaining: 500, refill: null, nextRefillAt: null }, null, null, null]);
    assert.equal(JSON.parse((await runCli(['--json', 'keys', 'update', keyId, '-a', account, '--no-credits'], env)).stdout).credits, null);

    for (const [args, message] of [
      [['--refill', '10/week'], /--refill <amount\/interval>' argument '10\/week' is invalid. must be <amount>\/day/],
      [['--refill', '10/day:3'], /a daily refill has no day of the month/],
      [['--meta', '[1,2]'], /must be a JSON object/],
      [['--credits', '-4'], /must be a whole number from 0/],
      [['--ip-allowlist', '10.0.0.0/33'], /\/ipAllowlist\/0: '10.0.0.0\/33': the prefix length/],
    ] as const) {
      const res = await runCli(['keys', 'update', keyId, '-a', account, ...args], env);
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, message);
    }
    const listed = JSON.parse((await runCli(['--json', 'keys', 'list', '-a', account, '--sort', 'credits'], env)).stdout);
    assert.ok(listed.items.some((k: any) => k.id === keyId));
    await kp.api('POST', '/v1/verify', { key: secret });
  });

  test('keyport usage prints a table, JSON and CSV', async () => {
    const mine = await createAccount(kp.api);
    const key = (await kp.api('POST', `/v1/accounts/${mine}/keys`, { name: 'Counted', environment: 'sandbox', kind: 'admin', credentialType: 'token', active: true, credits: { remaining: 2 } })).body;
    for (let i = 0; i < 3; i++) await kp.api('POST', '/v1/verify', { key: key.secret });
    await kp.services.tokens.usage.flush();

    const table = await runCli(['usage', '-a', mine], env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[0]!, /^START\s+TOTAL\s+VALID\s+USAGE_EXCEEDED$/);
    assert.equal(lines.filter((l) => /^\d{4}-/.test(l)).length, 24, 'one line per hour of the last day');
    assert.match(table.stdout, /Total 3, valid 2, usage_exceeded 1 \(/);
    assert.match(table.stdout, /Most used keys:\nKEY\s+NAME\s+TOTAL\s+REFUSED\nkey_\S+\s+Counted\s+3\s+1/);

    const json = JSON.parse((await runCli(['--json', 'usage', '-a', mine, '--key', key.key.id, '--granularity', 'day'], env)).stdout);
    assert.deepEqual([json.granularity, json.key, json.totals.total, json.buckets.length], ['day', key.key.id, 3, 30]);

    const csv = await runCli(['usage', '-a', mine, '--key', key.key.id, '--csv'], env);
    const rows = csv.stdout.trim().split('\n');
    assert.equal(rows[0], ['start', 'total', ...USAGE_OUTCOMES].join(','));
    assert.equal(rows.length, 25);
    const counted = rows.filter((r) => !r.endsWith(',0,0,0,0,0,0,0,0,0,0'));
    assert.deepEqual(counted.slice(1).map((r) => r.split(',').slice(1).join(',')), ['3,2,0,0,0,0,0,0,0,1'], 'total, valid ... usage_exceeded');

    const bad = await runCli(['usage', '-a', mine, '--granularity', 'week'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Allowed choices are hour, day/);
    const both = await runCli(['--json', 'usage', '-a', mine, '--csv'], env);
    assert.deepEqual([both.code, JSON.parse(both.stderr).error.detail], [2, '--json and --csv exclude each other.'], 'with --json, the error is JSON too');
    const range = await runCli(['usage', '-a', mine, '--from', '2026-01-01', '--to', '2026-03-01'], env);
    assert.match(range.stderr, /Error 400 \(validation_failed\): A range of hourly buckets spans at most 31 days/);
  });
});
