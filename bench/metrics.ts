// Bench module: what Prometheus metrics cost the verification hot path.
//
// Two Keyport processes over one seeded SQLite store, on loopback: one with metrics on
// (KEYPORT_METRICS_PORT, scraped once a second while it is measured, as Prometheus would) and one
// with metrics off (the default). Each verification row is measured on both, seconds apart, in
// paired rounds whose order alternates; the table shows medians over the rounds and the median of
// the per-round ratios. Run alone: `tsx bench/metrics.ts` (3 rounds of 3 s); `npm run bench`
// calls `run` with its own figures.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyString } from '../src/domain/key-strings.js';
import { loadConfig } from '../src/config.js';
import { startKeyport as startInProcess } from '../src/server.js';
import { seed } from './seed.js';
import { cpuMicros } from './cpu.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONNECTIONS = 50;
const OWNER_TOKEN = 'bench-platform-owner-token-0123456789';
/** The goal: verification with metrics on within 3 % of metrics off. */
const GOAL_RATIO = 0.97;

interface Node {
  url: string;
  metricsUrl: string | null;
  child: ChildProcess;
}

function startKeyport(dataDir: string, env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      // Production refuses a Host-derived token issuer.
      KEYPORT_PUBLIC_URL: 'http://127.0.0.1',
      PORT: '0',
      HOST: '127.0.0.1',
      KEYPORT_DATA_DIR: dataDir,
      KEYPORT_BOOTSTRAP_TOKEN: OWNER_TOKEN,
      KEYPORT_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const wantsMetrics = env.KEYPORT_METRICS_PORT !== undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Keyport did not start:\n${output}`)), 120_000);
    const onData = (data: Buffer) => {
      output += data;
      const url = /Keyport is listening on (\S+)/.exec(output)?.[1];
      const metricsUrl = /Prometheus metrics: (\S+)\/metrics/.exec(output)?.[1] ?? null;
      if (url && (!wantsMetrics || metricsUrl)) {
        clearTimeout(timer);
        resolve({ url, metricsUrl, child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (output += d));
    child.on('exit', (code) => reject(new Error(`Keyport exited (${code}):\n${output}`)));
  });
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
}

async function measure(node: Node, path: string, body: string, seconds: number): Promise<Sample> {
  const options = { url: `${node.url}${path}`, connections: CONNECTIONS, method: 'POST' as const, headers: { authorization: `Bearer ${OWNER_TOKEN}`, 'content-type': 'application/json' }, body };
  await autocannon({ ...options, duration: 1 });
  // Metrics on: scraped once a second while measured, so the scrapes' cost counts too.
  const scraper = node.metricsUrl === null ? null : setInterval(() => void fetch(`${node.metricsUrl}/metrics`).then((r) => r.text()).catch(() => {}), 1000);
  const pid = node.child.pid!;
  const cpuBefore = cpuMicros(pid);
  try {
    const result = await autocannon({ ...options, duration: seconds });
    const cpu = cpuMicros(pid) - cpuBefore;
    if (result.non2xx || result.errors || result.timeouts) throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuPerRequest: cpu / Math.max(1, result.requests.total) };
  } finally {
    if (scraper !== null) clearInterval(scraper);
  }
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function run(opts: { seconds: number; rounds: number }): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyport-bench-metrics-'));
  const nodes: Node[] = [];
  try {
    const seeded = await seed(dataDir, 10_000, 1000, Date.now());
    // One process to ask for an access token, then gone: every round starts fresh processes.
    const first = await startKeyport(dataDir, {});
    nodes.push(first);
    const token = await fetch(`${first.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${seeded.clientId}:${seeded.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    const accessToken = ((await token.json()) as { access_token: string }).access_token;
    await stop(nodes.splice(0));
    const rows = [
      { name: 'POST /v1/verify, token key (cached)', body: JSON.stringify({ key: seeded.tokenKey, environment: 'production', scopes: ['product.read'] }) },
      { name: 'POST /v1/verify, access token (cached)', body: JSON.stringify({ token: accessToken, environment: 'production', scopes: ['product.read'] }) },
      { name: 'POST /v1/verify, unknown key (negative cache)', body: JSON.stringify({ key: generateKeyString('token', 'production') }) },
    ];
    const results = rows.map(() => ({ on: [] as Sample[], off: [] as Sample[] }));
    for (let round = 0; round < opts.rounds; round++) {
      // Fresh processes each round: two starts of the same build differ by several per cent (how V8
      // happened to optimise), more than what is measured here, so each round gets a new pair.
      const on = await startKeyport(dataDir, { KEYPORT_METRICS_PORT: '0' });
      nodes.push(on);
      const off = await startKeyport(dataDir, {});
      nodes.push(off);
      // New processes: warm both up on every row before anything is measured.
      for (const node of [on, off]) for (const row of rows) await measure(node, '/v1/verify', row.body, 1);
      for (const [i, row] of rows.entries()) {
        // Paired, seconds apart; the order alternates so neither side always runs on a warmer machine.
        const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
        for (const side of order) results[i]![side].push(await measure(side === 'on' ? on : off, '/v1/verify', row.body, opts.seconds));
        const last = results[i]!;
        process.stderr.write(`  round ${round + 1} ${row.name}: on ${Math.round(last.on.at(-1)!.rps)} req/s, off ${Math.round(last.off.at(-1)!.rps)} req/s\n`);
      }
      await stop(nodes.splice(0));
    }
    const lines = [
      '## Metrics on vs off (verification)',
      '',
      `Two Keyport processes over one SQLite store (a new pair each round), one with Prometheus metrics on (KEYPORT_METRICS_PORT, scraped every second while measured) and one with them off; autocannon, ${CONNECTIONS} connections, ${opts.rounds} paired rounds of ${opts.seconds} s (the two sides seconds apart, order alternating). Figures are medians over the rounds; ratios are medians of the per-round ratios (on ÷ off). CPU/req is the server's user + system time (/proc/<pid>/stat) over the measured seconds ÷ requests. Goal: throughput with metrics on within 3 % of off.`,
      '',
      '| verification | metrics | req/s | p50 ms | p99 ms | CPU µs/req | req/s on ÷ off | CPU/req on ÷ off | goal (≥ 0.97) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ];
    for (const [i, row] of rows.entries()) {
      const { on: o, off: f } = results[i]!;
      const rpsRatio = median(o.map((s, r) => s.rps / f[r]!.rps));
      const cpuRatio = median(o.map((s, r) => s.cpuPerRequest / f[r]!.cpuPerRequest));
      const cells = (samples: Sample[]) =>
        [Math.round(median(samples.map((s) => s.rps))), median(samples.map((s) => s.p50)), median(samples.map((s) => s.p99)), Math.round(median(samples.map((s) => s.cpuPerRequest)))].join(' | ');
      lines.push(`| ${row.name} | off | ${cells(f)} | | | |`);
      lines.push(`| ${row.name} | on | ${cells(o)} | ${rpsRatio.toFixed(3)} | ${cpuRatio.toFixed(3)} | ${rpsRatio >= GOAL_RATIO ? 'met' : 'not met'} |`);
    }
    lines.push(...(await inProcess(dataDir, rows, opts.rounds)));
    return lines.join('\n') + '\n';
  } finally {
    await stop(nodes);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The same rows without the network and the load generator: two nodes in this process (metrics on
 * and off) over the same store, each answering `Fastify.inject` requests in turn, paired per round;
 * this process's CPU time per request. Less exposed to the rest of the machine than req/s.
 */
async function inProcess(dataDir: string, rows: { name: string; body: string }[], rounds: number): Promise<string[]> {
  const env = { PORT: '0', HOST: '127.0.0.1', KEYPORT_DATA_DIR: dataDir, KEYPORT_BOOTSTRAP_TOKEN: OWNER_TOKEN, KEYPORT_LOG_LEVEL: 'warn' };
  const on = await startInProcess(loadConfig({ ...env, KEYPORT_METRICS_TOKEN: 'bench-metrics-token-0123456789' }), { logLevel: 'warn' });
  const off = await startInProcess(loadConfig(env), { logLevel: 'warn' });
  const N = 20_000;
  const cpuPer = async (app: typeof on.app, body: string, n: number) => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { authorization: `Bearer ${OWNER_TOKEN}`, 'content-type': 'application/json' }, payload: body });
      if (res.statusCode !== 200) throw new Error(`inject: ${res.statusCode} ${res.body}`);
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  const out = [
    '',
    `In process (\`Fastify.inject\`, no network, no load generator): ${rounds} paired rounds of ${N.toLocaleString('en')} requests per side, order alternating; CPU µs per request of this process, medians.`,
    '',
    '| verification | CPU µs/req off | CPU µs/req on | on − off (µs) | on ÷ off | goal (≤ 1.03) |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  ];
  try {
    for (const row of rows) {
      await cpuPer(on.app, row.body, N);
      await cpuPer(off.app, row.body, N);
      const pairs: { on: number; off: number }[] = [];
      for (let round = 0; round < rounds; round++) {
        const first = round % 2 === 0 ? off : on;
        const a = await cpuPer(first.app, row.body, N);
        const b = await cpuPer((first === off ? on : off).app, row.body, N);
        pairs.push(first === off ? { off: a, on: b } : { on: a, off: b });
      }
      const ratio = median(pairs.map((p) => p.on / p.off));
      const offM = median(pairs.map((p) => p.off));
      const onM = median(pairs.map((p) => p.on));
      out.push(`| ${row.name} | ${offM.toFixed(1)} | ${onM.toFixed(1)} | ${(onM - offM).toFixed(1)} | ${ratio.toFixed(3)} | ${ratio <= 2 - GOAL_RATIO ? 'met' : 'not met'} |`);
      process.stderr.write(`  in process ${row.name}: ${out.at(-1)}\n`);
    }
  } finally {
    await on.close();
    await off.close();
  }
  return out;
}

async function stop(nodes: Node[]): Promise<void> {
  const gone = nodes.map((n) => (n.child.exitCode === null ? new Promise((r) => n.child.once('exit', r)) : undefined));
  for (const node of nodes) node.child.kill('SIGTERM');
  await Promise.all(gone);
}

export default { title: 'Metrics on vs off', run };

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run({ seconds: Number(process.env.BENCH_DURATION ?? 3), rounds: Number(process.env.BENCH_ROUNDS ?? 3) }).then(
    (section) => process.stdout.write(section),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
