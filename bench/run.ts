// npm run bench: Keyport's hot paths against a bare Fastify route and oidc-provider, in one run.
//
// Seeds an embedded (SQLite) store with 1,000,000 keys (and a PostgreSQL database, when one answers
// on BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432), starts Keyport, a bare
// Fastify app and oidc-provider as separate processes on loopback, drives each with wrk when it is
// installed (a C load generator: it leaves the server more of the machine) or else autocannon (50
// connections), and writes BENCHMARKS.md: requests per second, p50 and p99 latency, the server's
// CPU time per request (user + system, from /proc/<pid>/stat) and ratios to the baseline measured
// in the same run. Every scenario is measured in several rounds, the rounds taking turns, and the
// medians are reported, so a burst of load from elsewhere on the machine skews one sample, not the
// result. Takes a quarter of an hour; stops everything it started.
//
//   npm run bench                 the full run; writes BENCHMARKS.md
//   npm run bench -- --quick      a short run on a smaller store (2 rounds of 2 s): prints the table, writes nothing
//   BENCH_LOAD=autocannon         use autocannon even where wrk is installed
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateKeyString } from '../src/domain/key-strings.js';
import { OIDC_CLIENT } from './oidc-provider-client.js';
import type { BenchSection } from './section.js';
import metricsSection from './metrics.js';
import sdkSection from './sdk.js';
import signInFloodSection from './sign-in-flood.js';
import { seed } from './seed.js';
import { cpuMicros } from './cpu.js';

/**
 * Sections other bench modules add to BENCHMARKS.md, after the main table: one import line and one
 * entry each (see bench/section.ts).
 */
const EXTRA_SECTIONS: BenchSection[] = [sdkSection, metricsSection, signInFloodSection];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUICK = process.argv.includes('--quick');
const TOTAL_KEYS = Number(process.env.BENCH_KEYS ?? (QUICK ? 200_000 : 1_000_000));
const BIG_ACCOUNT_KEYS = QUICK ? 20_000 : 100_000;
/** Keys in the PostgreSQL store (seeding PostgreSQL through the repositories is slow; its rows need only the index). */
const PG_KEYS = Number(process.env.BENCH_PG_KEYS ?? (QUICK ? 20_000 : 100_000));
/** Well-formed unknown keys, sent in turn: more than the negative cache holds, so every one is a miss. */
const UNKNOWN_POOL = QUICK ? 150_000 : 300_000;
const CONNECTIONS = 50;
const DURATION = Number(process.env.BENCH_DURATION ?? (QUICK ? 2 : 4));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 2 : 5));
const WARMUP = 1;
const OWNER_TOKEN = 'bench-platform-owner-token-0123456789';
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WRK = process.env.BENCH_LOAD !== 'autocannon' && spawnSync('wrk', ['--version']).error === undefined;
const LOAD_GENERATOR = WRK ? 'wrk' : 'autocannon';

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
}

