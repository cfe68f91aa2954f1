import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createVerifier, credentialOf, failureOf, KeyportError, refusalOf } from '@keyport/node';

test('the credential comes from Authorization: Bearer or X-API-Key; two that disagree are malformed', () => {
  assert.equal(credentialOf('Bearer kp_live_abc', null), 'kp_live_abc');
  assert.equal(credentialOf('bearer   kp_live_abc  ', undefined), 'kp_live_abc');
  assert.equal(credentialOf(undefined, 'kp_live_abc'), 'kp_live_abc');
  assert.equal(credentialOf('Bearer kp_live_abc', 'kp_live_abc'), 'kp_live_abc');
  assert.equal(credentialOf('Bearer kp_live_abc', 'kp_live_xyz'), 'malformed');
  assert.equal(credentialOf('Bearer ', null), 'malformed');
  assert.equal(credentialOf('Basic dXNlcjpwYXNz', null), 'missing');
  assert.equal(credentialOf(null, null), 'missing');
});

test('refusals are RFC 9457 problems with the statuses of /v1/authz', () => {
  assert.deepEqual(refusalOf('revoked'), {
    status: 401,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-keyport-code': 'revoked', 'www-authenticate': 'Bearer error="invalid_token"' },
    body: { type: 'urn:keyport:problem:revoked', code: 'revoked', title: 'Invalid credential', status: 401, detail: 'The credential was revoked.' },
  });
  assert.equal(refusalOf('insufficient_scope').status, 403);
  assert.equal(refusalOf('insufficient_scope').headers['www-authenticate'], 'Bearer error="insufficient_scope"');
  assert.equal(refusalOf('ip_not_allowed').headers['www-authenticate'], undefined);
  const limited = refusalOf('rate_limited', { valid: false, code: 'rate_limited', rateLimit: { limit: 10, remaining: 0, resetSeconds: 42 } });
  assert.deepEqual([limited.status, limited.headers['retry-after']], [429, '42']);
  assert.equal(failureOf(new KeyportError('keyport_unavailable', 'down')).status, 503);
  assert.equal(failureOf(new Error('bug')).status, 500);
});

test('createVerifier refuses bad options at once, naming them', () => {
  assert.throws(() => createVerifier(undefined as never), /needs an options object/);
  assert.throws(() => createVerifier({ url: 'ftp://x', serviceToken: 't' }), /http\(s\) URL/);
  assert.throws(() => createVerifier({ url: 'http://127.0.0.1:9', serviceToken: '  ' }), /`serviceToken` is required/);
  assert.throws(() => createVerifier({ url: 'http://127.0.0.1:9', serviceToken: 't', cacheSize: 0 }), /`cacheSize` must be a positive number of entries/);
});
