import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { generateKeyString } from '../../src/domain/key-strings.js';
import { createAccount, createKey, startTestKeyport, STORES, type TestKeyport } from '../helpers/keyport.js';
import { MemoryNotices } from '../helpers/notices.js';
import { accessToken } from '../helpers/oauth.js';

/** A P-256 key pair standing in for GitHub's, and another that is not configured. */
const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
/** GitHub's public key document, as https://api.github.com/meta/public_keys/secret_scanning serves it. */
const KEYS_DOCUMENT = JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: pem(github.publicKey), is_current: true }] });

const signed = (body: string, privateKey: KeyObject = github.privateKey) => sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'der' }).toString('base64');

for (const store of STORES)
  describe(`leaked-key reports from GitHub secret scanning (${store})`, () => {
    let kp: TestKeyport;
    const sink = new MemoryNotices(['key.leaked']);
    before(async () => {
      kp = await startTestKeyport(store, { KEYPORT_GITHUB_LEAK_KEYS: KEYS_DOCUMENT, KEYPORT_EXPIRY_SCAN_INTERVAL: '0' }, { notices: sink });
    });
    after(async () => kp?.stop());

    /** Posts an alert as GitHub does: the raw body, its signature and the key's identifier. */
    const report = async (body: string, headers: Record<string, string> = { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signed(body) }) => {
      const res = await fetch(`${kp.url}/v1/leaks/github`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: res.status, body: await res.json() as any };
    };
    const alert = (token: string, type = 'keyport_secret') => [{ token, type, url: 'https://github.com/octo/shop/blob/abc/config.js', source: 'content' }];
    const getKey = async (account: string, id: string) => (await kp.api('GET', `/v1/accounts/${account}/keys/${id}`)).body;

    test('revoke (the default): the key is switched off, its access tokens stop, key.leaked is sent and audited', async () => {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account, { name: 'storefront' });
      const token = await accessToken(kp, key.clientId, secret);
      assert.equal((await kp.api('POST', '/v1/verify', { token })).body.valid, true);

      const res = await report(JSON.stringify(alert(secret)));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, [{ token_raw: secret, token_type: 'keyport_secret', label: 'true_positive' }]);

      const after = await getKey(account, key.id);
      assert.equal(after.active, false);
      assert.deepEqual(after.leak, { reportedAt: after.updatedAt, source: 'github:content', url: 'https://github.com/octo/shop/blob/abc/config.js' });
      assert.equal((await kp.api('POST', '/v1/verify', { token })).body.code, 'revoked', 'tokens issued before the report stop at once');
      assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).body.valid, false);
      assert.deepEqual(sink.of(account), [`key.leaked ${key.id}`]);
      assert.deepEqual(sink.received.find((n) => n.accountId === account)!.data, after);
      const [entry] = (await kp.api('GET', `/v1/accounts/${account}/audit?action=key.leaked`)).body.items;
      assert.equal(entry.keyId, key.id);
      assert.deepEqual(entry.actor, { kind: 'system', id: 'keyport', label: 'github secret scanning' });
      assert.equal(entry.after.leakResponse, 'revoke');
      assert.equal(entry.before.active, true);

      // Found again elsewhere: still ours, nothing new happens.
      assert.deepEqual((await report(JSON.stringify(alert(secret)))).body[0].label, 'true_positive');
      assert.deepEqual(sink.of(account), [`key.leaked ${key.id}`]);

      // The way out: regenerate (a new client id and secret) and switch the key on again.
      const regenerated = (await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/regenerate`, { confirm: true })).body;
      assert.equal(regenerated.key.leak, null, 'the report was about the secret that is gone');
      await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: true });
      const fresh = await accessToken(kp, regenerated.key.clientId, regenerated.secret);
      assert.equal((await kp.api('POST', '/v1/verify', { token: fresh })).body.valid, true, 'tokens of the new client id work');
      assert.equal((await report(JSON.stringify(alert(secret)))).body[0].label, 'false_positive', 'the old secret is no key of ours any more');
    });

    test('notify: the key keeps working, is marked, and key.leaked is sent', async () => {
      const account = await createAccount(kp.api);
      await kp.api('PATCH', `/v1/accounts/${account}/settings`, { leakResponse: 'notify' });
      const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
      const res = await report(JSON.stringify(alert(secret, 'keyport_token')));
      assert.deepEqual(res.body, [{ token_raw: secret, token_type: 'keyport_token', label: 'true_positive' }]);
      const after = await getKey(account, key.id);
      assert.equal(after.active, true);
      assert.equal(after.leak.source, 'github:content');
      assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).body.valid, true);
      assert.deepEqual(sink.of(account), [`key.leaked ${key.id}`]);
      const [entry] = (await kp.api('GET', `/v1/accounts/${account}/audit?action=key.leaked`)).body.items;
      assert.equal(entry.after.leakResponse, 'notify');
      // A reset may not keep the leaked secret working for a grace period; a plain reset ends the leak.
      const graced = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reset-secret`, { confirm: true, previousSecretValidFor: 3600 });
      assert.equal(graced.status, 400, JSON.stringify(graced.body));
      assert.match(JSON.stringify(graced.body), /previousSecretValidFor/);
      assert.equal((await getKey(account, key.id)).leak.source, 'github:content', 'nothing changed');
      const reset = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reset-secret`, { confirm: true });
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      assert.equal((await getKey(account, key.id)).leak, null);
      assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).body.valid, false, 'the leaked secret stopped');
    });

    test('the same key reported several times at once is handled once', async () => {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account);
      const bodies = ['content', 'commit', 'gist'].map((source) => JSON.stringify([{ token: secret, type: 'keyport_client_secret', url: `https://github.com/x/${source}`, source }]));
      const answers = await Promise.all(bodies.map((body) => report(body)));
      assert.deepEqual(answers.map((a) => [a.status, a.body[0].label]), bodies.map(() => [200, 'true_positive']));
      assert.deepEqual(sink.of(account), [`key.leaked ${key.id}`]);
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/audit?action=key.leaked`)).body.items.length, 1);
    });

    test('a management token found in public is revoked at once and audited', async () => {
      const account = await createAccount(kp.api);
      const created = (await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'Shop gateway' })).body;
      const use = async () => (await kp.as(created.token)('POST', '/v1/verify', { key: 'kp_test_nothing' })).status;
      assert.equal(await use(), 200);
      const res = await report(JSON.stringify(alert(created.token, 'keyport_api_token')));
      assert.deepEqual(res.body, [{ token_raw: created.token, token_type: 'keyport_api_token', label: 'true_positive' }]);
      assert.equal(await use(), 401);
      const [entry] = (await kp.api('GET', `/v1/accounts/${account}/audit?action=service_token.leaked`)).body.items;
      assert.equal(entry.targetId, created.id);
      assert.equal(entry.after.url, 'https://github.com/octo/shop/blob/abc/config.js');
      assert.equal((await report(JSON.stringify(alert(created.token)))).body[0].label, 'true_positive', 'still ours once revoked');
    });

    test('strings that are not our secrets are false positives and change nothing; the labels keep the order', async () => {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account);
      const wrongChecksum = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
      const tokens = [
        'ghp_notoursatall',
        generateKeyString('token', 'sandbox'), // well-formed, but no key has it
        wrongChecksum,
        key.clientId, // public, never a leak
        secret,
      ];
      const res = await report(JSON.stringify(tokens.map((token) => ({ token, type: 'keyport', url: 'https://github.com/x/y', source: 'commit' }))));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.map((l: any) => [l.token_raw, l.label]), [...tokens.slice(0, 4).map((t) => [t, 'false_positive']), [secret, 'true_positive']]);
      assert.equal((await getKey(account, key.id)).leak.source, 'github:commit');
    });

    test('a signature that does not verify, a missing one or an unknown key id is refused, and nothing changes', async () => {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account);
      const body = JSON.stringify(alert(secret));
      const cases: [string, Record<string, string>][] = [
        ['signed by another key', { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signed(body, stranger.privateKey) }],
        ['signature over another body', { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signed(body + ' ') }],
        ['not base64', { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': '%%%' }],
        ['unknown key id', { 'github-public-key-identifier': 'another-key', 'github-public-key-signature': signed(body) }],
        ['no signature', { 'github-public-key-identifier': KEY_ID }],
        ['no headers', {}],
      ];
      for (const [what, headers] of cases) {
        const res = await report(body, headers);
        assert.equal(res.status, 401, what);
        assert.equal(res.body.code, 'invalid_signature', what);
      }
      const unchanged = await getKey(account, key.id);
      assert.equal(unchanged.active, true);
      assert.equal(unchanged.leak, null);
      assert.deepEqual(sink.of(account), []);
    });

    test('a signed body that is not an alert is a 400 naming what is wrong', async () => {
      const malformed = await report('[{"token": ');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.code, 'malformed_json');
      const shape = await report(JSON.stringify([{ token: 42, type: 'x' }, 'nope']));
      assert.equal(shape.status, 400);
      assert.equal(shape.body.code, 'validation_failed');
      assert.deepEqual(shape.body.errors.map((e: any) => e.pointer), ['/0/token', '/1']);
      const notArray = await report(JSON.stringify({ token: 'x' }));
      assert.equal(notArray.status, 400);
      const form = await fetch(`${kp.url}/v1/leaks/github`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(form.status, 415);
    });
  });

describe('leak report configuration', () => {
  test('an installation without keys answers 404 leak_reports_not_configured', async () => {
    const kp = await startTestKeyport('sqlite', { KEYPORT_EXPIRY_SCAN_INTERVAL: '0' });
    try {
      const res = await fetch(`${kp.url}/v1/leaks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signed('[]') }, body: '[]' });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as any).code, 'leak_reports_not_configured');
    } finally {
      await kp.stop();
    }
  });

  test('keys come from a file (JSON or PEM); bad keys are named at start-up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-leak-keys-'));
    const json = join(dir, 'keys.json');
    writeFileSync(json, KEYS_DOCUMENT);
    assert.equal(loadConfig({ KEYPORT_GITHUB_LEAK_KEYS_FILE: json }).githubLeakKeys!.byId.size, 1);
    const pemFile = join(dir, 'keys.pem');
    writeFileSync(pemFile, pem(github.publicKey) + pem(stranger.publicKey));
    assert.equal(loadConfig({ KEYPORT_GITHUB_LEAK_KEYS_FILE: pemFile }).githubLeakKeys!.anyId.length, 2);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const [env, message] of [
      [{ KEYPORT_GITHUB_LEAK_KEYS_FILE: join(dir, 'missing.json') }, /KEYPORT_GITHUB_LEAK_KEYS_FILE .*missing\.json/],
      [{ KEYPORT_GITHUB_LEAK_KEYS: '{"public_keys": [{"key": "x"}]}' }, /KEYPORT_GITHUB_LEAK_KEYS: public_keys\[0\] needs a key_identifier/],
      [{ KEYPORT_GITHUB_LEAK_KEYS: pem(rsa.publicKey) }, /not an ECDSA P-256 public key/],
      [{ KEYPORT_GITHUB_LEAK_KEYS: 'hello' }, /names no public key/],
      [{ KEYPORT_GITHUB_LEAK_KEYS: KEYS_DOCUMENT, KEYPORT_GITHUB_LEAK_KEYS_FILE: json }, /not both/],
    ] as const)
      assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message));
  });
});
