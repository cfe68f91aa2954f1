import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, defaultWebhookConfig, loadConfig } from '../../src/config.js';
import { addressAllowed, checkWebhookUrl } from '../../src/services/webhook-target.js';
import { retryDelay } from '../../src/services/webhooks-service.js';

describe('where webhooks may go', () => {
  const strict = defaultWebhookConfig();
  const dev = { ...strict, allowHttp: true };
  const internal = { ...strict, allowPrivate: true };

  test('public unicast addresses only, unless the installation allows more', () => {
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700::1111']) assert.equal(addressAllowed(a, strict), true, a);
    for (const a of ['127.0.0.1', '::1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', 'fe80::1', 'fd00::1', '100.64.0.1', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255', '::ffff:10.0.0.1', '::ffff:127.0.0.1', 'not-an-ip'])
      assert.equal(addressAllowed(a, strict), false, a);
    assert.equal(addressAllowed('127.0.0.1', dev), true);
    assert.equal(addressAllowed('10.0.0.1', dev), false);
    for (const a of ['10.0.0.1', '169.254.1.1', 'fd00::1', '127.0.0.1']) assert.equal(addressAllowed(a, internal), true, a);
    assert.equal(addressAllowed('224.0.0.1', internal), false);
  });

  test('URLs: https, or http to loopback when allowed; never credentials', async () => {
    assert.equal(await checkWebhookUrl('https://93.184.215.14/hook', strict), 'https://93.184.215.14/hook');
    await assert.rejects(checkWebhookUrl('http://93.184.215.14/hook', strict), { code: 'webhook_url_not_allowed', message: 'must be an https:// URL' });
    await assert.rejects(checkWebhookUrl('http://93.184.215.14/hook', dev), { code: 'webhook_url_not_allowed', message: /only to loopback/ });
    assert.equal(await checkWebhookUrl('http://127.0.0.1:8080/x', dev), 'http://127.0.0.1:8080/x');
    await assert.rejects(checkWebhookUrl('https://127.0.0.1/x', strict), { code: 'webhook_url_not_allowed', message: /127\.0\.0\.1, a loopback/ });
    await assert.rejects(checkWebhookUrl('https://user:pw@93.184.215.14/', strict), { message: 'must not carry a user name or password' });
    await assert.rejects(checkWebhookUrl('hooks.example.com', strict), { message: /not an absolute URL/ });
    await assert.rejects(checkWebhookUrl('https://no-such-host.invalid/', strict), { message: /does not resolve/ });
  });
});

test('retries back off four times longer each time, with ±25 % jitter, up to 10 hours', () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(n, () => 0.5)), [5_000, 20_000, 80_000, 320_000]);
  assert.equal(retryDelay(1, () => 0), 3_750);
  assert.equal(retryDelay(1, () => 1), 6_250);
  assert.equal(retryDelay(30, () => 0.5), 36_000_000);
});

test('webhook configuration: defaults, values, and every bad variable named', () => {
  assert.deepEqual(loadConfig({}).webhooks, { allowHttp: false, allowPrivate: false, timeoutMs: 10_000, pollIntervalMs: 1000 });
  assert.deepEqual(
    loadConfig({ KEYPORT_WEBHOOK_ALLOW_HTTP: 'on', KEYPORT_WEBHOOK_ALLOW_PRIVATE: 'true', KEYPORT_WEBHOOK_TIMEOUT_MS: '2500', KEYPORT_WEBHOOK_POLL_MS: '100' }).webhooks,
    { allowHttp: true, allowPrivate: true, timeoutMs: 2500, pollIntervalMs: 100 },
  );
  assert.throws(
    () => loadConfig({ KEYPORT_WEBHOOK_ALLOW_HTTP: 'maybe', KEYPORT_WEBHOOK_TIMEOUT_MS: '5', KEYPORT_WEBHOOK_POLL_MS: 'x' }),
    (err: Error) =>
      err instanceof ConfigError && /KEYPORT_WEBHOOK_ALLOW_HTTP/.test(err.message) && /KEYPORT_WEBHOOK_TIMEOUT_MS/.test(err.message) && /KEYPORT_WEBHOOK_POLL_MS/.test(err.message),
  );
});
