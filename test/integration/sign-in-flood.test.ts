import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createAccount, createKey, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { basic } from '../helpers/oauth.js';

/**
 * A flood of sign-ins must not stall token issuance: password hashes run in a bounded pool, so
 * libuv's threads stay free for token signing, and the excess sign-ins are refused at once.
 * Correctness, not speed: every token request made during the flood is answered 200 within a
 * deadline far above its idle latency (a few ms); without the pool they waited for hundreds of
 * queued hashes (14.6 s in the probe) and timed out.
 */
const FLOOD = 400;
const TOKEN_REQUESTS = 20;
/** Generous: the machine running the tests may be shared and slow. */
const DEADLINE_MS = 30_000;

describe('sign-in flood', () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('sqlite', { KEYPORT_TRUSTED_PROXIES: '127.0.0.1' });
  });
  after(async () => kp?.stop());

  test(`/oauth/token stays answered during ${FLOOD} parallel sign-ins`, { timeout: 180_000 }, async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account, { active: true });
    // The token requests go over a connection of their own, made before the flood and kept open,
    // as a keep-alive client's would be. (Through fetch's shared pool, the flood's requests took
    // that connection, and a token request then needed a new one; a node this saturated accepts
    // new connections only one per turn of its event loop, so that one waited up to 30 s.)
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const tokenRequest = () =>
      new Promise<number | string>((resolve) => {
        const started = performance.now();
        let answered = false;
        const done = (outcome: number | string) => {
          if (answered) return;
          answered = true;
          tokenMs.push(Math.round(performance.now() - started));
          resolve(outcome);
        };
        const req = request(`${kp.url}/oauth/token`, {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(key.clientId, secret) },
          // Silence this long on the connection is a stall.
          timeout: DEADLINE_MS,
        });
        req.on('timeout', () => req.destroy(new Error('no answer within the deadline')));
        req.on('error', (err) => done(err.message));
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
          res.on('error', (err) => done(err.message));
        });
        req.end('grant_type=client_credentials');
      });
    const tokenMs: number[] = [];
    assert.equal(await tokenRequest(), 200);
    // Sign-ins from many addresses (so the per-address limit does not cut the flood short), for
    // unknown e-mails: FLOOD in flight all the time, each answered one replaced, until the token
    // requests are done.
    const signInStatuses: number[] = [];
    let flooding = true;
    let sent = 0;
    const signIn = async (): Promise<void> => {
      while (flooding) {
        const i = sent++;
        const res = await fetch(`${kp.url}/v1/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `2001:db8:${(i % 500).toString(16)}::${randomBytes(2).toString('hex')}` },
          body: JSON.stringify({ email: `flood-${i}@example.com`, password: 'not the password at all' }),
        });
        signInStatuses.push(res.status);
        await res.arrayBuffer();
      }
    };
    const flood = Array.from({ length: FLOOD }, signIn);
    const tokens: (number | string)[] = [];
    try {
      // Once the flood is under way (its connections made, answers coming back) ...
      while (signInStatuses.length < FLOOD / 4) await new Promise((resolve) => setTimeout(resolve, 50));
      // ... token requests one after another while the sign-ins keep coming.
      for (let i = 0; i < TOKEN_REQUESTS; i++) tokens.push(await tokenRequest());
    } finally {
      flooding = false;
      await Promise.all(flood);
      agent.destroy();
    }
    assert.deepEqual(tokens.filter((s) => s !== 200), [], `token answers: ${JSON.stringify(tokens)}, in ms: ${JSON.stringify(tokenMs)}`);
    // The flood was refused early in part (503 server_busy), the rest checked (401).
    assert.ok(signInStatuses.includes(503), JSON.stringify(signInStatuses));
    assert.deepEqual([...new Set(signInStatuses)].filter((s) => ![401, 429, 503].includes(s)), []);
  });
});
