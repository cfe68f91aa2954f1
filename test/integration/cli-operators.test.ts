import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { loadConfig } from '../../src/config.js';
import { startKeyport } from '../../src/server.js';
import { runCli } from '../helpers/cli.js';
import { apiClient, createAccount, createKey, describeEachStore, freshStore, TEST_TOKEN } from '../helpers/keyport.js';
import { eventually } from '../helpers/oauth.js';
import { PASSWORD } from '../helpers/operators.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

describeEachStore('CLI for operators', (kp) => {
  test('keyport login saves a personal token, commands use it, logout revokes it', async () => {
    const account = await createAccount(kp.api);
    await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'cli@example.com', role: 'editor', password: PASSWORD });
    const env = { KEYPORT_URL: kp.url, KEYPORT_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'keyport-cli-')) };
    const wrong = await runCli(['login', '--email', 'cli@example.com'], env, 'not my password\n');
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, 'Error 401 (unauthenticated): The e-mail or password is wrong.\n');
    const login = await runCli(['login', '--email', 'cli@example.com'], env, `${PASSWORD}\n`);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /^Signed in as cli@example.com\. A personal token \(until \d{4}-\d\d-\d\d\) is saved in /);
    const file = join(env.KEYPORT_CONFIG_DIR, 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'))[new URL(kp.url).origin];
    const list = await runCli(['--json', 'keys', 'list', '-a', account], env);
    assert.equal(list.code, 0, list.stderr);
    const denied = await runCli(['accounts', 'settings', account, '--key-limit', '3'], env);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^Error 403 \(forbidden\): This needs the 'settings.edit' permission/);
    assert.equal((await runCli(['logout'], env)).code, 0);
    kp.services.auth.invalidate();
    assert.equal((await apiClient(kp.url, saved.token)('GET', `/v1/accounts/${account}/keys`)).status, 401, 'revoked');
    assert.equal((await runCli(['keys', 'list', '-a', account], env)).code, 2, 'no token any more');
  });

  test('keyport audit export writes every entry as a JSON line, with filters', async () => {
    const account = await createAccount(kp.api);
    for (let i = 0; i < 3; i++) await createKey(kp.api, account, { name: `k${i}` });
    const env = { KEYPORT_URL: kp.url, KEYPORT_TOKEN: TEST_TOKEN };
    const out = await runCli(['audit', 'export', '-a', account, '--action', 'key'], env);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => [e.action, e.after.name]), [['key.created', 'k2'], ['key.created', 'k1'], ['key.created', 'k0']]);
    const all = await runCli(['audit', 'export', '-a', account], env);
    assert.equal(all.stdout.trim().split('\n').length, 4, 'and the account creation');

    await kp.api('POST', '/v1/signing-keys/rotate', {});
    const platform = await runCli(['audit', 'export', '--platform', '--action', 'signing_key'], env);
    assert.equal(platform.code, 0, platform.stderr);
    assert.deepEqual(platform.stdout.trim().split('\n').map((l) => JSON.parse(l).action), ['signing_key.rotate']);
    for (const args of [['audit', 'export'], ['audit', 'export', '-a', account, '--platform']]) {
      const wrong = await runCli(args, env);
      assert.equal(wrong.code, 2, args.join(' '));
      assert.match(wrong.stderr, /--account <account> or --platform/);
    }
  });
});

describe('keyport encryption rewrap', () => {
  test('moves revealable secrets, signing keys and webhook secrets to a new key-encryption key', async () => {
    const fresh = await freshStore('sqlite');
    const receiver = await startReceiver();
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const base = { PORT: '0', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, KEYPORT_WEBHOOK_ALLOW_HTTP: 'on', ...fresh.env };
    try {
      const first = await startKeyport(loadConfig({ ...base, KEYPORT_ENCRYPTION_KEY: oldKey }));
      const api = apiClient(first.url, TEST_TOKEN);
      const account = await createAccount(api);
      await api('PATCH', `/v1/accounts/${account}/settings`, { secretReveal: 'permitted' });
      const { key, secret } = await createKey(api, account);
      const webhook = (await api('POST', `/v1/accounts/${account}/webhooks`, { url: receiver.url, events: ['webhook.test'] })).body;
      await first.close();

      const missing = await runCli(['encryption', 'rewrap'], { ...base, KEYPORT_ENCRYPTION_KEY: newKey });
      assert.notEqual(missing.code, 0, 'the old key is needed to read the old values');
      assert.match(missing.stderr, /Re-encryption stopped: no configured key-encryption key has id/);
      const run = await runCli(['encryption', 'rewrap'], { ...base, KEYPORT_ENCRYPTION_KEY: newKey, KEYPORT_PREVIOUS_ENCRYPTION_KEYS: oldKey });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Done: \d+ value\(s\) re-encrypted under key [0-9a-f]{12}, 0 already were\./);
      const again = await runCli(['encryption', 'rewrap'], { ...base, KEYPORT_ENCRYPTION_KEY: newKey, KEYPORT_PREVIOUS_ENCRYPTION_KEYS: oldKey });
      assert.match(again.stdout, /^Done: 0 value\(s\) re-encrypted/);

      // The old key is no longer needed at all.
      const second = await startKeyport(loadConfig({ ...base, KEYPORT_ENCRYPTION_KEY: newKey }));
      try {
        const revealed = await apiClient(second.url, TEST_TOKEN)('POST', `/v1/accounts/${account}/keys/${key.id}/reveal`);
        assert.deepEqual(revealed.body, { secret });
        // The webhook still signs with its secret.
        await apiClient(second.url, TEST_TOKEN)('POST', `/v1/accounts/${account}/webhooks/${webhook.webhook.id}/test`);
        assert.ok(await eventually(async () => receiver.received.length === 1, 20_000));
        const r = receiver.received[0]!;
        assert.equal((new StandardWebhook(webhook.secret).verify(r.body, r.headers as Record<string, string>) as any).type, 'webhook.test');
      } finally {
        await second.close();
      }
    } finally {
      await receiver.close();
      await fresh.dispose();
    }
  });
});
