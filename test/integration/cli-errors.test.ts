import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { SORT_FIELDS } from '../../src/domain/sort-fields.js';
import { runCli } from '../helpers/cli.js';
import { createAccount, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';

describeEachStore('CLI: errors for scripts and for people', (kp) => {
  let env: Record<string, string>;
  let account: string;
  before(async () => {
    env = { KEYPORT_URL: kp.url, KEYPORT_TOKEN: TEST_TOKEN };
    account = await createAccount(kp.api);
  });

  test('with --json, an error of the server is its problem details on stderr, nothing on stdout, exit 1', async () => {
    const missing = await runCli(['--json', 'keys', 'get', 'key_missing', '-a', account], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    const { error } = JSON.parse(missing.stderr);
    assert.deepEqual(
      { code: error.code, title: error.title, status: error.status, detail: error.detail },
      { code: 'not_found', title: 'Not found', status: 404, detail: "Key 'key_missing' does not exist." },
    );

    const badScope = await runCli(['--json', 'keys', 'create', '-a', account, '-n', 'x', '-e', 'sandbox', '--scopes', 'nonsense.scope'], env);
    assert.equal(badScope.code, 1);
    const problem = JSON.parse(badScope.stderr).error;
    assert.equal(problem.status, 400);
    assert.equal(problem.code, 'unknown_scope');
    assert.deepEqual(problem.errors, [{ pointer: '/scopes/0', detail: "unknown scope 'nonsense.scope'" }]);
  });

  test('with --json, bad usage and local failures have the same shape, with status null', async () => {
    const badSort = await runCli(['--json', 'keys', 'list', '-a', account, '--sort', 'bogus'], env);
    assert.equal(badSort.code, 2, 'a usage error');
    assert.equal(badSort.stdout, '');
    const usage = JSON.parse(badSort.stderr).error;
    assert.deepEqual([usage.code, usage.title, usage.status], ['invalid_usage', 'Invalid usage', null]);
    assert.match(usage.detail, /--sort <field>' argument 'bogus' is invalid/);

    const noYes = JSON.parse((await runCli(['keys', 'delete', 'key_x', '-a', account, '--json'], env)).stderr).error;
    assert.deepEqual([noYes.code, noYes.status], ['cli_error', null]);
    assert.match(noYes.detail, /add --yes/);

    const noToken = await runCli(['--json', 'accounts', 'list'], { KEYPORT_URL: kp.url });
    assert.equal(noToken.code, 2);
    assert.equal(JSON.parse(noToken.stderr).error.code, 'no_token');

    const noCommand = await runCli(['--json', 'keys'], env);
    assert.notEqual(noCommand.code, 0);
    assert.equal(JSON.parse(noCommand.stderr).error.code, 'invalid_usage', 'the help that commander prints is not mixed into the JSON');

    const help = await runCli(['--json', 'keys', 'list', '--help'], env);
    assert.equal(help.code, 0, '--help is not an error');
    assert.equal(help.stderr, '');
  });

  test('keys list --help names every sort field, and a bad sort value is told the valid ones', async () => {
    const help = await runCli(['keys', 'list', '--help'], env);
    assert.equal(help.code, 0);
    const text = help.stdout.replace(/\s+/g, ' ');
    for (const field of SORT_FIELDS) assert.ok(text.includes(` ${field},`) || text.includes(` ${field};`), `--help lists ${field}: ${text}`);

    const bad = await runCli(['keys', 'list', '-a', account, '--sort', 'nmae'], env);
    assert.notEqual(bad.code, 0);
    assert.equal(
      bad.stderr,
      `error: option '--sort <field>' argument 'nmae' is invalid. must be one of ${SORT_FIELDS.join(', ')}, with a leading '-' to sort descending (e.g. -createdAt).\n`,
    );
    assert.doesNotMatch(bad.stderr, /[\^$|]/, 'no regex');
    for (const good of ['lastUsedAt', '-credits']) assert.equal((await runCli(['keys', 'list', '-a', account, '--sort', good], env)).code, 0);
  });

  test('a batch delete with one unknown key says "1 of the keys does not exist"', async () => {
    const one = await runCli(['keys', 'batch-delete', 'key_nope', '-a', account, '--yes'], env);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /^Error 404 \(not_found\): 1 of the keys does not exist in this account; nothing was deleted\.\n/);
    const two = await runCli(['keys', 'batch-delete', 'key_nope', 'key_nada', '-a', account, '--yes'], env);
    assert.match(two.stderr, /^Error 404 \(not_found\): 2 of the keys do not exist in this account/);
  });

  test('a token key that starts inactive says why and how to switch it on', async () => {
    const created = await runCli(['keys', 'create', '-a', account, '-n', 'GraphQL', '-e', 'sandbox', '--type', 'token', '--scopes', 'product.read'], env);
    assert.equal(created.code, 0, created.stderr);
    const keyId = /^id:\s+(key_\S+)/m.exec(created.stdout)![1]!;
    assert.match(created.stdout, /^active:\s+false$/m);
    assert.match(created.stdout, /The key is inactive: this account starts new token keys inactive/);
    assert.ok(created.stdout.includes(`keyport keys update ${keyId} -a ${account} --active`), created.stdout);
    assert.ok(created.stdout.includes(`keyport accounts settings ${account} --default-active-token true`), created.stdout);

    const asked = await runCli(['keys', 'create', '-a', account, '-n', 'Off REST', '-e', 'sandbox', '--inactive', '--scopes', 'product.read'], env);
    assert.match(asked.stdout, /The key is inactive, as asked \(--inactive\)/);

    const on = await runCli(['keys', 'create', '-a', account, '-n', 'On', '-e', 'sandbox', '--type', 'token', '--active', '--scopes', 'product.read'], env);
    assert.doesNotMatch(on.stdout, /inactive/);

    // The command it names works.
    const switched = await runCli(['--json', 'keys', 'update', keyId, '-a', account, '--active'], env);
    assert.equal(JSON.parse(switched.stdout).active, true);
  });
});
