import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogging, redactQuery } from '../../src/http/logging.js';
import { issuerNotice } from '../../src/http/public-origin.js';

describe('connection limits, password hashing and issuer settings', () => {
  test('defaults', () => {
    const config = loadConfig({});
    assert.deepEqual(config.connectionLimits, { headersTimeoutMs: 10_000, bodyTimeoutMs: 15_000, keepAliveTimeoutMs: 72_000, maxConnections: 4096 });
    assert.equal(config.production, false);
    assert.equal(config.allowHostIssuer, false);
    assert.equal(loadConfig({ NODE_ENV: 'production' }).production, true);
  });

  test('values are read and every bad one named', () => {
    const config = loadConfig({ KEYPORT_HEADERS_TIMEOUT_MS: '500', KEYPORT_BODY_TIMEOUT_MS: '2000', KEYPORT_KEEP_ALIVE_TIMEOUT_MS: '700', KEYPORT_MAX_CONNECTIONS: '50', KEYPORT_ALLOW_HOST_ISSUER: 'on' });
    assert.deepEqual(config.connectionLimits, { headersTimeoutMs: 500, bodyTimeoutMs: 2000, keepAliveTimeoutMs: 700, maxConnections: 50 });
    assert.equal(config.allowHostIssuer, true);
    const bad = {
      KEYPORT_HEADERS_TIMEOUT_MS: 'soon',
      KEYPORT_BODY_TIMEOUT_MS: '5',
      KEYPORT_KEEP_ALIVE_TIMEOUT_MS: '-1',
      KEYPORT_MAX_CONNECTIONS: '0',
      KEYPORT_PASSWORD_HASH_CONCURRENCY: '0',
      KEYPORT_PASSWORD_HASH_QUEUE: 'many',
      KEYPORT_ALLOW_HOST_ISSUER: 'perhaps',
    };
    assert.throws(() => loadConfig(bad), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      for (const name of Object.keys(bad)) assert.match(err.message, new RegExp(`${name} must`), name);
      return true;
    });
    assert.throws(() => loadConfig({ KEYPORT_HEADERS_TIMEOUT_MS: '5000', KEYPORT_BODY_TIMEOUT_MS: '1000' }), /KEYPORT_HEADERS_TIMEOUT_MS \(5000 ms\) must not be longer than KEYPORT_BODY_TIMEOUT_MS/);
  });

  test('start-up says where the issuer comes from', () => {
    assert.equal(issuerNotice(loadConfig({ KEYPORT_PUBLIC_URL: 'https://keys.example.com' })), null);
    assert.match(issuerNotice(loadConfig({}))!, /follow the Host header/);
    assert.match(issuerNotice(loadConfig({ NODE_ENV: 'production' }))!, /refuses to issue tokens/);
    assert.match(issuerNotice(loadConfig({ NODE_ENV: 'production', KEYPORT_ALLOW_HOST_ISSUER: 'on' }))!, /follow the Host header/);
  });
});

describe('credentials in query strings are not logged', () => {
  test('values of credential-looking parameters are redacted', () => {
    assert.equal(redactQuery('/oauth/token?client_secret=kpcs_abc&scope=a'), '/oauth/token?client_secret=[redacted]&scope=a');
    assert.equal(redactQuery('/x?access_token=1&api_key=2&apiKey=3&password=4&key=5&id=6&Client%5FSecret=7'), '/x?access_token=[redacted]&api_key=[redacted]&apiKey=[redacted]&password=[redacted]&key=[redacted]&id=6&Client%5FSecret=[redacted]');
    assert.equal(redactQuery('/v1/keys?sort=name'), '/v1/keys?sort=name');
    assert.equal(redactQuery('/plain'), '/plain');
  });

  test("Fastify's request lines go through the redacting serializer", () => {
    const lines: string[] = [];
    const logging = createLogging({ level: 'debug' }, { write: (line: string) => void lines.push(line) } as never);
    const req = { method: 'POST', url: '/oauth/token?client_secret=kpcs_live_very_secret', host: 'h', ip: '127.0.0.1', socket: { remotePort: 1 }, headers: {} };
    logging.log.child({ reqId: 'r1' }).info({ req }, 'incoming request');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.includes('very_secret'), false, lines[0]);
    assert.equal(JSON.parse(lines[0]!).req.url, '/oauth/token?client_secret=[redacted]');
  });
});
