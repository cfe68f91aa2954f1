import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { startKeyport, type RunningKeyport } from '../../src/server.js';
import { sqliteFile } from '../../src/storage/database.js';
import { apiClient, createAccount, createKey, freshStore, STORES, startTestKeyport, TEST_TOKEN, type StoreKind, type TestKeyport } from '../helpers/keyport.js';
import { accessToken, basic, eventually, postForm, startPeer } from '../helpers/oauth.js';
import { killHard, spawnKeyport, type StartingKeyport } from '../helpers/process.js';

/** Every event of the log, oldest first. */
async function events(kp: { services: RunningKeyport['services'] }) {
  return kp.services.store.storage.db.selectFrom('clusterEvents').selectAll().orderBy('seq').execute();
}

/** Runs SQL on the store beside Keyport (another connection): to break it on purpose. */
async function sqlBeside(kp: TestKeyport, statements: { sqlite: string; postgres: string }): Promise<void> {
  const storage = kp.config.storage;
  if (storage.kind === 'sqlite') {
    const db = new SQLite(sqliteFile(storage.dataDir));
    try {
      db.exec(statements.sqlite);
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: storage.url });
    await client.connect();
    try {
      await client.query(statements.postgres);
    } finally {
      await client.end();
    }
  }
}

for (const store of STORES) {
  describe(`every change commits with its audit entry and its cluster events (${store})`, () => {
    let kp: TestKeyport;
    let account: string;
    before(async () => {
      kp = await startTestKeyport(store);
      account = await createAccount(kp.api);
    });
    after(async () => kp?.stop());

    test('each kind of change leaves events naming its account and what changed', async () => {
      const since = (await events(kp)).length;
      const keys = `/v1/accounts/${account}/keys`;
      const { key } = await createKey(kp.api, account);
      await kp.api('PATCH', `${keys}/${key.id}`, { name: 'Renamed' });
      await kp.api('POST', `${keys}/${key.id}/reset-secret`, { confirm: true });
      const regenerated = await kp.api('POST', `${keys}/${key.id}/regenerate`, { confirm: true });
      const token = await accessToken(kp, regenerated.body.key.clientId, regenerated.body.secret);
      const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti;
      assert.equal((await postForm(`${kp.url}/oauth/revoke`, { token }, { authorization: basic(regenerated.body.key.clientId, regenerated.body.secret) })).status, 200);
      const partner = await createAccount(kp.api, { name: 'Partner' });
      const granted = await createKey(kp.api, partner);
      const grant = await kp.api('POST', `/v1/accounts/${account}/grants`, { key: granted.key.id, roles: [{ definition: 'product_data', level: 'viewer' }] });
      await kp.api('PATCH', `/v1/accounts/${account}/grants/${grant.body.grantId}`, { active: false });
      await kp.api('PATCH', `/v1/accounts/${account}/settings`, { accessTokenTtl: 900 });
      const member = await kp.api('POST', `/v1/accounts/${account}/members`, { email: `m${Date.now()}@example.com`, role: 'viewer', password: 'correct horse battery' });
      await kp.api('DELETE', `/v1/accounts/${account}/members/${member.body.operatorId}`);
      const service = await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'gateway' });
      await kp.api('DELETE', `/v1/accounts/${account}/service-tokens/${service.body.id}`);
      const rotated = await kp.api('POST', '/v1/signing-keys/rotate', {});
      await kp.api('DELETE', `/v1/accounts/${partner}/keys/${granted.key.id}?revokeTokens=true`);
      await kp.api('DELETE', `${keys}/${key.id}`);

      const written = (await events(kp)).slice(since).map((e) => [e.kind, e.accountId, e.changeType, e.keyId ?? e.grantId ?? e.targetId ?? e.jti]);
      const grantId = grant.body.grantId;
      assert.deepEqual(written, [
        ['key_changed', account, 'created', key.id],
        ['key_changed', account, 'updated', key.id],
        ['key_changed', account, 'secret_reset', key.id],
        ['key_changed', account, 'regenerated', key.id],
        ['token_revoked', account, 'revoked', key.id],
        ['key_changed', partner, 'created', granted.key.id],
        ['grant_changed', account, 'created', granted.key.id],
        ['grant_changed', account, 'updated', granted.key.id],
        ['grant_revoked', account, 'updated', granted.key.id],
        ['settings_changed', account, 'updated', null],
        ['members_changed', account, 'added', member.body.operatorId],
        ['members_changed', account, 'removed', member.body.operatorId],
        ['api_token_revoked', account, 'revoked', service.body.id],
        ['signing_keys_changed', null, 'rotated', rotated.body.kid],
        ['key_changed', partner, 'deleted', granted.key.id],
        ['client_revoked', partner, 'deleted', granted.key.id],
        ['grant_revoked', partner, 'deleted', granted.key.id],
        ['grant_changed', account, 'deleted', granted.key.id],
        ['key_changed', account, 'deleted', key.id],
        ['grant_revoked', account, 'deleted', key.id],
      ]);
      const all = (await events(kp)).slice(since);
      assert.equal(all.find((e) => e.kind === 'token_revoked')!.jti, jti, 'a revocation names its token');
      assert.equal(all.filter((e) => e.kind === 'grant_changed').every((e) => e.grantId === grantId), true, 'grant events name their grant');
      assert.equal(all.find((e) => e.kind === 'client_revoked')!.clientId, granted.key.clientId);
    });

    test('when the audit entry cannot be written, the change is not made and no event is written; the operator can repeat it', async () => {
      const peer = await startPeer(kp);
      try {
        const { key, secret } = await createKey(kp.api, account);
        const token = await accessToken(kp, key.clientId, secret);
        const verifyOn = (url: string) => apiClient(url, TEST_TOKEN)('POST', '/v1/verify', { token });
        assert.equal((await verifyOn(peer.url)).body.valid, true, 'the peer has it cached as valid');
        const before = (await events(kp)).length;
        await sqlBeside(kp, {
          sqlite: "create trigger audit_full before insert on audit_log begin select raise(abort, 'the audit log is full'); end;",
          postgres: `create function audit_full() returns trigger language plpgsql as $$ begin raise exception 'the audit log is full'; end $$;
                     create trigger audit_full before insert on audit_log for each row execute function audit_full();`,
        });
        try {
          const refused = await kp.api('DELETE', `/v1/accounts/${account}/keys/${key.id}?revokeTokens=true`);
          assert.deepEqual([refused.status, refused.body.code], [500, 'internal_error']);
        } finally {
          await sqlBeside(kp, { sqlite: 'drop trigger audit_full;', postgres: 'drop trigger audit_full on audit_log; drop function audit_full();' });
        }
        assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).status, 200, 'the key is still there');
        assert.equal((await events(kp)).length, before, 'no event was written');
        assert.equal((await verifyOn(kp.url)).body.valid, true);
        assert.equal((await verifyOn(peer.url)).body.valid, true);

        assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/keys/${key.id}?revokeTokens=true`)).status, 204, 'the operator repeats it');
        assert.deepEqual((await verifyOn(kp.url)).body, { valid: false, code: 'revoked' });
        assert.ok(await eventually(async () => (await verifyOn(peer.url)).body.code === 'revoked', 1000), 'the peer honours it within a second');
        const audit = await kp.api('GET', `/v1/accounts/${account}/audit?key=${key.id}&action=key.deleted`);
        assert.equal(audit.body.items.length, 1);
        assert.equal(audit.body.items[0].after.revokeTokens, true);
      } finally {
        await peer.close();
      }
    });
  });
}

/**
 * kill -9 of a node at a random point while it makes revoking changes: every change the store holds
 * (acknowledged or not) holds its audit entry and its events, every acknowledged change is there,
 * and another node honours each within a second of the kill.
 */
async function killRounds(store: StoreKind, rounds: number, diagnostic: (message: string) => void): Promise<void> {
  const fresh = await freshStore(store);
  let observer: RunningKeyport | undefined;
  const pending: StartingKeyport[] = [];
  try {
    // The store's timeouts are not under test here: generous ones keep a loaded machine from turning
    // the load itself into 503s (the account row lock queues every creation).
    const patient = { KEYPORT_DB_STATEMENT_TIMEOUT_MS: '30000', KEYPORT_DB_LOCK_TIMEOUT_MS: '20000', KEYPORT_DB_POOL_TIMEOUT_MS: '20000', KEYPORT_REQUEST_TIMEOUT_MS: '60000' };
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, ...fresh.env, ...patient });
    observer = await startKeyport(config);
    const db = observer.services.store.storage.db;
    const api = apiClient(observer.url, TEST_TOKEN);
    const account = await createAccount(api);
    await api('PATCH', `/v1/accounts/${account}/settings`, { keyLimitPerEnvironment: 100_000 });
    const spawnVictim = () => pending.push(spawnKeyport({ ...fresh.env, ...patient, KEYPORT_LOG_LEVEL: 'silent' }, 120_000));
    spawnVictim();
    spawnVictim();
    let acknowledged = 0;
    let applied = 0;
    let made = 0;
    let midway = 0;
    // The kill lands at a random point within this many ms of the load's start; it adapts, so that
    // kills land before, between and after the commits whatever the speed of the machine.
    let window = 100;
    for (let round = 0; round < rounds; round++) {
      // Targets, made on the observer, which has each answer cached as valid.
      const tokenKeys = await Promise.all([0, 1, 2, 3].map(() => createKey(api, account, { credentialType: 'token', active: true })));
      const clients = await Promise.all([0, 1, 2, 3].map(() => createKey(api, account)));
      const tokens = await Promise.all(
        clients.map(async (c) => (await postForm(`${observer!.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.key.clientId, c.secret) })).body.access_token as string),
      );
      const verify = (credential: string) => api('POST', '/v1/verify', { key: credential }).then((r) => r.body.code as string);
      for (const credential of [...tokenKeys.map((k) => k.secret), ...tokens]) assert.equal(await verify(credential), 'valid');

      const victim = pending.shift()!;
      if (round + 2 < rounds) spawnVictim();
      const url = await victim.listening;
      const on = apiClient(url, TEST_TOKEN);
      const keys = `/v1/accounts/${account}/keys`;
      // Warm: the caller's token and the account are known to the victim.
      assert.equal((await on('GET', `/v1/accounts/${account}`)).status, 200);
      type Op = { what: string; keyId: string; credential: string; honoured: string[]; send: () => Promise<{ status: number }> };
      const ops: Op[] = [
        ...tokenKeys.map((k, i): Op =>
          i % 2 === 0
            ? { what: 'delete', keyId: k.key.id, credential: k.secret, honoured: ['unknown'], send: () => on('DELETE', `${keys}/${k.key.id}`) }
            : { what: 'deactivate', keyId: k.key.id, credential: k.secret, honoured: ['inactive'], send: () => on('PATCH', `${keys}/${k.key.id}`, { active: false }) },
        ),
        ...clients.map((c, i): Op =>
          i % 2 === 0
            ? { what: 'delete+revokeTokens', keyId: c.key.id, credential: tokens[i]!, honoured: ['revoked'], send: () => on('DELETE', `${keys}/${c.key.id}?revokeTokens=true`) }
            : { what: 'oauth revoke', keyId: c.key.id, credential: tokens[i]!, honoured: ['revoked'], send: () => postForm(`${url}/oauth/revoke`, { token: tokens[i]! }, { authorization: basic(c.key.clientId, c.secret) }) },
        ),
      ];
      const answers = ops.map((op) => op.send().then((r) => r.status >= 200 && r.status < 300, () => false));
      // A random point of the load: before the first commit, between commits, after the last.
      await new Promise((r) => setTimeout(r, Math.random() * window));
      await killHard(victim.child);
      const killedAt = Date.now();
      const acked = await Promise.all(answers);

      const ids = ops.map((op) => op.keyId);
      const rows = await db.selectFrom('keys').select(['id', 'active']).where('id', 'in', ids).execute();
      const audit = await db.selectFrom('auditLog').select(['keyId', 'action', 'after']).where('keyId', 'in', ids).where('action', 'in', ['key.deleted', 'key.updated']).execute();
      const logged = await db.selectFrom('clusterEvents').selectAll().where('keyId', 'in', ids).where('kind', '!=', 'key_changed').execute();
      const changed = await db.selectFrom('clusterEvents').select(['keyId', 'changeType']).where('keyId', 'in', ids).where('kind', '=', 'key_changed').execute();
      const outcome: boolean[] = [];
      for (const [i, op] of ops.entries()) {
        const row = rows.find((r) => r.id === op.keyId);
        const auditOf = audit.filter((a) => a.keyId === op.keyId);
        const changeOf = changed.filter((e) => e.keyId === op.keyId && e.changeType !== 'created');
        let isApplied: boolean;
        let traces: boolean[];
        if (op.what === 'delete') {
          isApplied = row === undefined;
          traces = [auditOf.some((a) => a.action === 'key.deleted'), changeOf.some((e) => e.changeType === 'deleted')];
        } else if (op.what === 'deactivate') {
          isApplied = row?.active === 0;
          traces = [auditOf.some((a) => a.action === 'key.updated'), changeOf.some((e) => e.changeType === 'updated')];
        } else if (op.what === 'delete+revokeTokens') {
          isApplied = row === undefined;
          traces = [
            auditOf.some((a) => a.action === 'key.deleted' && String(a.after).includes('"revokeTokens":true')),
            changeOf.some((e) => e.changeType === 'deleted'),
            logged.some((e) => e.keyId === op.keyId && e.kind === 'client_revoked'),
          ];
        } else {
          // A token revocation is an event and nothing else.
          isApplied = logged.some((e) => e.keyId === op.keyId && e.kind === 'token_revoked');
          traces = [isApplied];
        }
        assert.deepEqual(traces, traces.map(() => isApplied), `round ${round}, ${op.what}: the change (${isApplied}) and its audit entry and events (${traces}) commit together`);
        if (acked[i]) assert.ok(isApplied, `round ${round}, ${op.what}: acknowledged, so it is in the store`);
        if (isApplied) {
          const left = Math.max(0, 1000 - (Date.now() - killedAt));
          assert.ok(await eventually(async () => op.honoured.includes(await verify(op.credential)), left), `round ${round}, ${op.what}: the other node honours it within a second of the kill`);
        } else {
          assert.equal(await verify(op.credential), 'valid', `round ${round}, ${op.what}: not made, so still valid`);
        }
        acknowledged += acked[i] ? 1 : 0;
        applied += isApplied ? 1 : 0;
        made++;
        outcome.push(isApplied);
      }
      if (outcome.every((x) => !x)) window *= 1.6;
      else if (outcome.every((x) => x)) window *= 0.7;
      else midway++;
    }
    diagnostic(`${rounds} rounds: ${made} changes sent, ${applied} made, ${acknowledged} acknowledged before the kill; ${midway} kills landed between commits`);
    assert.ok(applied > 0 && applied < made, 'the kills landed before, between and after commits');
  } finally {
    for (const p of pending) await killHard(p.child);
    await observer?.close();
    await fresh.dispose();
  }
}

describe('kill -9 under a revoking write load', () => {
  test('PostgreSQL, 20 rounds: a change, its audit entry and its events are all there or none is; the other node honours each within a second', { timeout: 600_000 }, async (t) => {
    await killRounds('postgres', 20, (m) => t.diagnostic(m));
  });
  test('SQLite, 5 rounds: the same on one file', { timeout: 300_000 }, async (t) => {
    await killRounds('sqlite', 5, (m) => t.diagnostic(m));
  });
});
