import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const PG = { DATABASE_URL: 'postgres://keyport@db.example:5432/keyport', KEYPORT_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') };

describe('configuration of timeouts, staleness, start-up and shutdown', () => {
  test('defaults: every wait is bounded', () => {
    const config = loadConfig(PG);
    assert.deepEqual(config.storage, {
      kind: 'postgres',
      url: PG.DATABASE_URL,
      poolSize: 10,
      timeouts: { statementMs: 3000, lockMs: 1000, poolMs: 2000 },
    });
    assert.deepEqual(
      [config.requestTimeoutMs, config.startupWaitSeconds, config.shutdownTimeoutSeconds, config.logRepeatIntervalSeconds],
      [10_000, 60, 15, 10],
    );
    assert.deepEqual([config.oauth.maxStalenessMs, config.oauth.stalePolicy, config.oauth.redisTimeoutMs], [1000, 'unavailable', 250]);
    assert.deepEqual(loadConfig({ KEYPORT_DATA_DIR: '/var/lib/keyport' }).storage, {
      kind: 'sqlite',
      dataDir: '/var/lib/keyport',
      timeouts: { statementMs: 3000, lockMs: 1000, poolMs: 2000 },
    });
  });

  test('values are read', () => {
    const config = loadConfig({
      ...PG,
      KEYPORT_DB_STATEMENT_TIMEOUT_MS: '500',
      KEYPORT_DB_LOCK_TIMEOUT_MS: '200',
      KEYPORT_DB_POOL_TIMEOUT_MS: '300',
      KEYPORT_DB_POOL_SIZE: '4',
      KEYPORT_REDIS_TIMEOUT_MS: '50',
      KEYPORT_REQUEST_TIMEOUT_MS: '2000',
      KEYPORT_MAX_STALENESS_MS: '5000',
      KEYPORT_STALE_POLICY: 'serve',
      KEYPORT_STARTUP_WAIT: '0',
      KEYPORT_SHUTDOWN_TIMEOUT: '5',
      KEYPORT_LOG_REPEAT_INTERVAL: '1',
    });
    assert.deepEqual(config.storage, { kind: 'postgres', url: PG.DATABASE_URL, poolSize: 4, timeouts: { statementMs: 500, lockMs: 200, poolMs: 300 } });
    assert.deepEqual([config.requestTimeoutMs, config.startupWaitSeconds, config.shutdownTimeoutSeconds, config.logRepeatIntervalSeconds], [2000, 0, 5, 1]);
    assert.deepEqual([config.oauth.maxStalenessMs, config.oauth.stalePolicy, config.oauth.redisTimeoutMs], [5000, 'serve', 50]);
  });

  test('every bad value is named, with what is expected', () => {
    const bad = {
      ...PG,
      KEYPORT_DB_STATEMENT_TIMEOUT_MS: 'soon',
      KEYPORT_DB_LOCK_TIMEOUT_MS: '5',
      KEYPORT_DB_POOL_TIMEOUT_MS: '-1',
      KEYPORT_DB_POOL_SIZE: '0',
      KEYPORT_REDIS_TIMEOUT_MS: '1.5',
      KEYPORT_REQUEST_TIMEOUT_MS: '99',
      KEYPORT_MAX_STALENESS_MS: 'x',
      KEYPORT_STALE_POLICY: 'maybe',
      KEYPORT_STARTUP_WAIT: 'forever',
      KEYPORT_SHUTDOWN_TIMEOUT: '0',
      KEYPORT_LOG_REPEAT_INTERVAL: '1e3',
    };
    assert.throws(
      () => loadConfig(bad),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const name of Object.keys(bad).filter((n) => n.startsWith('KEYPORT_') && n !== 'KEYPORT_ENCRYPTION_KEY')) assert.match(err.message, new RegExp(`${name} must`), name);
        assert.match(err.message, /KEYPORT_STALE_POLICY must be unavailable or serve \(got 'maybe'\)/);
        assert.match(err.message, /KEYPORT_DB_POOL_SIZE must be a whole number from 1 to 1000 connections \(got '0'\)/);
        return true;
      },
    );
  });

  test('timeouts that contradict each other are refused', () => {
    assert.throws(
      () => loadConfig({ KEYPORT_DB_STATEMENT_TIMEOUT_MS: '1000', KEYPORT_DB_LOCK_TIMEOUT_MS: '2000' }),
      /KEYPORT_DB_LOCK_TIMEOUT_MS \(2000 ms\) must not be longer than KEYPORT_DB_STATEMENT_TIMEOUT_MS \(1000 ms\)/,
    );
    assert.throws(
      () => loadConfig({ KEYPORT_SYNC_INTERVAL_MS: '1000', KEYPORT_MAX_STALENESS_MS: '1000' }),
      /KEYPORT_MAX_STALENESS_MS \(1000 ms\) must be longer than KEYPORT_SYNC_INTERVAL_MS \(1000 ms\)/,
    );
  });
});
