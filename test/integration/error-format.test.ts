import assert from 'node:assert/strict';
import net from 'node:net';
import { before, test } from 'node:test';
import { createAccount, createKey, describeEachStore } from '../helpers/keyport.js';

/** One raw HTTP/1.1 exchange: what the server wrote before it closed the connection (or 5 s passed). */
async function rawExchange(url: string, request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { port, hostname } = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', (err) => (received ? undefined : reject(err)));
    socket.write(request);
  });
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

const assertProblem = (label: string, status: number, contentType: string | null | undefined, body: any, code?: string) => {
  assert.ok(status >= 400 && status < 500, `${label}: ${status} ${JSON.stringify(body)}`);
  assert.match(contentType ?? '', /^application\/problem\+json/, label);
  assert.equal(body.status, status, label);
  assert.equal(body.type, `urn:keyport:problem:${body.code}`, label);
  assert.equal(typeof body.title, 'string', label);
  assert.equal(typeof body.detail, 'string', label);
  if (code) assert.equal(body.code, code, label);
};

const assertOAuthError = (label: string, status: number, headers: { get(name: string): string | null }, body: any) => {
  assert.ok(status >= 400 && status < 500, `${label}: ${status} ${JSON.stringify(body)}`);
  assert.match(headers.get('content-type') ?? '', /^application\/json/, label);
  assert.equal(headers.get('cache-control'), 'no-store', label);
  assert.equal(typeof body.error, 'string', `${label}: ${JSON.stringify(body)}`);
  assert.equal(typeof body.error_description, 'string', label);
  assert.equal(body.code, undefined, `${label}: an RFC 6749 body, not a problem document`);
};

