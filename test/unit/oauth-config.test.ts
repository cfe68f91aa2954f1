import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration of tokens, signing keys and throttling', () => {
  test('defaults', () => {
    assert.deepEqual(loadConfig({}).oauth, {
      tokenAudience: null,
      signingKeyRotation: 30 * 86_400,
      signingKeyPrepublish: 300,
      syncIntervalMs: 250,
      maxStalenessMs: 1000,
      stalePolicy: 'unavailable',
      redisUrl: null,
      redisTimeoutMs: 250,
      authFailuresPerClient: 10,
      authFailuresPerAddress: 100,
      authFailureWindow: 300,
      passwordHashConcurrency: 2,
      passwordHashQueue: 32,
      usageAnalytics: true,
      unknownKeyReads: 100,
    });
  });

  test('values are read and checked', () => {
    const config = loadConfig({
      KEYPORT_TOKEN_AUDIENCE: 'https://api.shop.example',
      KEYPORT_SIGNING_KEY_ROTATION: '0',
      KEYPORT_SIGNING_KEY_PREPUBLISH: '60',
      KEYPORT_SYNC_INTERVAL_MS: '100',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KEYPORT_AUTH_FAILURES_PER_CLIENT: '5',
      KEYPORT_AUTH_FAILURES_PER_ADDRESS: '50',
      KEYPORT_AUTH_FAILURE_WINDOW: '60',
      KEYPORT_PASSWORD_HASH_CONCURRENCY: '1',
      KEYPORT_PASSWORD_HASH_QUEUE: '0',
      KEYPORT_USAGE_ANALYTICS: 'off',
      KEYPORT_UNKNOWN_KEY_READS: '0',
    });
    assert.deepEqual(config.oauth, {
      tokenAudience: 'https://api.shop.example',
      signingKeyRotation: 0,
      signingKeyPrepublish: 60,
      syncIntervalMs: 100,
      maxStalenessMs: 1000,
      stalePolicy: 'unavailable',
      redisUrl: 'redis://127.0.0.1:6379',
      redisTimeoutMs: 250,
      authFailuresPerClient: 5,
      authFailuresPerAddress: 50,
      authFailureWindow: 60,
      passwordHashConcurrency: 1,
      passwordHashQueue: 0,
      usageAnalytics: false,
      unknownKeyReads: 0,
    });
  });

  test('every bad variable is named in one error', () => {
    const bad = {
      KEYPORT_TOKEN_AUDIENCE: 'not a uri',
      KEYPORT_SIGNING_KEY_ROTATION: '60',
      KEYPORT_SYNC_INTERVAL_MS: 'fast',
      REDIS_URL: 'http://127.0.0.1:6379',
      KEYPORT_AUTH_FAILURES_PER_CLIENT: '0',
      KEYPORT_AUTH_FAILURES_PER_ADDRESS: '-1',
      KEYPORT_AUTH_FAILURE_WINDOW: '1.5',
      KEYPORT_USAGE_ANALYTICS: 'sometimes',
      KEYPORT_UNKNOWN_KEY_READS: 'many',
      KEYPORT_TRUSTED_PROXIES: '10.0.0.0/33',
    };
    assert.throws(() => loadConfig(bad), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      for (const name of Object.keys(bad)) assert.match(err.message, new RegExp(name), name);
      return true;
    });
    assert.throws(
      () => loadConfig({ KEYPORT_SIGNING_KEY_ROTATION: '3600', KEYPORT_SIGNING_KEY_PREPUBLISH: '3600' }),
      /KEYPORT_SIGNING_KEY_PREPUBLISH \(3600 s\) must be shorter than KEYPORT_SIGNING_KEY_ROTATION/,
    );
  });
});

describe('trusted proxies', () => {
  test('addresses and ranges, checked; none by default', () => {
    assert.equal(loadConfig({}).trustedProxies, null);
    const proxies = loadConfig({ KEYPORT_TRUSTED_PROXIES: ' 10.0.0.0/8, 2001:db8::1 ' }).trustedProxies!;
    assert.deepEqual(proxies.entries, ['10.0.0.0/8', '2001:db8::1']);
    assert.equal(proxies.allows('10.1.2.3'), true);
    assert.equal(proxies.allows('11.1.2.3'), false);
    assert.throws(() => loadConfig({ KEYPORT_TRUSTED_PROXIES: 'proxy.local' }), /KEYPORT_TRUSTED_PROXIES: 'proxy.local' is not an IPv4 or IPv6 address/);
    assert.throws(() => loadConfig({ KEYPORT_TRUSTED_PROXIES: ',' }), /KEYPORT_TRUSTED_PROXIES names no address/);
  });
});
