import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAccount, createKey, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';

/** Debian's Python 3, with Debian's python3-requests (not whichever python3 is first on PATH). */
const PYTHON = '/usr/bin/python3';

const RUNNERS: Record<'curl' | 'javascript' | 'python', { file: string; command: string }> = {
  curl: { file: 'sample.sh', command: 'bash' },
  javascript: { file: 'sample.mjs', command: process.execPath },
  python: { file: 'sample.py', command: PYTHON },
};

type Language = keyof typeof RUNNERS;

let kp: TestKeyport;
let dir: string;
before(async () => {
  kp = await startTestKeyport('sqlite');
  dir = mkdtempSync(join(tmpdir(), 'keyport-quickstart-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await kp?.stop();
});

/** Runs one sample as its reader would (saved to a file), with `env` added to a bare environment. */
function run(language: Language, code: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const runner = RUNNERS[language];
  const file = join(dir, runner.file);
  writeFileSync(file, code);
  return new Promise((resolve, reject) => {
    const child = spawn(runner.command, [file], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout, stderr });
    });
  });
}

async function samples(account: string, keyId: string): Promise<Record<Language, string>> {
  const res = await kp.api('GET', `/v1/accounts/${account}/keys/${keyId}/quickstart`);
  assert.equal(res.status, 200);
  return Object.fromEntries(res.body.samples.filter((s: any) => s.language in RUNNERS).map((s: any) => [s.language, s.code])) as Record<Language, string>;
}

test('the client-secret samples run: the token and the call succeed with the exported secret', async () => {
  const account = await createAccount(kp.api);
  const { key, secret } = await createKey(kp.api, account);
  for (const [language, code] of Object.entries(await samples(account, key.id)) as [Language, string][]) {
    const ok = await run(language, code, { CLIENT_SECRET: secret });
    assert.equal(ok.code, 0, `${language}: ${JSON.stringify(ok)}`);
    assert.match(ok.stdout, new RegExp(key.id), `${language} prints what the key stands for`);
    assert.match(ok.stdout, /valid['"]?:\s*(true|True)/, language);
  }
});

test('with a wrong secret, or the placeholder left in, each sample stops with the server\'s own error', async () => {
  const account = await createAccount(kp.api);
  const { key } = await createKey(kp.api, account);
  // The server's detail for a wrong secret, as /oauth/token gives it.
  const direct = await kp.as(null)('POST', '/oauth/token', 'grant_type=client_credentials', {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${key.clientId}:wrong-secret`).toString('base64')}`,
  });
  assert.equal(direct.body.error, 'invalid_client');
  for (const [language, code] of Object.entries(await samples(account, key.id)) as [Language, string][]) {
    for (const env of [{ CLIENT_SECRET: 'wrong-secret' }, {}] as Record<string, string>[]) {
      const label = `${language} ${env.CLIENT_SECRET ? 'with a wrong secret' : 'with the placeholder'}`;
      const failed = await run(language, code, env);
      assert.notEqual(failed.code, 0, `${label}: ${JSON.stringify(failed)}`);
      assert.match(failed.stderr, /invalid_client/, `${label} names the server's error: ${JSON.stringify(failed)}`);
      assert.ok(failed.stderr.includes(direct.body.error_description), `${label} shows the server's message: ${failed.stderr}`);
      assert.doesNotMatch(failed.stderr + failed.stdout, /KeyError|unauthenticated|whoami/, `${label} goes no further: ${JSON.stringify(failed)}`);
    }
  }
});

test('the token-key samples run, and a wrong key stops with the server\'s own error', async () => {
  const account = await createAccount(kp.api);
  const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
  for (const [language, code] of Object.entries(await samples(account, key.id)) as [Language, string][]) {
    const ok = await run(language, code, { API_KEY: secret });
    assert.equal(ok.code, 0, `${language}: ${JSON.stringify(ok)}`);
    assert.match(ok.stdout, new RegExp(key.id), language);
    const failed = await run(language, code, { API_KEY: 'kp_wrong_key_0123456789' });
    assert.notEqual(failed.code, 0, `${language}: ${JSON.stringify(failed)}`);
    assert.match(failed.stderr + failed.stdout, /unauthenticated/, `${language}: ${JSON.stringify(failed)}`);
    assert.match(failed.stderr + failed.stdout, /The credential /, `${language} shows the server's detail: ${JSON.stringify(failed)}`);
  }
});