/** Starts a server process and waits for the line announcing its URL. */
function startServer(name: string, args: string[], env: Record<string, string>, pattern: RegExp): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    // Production mode (as deployed); it refuses a Host-derived token issuer, hence the public URL.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', KEYPORT_PUBLIC_URL: 'http://127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 120_000);
    let started = false;
    const onData = (data: Buffer) => {
      // Once started, a server's log (a default-settings node writes some) is read and dropped.
      output = (output + data).slice(-20_000);
      const match = started ? null : pattern.exec(output);
      if (match) {
        started = true;
        clearTimeout(timer);
        resolve({ name, url: match[1]!, child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (output = (output + d).slice(-20_000)));
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}):\n${output}`)));
  });
}

/** Waits until a Keyport node's /readyz says its filter of existing keys is built. */
async function filterBuilt(node: Server): Promise<void> {
  const started = Date.now();
  for (;;) {
    const res = await fetch(`${node.url}/readyz`);
    const body = (await res.json()) as { keyFilter?: string };
    if (body.keyFilter === 'ready') {
      process.stdout.write(`  ${node.name}: built within ${((Date.now() - started) / 1000).toFixed(1)} s of asking\n`);
      return;
    }
    if (Date.now() - started > 300_000) throw new Error(`${node.name}: the filter of existing keys was not built within 5 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

interface Scenario {
  name: string;
  server: Server;
  path: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** A check of one answer, run before measuring: the bench must measure what it claims to. */
  expect: (status: number, body: string, headers: Headers) => boolean;
  /** The status every answer must have (default: any 2xx). */
  status?: number;
  /**
   * A body per request: `prefix + value + suffix`, the values taken in turn ('cycle') or at random
   * ('random'); `body` is the first of them (for the check).
   */
  bodies?: { values: string[]; prefix: string; suffix: string; order: 'cycle' | 'random' };
  /** Processes besides the server whose CPU time counts as the store's (PostgreSQL's backends). */
  storePids?: () => Promise<number[]>;
}

interface Measured {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
  /** The server's CPU time over the measured seconds, in cores (1 = one core busy all along). */
  cores: number;
  requests: number;
  errors: number;
  /** CPU time per request of the store's processes (storePids), when the scenario has them. */
  storeCpuPerRequest: number | null;
}

async function measure(s: Scenario, round: number): Promise<Measured> {
  const url = `${s.server.url}${s.path}`;
  const init = { method: s.method, headers: s.headers, body: s.body };
  const probe = await fetch(url, init);
  const text = await probe.text();
  if (!s.expect(probe.status, text, probe.headers)) throw new Error(`${s.name}: unexpected answer ${probe.status} ${text.slice(0, 300)}`);
  // The first round warms the JIT up for longer.
  await load(s, round === 0 ? 3 * WARMUP : WARMUP);
  const pid = s.server.child.pid!;
  const storePids = s.storePids ? await s.storePids() : [];
  const storeBefore = storePids.reduce((n, p) => n + cpuMicrosOrZero(p), 0);
  const cpuBefore = cpuMicros(pid);
  const wallBefore = performance.now();
  const result = await load(s, DURATION);
  const cpu = cpuMicros(pid) - cpuBefore;
  const wall = (performance.now() - wallBefore) * 1000;
  const storeCpu = storePids.reduce((n, p) => n + cpuMicrosOrZero(p), 0) - storeBefore;
  const requests = result.requests;
  const m: Measured = {
    name: s.name,
    rps: Math.round(result.rps),
    p50: result.p50,
    p99: result.p99,
    cpuPerRequest: Math.round(cpu / Math.max(1, requests)),
    cores: cpu / wall,
    requests,
    errors: result.errors,
    storeCpuPerRequest: s.storePids ? Math.round(storeCpu / Math.max(1, requests)) : null,
  };
  const store = m.storeCpuPerRequest === null ? '' : `  store ${m.storeCpuPerRequest} µs CPU/req`;
  process.stdout.write(`  ${m.name.padEnd(60)} ${String(m.rps).padStart(6)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms  ${m.cpuPerRequest} µs CPU/req  ${m.cores.toFixed(2)} cores${store}${m.errors ? `  ${m.errors} errors` : ''}\n`);
  if (m.errors) throw new Error(`${s.name}: ${m.errors} errors or unexpected statuses`);
  return m;
}

/** What one load run gave: requests served, their rate, latencies (ms), errors and unexpected statuses. */
interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const load = (s: Scenario, seconds: number): Promise<LoadResult> => (WRK ? loadWithWrk(s, seconds) : loadWithAutocannon(s, seconds));

async function loadWithAutocannon(s: Scenario, seconds: number): Promise<LoadResult> {
  const options = { url: `${s.server.url}${s.path}`, connections: CONNECTIONS, method: s.method, headers: s.headers, body: s.body, duration: seconds };
  let next = 0;
  const bodies = s.bodies;
  const requests = bodies
    ? [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies.prefix + bodies.values[bodies.order === 'cycle' ? next++ % bodies.values.length : Math.floor(Math.random() * bodies.values.length)] + bodies.suffix }) }]
    : undefined;
  const result = await autocannon({ ...options, ...(requests ? { requests } : {}) } as autocannon.Options);
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + unexpectedStatuses(result, s.status),
  };
}

/** The wrk script of each scenario (Lua), written once to a file of its own. */
const wrkScripts = new Map<Scenario, string>();
let wrkDir: string | undefined;

/** A Lua long string: no escaping needed as long as the text holds no `]==]`. */
const lua = (text: string) => {
  if (text.includes(']==]')) throw new Error('text not fit for a Lua long string');
  return `[==[${text}]==]`;
};

function wrkScript(s: Scenario): string {
  const known = wrkScripts.get(s);
  if (known) return known;
  wrkDir ??= mkdtempSync(join(tmpdir(), 'keyport-bench-wrk-'));
  const file = join(wrkDir, `scenario-${wrkScripts.size}.lua`);
  const lines = [`wrk.method = ${lua(s.method)}`];
  for (const [name, value] of Object.entries(s.headers ?? {})) lines.push(`wrk.headers[ ${lua(name)} ] = ${lua(value)}`);
  if (s.body !== undefined) lines.push(`wrk.body = ${lua(s.body)}`);
  if (s.bodies) {
    const values = join(wrkDir, `scenario-${wrkScripts.size}.values`);
    writeFileSync(values, s.bodies.values.join('\n') + '\n');
    lines.push(
      'local values, n, i = {}, 0, 0',
      `local prefix, suffix = ${lua(s.bodies.prefix)}, ${lua(s.bodies.suffix)}`,
      'function init(args)',
      `  for line in io.lines(${lua(values)}) do n = n + 1; values[n] = line end`,
      '  math.randomseed(os.time())',
      '  i = math.random(n)',
      'end',
      'function request()',
      s.bodies.order === 'cycle' ? '  i = i % n + 1' : '  i = math.random(n)',
      '  return wrk.format(nil, nil, nil, prefix .. values[i] .. suffix)',
      'end',
    );
  }
  // An expected status other than 2xx is counted here (wrk counts every status >= 400 as an error).
  lines.push('local threads, bad = {}, 0', 'function setup(thread) table.insert(threads, thread) end');
  if (s.status !== undefined) lines.push(`function response(status, headers, body) if status ~= ${s.status} then bad = bad + 1 end end`);
  lines.push(
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    '  local unexpected = 0',
    s.status !== undefined ? '  for _, t in ipairs(threads) do unexpected = unexpected + (t:get("bad") or 0) end' : '  unexpected = e.status',
    '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"duration\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"errors\\":%d}\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout + unexpected))',
    'end',
  );
  writeFileSync(file, lines.join('\n') + '\n');
  wrkScripts.set(s, file);
  return file;
}

