import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { apiClient, freshStore, STORES, TEST_TOKEN } from '../helpers/keyport.js';
import { killHard, startProcess } from '../helpers/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

for (const store of STORES) {
  describe(`durability (${store})`, () => {
    test('every acknowledged write survives kill -9 and a restart', async () => {
      const fresh = await freshStore(store);
      try {
        const first = await startProcess(fresh.env);
        const api = apiClient(first.url, TEST_TOKEN);
        const account = (await api('POST', '/v1/accounts', { name: 'Durable', provisionDefaultKeys: false })).body.id;
        const created = await api('POST', `/v1/accounts/${account}/keys`, { name: 'k', environment: 'production', kind: 'admin', credentialType: 'client_secret' });
        assert.equal(created.status, 201);
        const reset = await api('POST', `/v1/accounts/${account}/keys/${created.body.key.id}/reset-secret`, { confirm: true });
        assert.equal(reset.status, 200);
        const settings = await api('PATCH', `/v1/accounts/${account}/settings`, { accessTokenTtl: 600 });
        assert.equal(settings.status, 200);
        // No graceful shutdown: the process dies right after its last acknowledged answer.
        await killHard(first.child);

        const second = await startProcess(fresh.env);
        try {
          const again = apiClient(second.url, TEST_TOKEN);
          const key = await again('GET', `/v1/accounts/${account}/keys/${created.body.key.id}`);
          assert.equal(key.status, 200);
          assert.equal(key.body.clientId, created.body.key.clientId);
          const verify = await again('POST', `/v1/accounts/${account}/keys/${created.body.key.id}/verify-secret`, { secret: reset.body.secret });
          assert.deepEqual(verify.body, { matches: true });
          assert.equal((await again('GET', `/v1/accounts/${account}`)).body.settings.accessTokenTtl, 600);
        } finally {
          await killHard(second.child);
        }
      } finally {
        await fresh.dispose();
      }
    });

    test('an acknowledged credit top-up survives kill -9, and so do credits spent before it', async () => {
      const fresh = await freshStore(store);
      try {
        const first = await startProcess(fresh.env);
        const api = apiClient(first.url, TEST_TOKEN);
        const account = (await api('POST', '/v1/accounts', { name: 'Durable', provisionDefaultKeys: false })).body.id;
        const created = await api('POST', `/v1/accounts/${account}/keys`, { name: 'k', environment: 'sandbox', kind: 'admin', credentialType: 'token', active: true, credits: { remaining: 2 } });
        const secret = created.body.secret;
        assert.deepEqual((await api('POST', '/v1/verify', { key: secret })).body.credits, { remaining: 1 });
        const topUp = await api('PATCH', `/v1/accounts/${account}/keys/${created.body.key.id}`, { credits: { remaining: 500, refill: { amount: 500, interval: 'month' } } });
        assert.equal(topUp.status, 200);
        assert.deepEqual((await api('POST', '/v1/verify', { key: secret, cost: 10 })).body.credits, { remaining: 490 });
        await killHard(first.child);

        const second = await startProcess(fresh.env);
        try {
          const again = apiClient(second.url, TEST_TOKEN);
          const key = (await again('GET', `/v1/accounts/${account}/keys/${created.body.key.id}`)).body;
          assert.deepEqual([key.credits.remaining, key.credits.refill], [490, { amount: 500, interval: 'month', dayOfMonth: 1 }]);
          assert.deepEqual((await again('POST', '/v1/verify', { key: secret })).body.credits, { remaining: 489 });
          const trail = (await again('GET', `/v1/accounts/${account}/audit?key=${created.body.key.id}`)).body.items.map((e: any) => e.action);
          assert.deepEqual(trail, ['key.updated', 'key.created'], 'the top-up is audited; the uses are not');
        } finally {
          await killHard(second.child);
        }
      } finally {
        await fresh.dispose();
      }
    });
  });
}

describe('start-up errors', () => {
  test('a bad configuration names every bad variable and exits 2', async () => {
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', PORT: 'eighty', DATABASE_URL: 'mysql://localhost/db', KEYPORT_BOOTSTRAP_TOKEN: 'short' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
    });
    assert.equal(result.code, 2);
    assert.match(result.out, /PORT must be a whole number from 0 to 65535 \(got 'eighty'\)/);
    assert.match(result.out, /DATABASE_URL must be a postgres:\/\/ URL/);
    assert.match(result.out, /KEYPORT_BOOTSTRAP_TOKEN must be at least 16 characters/);
  });

  test('an unwritable data directory, and with KEYPORT_STARTUP_WAIT=0 an unreachable PostgreSQL, are clear errors at once', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('exit', (code) => resolve({ code, out }));
      });
    // A directory below a plain file can never be created (as root, permission bits would not stop us).
    const file = join(mkdtempSync(join(tmpdir(), 'keyport-')), 'a-file');
    writeFileSync(file, '');
    const dir = await run({ KEYPORT_DATA_DIR: join(file, 'data') });
    assert.equal(dir.code, 2);
    assert.match(dir.out, /Keyport cannot start: .*a-file\/data.*ENOTDIR.*set KEYPORT_DATA_DIR to a writable directory/);
    const pgDown = await run({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/keyport', KEYPORT_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'), KEYPORT_STARTUP_WAIT: '0' });
    assert.equal(pgDown.code, 2);
    assert.match(pgDown.out, /Keyport cannot start: Cannot connect to PostgreSQL postgres:\/\/postgres@127.0.0.1:1\/keyport: .*ECONNREFUSED/);
  });
});
