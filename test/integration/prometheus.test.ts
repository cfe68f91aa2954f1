import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createAccount, createKey, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';

const RULES = fileURLToPath(new URL('../../docs/prometheus/alerts.yml', import.meta.url));
const PROMETHEUS = process.env.KEYPORT_TEST_PROMETHEUS ?? '/usr/bin/prometheus';
const PROMTOOL = process.env.KEYPORT_TEST_PROMTOOL ?? '/usr/bin/promtool';

/** Debian's prometheus package brings both; without them the suite is skipped loudly, except under CI=true. */
function prometheusInstalled(): boolean {
  if (existsSync(PROMETHEUS) && existsSync(PROMTOOL)) return true;
  const message = `prometheus / promtool are not installed at ${PROMETHEUS} and ${PROMTOOL} (apt-get install prometheus)`;
  if (process.env.CI === 'true') throw new Error(`${message}: the metrics tests need them`);
  process.stderr.write(`\n*** SKIPPING the Prometheus tests: ${message} ***\n\n`);
  return false;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

const installed = prometheusInstalled();

describe('docs/prometheus/alerts.yml in a real Prometheus', { skip: !installed }, () => {
  let kp: TestKeyport;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let dir: string;
  let output = '';

  before(async () => {
    kp = await startTestKeyport('sqlite', { KEYPORT_METRICS_PORT: '0' });
    dir = mkdtempSync(join(tmpdir(), 'keyport-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const target = new URL(kp.metricsUrl!).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${RULES}`,
        'scrape_configs:',
        '  - job_name: keyport',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d) => (output += d));
    prometheus.stderr!.on('data', (d) => (output += d));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const gone = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await gone;
    }
    await kp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('promtool checks the rules', () => {
    const check = spawnSync(PROMTOOL, ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  });

  test('Prometheus scrapes Keyport and answers a PromQL query for the verification counter; the rules are loaded', async () => {
    const account = await createAccount(kp.api);
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
    for (let i = 0; i < 5; i++) assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).body.valid, true);

    const query = async (promql: string) => {
      const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      assert.equal(body.status, 'success');
      return body.data.result;
    };
    // Prometheus starts, scrapes every second: bounded by count, not by a timing assertion.
    let result: Awaited<ReturnType<typeof query>> = [];
    for (let attempt = 0; attempt < 120 && result.length === 0; attempt++) {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(prometheus!.exitCode, null, `prometheus exited:\n${output}`);
      result = await query('keyport_verifications_total{path="/v1/verify",code="valid"} > 0').catch(() => []);
    }
    assert.equal(result.length, 1, `no sample of the verification counter:\n${output}`);
    assert.equal(result[0]!.metric.job, 'keyport');
    assert.equal(Number(result[0]!.value[1]), 5);
    assert.equal((await query('up{job="keyport"}'))[0]?.value[1], '1');

    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; health: string; type: string }[] }[] } };
    const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    for (const name of ['keyport:verification_error_ratio:rate5m', 'KeyportVerificationErrors', 'KeyportVerificationSlow', 'KeyportSyncLagOverBound', 'KeyportStoreUnavailable', 'KeyportWebhookBacklog'])
      assert.ok(names.includes(name), `${name} is loaded: ${names.join(', ')}`);
    // Evaluated at least once without errors (an unknown function or a bad label match would say "err").
    let healthy = false;
    for (let attempt = 0; attempt < 60 && !healthy; attempt++) {
      const now = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as typeof rules;
      const all = now.data.groups.flatMap((g) => g.rules);
      assert.deepEqual(all.filter((r) => r.health === 'err').map((r) => r.name), []);
      healthy = all.every((r) => r.health === 'ok');
      if (!healthy) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(healthy, 'every rule evaluated');
    // The sync lag is within the bound on a healthy node: that alert is not firing.
    assert.deepEqual(await query('ALERTS{alertname="KeyportSyncLagOverBound"}'), []);
  });
});
