import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';

describeEachStore('CLI', (kp) => {
  let env: Record<string, string>;
  before(async () => {
    env = { KEYPORT_URL: kp.url, KEYPORT_TOKEN: TEST_TOKEN };
  });

  test('manages an account and the whole life of a key', async () => {
    const created = await runCli(['accounts', 'create', 'Acme CLI', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const account = JSON.parse(created.stdout);
    assert.equal(account.name, 'Acme CLI');
    assert.equal(account.provisionedKeys.length, 4);

    const settings = await runCli(['accounts', 'settings', account.id, '--access-token-ttl', '900', '--key-limit', '5'], env);
    assert.equal(settings.code, 0, settings.stderr);
    assert.match(settings.stdout, /access token TTL:\s+900 s/);
    assert.match(settings.stdout, /keys per environment:\s+5/);

    const key = await runCli(['keys', 'create', '-a', account.id, '-n', 'ERP sync', '-e', 'production', '--scopes', 'product.read,order.read', '--role', 'pricing:viewer'], env);
    assert.equal(key.code, 0, key.stderr);
    const secret = /client secret: (kpsk_live_\S+)/.exec(key.stdout)?.[1];
    const keyId = /^id:\s+(key_\S+)/m.exec(key.stdout)?.[1];
    assert.ok(secret && keyId, key.stdout);
    assert.match(key.stdout, /shown this once/);
    assert.match(key.stdout, /granted scopes:\s+product.read price.read order.read/);

    const table = await runCli(['keys', 'list', '-a', account.id, '--environment', 'production', '--sort', 'name'], env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+NAME\s+ENV\s+KIND/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s{2,}/)[1]), ['Admin API (production)', 'ERP sync', 'Storefront API (production)']);

    const json = JSON.parse((await runCli(['--json', 'keys', 'list', '-a', account.id, '-q', 'erp'], env)).stdout);
    assert.deepEqual(json.items.map((k: any) => k.id), [keyId]);

    const matches = await runCli(['keys', 'verify-secret', keyId!, '-a', account.id], env, `${secret}\n`);
    assert.deepEqual([matches.code, matches.stdout], [0, 'The secret matches the key.\n']);
    const wrong = await runCli(['keys', 'verify-secret', keyId!, '-a', account.id, '--secret', 'kpsk_live_nope'], env);
    assert.deepEqual([wrong.code, wrong.stdout], [1, 'The secret does NOT match the key.\n']);

    const noYes = await runCli(['keys', 'reset-secret', keyId!, '-a', account.id], env);
    assert.equal(noYes.code, 2);
    assert.match(noYes.stderr, /cannot be undone: add --yes/);
    const reset = await runCli(['keys', 'reset-secret', keyId!, '-a', account.id, '--yes', '--json'], env);
    const newSecret = JSON.parse(reset.stdout).secret;
    assert.notEqual(newSecret, secret);
    assert.equal((await runCli(['keys', 'verify-secret', keyId!, '-a', account.id, '--secret', secret!], env)).code, 1);

    const updated = await runCli(['keys', 'update', keyId!, '-a', account.id, '--inactive', '--channel', 'b2b', '--json'], env);
    assert.deepEqual(JSON.parse(updated.stdout).active, false);
    assert.deepEqual(JSON.parse(updated.stdout).channel, 'b2b');

    const regen = JSON.parse((await runCli(['keys', 'regenerate', keyId!, '-a', account.id, '--yes', '--json'], env)).stdout);
    assert.match(regen.key.clientId, /^kpid_live_/);

    const qs = await runCli(['keys', 'quickstart', keyId!, '-a', account.id, '--language', 'curl'], env);
    assert.ok(qs.stdout.includes(regen.key.clientId) && qs.stdout.includes(`${kp.url}/oauth/token`), qs.stdout);

    const toDelete = account.provisionedKeys.slice(0, 2).map((k: any) => k.id);
    const batch = await runCli(['keys', 'batch-delete', ...toDelete, '-a', account.id, '--yes'], env);
    assert.equal(batch.stdout, `Deleted 2 keys: ${toDelete.join(', ')}\n`);
    assert.equal((await runCli(['keys', 'delete', keyId!, '-a', account.id, '--yes'], env)).code, 0);
    const left = JSON.parse((await runCli(['--json', 'keys', 'list', '-a', account.id], env)).stdout);
    assert.equal(left.items.length, 2);
  });

  test('bad input gets a clear message and a non-zero exit, and changes nothing', async () => {
    const account = JSON.parse((await runCli(['--json', 'accounts', 'create', 'Errors', '--no-default-keys'], env)).stdout);
    const badScope = await runCli(['keys', 'create', '-a', account.id, '-n', 'x', '-e', 'sandbox', '--scopes', 'product.read,nonsense.scope'], env);
    assert.equal(badScope.code, 1);
    assert.equal(badScope.stderr, "Error 400 (unknown_scope): A scope is not in the catalog (GET /v1/catalog lists them).\n  /scopes/1: unknown scope 'nonsense.scope'\n");
    const badEnv = await runCli(['keys', 'create', '-a', account.id, '-n', 'x', '-e', 'staging'], env);
    assert.notEqual(badEnv.code, 0);
    assert.match(badEnv.stderr, /argument 'staging' is invalid. Allowed choices are sandbox, production/);
    const badTtl = await runCli(['accounts', 'settings', account.id, '--access-token-ttl', 'soon'], env);
    assert.notEqual(badTtl.code, 0);
    assert.match(badTtl.stderr, /--access-token-ttl <seconds>' argument 'soon' is invalid. must be a whole number/);
    const unknownKey = await runCli(['keys', 'get', 'key_missing', '-a', account.id], env);
    assert.deepEqual([unknownKey.code, unknownKey.stderr], [1, "Error 404 (not_found): Key 'key_missing' does not exist.\n"]);
    const noToken = await runCli(['accounts', 'list'], { KEYPORT_URL: kp.url });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /No token/);
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const down = await runCli(['accounts', 'list', '--url', `http://127.0.0.1:${closedPort}`], env);
    assert.equal(down.code, 1);
    assert.equal(down.stderr, `Cannot reach Keyport at http://127.0.0.1:${closedPort}/ (ECONNREFUSED). Is it running? Set --url or KEYPORT_URL.\n`);
    const keys = JSON.parse((await runCli(['--json', 'keys', 'list', '-a', account.id], env)).stdout);
    assert.deepEqual(keys.items, []);
  });
});
