import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { sqliteFile } from '../../src/storage/database.js';
import { apiClient, createAccount, createKey, startTestKeyport, TEST_TOKEN, type Api } from '../helpers/keyport.js';
import { basic, eventually, postForm } from '../helpers/oauth.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
import { exitOf, killHard, logLines, outputMatching, spawnKeyport, startProcessWithin, type KeyportProcess } from '../helpers/process.js';

/**
 * The faults every production PostgreSQL has, injected for real on a cluster of the test's own:
 * connections terminated (pg_terminate_backend), the server stopped at once (pg_ctl stop -m
 * immediate) and started again, row and table locks held from another connection, a pool used up,
 * the server frozen (SIGSTOP). Keyport runs as its own process, so a crash shows as an exit.
 */

const ENCRYPTION_KEY = randomBytes(32).toString('base64');
/** Any answer slower than this is a hang: every wait in Keyport is bounded well below it. */
const HANG_MS = 12_000;

let server: OwnPostgres;
before(async () => {
  server = await startOwnPostgres();
});
after(async () => server?.destroy());

/** The API of a node, every call bounded: a call that does not come back is a failure, not a wait. */
function bounded(url: string, token: string | null = TEST_TOKEN): Api {
  const api = apiClient(url, token);
  return (method, path, body, headers) =>
    Promise.race([
      api(method, path, body, headers),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${method} ${path} did not answer within ${HANG_MS} ms`)), HANG_MS).unref()),
    ]);
}

/** The nodes of the test that runs now: a failing test shows what they printed. */
const nodes: KeyportProcess[] = [];

async function node(url: string, env: Record<string, string> = {}): Promise<{ proc: KeyportProcess; api: Api }> {
  const proc = await startProcessWithin({ DATABASE_URL: url, KEYPORT_ENCRYPTION_KEY: ENCRYPTION_KEY, KEYPORT_LOG_REPEAT_INTERVAL: '1', ...env }, 60_000);
  nodes.push(proc);
  return { proc, api: bounded(proc.url) };
}

function showingOutput(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (err) {
      for (const proc of nodes) console.error(`--- node ${proc.url}:\n${proc.output()}`);
      throw err;
    } finally {
      nodes.length = 0;
    }
  };
}

const assertAlive = (proc: KeyportProcess) =>
  assert.deepEqual([proc.child.exitCode, proc.child.signalCode], [null, null], `the node exited:\n${proc.output()}`);

const databaseOf = (url: string) => new URL(url).pathname.slice(1);

/** The pid of the Keyport connection waiting for a lock, once there is one. */
async function waitingBackend(url: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const rows = await server.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = $1 and application_name = 'keyport' and wait_event_type = 'Lock'",
      [databaseOf(url)],
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no Keyport connection is waiting for a lock');
}

async function locker(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  client.on('error', () => {});
  return client;
}

const newKey = (n: number | string) => ({ name: `Key ${n}`, environment: 'sandbox', kind: 'custom', credentialType: 'token', scopes: ['product.read'], active: true });

/** The 503 problem of an outage, as every REST endpoint answers it. */
function assertStoreUnavailable(res: { status: number; body: any; headers: Headers }, what: string) {
  assert.equal(res.status, 503, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', what);
  assert.equal(res.headers.get('retry-after'), '1', what);
  assert.deepEqual({ ...res.body, detail: typeof res.body.detail, instance: typeof res.body.instance }, {
    type: 'urn:keyport:problem:store_unavailable',
    code: 'store_unavailable',
    title: 'Store unavailable',
    status: 503,
    detail: 'string',
    instance: 'string',
  }, what);
}

describe('PostgreSQL faults (a cluster of the test\'s own)', () => {
  test('connections terminated mid-transaction, mid-query and while idle: the node stays up, that request is a 503, the next ones work', { timeout: 90_000 }, showingOutput(async () => {
    const url = await server.createDatabase();
    const { proc, api } = await node(url, { KEYPORT_DB_LOCK_TIMEOUT_MS: '20000', KEYPORT_DB_STATEMENT_TIMEOUT_MS: '20000' });
    const other = await locker(url);
    try {
      const account = await createAccount(api);
      const tk = await createKey(api, account, newKey('cached'));
      assert.equal((await api('POST', '/v1/verify', { key: tk.secret })).body.valid, true);
      const keys = `/v1/accounts/${account}/keys`;

      // Mid-transaction: the creation holds a transaction open while it waits for the account's row lock.
      await other.query('begin');
      await other.query('select id from accounts where id = $1 for update', [account]);
      const creating = api('POST', keys, newKey('waiting'));
      await server.query('select pg_terminate_backend($1)', [await waitingBackend(url)]);
      assertStoreUnavailable(await creating, 'a creation whose connection was terminated');
      await other.query('rollback');

      // Mid-query, outside a transaction: a listing waits for a table lock.
      await other.query('begin');
      await other.query('lock table keys in access exclusive mode');
      const listing = api('GET', keys);
      await server.query('select pg_terminate_backend($1)', [await waitingBackend(url)]);
      assertStoreUnavailable(await listing, 'a listing whose connection was terminated');
      await other.query('rollback');

      // While idle: every connection of the node, the background ones included, is terminated.
      const killed = await server.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'keyport%' and state = 'idle'",
        [databaseOf(url)],
      );
      assert.ok(killed.length >= 1, 'idle connections were terminated');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await api('POST', keys, newKey('after'))).status, 201);
      assert.equal((await api('GET', keys)).body.items.length, 2);
      assert.equal((await api('POST', '/v1/verify', { key: tk.secret })).body.valid, true);
      assert.equal((await api('GET', '/readyz')).status, 200);
      assertAlive(proc);
      assert.doesNotMatch(proc.output(), /Unhandled 'error' event|uncaught/i);
    } finally {
      await other.end().catch(() => {});
      await killHard(proc.child);
    }
  }));

  test('the database stopped at once under eight concurrent creations: 503 store_unavailable (temporarily_unavailable under /oauth), one log line per cause and interval, recovery by itself', { timeout: 120_000 }, showingOutput(async () => {
    const url = await server.createDatabase();
    const { proc, api } = await node(url);
    try {
      const account = await createAccount(api);
      const client = await createKey(api, account, { name: 'OAuth client', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['product.read'] });
      const tk = await createKey(api, account, newKey('cached'));
      assert.equal((await api('POST', '/v1/verify', { key: tk.secret })).body.valid, true);

      let stop = false;
      let n = 0;
      const statuses: number[] = [];
      const worker = async () => {
        while (!stop) {
          const res = await api('POST', `/v1/accounts/${account}/keys`, newKey(`load ${n++}`));
          statuses.push(res.status);
          if (res.status === 503) assertStoreUnavailable(res, 'a creation during the outage');
        }
      };
      const load = Array.from({ length: 8 }, worker);
      await eventually(async () => statuses.filter((s) => s === 201).length >= 8, 10_000);
      await server.stop('immediate');
      await eventually(async () => statuses.filter((s) => s === 503).length >= 40, 20_000);
      stop = true;
      await Promise.all(load);
      assert.deepEqual([...new Set(statuses)].sort(), [201, 503], 'every creation was made or refused as an outage: never a 500');
      assertAlive(proc);

      assert.equal((await api('GET', '/healthz')).status, 200, 'liveness does not depend on the store');
      const ready = await api('GET', '/readyz');
      assert.equal(ready.status, 503);
      assertStoreUnavailable(await api('GET', `/v1/accounts/${account}/keys`), 'a listing');
      // Past the bound, a cached answer cannot be vouched for: 503, not valid.
      await new Promise((r) => setTimeout(r, 1100));
      assertStoreUnavailable(await api('POST', '/v1/verify', { key: tk.secret }), 'a cached verification past the bound');

      const token = await postForm(`${proc.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(client.key.clientId, client.secret) });
      assert.deepEqual([token.status, token.body, token.headers.get('retry-after'), token.headers.get('cache-control')], [
        503,
        { error: 'temporarily_unavailable', error_description: 'The server cannot reach its store right now; try again shortly.' },
        '1',
        'no-store',
      ]);
      const introspect = await postForm(`${proc.url}/oauth/introspect`, { token: tk.secret }, { authorization: `Bearer ${TEST_TOKEN}` });
      assert.deepEqual([introspect.status, introspect.body.error], [503, 'temporarily_unavailable']);

      // One line per cause and interval, and a line with the count: not one per request.
      const failed = statuses.filter((s) => s === 503).length;
      await outputMatching(proc.output, /"repeated":\d+/, 5000);
      const lines = logLines(proc.output()).filter((l) => l.msg?.startsWith('store unavailable'));
      assert.ok(lines.length > 0 && lines.length < failed / 3, `${lines.length} log lines for ${failed} failed requests`);
      assert.ok(lines.some((l) => l.repeated > 0 && l.intervalSeconds === 1), 'a line sums up the repeats');
      assert.ok(!proc.output().includes('internal_error'), 'no request was answered as a bug');

      await server.start();
      assert.ok(await eventually(async () => (await api('GET', '/readyz')).status === 200, 15_000), 'ready again once the database is back');
      assert.equal((await api('POST', `/v1/accounts/${account}/keys`, newKey('after'))).status, 201);
      assert.equal((await api('POST', '/v1/verify', { key: tk.secret })).body.valid, true);
      const again = await postForm(`${proc.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(client.key.clientId, client.secret) });
      assert.equal(again.status, 200);
      assertAlive(proc);
    } finally {
      await killHard(proc.child);
      if (server.pid === undefined) await server.start();
    }
  }));

  test('every wait is bounded: a row lock, a table lock, a used-up pool and a frozen database fail those requests fast; cached verifications and /healthz keep answering', { timeout: 120_000 }, showingOutput(async () => {
    const url = await server.createDatabase();
    const { proc, api } = await node(url, {
      KEYPORT_DB_LOCK_TIMEOUT_MS: '1200',
      KEYPORT_DB_STATEMENT_TIMEOUT_MS: '1500',
      KEYPORT_DB_POOL_SIZE: '2',
      KEYPORT_DB_POOL_TIMEOUT_MS: '300',
    });
    const other = await locker(url);
    try {
      const account = await createAccount(api);
      const tk = await createKey(api, account, newKey('cached'));
      const keys = `/v1/accounts/${account}/keys`;
      const cachedValid = async () => {
        const res = await api('POST', '/v1/verify', { key: tk.secret });
        assert.equal(res.body.valid, true, `a cached verification: ${res.status} ${JSON.stringify(res.body)}`);
      };
      await cachedValid();

      // A row lock held elsewhere: the write gives up at the lock timeout.
      await other.query('begin');
      await other.query('select id from accounts where id = $1 for update', [account]);
      const creating = api('POST', keys, newKey('locked out'));
      await waitingBackend(url);
      await cachedValid();
      assert.equal((await api('GET', '/healthz')).status, 200);
      assert.equal((await api('GET', '/readyz')).status, 200, 'the store answers: a lock on one account is not an outage');
      assertStoreUnavailable(await creating, 'a creation waiting for a row lock');

      // A pool used up by requests waiting for that lock: the next request waits for the pool timeout only.
      const stuck = [api('POST', keys, newKey('stuck 1')), api('POST', keys, newKey('stuck 2'))];
      await eventually(async () => (await server.query("select 1 from pg_stat_activity where datname = $1 and application_name = 'keyport' and wait_event_type = 'Lock'", [databaseOf(url)])).length === 2, 5000);
      assertStoreUnavailable(await api('GET', keys), 'a request finding no free connection');
      await cachedValid();
      assert.equal((await api('GET', '/readyz')).status, 200, 'the node reads the event log on connections of its own');
      for (const res of await Promise.all(stuck)) assertStoreUnavailable(res, 'a creation waiting for a row lock');
      await other.query('rollback');

      // A table lock: reads of that table give up; the event log is another table.
      await other.query('begin');
      await other.query('lock table keys in access exclusive mode');
      const listing = api('GET', keys);
      await waitingBackend(url);
      await cachedValid();
      assertStoreUnavailable(await listing, 'a listing waiting for a table lock');
      await other.query('rollback');
      assert.equal((await api('POST', keys, newKey('free again'))).status, 201);

      // A frozen database answers nothing at all: Keyport's own deadline ends the wait.
      server.freeze();
      try {
        const frozen = await api('POST', keys, newKey('frozen'));
        assertStoreUnavailable(frozen, 'a creation against a frozen database');
        assert.equal((await api('GET', '/healthz')).status, 200);
        const verified = await api('POST', '/v1/verify', { key: tk.secret });
        assert.ok(verified.status === 200 ? verified.body.valid === true : verified.body.code === 'store_unavailable', JSON.stringify(verified.body));
        assert.ok(await eventually(async () => (await api('GET', '/readyz')).status === 503, 5000), 'not ready while the event log cannot be read');
        assertStoreUnavailable(await api('POST', '/v1/verify', { key: tk.secret }), 'a cached verification, the node being behind');
        assertAlive(proc);
      } finally {
        server.thaw();
      }
      assert.ok(await eventually(async () => (await api('GET', '/readyz')).status === 200, 15_000), 'ready again once the database answers');
      assert.equal((await api('POST', keys, newKey('thawed'))).status, 201);
      await cachedValid();
      assertAlive(proc);
    } finally {
      await other.end().catch(() => {});
      await killHard(proc.child);
    }
  }));

  test('a request past its deadline is answered 503 store_unavailable, whatever it was waiting for', { timeout: 60_000 }, showingOutput(async () => {
    const url = await server.createDatabase();
    const { proc, api } = await node(url, { KEYPORT_REQUEST_TIMEOUT_MS: '400', KEYPORT_DB_LOCK_TIMEOUT_MS: '10000', KEYPORT_DB_STATEMENT_TIMEOUT_MS: '10000' });
    const other = await locker(url);
    try {
      const account = await createAccount(api);
      await other.query('begin');
      await other.query('select id from accounts where id = $1 for update', [account]);
      const res = await api('POST', `/v1/accounts/${account}/keys`, newKey('late'));
      assertStoreUnavailable(res, 'a creation past the deadline');
      assert.match(res.body.detail, /could not be completed within its deadline of 400 ms/);
      await other.query('rollback');
      // The creation that was given up on may still have been made once the lock went: never half of it.
      assert.ok(await eventually(async () => (await server.query('select 1 from pg_locks where granted = false')).length === 0, 5000));
      // One statement, one snapshot: the key and its audit entry are there together, or neither is.
      const [counts] = await server.query<{ made: string; audited: string }>(
        "select (select count(*) from keys where name = 'Key late') as made, (select count(*) from audit_log where action = 'key.created') as audited",
        [],
        databaseOf(url),
      );
      assert.equal(counts!.made, counts!.audited, 'a key and its audit entry, or neither');
      assertAlive(proc);
    } finally {
      await other.end().catch(() => {});
      await killHard(proc.child);
    }
  }));

  test('past the staleness bound with the store down, cached answers are 503 by default and still given with KEYPORT_STALE_POLICY=serve; /readyz is 503 on both', { timeout: 90_000 }, showingOutput(async () => {
    const url = await server.createDatabase();
    const strict = await node(url);
    const lenient = await node(url, { KEYPORT_STALE_POLICY: 'serve' });
    try {
      const account = await createAccount(strict.api);
      const tk = await createKey(strict.api, account, newKey('cached'));
      for (const { api } of [strict, lenient]) assert.equal((await api('POST', '/v1/verify', { key: tk.secret })).body.valid, true);
      await server.stop('immediate');
      await new Promise((r) => setTimeout(r, 1200));
      assertStoreUnavailable(await strict.api('POST', '/v1/verify', { key: tk.secret }), 'the strict node');
      assert.deepEqual(await lenient.api('POST', '/v1/verify', { key: tk.secret }).then((r) => [r.status, r.body.valid]), [200, true], 'the lenient node serves its cache');
      for (const { api } of [strict, lenient]) assert.equal((await api('GET', '/readyz')).status, 503);
      await server.start();
      for (const { api } of [strict, lenient]) assert.ok(await eventually(async () => (await api('POST', '/v1/verify', { key: tk.secret })).body.valid === true, 15_000));
      assertAlive(strict.proc);
      assertAlive(lenient.proc);
    } finally {
      await killHard(strict.proc.child);
      await killHard(lenient.proc.child);
      if (server.pid === undefined) await server.start();
    }
  }));

  test('start-up waits for an unreachable database, saying so, and starts once it is back; a host that does not resolve is given up after the wait', { timeout: 120_000 }, showingOutput(async () => {
    const url = await server.createDatabase();
    await server.stop('fast');
    const starting = spawnKeyport({ DATABASE_URL: url, KEYPORT_ENCRYPTION_KEY: ENCRYPTION_KEY, KEYPORT_STARTUP_WAIT: '60' });
    try {
      await outputMatching(starting.output, /is not reachable \(.*ECONNREFUSED.*\); retrying in \d+ s, for \d+ s more \(KEYPORT_STARTUP_WAIT\)/, 20_000);
      await server.start();
      const started = await starting.listening;
      assert.equal((await bounded(started)('GET', '/readyz')).status, 200);
      assert.equal((await bounded(started)('POST', '/v1/accounts', { name: 'Late start' })).status, 201);
    } finally {
      await killHard(starting.child);
    }

    const nowhere = spawnKeyport({ DATABASE_URL: 'postgres://postgres@keyport-db.invalid:5432/keyport', KEYPORT_ENCRYPTION_KEY: ENCRYPTION_KEY, KEYPORT_STARTUP_WAIT: '2' });
    const { code } = await exitOf(nowhere.child);
    assert.equal(code, 2, nowhere.output());
    assert.match(nowhere.output(), /keyport-db\.invalid.*is not reachable .*retrying/);
    assert.match(nowhere.output(), /Keyport cannot start: Cannot connect to PostgreSQL postgres:\/\/postgres@keyport-db\.invalid:5432\/keyport: .*(ENOTFOUND|EAI_AGAIN)/);
  }));

  test('SIGTERM: the node stops accepting, finishes the request in flight, writes lastUsedAt and exits 0; with the store down it still exits within its bound', { timeout: 90_000 }, showingOutput(async () => {
    const url = await server.createDatabase();
    const { proc, api } = await node(url, { KEYPORT_DB_LOCK_TIMEOUT_MS: '20000', KEYPORT_DB_STATEMENT_TIMEOUT_MS: '20000' });
    const other = await locker(url);
    try {
      const account = await createAccount(api);
      const tk = await createKey(api, account, newKey('used'));
      assert.equal((await api('POST', '/v1/verify', { key: tk.secret })).body.valid, true, 'a use, noted in memory');
      await other.query('begin');
      await other.query('select id from accounts where id = $1 for update', [account]);
      const inFlight = api('POST', `/v1/accounts/${account}/keys`, newKey('in flight'));
      await waitingBackend(url);
      proc.child.kill('SIGTERM');
      const refused = await eventually(async () => {
        try {
          await fetch(`${proc.url}/healthz`, { signal: AbortSignal.timeout(2000) });
          return false;
        } catch (err) {
          return /ECONNREFUSED/.test(String((err as Error & { cause?: Error }).cause?.message ?? err));
        }
      }, 5000);
      assert.ok(refused, 'new connections are refused once shutting down');
      assert.equal(proc.child.exitCode, null, 'still finishing the request in flight');
      await other.query('rollback');
      assert.equal((await inFlight).status, 201, 'the request in flight was finished');
      assert.deepEqual(await exitOf(proc.child), { code: 0, signal: null });
      const [row] = await server.query<{ last_used_at: string | null }>('select last_used_at from keys where id = $1', [tk.key.id], databaseOf(url));
      assert.notEqual(row!.last_used_at, null, 'lastUsedAt was written at shutdown');
    } finally {
      await other.end().catch(() => {});
      await killHard(proc.child);
    }

    const down = await node(url, { KEYPORT_SHUTDOWN_TIMEOUT: '5', KEYPORT_DB_STATEMENT_TIMEOUT_MS: '1000' });
    try {
      const account = await createAccount(down.api);
      const tk = await createKey(down.api, account, newKey('used'));
      await down.api('POST', '/v1/verify', { key: tk.secret });
      server.freeze();
      down.proc.child.kill('SIGTERM');
      const ended = await exitOf(down.proc.child);
      assert.ok(ended.code === 0 || ended.code === 1, `exited by itself: ${JSON.stringify(ended)}\n${down.proc.output()}`);
      assert.match(down.proc.output(), /shutting down/);
    } finally {
      server.thaw();
      await killHard(down.proc.child);
    }
  }));
});

describe('SQLite faults', () => {
  test('a write lock held by another connection fails writes after the lock timeout with 503; cached verifications and /readyz keep answering', { timeout: 60_000 }, showingOutput(async () => {
    const kp = await startTestKeyport('sqlite', { KEYPORT_DB_LOCK_TIMEOUT_MS: '300' });
    const other = new SQLite(sqliteFile(kp.config.storage.kind === 'sqlite' ? kp.config.storage.dataDir : ''));
    try {
      const account = await createAccount(kp.api);
      const tk = await createKey(kp.api, account, newKey('cached'));
      assert.equal((await kp.api('POST', '/v1/verify', { key: tk.secret })).body.valid, true);
      other.exec('begin immediate');
      assertStoreUnavailable(await kp.api('POST', `/v1/accounts/${account}/keys`, newKey('locked out')), 'a creation while another connection writes');
      assert.equal((await kp.api('POST', '/v1/verify', { key: tk.secret })).body.valid, true);
      assert.equal((await kp.api('GET', '/readyz')).status, 200, 'reads go on beside a writer (WAL)');
      other.exec('commit');
      assert.equal((await kp.api('POST', `/v1/accounts/${account}/keys`, newKey('after'))).status, 201);
    } finally {
      other.close();
      await kp.stop();
    }
  }));
});