describeEachStore('answers to malformed requests', (kp) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
    await createKey(kp.api, account, { name: 'listed' });
  });

  test('a session cookie with a broken percent-encoding is no session: 401, never 500', async () => {
    for (const path of ['/v1/me', `/v1/accounts/${account}/keys`, '/v1/accounts']) {
      const res = await kp.as(null)('GET', path, undefined, { cookie: 'keyport_session=%E0%A4%A' });
      assertProblem(path, res.status, res.headers.get('content-type'), res.body, 'unauthenticated');
    }
    // Next to a valid bearer token the cookie changes nothing.
    const withToken = await kp.api('GET', '/v1/me', undefined, { cookie: 'keyport_session=%E0%A4%A; other=%' });
    assert.equal(withToken.status, 200);
    const signOut = await kp.as(null)('DELETE', '/v1/session', undefined, { cookie: 'keyport_session=%E0%A4%A' });
    assert.ok(signOut.status < 500, `sign-out: ${signOut.status}`);
  });

  test('router errors are problem documents: a broken URL, an overlong id', async () => {
    const badUrl = await kp.api('GET', '/v1/accounts/%E0%A4%A');
    assertProblem('bad url', badUrl.status, badUrl.headers.get('content-type'), badUrl.body, 'malformed_request');
    const longId = await kp.api('GET', `/v1/accounts/${'a'.repeat(101)}`);
    assertProblem('101-character id', longId.status, longId.headers.get('content-type'), longId.body, 'validation_failed');
    assert.equal(longId.body.errors[0].pointer, '/params/account');
    const hugeId = await kp.api('GET', `/v1/accounts/${'a'.repeat(5000)}`);
    assertProblem('5000-character id', hugeId.status, hugeId.headers.get('content-type'), hugeId.body, 'uri_too_long');
    assert.equal(hugeId.status, 414);
  });

  test('under /oauth/* the same failures are RFC 6749 errors with no-store', async () => {
    for (const [label, method, path] of [
      ['unknown endpoint', 'GET', '/oauth/nothing'],
      ['broken URL', 'POST', '/oauth/token%E0%A4%A'],
      ['overlong segment', 'GET', `/oauth/${'a'.repeat(5000)}`],
    ] as const) {
      const res = await kp.as(null)(method, path);
      assertOAuthError(label, res.status, res.headers, res.body);
    }
    const basic = Buffer.from('%E0%A4%A:secret').toString('base64');
    const res = await kp.as(null)('POST', '/oauth/token', 'grant_type=client_credentials', {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${basic}`,
    });
    assertOAuthError('Basic credentials with a broken encoding', res.status, res.headers, res.body);
  });

  test('requests the HTTP parser refuses get a problem document and Connection: close', async () => {
    const cases = [
      ['oversized headers', `GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      ['a broken Content-Length', 'POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'malformed_request'],
      ['a broken chunk', 'POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n', 400, 'malformed_request'],
      ['not HTTP at all', 'HELLO\r\n\r\n', 400, 'malformed_request'],
    ] as const;
    for (const [label, request, status, code] of cases) {
      const res = await rawExchange(kp.url, request);
      assert.equal(res.status, status, `${label}: ${JSON.stringify(res)}`);
      assert.equal(res.headers.connection, 'close', label);
      assertProblem(label, res.status, res.headers['content-type'], JSON.parse(res.body), code);
    }
    const oauth = await rawExchange(kp.url, `POST /oauth/token HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(oauth.status, 431);
    assert.equal(oauth.headers.connection, 'close');
    assert.equal(oauth.headers['cache-control'], 'no-store');
    assert.equal(JSON.parse(oauth.body).error, 'invalid_request');
  });

  test('leap seconds and impossible instants are refused, and inverted ranges still are', async () => {
    const keys = `/v1/accounts/${account}/keys`;
    for (const query of [
      'createdTo=2030-12-31T23:59:60Z',
      'createdFrom=2030-12-31T23:59:60Z&createdTo=2001-01-01T00:00:00Z',
      'updatedFrom=2016-12-31T23:59:60Z',
    ]) {
      const res = await kp.api('GET', `${keys}?${query}`);
      assertProblem(query, res.status, res.headers.get('content-type'), res.body, 'validation_failed');
      assert.match(res.body.errors[0].detail, /RFC 3339/, query);
    }
    const inverted = await kp.api('GET', `${keys}?createdFrom=2030-12-31T23:59:59Z&createdTo=2001-01-01T00:00:00Z`);
    assert.equal(inverted.status, 400);
    for (const path of [
      `/v1/accounts/${account}/usage?from=2030-12-31T23:59:60Z&to=2001-01-01T00:00:00Z`,
      `/v1/accounts/${account}/usage?to=2030-12-31T23:59:60Z`,
      `/v1/accounts/${account}/audit?from=2016-12-31T23:59:60Z&to=2001-01-01T00:00:00Z`,
    ]) {
      const res = await kp.api('GET', path);
      assertProblem(path, res.status, res.headers.get('content-type'), res.body, 'validation_failed');
    }
    const expires = await kp.api('POST', keys, { name: 'leap', environment: 'sandbox', kind: 'custom', credentialType: 'token', scopes: ['cart.read'], expiresAt: '2030-12-31T23:59:60Z' });
    assertProblem('expiresAt leap second', expires.status, expires.headers.get('content-type'), expires.body, 'validation_failed');
    // A valid date-time still filters as before.
    const listed = await kp.api('GET', `${keys}?createdTo=2100-12-31T23:59:59Z`);
    assert.equal(listed.body.items.length, 1);
  });

  test('names refuse control characters, line breaks, bidi overrides and lone surrogates', async () => {
    const bad = ['a\u0000b', 'line\r\nbreak', 'tab\there', 'evil\u202Etxt.exe', 'iso\u2066late', 'lone \uD800 surrogate', 'end \uDC00', '\u0085'];
    const keyBody = { environment: 'sandbox', kind: 'custom', credentialType: 'token', scopes: ['cart.read'] };
    const { key } = await createKey(kp.api, account, { name: 'to rename' });
    for (const name of bad) {
      const label = JSON.stringify(name);
      const answers = [
        await kp.api('POST', '/v1/accounts', { name }),
        await kp.api('POST', `/v1/accounts/${account}/keys`, { ...keyBody, name }),
        await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { name }),
        await kp.api('POST', `/v1/accounts/${account}/roles`, { name, permissions: ['keys.read'] }),
        await kp.api('POST', '/v1/operators', { email: 'x@example.com', name }),
      ];
      for (const res of answers) {
        assertProblem(label, res.status, res.headers.get('content-type'), res.body, 'validation_failed');
        assert.equal(res.body.errors[0].pointer, '/name', label);
        assert.match(res.body.errors[0].detail, /control characters/, label);
      }
    }
    for (const name of ['Café Ünïcode', 'שלום עולם', '😀 shop', 'a-b_c.d (e)']) {
      const res = await kp.api('POST', '/v1/accounts', { name });
      assert.equal(res.status, 201, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.name, name);
    }
    const names = (await kp.api('GET', `/v1/accounts/${account}/keys`)).body.items.map((k: any) => k.name);
    assert.deepEqual(names.sort(), ['listed', 'to rename']);
  });
});

