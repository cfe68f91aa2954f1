import assert from 'node:assert/strict';
import { createServer, Socket, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createVerifier, KeyportError, type Verifier } from '@keyport/node';
import { createAccount, createKey, startTestKeyport, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';
import { accessToken, eventually } from '../helpers/oauth.js';

/** A fetch that counts the requests it sends to Keyport (by path), so a test can tell local answers from remote ones. */
function countingFetch() {
  const calls: string[] = [];
  const counted: typeof fetch = (input, init) => {
    calls.push(new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).pathname);
    return fetch(input, init);
  };
  return { calls, fetch: counted, verifications: () => calls.filter((p) => p.startsWith('/v1/verify') && p !== '/v1/verify/usage').length };
}

/** A TCP proxy in front of Keyport that a test can cut (every connection dropped, new ones refused) and mend. */
async function cuttableProxy(target: string): Promise<{ url: string; cut(): Promise<void>; mend(): Promise<void>; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server;
  let listenPort = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = new Socket();
        upstream.connect(Number(port), hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(listenPort, '127.0.0.1', () => {
        listenPort = (server.address() as { port: number }).port;
        resolve();
      });
    });
  await open();
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };
  return { url: `http://127.0.0.1:${listenPort}`, cut, mend: open, close: cut };
}

describe('@keyport/node: in-process verification (sqlite)', () => {
  let kp: TestKeyport;
  let account: string;
  const verifiers: Verifier[] = [];
  const make = (options: Partial<Parameters<typeof createVerifier>[0]> = {}) => {
    const v = createVerifier({ url: kp.url, serviceToken: TEST_TOKEN, environment: 'production', ...options });
    verifiers.push(v);
    return v;
  };

  before(async () => {
    kp = await startTestKeyport('sqlite');
    account = await createAccount(kp.api);
  });
  after(async () => {
    for (const v of verifiers) await v.close();
    await kp?.stop();
  });

  test('a cached token key and a JWT are answered in process: no request reaches Keyport after the first', async () => {
    const counter = countingFetch();
    const keyport = make({ fetch: counter.fetch });
    await keyport.ready();
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production', scopes: ['order.read'], channel: 'b2b' });
    const first = await keyport.verify(secret, { scopes: ['order.read'] });
    const remote = (await kp.api('POST', '/v1/verify', { key: secret, environment: 'production', scopes: ['order.read'] })).body;
    assert.deepEqual(first, remote, 'the same fields as POST /v1/verify');
    // The key's own `created` event may overtake the first answer (then it is not cached): once more.
    await new Promise((r) => setTimeout(r, 100));
    await keyport.verify(secret, { scopes: ['order.read'] });
    assert.equal(first.keyId, key.id);
    const before = counter.verifications();
    for (let i = 0; i < 50; i++) assert.deepEqual(await keyport.verify(secret, { scopes: ['order.read'] }), remote);
    assert.deepEqual(await keyport.verify(secret, { scopes: ['order.write'] }), { valid: false, code: 'insufficient_scope' });
    assert.deepEqual(await keyport.verify(secret, { environment: 'sandbox' }), { valid: false, code: 'wrong_environment' });
    assert.equal(counter.verifications(), before, 'zero requests for a cached token key');

    const client = await createKey(kp.api, account, { environment: 'production', scopes: ['order.read'] });
    const jwt = await accessToken(kp, client.key.clientId, client.secret);
    const remoteJwt = (await kp.api('POST', '/v1/verify', { token: jwt, environment: 'production' })).body;
    assert.deepEqual(await keyport.verify(jwt), remoteJwt, 'first use of a JWT: its key asked once');
    const afterFirst = counter.verifications();
    for (let i = 0; i < 50; i++) assert.deepEqual(await keyport.verify(jwt), remoteJwt);
    assert.equal(counter.verifications(), afterFirst, 'zero requests for a verified JWT');
    assert.deepEqual(await keyport.verify(jwt, { scopes: ['product.write'] }), { valid: false, code: 'insufficient_scope' });

    // Uses answered here reach Keyport in a batch: lastUsedAt moves.
    await keyport.flushUsage();
    await kp.services.tokens.usage.flush();
    const view = (await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body;
    assert.notEqual(view.lastUsedAt, null);
  });

  test('usage reports: one Keyport did not take is sent again, once; one it refused is reported, not kept', async () => {
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', environment: 'production', active: true });
    let answer: 'network' | 401 | 'pass' = 'network';
    const sent: number[] = [];
    const keyport = make({
      fetch: (input, init) => {
        const path = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).pathname;
        if (path !== '/v1/verify/usage') return fetch(input, init);
        const uses = JSON.parse(String(init?.body)).uses as { outcomes: Record<string, number> }[];
        sent.push(uses.reduce((n, u) => n + (u.outcomes.valid ?? 0), 0));
        if (answer === 'network') return Promise.reject(new TypeError('fetch failed'));
        if (answer === 401) return Promise.resolve(new Response('{}', { status: 401 }));
        return fetch(input, init);
      },
    });
    // The first uses are answered by Keyport (and counted there); the later ones here.
    for (let i = 0; i < 4; i++) assert.equal((await keyport.verify(secret)).valid, true);
    await assert.rejects(keyport.flushUsage(), /fetch failed/);
    const local = sent[0]!;
    assert.ok(local >= 1, JSON.stringify(sent));
    answer = 'pass';
    await keyport.verify(secret);
    await keyport.flushUsage();
    assert.deepEqual(sent, [local, local + 1], 'the uses kept, merged with the one since, sent once');
    await keyport.flushUsage();
    assert.deepEqual(sent, [local, local + 1], 'nothing left to send');
    await kp.services.tokens.usage.flush();
    assert.notEqual((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body.lastUsedAt, null);
    answer = 401;
    await keyport.verify(secret);
    await assert.rejects(keyport.flushUsage(), (err: unknown) => err instanceof KeyportError && err.code === 'service_token_invalid');
    answer = 'pass';
    await keyport.flushUsage();
    assert.deepEqual(sent, [local, local + 1, 1], 'a refused report is not sent again');
  });

  test('unknown, malformed and foreign-environment credentials; a change reaches the cache through the stream', async () => {
    const counter = countingFetch();
    const keyport = make({ fetch: counter.fetch });
    await keyport.ready();
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production' });
    assert.equal((await keyport.verify(secret)).valid, true);
    assert.equal((await keyport.verify(secret)).valid, true);
    const res = await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: false });
    assert.equal(res.status, 200);
    assert.ok(await eventually(async () => (await keyport.verify(secret)).code === 'inactive', 1000), 'switched off: refused within a second');
    assert.deepEqual(await keyport.verify('kp_live_nope'), { valid: false, code: 'malformed' });
    assert.deepEqual(await keyport.verify(''), { valid: false, code: 'malformed' });
    const unknown = `${secret.slice(0, -8)}${'A'.repeat(8)}`;
    assert.equal((await keyport.verify(unknown)).valid, false);
  });

  test('a signing key rotated in: tokens it signs verify locally, older ones too; a forged token does not', async () => {
    const counter = countingFetch();
    const keyport = make({ fetch: counter.fetch });
    await keyport.ready();
    const client = await createKey(kp.api, account, { environment: 'production' });
    const before = await accessToken(kp, client.key.clientId, client.secret);
    assert.equal((await keyport.verify(before)).valid, true);
    const rotated = await kp.api('POST', '/v1/signing-keys/rotate', { immediately: true });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const after = await accessToken(kp, client.key.clientId, client.secret);
    assert.notEqual(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid, JSON.parse(Buffer.from(before.split('.')[0]!, 'base64url').toString()).kid);
    assert.equal((await keyport.verify(after)).valid, true, 'the new key was fetched with the JWKS');
    assert.equal((await keyport.verify(before)).valid, true, 'the old key stays published');
    const calls = counter.verifications();
    assert.equal((await keyport.verify(after)).valid, true);
    assert.equal(counter.verifications(), calls, 'answered locally');
    // The payload changed under the same signature: refused, whatever it claims.
    const [h, p, sig] = after.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'order.write' })).toString('base64url')}.${sig}`;
    assert.deepEqual(await keyport.verify(forged), { valid: false, code: 'unknown' });
  });

  test('bad input throws at once, with a clear message', async () => {
    assert.throws(() => createVerifier({} as never), /`url` is required/);
    assert.throws(() => createVerifier({ url: 'keys.example.com', serviceToken: 't' }), /absolute http\(s\) URL/);
    assert.throws(() => createVerifier({ url: kp.url } as never), /`serviceToken` is required/);
    assert.throws(() => createVerifier({ url: kp.url, serviceToken: TEST_TOKEN, environment: 'staging' as never }), /'sandbox' or 'production'/);
    assert.throws(() => createVerifier({ url: kp.url, serviceToken: TEST_TOKEN, maxStaleness: -1 }), /maxStaleness/);
    const keyport = make();
    await assert.rejects(keyport.verify(42 as never), (err: Error) => err instanceof TypeError && /must be a string \(got number\)/.test(err.message));
    await assert.rejects(keyport.verify(undefined as never), /must be a string \(got undefined\)/);
    await assert.rejects(keyport.verify('x', { scopes: 'order.read' as never }), /`scopes` must be an array/);
  });

  test('a Keyport answering 5xx or garbage never makes a credential pass', async () => {
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production' });
    const answers: [number, string, string][] = [
      [500, 'application/json', '{"valid":true,"code":"valid"}'],
      [503, 'application/problem+json', '{"code":"store_unavailable"}'],
      [200, 'application/json', '{"valid":true,"code":"valid"}'],
      [200, 'application/json', '{"result":{"valid":true,"code":"valid","keyId":"k","account":"a","environment":"production","scopes":[]},"cache":{}}'],
      [200, 'application/json', 'not json'],
      [200, 'text/html', '<html>'],
      [200, 'application/json', '{"valid":"yes","code":"valid"}'],
      [200, 'application/json', '{"valid":false,"code":"valid"}'],
    ];
    for (const [status, type, body] of answers) {
      const fake = createHttpServer((req, res) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      });
      await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
      const keyport = make({ url });
      try {
        await assert.rejects(keyport.verify(secret), (err: unknown) => err instanceof KeyportError && err.code === 'keyport_unavailable', `${status} ${body}`);
      } finally {
        await keyport.close();
        fake.closeAllConnections();
        await new Promise((r) => fake.close(r));
      }
    }
    const unreachable = make({ url: 'http://127.0.0.1:9' });
    await assert.rejects(unreachable.verify(secret), (err: unknown) => err instanceof KeyportError && err.code === 'keyport_unavailable');
    const wrongToken = make({ serviceToken: 'not-a-service-token-000000000000' });
    await assert.rejects(wrongToken.verify(secret), (err: unknown) => err instanceof KeyportError && err.code === 'service_token_invalid');
  });

  test('stream cut: cached answers until maxStaleness, then fail closed; back once the stream is', async () => {
    const proxy = await cuttableProxy(kp.url);
    try {
      const keyport = make({ url: proxy.url, maxStaleness: 2000, heartbeat: 300 });
      await keyport.ready();
      const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production' });
      assert.equal((await keyport.verify(secret)).valid, true);
      // The key's `created` event may overtake the first answer (then it is not cached): once more.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await keyport.verify(secret)).valid, true);
      await proxy.cut();
      const cutAt = Date.now();
      // Within the bound: the cached answer, without Keyport.
      assert.equal((await keyport.verify(secret)).valid, true);
      assert.ok(Date.now() - cutAt < 1500, 'checked well within maxStaleness');
      // Past it: Keyport is asked, cannot be reached, and nothing passes.
      await new Promise((r) => setTimeout(r, 2300 - (Date.now() - cutAt)));
      assert.equal(keyport.status().fresh, false);
      await assert.rejects(keyport.verify(secret), (err: unknown) => err instanceof KeyportError && err.code === 'keyport_unavailable');
      await proxy.mend();
      assert.ok(await eventually(async () => keyport.status().fresh, 10_000), 'reconnects with backoff');
      assert.equal((await keyport.verify(secret)).valid, true);
    } finally {
      await proxy.close();
    }
  });

  test('a key limited to 100 per minute, driven through three SDK instances at once, is allowed 100 (± 10 %)', async () => {
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production', rateLimit: { limit: 100, windowSeconds: 60 } });
    const instances = [make(), make(), make()];
    await Promise.all(instances.map((v) => v.ready()));
    const results = await Promise.all(
      instances.map(async (v) => {
        const codes: string[] = [];
        for (let i = 0; i < 60; i++) codes.push((await v.verify(secret)).code);
        return codes;
      }),
    );
    const all = results.flat();
    const allowed = all.filter((c) => c === 'valid').length;
    assert.ok(allowed >= 90 && allowed <= 110, `allowed ${allowed} of ${all.length}`);
    assert.equal(all.filter((c) => c === 'rate_limited').length, all.length - allowed);
    const limited = await instances[0]!.verify(secret);
    assert.equal(limited.code, 'rate_limited');
    assert.equal(limited.rateLimit?.limit, 100);
  });
});