/** wrk on one thread: the other core is the server's. */
function loadWithWrk(s: Scenario, seconds: number): Promise<LoadResult> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '--latency', '-s', wrkScript(s), `${s.server.url}${s.path}`];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = /WRKJSON (\{.*\})/.exec(out);
      if (code !== 0 || !line) return reject(new Error(`wrk failed (${code}) for ${s.name}:\n${out}`));
      const r = JSON.parse(line[1]!) as { requests: number; duration: number; p50: number; p99: number; errors: number };
      resolve({ requests: r.requests, rps: r.requests / (r.duration / 1e6), p50: Math.round(r.p50 / 100) / 10, p99: Math.round(r.p99 / 100) / 10, errors: r.errors });
    });
  });
}

/** CPU time of a process that may have ended (a PostgreSQL backend): 0 then. */
function cpuMicrosOrZero(pid: number): number {
  try {
    return cpuMicros(pid);
  } catch {
    return 0;
  }
}

/** Answers of another status than the scenario's (any 2xx when it names none). */
function unexpectedStatuses(result: { non2xx: number; statusCodeStats?: Record<string, { count?: number }> }, status: number | undefined): number {
  if (status === undefined) return result.non2xx;
  return Object.entries(result.statusCodeStats ?? {}).reduce((n, [code, stats]) => (Number(code) === status ? n : n + (stats.count ?? 0)), 0);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The medians of a scenario's rounds, and the spread of its req/s. */
interface Summary extends Measured {
  rpsMin: number;
  rpsMax: number;
}

function summarize(rounds: Measured[]): Summary {
  return {
    name: rounds[0]!.name,
    rps: Math.round(median(rounds.map((m) => m.rps))),
    p50: Math.round(median(rounds.map((m) => m.p50)) * 10) / 10,
    p99: Math.round(median(rounds.map((m) => m.p99)) * 10) / 10,
    cpuPerRequest: Math.round(median(rounds.map((m) => m.cpuPerRequest))),
    cores: median(rounds.map((m) => m.cores)),
    requests: rounds.reduce((n, m) => n + m.requests, 0),
    errors: rounds.reduce((n, m) => n + m.errors, 0),
    storeCpuPerRequest: rounds[0]!.storeCpuPerRequest === null ? null : Math.round(median(rounds.map((m) => m.storeCpuPerRequest!))),
    rpsMin: Math.min(...rounds.map((m) => m.rps)),
    rpsMax: Math.max(...rounds.map((m) => m.rps)),
  };
}

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json', authorization: `Bearer ${OWNER_TOKEN}` }, body: JSON.stringify(body) });
const ok = (check: (body: any) => boolean) => (status: number, text: string) => status === 200 && check(JSON.parse(text));

/** A PostgreSQL database of the bench's own, or null when no server answers. */
async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> } | null> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    process.stdout.write(`No PostgreSQL at ${PG_URL} (${(err as Error).message}): the PostgreSQL row is left out.\n`);
    return null;
  }
  const name = `keyport_bench_${process.pid}_${Date.now()}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** The server processes of PostgreSQL serving a database (on this machine). */
async function backendPids(databaseUrl: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const rows = await c.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and application_name = 'keyport' and pid <> pg_backend_pid()`);
    return rows.rows.map((r) => r.pid);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'keyport-bench-'));
  const servers: Server[] = [];
  let pgDatabase: Awaited<ReturnType<typeof createPgDatabase>> = null;
  try {
    process.stdout.write(`Seeding ${TOTAL_KEYS.toLocaleString('en')} keys (${Math.min(BIG_ACCOUNT_KEYS, TOTAL_KEYS).toLocaleString('en')} in one account)...\n`);
    const seedStart = Date.now();
    const seeded = await seed(dataDir, TOTAL_KEYS, BIG_ACCOUNT_KEYS, Date.now());
    const seedSeconds = (Date.now() - seedStart) / 1000;
    const dbMb = Math.round(statSync(join(dataDir, 'keyport.db')).size / 1e6);
    process.stdout.write(`  done in ${seedSeconds.toFixed(0)} s; keyport.db ${dbMb} MB\n`);

    // Every Keyport node of the SQLite rows serves the one seeded store; `env` says how it differs.
    const startNode = async (name: string, env: Record<string, string> = { KEYPORT_LOG_LEVEL: 'warn' }): Promise<Server> => {
      const node = await startServer(name, ['src/start.ts'], { PORT: '0', HOST: '127.0.0.1', KEYPORT_DATA_DIR: dataDir, KEYPORT_BOOTSTRAP_TOKEN: OWNER_TOKEN, ...env }, /Keyport is listening on (\S+)/);
      servers.push(node);
      return node;
    };
    const keyport = await startNode('keyport');
    // The same store served by a node with usage analytics off: the rows below measure what counting costs.
    const keyportOff = await startNode('keyport (usage analytics off)', { KEYPORT_LOG_LEVEL: 'warn', KEYPORT_USAGE_ANALYTICS: 'off' });
    // Its twin with usage analytics on, serving only the same two rows: the main node also serves
    // every other row, which makes it slower as the rounds go by, so on ÷ off is measured here.
    const keyportOn = await startNode('keyport (usage analytics on, twin)');
    // Default settings: no KEYPORT_LOG_LEVEL (info), the default request log, as `npm start` runs.
    const keyportDefault = await startNode('keyport (default settings)', {});
    // The working-set row on a node of its own: it fills the caches (100,000 entries of each), whose
    // heap would otherwise slow every row measured after it on the main node.
    const keyportWorkingSet = await startNode('keyport (working set)');
    pgDatabase = await createPgDatabase();
    let keyportPg: Server | null = null;
    let pgSeconds = 0;
    if (pgDatabase) {
      process.stdout.write(`Seeding PostgreSQL with ${PG_KEYS.toLocaleString('en')} keys...\n`);
      const pgStart = Date.now();
      await seed({ kind: 'postgres', url: pgDatabase.url }, PG_KEYS, Math.min(BIG_ACCOUNT_KEYS, PG_KEYS), Date.now());
      pgSeconds = (Date.now() - pgStart) / 1000;
      keyportPg = await startServer(
        'keyport (PostgreSQL)',
        ['src/start.ts'],
        { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: pgDatabase.url, KEYPORT_ENCRYPTION_KEY: randomBytes(32).toString('base64'), KEYPORT_BOOTSTRAP_TOKEN: OWNER_TOKEN, KEYPORT_LOG_LEVEL: 'warn' },
        /Keyport is listening on (\S+)/,
      );
      servers.push(keyportPg);
    }
    const bare = await startServer('bare', ['bench/bare-server.ts'], {}, /listening (\S+)/);
    servers.push(bare);
    const oidc = await startServer('oidc-provider', ['bench/oidc-provider-server.ts'], {}, /listening (\S+)/);
    servers.push(oidc);
    // Each node builds its filter of existing keys in the background after it starts: the rows
    // measure nodes that have built it, as a node is a second or so after its start.
    process.stdout.write('Waiting for the filters of existing keys...\n');
    for (const node of servers.filter((s) => s.name.startsWith('keyport'))) await filterBuilt(node);
    const memoryAtStart = memoryMb(keyport.child.pid!);

    const tokenRes = await fetch(`${keyport.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${seeded.clientId}:${seeded.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    const accessToken = ((await tokenRes.json()) as { access_token: string }).access_token;
    // Unknown, yet well-formed: it passes the checksum, so the lookup (and the negative cache) is measured.
    const unknownWellFormed = generateKeyString('token', 'production');
    // Fresh unknown keys, sent in turn: the pool is larger than the negative cache, so each is a miss.
    const unknownPool = Array.from({ length: UNKNOWN_POOL }, () => generateKeyString('token', 'production'));
    const keyBodies = (values: string[], order: 'cycle' | 'random') => ({ values, prefix: '{"key":"', suffix: '"}', order });
    const verifyOne = (key: string) => json({ key });

    const verifyBody = json({ key: seeded.tokenKey, environment: 'production', scopes: ['product.read'] });
    const verifyJwtBody = json({ token: accessToken, environment: 'production', scopes: ['product.read'] });
    const list = (query: string) => `/v1/accounts/${seeded.bigAccount}/keys?${query}`;
    const ownerGet = { headers: { authorization: `Bearer ${OWNER_TOKEN}` } };
    const basicKeyport = `Basic ${Buffer.from(`${seeded.clientId}:${seeded.clientSecret}`).toString('base64')}`;
    const basicOidc = `Basic ${Buffer.from(`${OIDC_CLIENT.id}:${OIDC_CLIENT.secret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    // Forward-auth as a gateway sends it (nginx's sub-request: the client's headers, the service token, X-Forwarded-For).
    const authzPath = '?environment=production&scopes=product.read';
    const gatewayHeaders = (credential: string) => ({ 'keyport-service-token': OWNER_TOKEN, authorization: `Bearer ${credential}`, 'x-forwarded-for': '203.0.113.7', accept: '*/*' });
    const authzValid = (status: number, _body: string, headers: Headers) => status === 200 && headers.get('x-keyport-key-id') !== null;

    const listExpect = ok((b) => Array.isArray(b.items) && b.items.length === 50);
    const scenarios: Record<string, Scenario> = {
      barePost: { name: 'bare Fastify POST (fixed JSON)', server: bare, path: '/bare', method: 'POST', ...verifyBody, expect: (st) => st === 200 },
      verifyKey: { name: 'POST /v1/verify, valid key', server: keyport, path: '/v1/verify', method: 'POST', ...verifyBody, expect: ok((b) => b.valid === true) },
      verifyKeyOn: { name: 'POST /v1/verify, valid key, usage analytics on (twin node)', server: keyportOn, path: '/v1/verify', method: 'POST', ...verifyBody, expect: ok((b) => b.valid === true) },
      verifyKeyOff: { name: 'POST /v1/verify, valid key, usage analytics off', server: keyportOff, path: '/v1/verify', method: 'POST', ...verifyBody, expect: ok((b) => b.valid === true) },
      verifyDefault: { name: 'POST /v1/verify, valid key, default settings (log level info)', server: keyportDefault, path: '/v1/verify', method: 'POST', ...verifyBody, expect: ok((b) => b.valid === true) },
      verifyUnknown: { name: 'POST /v1/verify, unknown key (the same one)', server: keyport, path: '/v1/verify', method: 'POST', ...json({ key: unknownWellFormed, environment: 'production' }), expect: ok((b) => b.code === 'unknown') },
      verifyFresh: { name: 'POST /v1/verify, a fresh unknown key per request (SQLite)', server: keyport, path: '/v1/verify', method: 'POST', ...verifyOne(unknownPool[0]!), bodies: keyBodies(unknownPool, 'cycle'), expect: ok((b) => b.code === 'unknown') },
      ...(keyportPg && pgDatabase
        ? {
            verifyFreshPg: {
              name: 'POST /v1/verify, a fresh unknown key per request (PostgreSQL)',
              server: keyportPg,
              path: '/v1/verify',
              method: 'POST',
              ...verifyOne(unknownPool[0]!),
              bodies: keyBodies(unknownPool, 'cycle'),
              expect: ok((b) => b.code === 'unknown'),
              storePids: () => backendPids(pgDatabase!.url),
            } satisfies Scenario,
          }
        : {}),
      verifyWorkingSet: {
        name: `POST /v1/verify, a valid key at random of ${seeded.workingSet.length.toLocaleString('en')}`,
        server: keyportWorkingSet,
        path: '/v1/verify',
        method: 'POST',
        ...verifyOne(seeded.workingSet[0]!),
        bodies: keyBodies(seeded.workingSet, 'random'),
        expect: ok((b) => b.valid === true),
      },
      bareJwt: { name: 'bare Fastify POST, sent the JWT row\'s request', server: bare, path: '/bare', method: 'POST', ...verifyJwtBody, expect: (st) => st === 200 },
      verifyJwt: { name: 'POST /v1/verify, JWT access token', server: keyport, path: '/v1/verify', method: 'POST', ...verifyJwtBody, expect: ok((b) => b.valid === true) },
      verifyJwtOn: { name: 'POST /v1/verify, JWT, usage analytics on (twin node)', server: keyportOn, path: '/v1/verify', method: 'POST', ...verifyJwtBody, expect: ok((b) => b.valid === true) },
      verifyJwtOff: { name: 'POST /v1/verify, JWT, usage analytics off', server: keyportOff, path: '/v1/verify', method: 'POST', ...verifyJwtBody, expect: ok((b) => b.valid === true) },
      token: { name: 'POST /oauth/token (Keyport)', server: keyport, path: '/oauth/token', method: 'POST', headers: { ...form, authorization: basicKeyport }, body: 'grant_type=client_credentials', expect: ok((b) => typeof b.access_token === 'string') },
      oidc: { name: 'POST /token (oidc-provider, JWT, ES256)', server: oidc, path: '/token', method: 'POST', headers: { ...form, authorization: basicOidc }, body: 'grant_type=client_credentials&scope=product.read', expect: ok((b) => typeof b.access_token === 'string') },
      bareAuthz: { name: 'bare Fastify GET, 200 with headers (authz request)', server: bare, path: `/bare-authz${authzPath}`, method: 'GET', headers: gatewayHeaders(seeded.tokenKey), expect: authzValid },
      authzKey: { name: 'GET /v1/authz, valid key', server: keyport, path: `/v1/authz${authzPath}`, method: 'GET', headers: gatewayHeaders(seeded.tokenKey), expect: authzValid },
      authzUnknown: { name: 'GET /v1/authz, unknown key (401)', server: keyport, path: `/v1/authz${authzPath}`, method: 'GET', headers: gatewayHeaders(unknownWellFormed), status: 401, expect: (st, _b, h) => st === 401 && h.get('x-keyport-code') === 'unknown' },
      bareAuthzJwt: { name: 'bare Fastify GET, 200 with headers (JWT authz request)', server: bare, path: `/bare-authz${authzPath}`, method: 'GET', headers: gatewayHeaders(accessToken), expect: authzValid },
      authzJwt: { name: 'GET /v1/authz, JWT access token', server: keyport, path: `/v1/authz${authzPath}`, method: 'GET', headers: gatewayHeaders(accessToken), expect: authzValid },
      bareGet: { name: 'bare Fastify GET (fixed JSON)', server: bare, path: '/bare', method: 'GET', expect: (st) => st === 200 },
      healthz: { name: 'GET /healthz (Keyport, no work)', server: keyport, path: '/healthz', method: 'GET', expect: ok((b) => b.status === 'ok') },
      listFiltered: { name: 'GET keys ?environment&active&sort=-createdAt', server: keyport, path: list('environment=production&active=true&sort=-createdAt&limit=50'), method: 'GET', ...ownerGet, expect: listExpect },
      listSearch: { name: 'GET keys ?environment&q=sync (name search)', server: keyport, path: list('environment=production&q=sync&limit=50'), method: 'GET', ...ownerGet, expect: listExpect },
      listByName: { name: 'GET keys ?environment&sort=name', server: keyport, path: list('environment=sandbox&sort=name&limit=50'), method: 'GET', ...ownerGet, expect: listExpect },
    };
    const samples: Record<string, Measured[]> = {};
    // BENCH_ONLY=verifyFresh,barePost: a look at a few rows (named as in `scenarios`), no report.
    const only = process.env.BENCH_ONLY?.split(',').map((k) => k.trim());
    const chosen = Object.entries(scenarios).filter(([key]) => only === undefined || only.includes(key));
    process.stdout.write(`Load generator: ${LOAD_GENERATOR}.\n`);
    for (let round = 0; round < ROUNDS; round++) {
      process.stdout.write(`Round ${round + 1} of ${ROUNDS} (${CONNECTIONS} connections, ${round === 0 ? 3 * WARMUP : WARMUP} s warm-up + ${DURATION} s each):\n`);
      for (const [key, scenario] of chosen) (samples[key] ??= []).push(await measure(scenario, round));
    }
    if (only !== undefined) return;
    const r: Record<string, Summary> = Object.fromEntries(Object.entries(samples).map(([key, rounds]) => [key, summarize(rounds)]));
    const memoryAtEnd = memoryMb(keyport.child.pid!);
    const memoryOfWorkingSet = memoryMb(keyportWorkingSet.child.pid!);

    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((resolve) => (s.child.exitCode !== null ? resolve(null) : s.child.once('exit', resolve)))));
    servers.length = 0;

    const sections: string[] = [];
    for (const section of EXTRA_SECTIONS) {
      process.stdout.write(`${section.title}:\n`);
      const body = (await section.run({ seconds: DURATION, rounds: ROUNDS })).trim();
      // A module's section may bring its own heading.
      sections.push(...(body.startsWith('#') ? [] : [`## ${section.title}`, '']), body, '');
    }
    const report = writeReport({ r, samples, seeded, seedSeconds, dbMb, pgKeys: pgDatabase ? PG_KEYS : null, pgSeconds, memoryAtStart, memoryAtEnd, memoryOfWorkingSet, totalSeconds: (Date.now() - started) / 1000, sections });
    if (QUICK && !process.argv.includes('--write')) {
      process.stdout.write(`\n${report}\nA quick run (--quick): BENCHMARKS.md left as it was (add --write to replace it).\n`);
    } else {
      writeFileSync(join(ROOT, 'BENCHMARKS.md'), report);
      process.stdout.write(`Wrote BENCHMARKS.md (${((Date.now() - started) / 1000).toFixed(0)} s in all).\n`);
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((resolve) => (s.child.exitCode !== null ? resolve(null) : s.child.once('exit', resolve)))));
    rmSync(dataDir, { recursive: true, force: true });
    if (wrkDir) rmSync(wrkDir, { recursive: true, force: true });
    await pgDatabase?.drop().catch((err) => process.stdout.write(`Could not drop the bench database: ${(err as Error).message}\n`));
  }
}

