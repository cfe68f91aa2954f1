// The in-process verifier (@keyport/node): verify() of a cached token key and of a JWT, and a
// Fastify API protected by the SDK's plugin against the same API without auth and against one
// calling POST /v1/verify per request. Runnable alone: `tsx bench/sdk.ts` prints its section.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { createVerifier } from '@keyport/node';
import { cpuMicros } from './cpu.js';

const TOKEN = 'bench-platform-owner-token-0123456789';

/** Starts `node --import tsx <script>` and resolves with the child and the URL it prints (or waits for /healthz). */
function start(script: string, env: Record<string, string>, url?: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`${script} exited (${code}): ${output}`)));
    if (url === undefined) child.stdout!.on('data', (d) => { const m = /http:\/\/\S+/.exec(String(d)); if (m) resolve({ child, url: m[0] }); });
    else {
      const poll = async () => {
        for (;;) {
          if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return resolve({ child, url });
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      void poll();
    }
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function run({ seconds, rounds }: { seconds: number; rounds: number }): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyport-bench-sdk-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const keyportUrl = `http://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  try {
    const kp = await start('src/start.ts', { PORT: String(port), HOST: '127.0.0.1', KEYPORT_DATA_DIR: dataDir, KEYPORT_BOOTSTRAP_TOKEN: TOKEN, KEYPORT_LOG_LEVEL: 'warn' }, keyportUrl);
    children.push(kp.child);
    const api = async (path: string, body: unknown) => {
      const res = await fetch(`${keyportUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await res.json()) as any;
    };
    const account = (await api('/v1/accounts', { name: 'Bench', provisionDefaultKeys: false })).id;
    const tokenKey = (await api(`/v1/accounts/${account}/keys`, { name: 'k', environment: 'production', kind: 'custom', credentialType: 'token', active: true, scopes: ['order.read'] })).secret;
    const client = await api(`/v1/accounts/${account}/keys`, { name: 'c', environment: 'production', kind: 'custom', credentialType: 'client_secret', scopes: ['order.read'] });
    const tokenRes = await fetch(`${keyportUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.key.clientId}:${client.secret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    const jwt = ((await tokenRes.json()) as any).access_token as string;

    // In process.
    const verifier = createVerifier({ url: keyportUrl, serviceToken: TOKEN, environment: 'production' });
    await verifier.ready();
    const inProcess = async (credential: string) => {
      for (let i = 0; i < 3; i++) await verifier.verify(credential, { scopes: ['order.read'] });
      const perRound: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const end = performance.now() + Math.min(seconds, 2) * 1000;
        let n = 0;
        const t0 = performance.now();
        while (performance.now() < end) {
          for (let i = 0; i < 1000; i++) await verifier.verify(credential, { scopes: ['order.read'] });
          n += 1000;
        }
        perRound.push(n / ((performance.now() - t0) / 1000));
      }
      return median(perRound);
    };
    const keyOps = await inProcess(tokenKey);
    // The middleware's path: the synchronous cache lookup.
    const syncRounds: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const end = performance.now() + Math.min(seconds, 2) * 1000;
      let n = 0;
      const t0 = performance.now();
      while (performance.now() < end) {
        for (let i = 0; i < 1000; i++) if (verifier.cached(tokenKey, { scopes: ['order.read'] })?.valid !== true) throw new Error('not cached');
        n += 1000;
      }
      syncRounds.push(n / ((performance.now() - t0) / 1000));
    }
    const syncOps = median(syncRounds);
    const jwtOps = await inProcess(jwt);
    const remoteCalls = verifier.status().remoteCalls;
    await verifier.close();

    // Over HTTP: three apps, measured in turn each round.
    const modes = ['none', 'sdk', 'remote'] as const;
    const apps: Record<string, { child: ChildProcess; url: string }> = {};
    for (const mode of modes) {
      apps[mode] = await start('bench/sdk-app.ts', { MODE: mode, KEYPORT_URL: keyportUrl, SERVICE_TOKEN: TOKEN });
      children.push(apps[mode]!.child);
    }
    const stats: Record<string, { rps: number[]; p50: number[]; p99: number[]; cpu: number[] }> = {};
    const ratios: Record<string, number[]> = { sdk: [], remote: [] };
    for (const mode of modes) stats[mode] = { rps: [], p50: [], p99: [], cpu: [] };
    const options = (url: string, duration: number) => ({ url: `${url}/orders`, connections: 32, duration, headers: { authorization: `Bearer ${tokenKey}` } });
    for (const mode of modes) await autocannon(options(apps[mode]!.url, 1));
    const measure = async (mode: string, duration: number) => {
      const pid = apps[mode]!.child.pid!;
      const before = cpuMicros(pid);
      const result = await autocannon(options(apps[mode]!.url, duration));
      const cpu = cpuMicros(pid) - before;
      if (result.non2xx > 0) throw new Error(`${mode}: ${result.non2xx} answers were not 2xx`);
      const s = stats[mode]!;
      s.rps.push(result.requests.average);
      s.p50.push(result.latency.p50);
      s.p99.push(result.latency.p99);
      s.cpu.push(cpu / Math.max(1, result.requests.total));
      return result.requests.average;
    };
    const half = Math.max(1, Math.round(seconds / 2));
    for (let r = 0; r < rounds; r++) {
      // A-B-B-A: the SDK and its baseline each measured twice, around each other, so a change of
      // the machine's load during the round weighs on both alike.
      const none1 = await measure('none', half);
      const sdk1 = await measure('sdk', half);
      const sdk2 = await measure('sdk', half);
      const none2 = await measure('none', half);
      ratios.sdk!.push((sdk1 + sdk2) / (none1 + none2));
      const remote = await measure('remote', seconds);
      ratios.remote!.push(remote / ((none1 + none2) / 2));
    }
    const row = (name: string, mode: string, ratio: string, goal: string) => {
      const s = stats[mode]!;
      return `| ${name} | ${Math.round(median(s.rps))} | ${median(s.p50).toFixed(1)} | ${median(s.p99).toFixed(1)} | ${Math.round(median(s.cpu))} | ${ratio} | ${goal} |`;
    };
    const sdkRatio = median(ratios.sdk!);
    const cpuRatio = median(stats.none!.cpu) / median(stats.sdk!.cpu);
    return [
      '## In-process verification (@keyport/node)',
      '',
      `Method: one Keyport node (SQLite) and, in this process, a verifier with its event stream connected; verify() is called back to back (awaited) for ${Math.min(seconds, 2)} s per round, ${rounds} rounds, median. Then three copies of one small Fastify API in their own processes (bench/sdk-app.ts: no auth, the SDK's Fastify plugin, a POST /v1/verify per request), driven by autocannon (32 connections; per round the no-auth and SDK APIs A-B-B-A for ${Math.max(1, Math.round(seconds / 2))} s each, then the /v1/verify one for ${seconds} s; ${rounds} rounds); ratios are medians of per-round ratios to the no-auth API, CPU is the API process's user+system time over the measured seconds divided by its requests.`,
      '',
      '| in process | ops/s | µs each |',
      '| --- | --- | --- |',
      `| verify() of a cached token key | ${Math.round(keyOps)} | ${(1e6 / keyOps).toFixed(2)} |`,
      `| cached() of a token key (what the middleware calls) | ${Math.round(syncOps)} | ${(1e6 / syncOps).toFixed(2)} |`,
      `| verify() of a JWT (verified before) | ${Math.round(jwtOps)} | ${(1e6 / jwtOps).toFixed(2)} |`,
      '',
      `Requests the verifier sent to Keyport for all of that: ${remoteCalls} (the first use of each credential).`,
      '',
      `CPU per request, no auth ÷ SDK: ${cpuRatio.toFixed(2)} (steadier than req/s on a shared machine).`,
      '',
      '| Fastify API | req/s | p50 ms | p99 ms | CPU µs/req | ratio to no auth | goal |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      row('no auth (baseline)', 'none', '1.00', ''),
      row('SDK plugin (in process)', 'sdk', sdkRatio.toFixed(2), `≥ 0.9: ${sdkRatio >= 0.9 ? 'met' : 'not met'}`),
      row('POST /v1/verify per request', 'remote', median(ratios.remote!).toFixed(2), `SDK faster: ${sdkRatio > median(ratios.remote!) ? 'met' : 'not met'}`),
      '',
    ].join('\n');
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export default { title: 'In-process verification (@keyport/node)', run };

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await run({ seconds: 3, rounds: 3 }));
  process.exit(0);
}
