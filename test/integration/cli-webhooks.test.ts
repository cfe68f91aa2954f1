import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { runCli } from '../helpers/cli.js';
import { createAccount, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';
import { eventually } from '../helpers/oauth.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

describeEachStore(
  'CLI: webhooks',
  (kp) => {
    let env: Record<string, string>;
    let receiver: Receiver;
    before(async () => {
      env = { KEYPORT_URL: kp.url, KEYPORT_TOKEN: TEST_TOKEN };
      receiver = await startReceiver();
    });
    after(async () => receiver?.close());

    test('creates an endpoint (secret printed once), pings it, shows the delivery log; a bad URL is refused', async () => {
      const account = await createAccount(kp.api);
      const created = await runCli(['webhooks', 'create', receiver.url, '-a', account, '--events', 'key.created,key.deleted', '--description', 'ERP'], env);
      assert.equal(created.code, 0, created.stderr);
      const id = /^id:\s+(wh_\S+)/m.exec(created.stdout)![1]!;
      const secret = /^signing secret:\s+(whsec_\S+)/m.exec(created.stdout)![1]!;
      assert.match(created.stdout, /^events:\s+key.created, key.deleted$/m);

      const listed = await runCli(['webhooks', 'list', '-a', account], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${id}\\s+${receiver.url.replace(/[.]/g, '\\.')}\\s+key.created,key.deleted\\s+ok`));
      assert.ok(!listed.stdout.includes(secret));

      const ping = await runCli(['webhooks', 'test', id, '-a', account], env);
      assert.equal(ping.code, 0, ping.stderr);
      assert.ok(await eventually(async () => receiver.received.length === 1, 20_000));
      const r = receiver.received[0]!;
      assert.equal((new StandardWebhook(secret).verify(r.body, r.headers as Record<string, string>) as any).type, 'webhook.test');
      assert.ok(
        await eventually(async () => {
          const log = await runCli(['--json', 'webhooks', 'deliveries', id, '-a', account], env);
          return JSON.parse(log.stdout).items[0]?.status === 'delivered';
        }, 20_000),
      );

      const bad = await runCli(['webhooks', 'create', 'https://10.0.0.8/x', '-a', account, '--events', 'key.created'], env);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /10\.0\.0\.8.*private/);
      const unknown = await runCli(['webhooks', 'create', receiver.url, '-a', account, '--events', 'key.stolen'], env);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /unknown: key.stolen/);
    });
  },
  { KEYPORT_WEBHOOK_ALLOW_HTTP: 'on', KEYPORT_WEBHOOK_POLL_MS: '50' },
);
