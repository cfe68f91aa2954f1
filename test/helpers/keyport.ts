import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { after, before, describe } from 'node:test';
import { loadConfig, type Config } from '../../src/config.js';
import { keyportClient, queryString, type KeyportClient } from '../../src/contract/client.js';
import { ManualClock } from '../../src/domain/clock.js';
import { startKeyport, type RunningKeyport } from '../../src/server.js';
import type { NoticeSink } from '../../src/services/notices.js';

/** Every integration suite runs once per store. */
export const STORES = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

export const PG_ADMIN_URL = process.env.KEYPORT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_TOKEN = 'test-platform-owner-token-0123456789';

/** A fresh, empty store: a temporary SQLite directory, or a new PostgreSQL database. Drop it with `dispose`. */
export async function freshStore(kind: StoreKind): Promise<{ env: Record<string, string>; dispose(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-test-'));
    return { env: { KEYPORT_DATA_DIR: dir }, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `keyport_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is required for the tests and is not reachable at ${PG_ADMIN_URL}: ${(err as Error).message}`);
  }
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), KEYPORT_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
    dispose: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestKeyport extends RunningKeyport {
  clock: ManualClock;
  config: Readonly<Config>;
  /** Calls the API as the platform owner (or with `token`). */
  api: Api;
  /** The same API with another bearer token (or none). */
  as(token: string | null): Api;
  /** The typed client, as the platform owner: an error answer is thrown, with its status and body. */
  client: KeyportClient;
  /** Stops the server and drops its store. */
  stop(): Promise<void>;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}
export type Api = <T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;

export function apiClient(baseUrl: string, token: string | null): Api {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as never, headers: res.headers };
  };
}

/** The typed client of the API over `apiClient`: answers other than 2xx are thrown. */
export function typedClient(baseUrl: string, token: string | null): KeyportClient {
  const api = apiClient(baseUrl, token);
  return keyportClient(async (method, path, body, query) => {
    const res = await api(method, `${path}${queryString(query)}`, body);
    if (res.status >= 300) throw Object.assign(new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`), { status: res.status, body: res.body });
    return res.body;
  });
}

/**
 * Starts a real Keyport on an ephemeral port over a fresh store, with a clock the test can move.
 * `env` adds or overrides configuration variables; `notices` receives the notices of changes.
 */
export async function startTestKeyport(kind: StoreKind, env: Record<string, string> = {}, options: { notices?: NoticeSink } = {}): Promise<TestKeyport> {
  const store = await freshStore(kind);
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, ...store.env, ...env });
  const clock = new ManualClock(Date.now());
  let running: RunningKeyport;
  try {
    running = await startKeyport(config, { clock, ...options });
  } catch (err) {
    await store.dispose();
    throw err;
  }
  return {
    ...running,
    clock,
    config,
    api: apiClient(running.url, TEST_TOKEN),
    as: (token) => apiClient(running.url, token),
    client: typedClient(running.url, TEST_TOKEN),
    stop: async () => {
      await running.close();
      await store.dispose();
    },
  };
}

/**
 * Runs a suite once per store (Kysely's way: one integration suite, every dialect), each run
 * against its own Keyport over a fresh store, started before the suite's tests and stopped (its
 * store dropped) after them, also when they fail. The suite reaches the running Keyport through
 * `kp`; `store` says which store it runs on.
 */
export function describeEachStore(title: string, suite: (kp: TestKeyport, store: StoreKind) => void, env: Record<string, string> = {}): void {
  for (const store of STORES)
    describe(`${title} (${store})`, () => {
      let running: TestKeyport | undefined;
      before(async () => {
        running = await startTestKeyport(store, env);
      });
      after(async () => running?.stop());
      const kp = new Proxy({} as TestKeyport, {
        get(_, property) {
          if (running === undefined) throw new Error(`kp.${String(property)} is used before the suite's Keyport has started`);
          return running[property as keyof TestKeyport];
        },
      });
      suite(kp, store);
    });
}

/** Creates an account with no provisioned keys (unless asked) and returns its id. */
export async function createAccount(api: Api, body: Record<string, unknown> = {}): Promise<string> {
  const res = await api('POST', '/v1/accounts', { name: 'Test shop', provisionDefaultKeys: false, ...body });
  if (res.status !== 201) throw new Error(`account creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** Creates a key and returns the whole 201 answer body ({key, secret}). */
export async function createKey(api: Api, account: string, body: Record<string, unknown> = {}) {
  const res = await api('POST', `/v1/accounts/${account}/keys`, {
    name: 'Integration',
    environment: 'sandbox',
    kind: 'custom',
    credentialType: 'client_secret',
    scopes: ['product.read'],
    ...body,
  });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { key: any; secret: string };
}