function writeReport(x: {
  r: Record<string, Summary>;
  samples: Record<string, Measured[]>;
  seeded: { total: number };
  seedSeconds: number;
  dbMb: number;
  memoryAtStart: { rss: number; peak: number };
  memoryAtEnd: { rss: number; peak: number };
  memoryOfWorkingSet: { rss: number; peak: number };
  totalSeconds: number;
  pgKeys: number | null;
  pgSeconds: number;
  sections: string[];
}): string {
  const { r, samples } = x;
  // A row and its baseline are measured seconds apart in every round; the ratio of each round's
  // pair, then the median over the rounds, so a slower or faster phase of the machine moves both.
  const paired = (key: string, base: string, field: 'rps' | 'p99' | 'cpuPerRequest') =>
    median(samples[key]!.map((m, i) => m[field] / Math.max(1e-9, samples[base]![i]![field])));
  const row = (key: string, base: string | null, target = '') => {
    const m = r[key]!;
    const ratio = (field: 'rps' | 'p99' | 'cpuPerRequest') => (base ? paired(key, base, field).toFixed(2) : '');
    return `| ${m.name} | ${m.rps.toLocaleString('en')} | ${m.rpsMin.toLocaleString('en')}–${m.rpsMax.toLocaleString('en')} | ${m.p50} | ${m.p99} | ${m.cpuPerRequest} | ${m.cores.toFixed(2)} | ${ratio('rps')} | ${ratio('p99')} | ${ratio('cpuPerRequest')} | ${target} |`;
  };
  const check = (pass: boolean) => (pass ? 'met' : '**not met**');
  const verifyTarget = (key: string, base = 'barePost') =>
    `req/s >= 0.70: ${check(paired(key, base, 'rps') >= 0.7)}; p99 <= 1.5x: ${check(paired(key, base, 'p99') <= 1.5)}`;
  const tokenVsOidc = paired('token', 'oidc', 'rps');
  const atLeast = (key: string, base: string, goal: number) => {
    const ratio = paired(key, base, 'rps');
    return `req/s >= ${goal.toFixed(2)}x bare: ${ratio.toFixed(2)}x, ${check(ratio >= goal)}`;
  };
  const cpuAtMost = (key: string, goal: number) => `CPU <= ${goal} µs/req: ${r[key]!.cpuPerRequest} µs, ${check(r[key]!.cpuPerRequest <= goal)}`;
  const pgRow = r.verifyFreshPg
    ? [row('verifyFreshPg', 'barePost', `${atLeast('verifyFreshPg', 'barePost', 0.35)}; PostgreSQL's own CPU: ${r.verifyFreshPg.storeCpuPerRequest} µs/req more`)]
    : ['| POST /v1/verify, a fresh unknown key per request (PostgreSQL) | | | | | | | | | | not measured: no PostgreSQL answered |'];
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    '# Benchmarks',
    '',
    'Made by `npm run bench` (bench/run.ts). One run measures Keyport and its baselines on the same',
    'machine, so the ratios matter more than the absolute figures, which vary a lot between runs.',
    '',
    `- When: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; took ${x.totalSeconds.toFixed(0)} s in all.`,
    `- Machine: ${cpus().length} × ${cpuModel}; Node.js ${process.version}; loopback only.`,
    ...(QUICK ? ['- **A quick run** (`--quick`): a smaller store, fewer and shorter rounds; a look, not a record.'] : []),
    `- Load: ${LOAD_GENERATOR === 'wrk' ? 'wrk (one thread' : 'autocannon (Node'}) from the same machine, ${CONNECTIONS} connections, sharing the cores with the server under test. \`npm run bench\` uses wrk when it is installed (Debian: \`apt-get install wrk\`), autocannon otherwise; wrk takes far less CPU for the same load, which leaves the server its core.`,
    `- Server cores: the server's CPU time over the measured seconds. Node serves requests on one thread, so near 1.00 the server set the pace; Keyport's token endpoint goes above it by signing on the thread pool.`,
    `- Rounds: every row was measured in ${ROUNDS} rounds of ${DURATION} s (after a warm-up), the rounds taking turns over all rows; the table shows the medians, and the lowest and highest req/s of the rounds. The ratios (and the targets) are the medians of the ratios within each round, where a row and its baseline were measured seconds apart.`,
    `- Store: embedded SQLite with ${x.seeded.total.toLocaleString('en')} keys (seeded through the repository layer in one transaction in ${x.seedSeconds.toFixed(0)} s; keyport.db ${x.dbMb} MB), ${Math.min(BIG_ACCOUNT_KEYS, x.seeded.total).toLocaleString('en')} of them in the account the listings read; the others are valid token keys, the working set of the "valid key at random" row (the verification cache holds 100,000).`,
    x.pgKeys === null
      ? '- PostgreSQL: none answered, so its row is missing.'
      : `- PostgreSQL: a database of the bench's own on the local server, seeded with ${x.pgKeys.toLocaleString('en')} keys (in ${x.pgSeconds.toFixed(0)} s), served by a node of its own; its row adds the CPU time of PostgreSQL's server processes for that node (same machine) per request.`,
    `- Unknown keys: the "fresh unknown key" rows send ${UNKNOWN_POOL.toLocaleString('en')} well-formed keys (valid checksum) in turn, more than the negative cache holds (100,000): what a flood of made-up keys costs. The filter of existing keys answers them (about 1 % pass it and reach the store, and up to KEYPORT_UNKNOWN_KEY_READS=100 a second are read all the same). The "(the same one)" row sends one unknown key over and over.`,
    '- Default settings: one node runs exactly as `npm start` does (no `KEYPORT_LOG_LEVEL`: level info, the default request log), for the row that says so.',
    '- Keyport runs as `node --import tsx src/start.ts` with `KEYPORT_LOG_LEVEL=warn` (but for the default-settings row), usage analytics on (the default); a second node on the same store runs with `KEYPORT_USAGE_ANALYTICS=off` for the two rows that say so, and a third, its twin with usage analytics on, serves only the two "twin node" rows; the working-set row has a node of its own too. The baseline is a bare Fastify app whose route returns a fixed JSON body (bench/bare-server.ts), sent the same request (headers and body) as the valid-key row; the JWT row, whose body is some 700 bytes longer, has a baseline of its own sent its very request. The `/v1/authz` rows (forward-auth: `GET` with the service token, the client\'s `Authorization` and `X-Forwarded-For`, as a gateway sends it) have a bare route answering 200 with the same identity headers as theirs, sent the very request (one for the key, one for the JWT). The token endpoint is compared with oidc-provider issuing client-credentials JWT access tokens signed with ES256 like Keyport (bench/oidc-provider-server.ts).',
    '- CPU/req: user + system CPU time of the server process (from /proc/<pid>/stat) over the measured seconds, divided by the requests served. Steadier than req/s.',
    '',
    '| scenario | req/s | req/s range | p50 ms | p99 ms | CPU µs/req | server cores | req/s ÷ baseline | p99 ÷ baseline | CPU ÷ baseline | target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    row('barePost', null, 'baseline for the other POST rows'),
    row('verifyKey', 'barePost', verifyTarget('verifyKey')),
    row('verifyKeyOn', 'barePost', 'the valid-key row on a node serving only it and its "off" twin'),
    row('verifyKeyOff', 'barePost', 'the valid-key row without usage counting'),
    row('verifyDefault', 'barePost', atLeast('verifyDefault', 'barePost', 0.8)),
    row('verifyUnknown', 'barePost', verifyTarget('verifyUnknown')),
    row('verifyFresh', 'barePost', atLeast('verifyFresh', 'barePost', 0.5)),
    ...pgRow,
    row('verifyWorkingSet', 'barePost', 'the miss path of real keys: most are not in the cache'),
    row('bareJwt', null, 'baseline for the JWT row'),
    row('verifyJwt', 'bareJwt', verifyTarget('verifyJwt', 'bareJwt')),
    row('verifyJwtOn', 'bareJwt', 'the JWT row on a node serving only it and its "off" twin'),
    row('verifyJwtOff', 'bareJwt', 'the JWT row without usage counting'),
    row('bareAuthz', null, 'baseline for the /v1/authz rows'),
    row('authzKey', 'bareAuthz', verifyTarget('authzKey', 'bareAuthz')),
    row('authzUnknown', 'bareAuthz', verifyTarget('authzUnknown', 'bareAuthz')),
    row('bareAuthzJwt', null, 'baseline for the /v1/authz JWT row'),
    row('authzJwt', 'bareAuthzJwt', verifyTarget('authzJwt', 'bareAuthzJwt')),
    row('token', 'barePost', `>= 2x oidc-provider: ${tokenVsOidc.toFixed(2)}x, ${check(tokenVsOidc >= 2)}`),
    row('oidc', 'barePost', 'comparison for /oauth/token'),
    row('bareGet', null, 'baseline for the GET rows'),
    row('healthz', 'bareGet', "Keyport's own floor: a route doing nothing"),
    row('listFiltered', 'bareGet', cpuAtMost('listFiltered', 250)),
    row('listSearch', 'bareGet', cpuAtMost('listSearch', 250)),
    row('listByName', 'bareGet', cpuAtMost('listByName', 250)),
    '',
    `Usage counting (on by default), on ÷ off within each round, between two nodes that serve only these rows (the "twin node" rows and the "usage analytics off" ones): valid key req/s ${paired('verifyKeyOn', 'verifyKeyOff', 'rps').toFixed(3)}, CPU ${paired('verifyKeyOn', 'verifyKeyOff', 'cpuPerRequest').toFixed(3)}; JWT req/s ${paired('verifyJwtOn', 'verifyJwtOff', 'rps').toFixed(3)}, CPU ${paired('verifyJwtOn', 'verifyJwtOff', 'cpuPerRequest').toFixed(3)}. Target: req/s within 3 % (>= 0.97): ${check(paired('verifyKeyOn', 'verifyKeyOff', 'rps') >= 0.97 && paired('verifyJwtOn', 'verifyJwtOff', 'rps') >= 0.97)}. The nodes serve the same store; each round measures a row and its twin seconds apart. The main node's rows (which serve every other row too) against the "off" node: valid key req/s ${paired('verifyKey', 'verifyKeyOff', 'rps').toFixed(3)}, JWT ${paired('verifyJwt', 'verifyJwtOff', 'rps').toFixed(3)}.`,
    '',
    `The JWT row against the first baseline instead of its own: req/s ${paired('verifyJwt', 'barePost', 'rps').toFixed(2)}, p99 ${paired('verifyJwt', 'barePost', 'p99').toFixed(2)}.`,
    '',
    `Keyport server memory with ${x.seeded.total.toLocaleString('en')} keys in its store: ${x.memoryAtStart.rss} MB resident after start, ${x.memoryAtEnd.rss} MB after every run above (peak ${x.memoryAtEnd.peak} MB). Keys are read from SQLite on demand; only the bounded caches of the verification path live in memory. The node of the working-set row, whose caches filled up (100,000 entries each): ${x.memoryOfWorkingSet.rss} MB resident at the end (peak ${x.memoryOfWorkingSet.peak} MB).`,
    '',
    'Listings read `/v1/accounts/{account}/keys` as the platform owner: `environment=production&active=true&sort=-createdAt&limit=50`, `environment=production&q=sync&limit=50`, and `environment=sandbox&sort=name&limit=50`.',
    '',
    ...x.sections,
  ];
  return lines.join('\n');
}

await main();
