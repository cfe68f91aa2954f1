import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startKeyport } from '../../src/server.js';
import { apiClient, createAccount, createKey, freshStore, TEST_TOKEN } from '../helpers/keyport.js';
import { basic, postForm } from '../helpers/oauth.js';
import { killHard, spawnKeyport } from '../helpers/process.js';

/**
 * A node frozen (SIGSTOP: a stalled VM, a debugger, a container paused) while another revokes
 * credentials, then resumed (SIGCONT). Requests sent to it while it was frozen wait in its socket
 * buffers and are the first it handles when it resumes, before any of its timers run: its caches
 * still say `valid`, and its last read of the event log may look recent. It must not answer `valid`.
 */
describe('a node paused and resumed', () => {
  test('never answers valid for a credential revoked while it was paused (PostgreSQL, pauses of 0.4 to 2.5 s)', { timeout: 180_000 }, async () => {
    const fresh = await freshStore('postgres');
    const writer = await startKeyport(loadConfig({ PORT: '0', HOST: '127.0.0.1', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, ...fresh.env }));
    const paused = spawnKeyport(fresh.env);
    try {
      const api = apiClient(writer.url, TEST_TOKEN);
      const on = apiClient(await paused.listening, TEST_TOKEN);
      const account = await createAccount(api);
      const keys = `/v1/accounts/${account}/keys`;
      const answers: string[] = [];
      for (const [round, pauseMs] of [400, 700, 1200, 2500, 500, 1500].entries()) {
        const tokenKey = await createKey(api, account, { credentialType: 'token', active: true });
        const client = await createKey(api, account);
        const token = (await postForm(`${writer.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(client.key.clientId, client.secret) })).body.access_token;
        const verify = (credential: string) => on('POST', '/v1/verify', { key: credential }).then((r) => (r.status === 200 ? (r.body.code as string) : `${r.status} ${r.body.code}`));
        for (let i = 0; i < 2; i++) assert.deepEqual([await verify(tokenKey.secret), await verify(token)], ['valid', 'valid'], 'cached as valid before the pause');

        paused.child.kill('SIGSTOP');
        const stoppedAt = Date.now();
        const change = round % 2 === 0 ? api('DELETE', `${keys}/${tokenKey.key.id}`) : api('PATCH', `${keys}/${tokenKey.key.id}`, { active: false });
        assert.ok([200, 204].includes((await change).status));
        assert.equal((await postForm(`${writer.url}/oauth/revoke`, { token }, { authorization: basic(client.key.clientId, client.secret) })).status, 200);
        // Sent while it is frozen: handled first thing when it resumes.
        const queued = [0, 1, 2].flatMap(() => [verify(tokenKey.secret), verify(token)]);
        await new Promise((r) => setTimeout(r, Math.max(0, pauseMs - (Date.now() - stoppedAt))));
        paused.child.kill('SIGCONT');
        const afterwards = [verify(tokenKey.secret), verify(token)];
        const seen = await Promise.all([...queued, ...afterwards]);
        answers.push(...seen);
        assert.ok(!seen.includes('valid'), `round ${round} (paused ${pauseMs} ms): ${seen.join(', ')}`);
        assert.deepEqual([...new Set(seen)].sort(), [round % 2 === 0 ? 'unknown' : 'inactive', 'revoked'].sort(), `round ${round}: the node caught up before answering`);
      }
      assert.deepEqual([paused.child.exitCode, paused.child.signalCode], [null, null]);
    } finally {
      paused.child.kill('SIGCONT');
      await killHard(paused.child);
      await writer.close();
      await fresh.dispose();
    }
  });
});
