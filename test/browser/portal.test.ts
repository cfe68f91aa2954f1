import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { createAccount, TEST_TOKEN, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { chromiumMissing, clearScreenshots, clipboard, ensurePortalBuilt, launch, screenshot, unlabelledControls, type Browser } from './browser.js';

/**
 * The whole life of a key as a person lives it in the portal, in a real Chromium against a real
 * Keyport: sign in, create an account and a key, copy the secret, use it against the API, reset,
 * verify, filter, bulk delete, settings, the two environments, keyboard only and a phone screen.
 * Every main screen is saved under test-artifacts/screenshots/.
 */

const skip = chromiumMissing();

/** The row of the key table that names `name`. */
const row = (page: Page, name: string) => page.locator('tbody tr').filter({ has: page.getByRole('button', { name, exact: true }) });
const dialog = (page: Page) => page.locator('dialog[open]').last();
const rowNames = async (page: Page) => page.locator('tbody tr .key-name').allInnerTexts();
/** The container of a labelled form field, for "the message is next to the field" checks. */
const fieldOf = (control: Locator) => control.locator('xpath=ancestor::*[contains(concat(" ", @class, " "), " field ")][1]');

describe('portal: the life of a key in a browser', { skip: skip ?? false }, () => {
  let kp: TestKeyport;
  let browser: Browser;
  let page: Page;
  let accountId = '';
  let clientId = '';
  let secret = '';

  before(async () => {
    ensurePortalBuilt();
    clearScreenshots();
    kp = await startTestKeyport('sqlite');
    browser = await launch(kp.url);
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await kp?.stop();
  });

  test('sign in: a wrong token is refused next to the field, the platform owner token signs in', async () => {
    await page.goto(`${kp.url}/`);
    await page.getByRole('heading', { name: 'Sign in to Keyport' }).waitFor();
    await screenshot(page, '01-sign-in');
    assert.deepEqual(await unlabelledControls(page), []);

    const token = page.getByRole('textbox', { name: 'Platform or API token' });
    await token.fill('kpat_not-a-real-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refused = fieldOf(token).locator('.field-error');
    await refused.waitFor();
    assert.match(await refused.innerText(), /not valid: it is unknown, expired or revoked/);
    assert.equal(await token.getAttribute('aria-invalid'), 'true');

    // Operator sign-in: e-mail and password, when the server offers it.
    await page.getByRole('tab', { name: 'E-mail and password' }).click();
    await page.getByRole('textbox', { name: 'E-mail address' }).fill('nobody@example.com');
    await page.getByRole('textbox', { name: 'Password' }).fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.banner-error, .field-error').first().waitFor();
    await screenshot(page, '01-sign-in-operator');
    await page.getByRole('tab', { name: 'Token' }).click();

    await page.getByRole('textbox', { name: 'Platform or API token' }).fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Create your first account' }).waitFor();
    await screenshot(page, '02-first-start');
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('keyport.session'), local: JSON.stringify(localStorage) }));
    assert.match(stored.session!, new RegExp(TEST_TOKEN), 'the token is kept for this tab only');
    assert.equal(stored.local.includes(TEST_TOKEN), false, 'never in localStorage');
  });

  test('a new account without default keys: the empty state says what to do first', async () => {
    await page.getByRole('button', { name: 'Create account' }).click();
    const d = dialog(page);
    await d.getByRole('button', { name: 'Create account' }).click();
    assert.match(await d.locator('.field-error').innerText(), /Give the account a name/);
    await d.getByRole('textbox', { name: 'Name' }).fill('Acme Outdoor');
    await d.getByRole('switch', { name: /Start with default keys/ }).uncheck();
    await d.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'No REST keys in sandbox yet' }).waitFor();
    accountId = /\/accounts\/(acct_[^/]+)\/keys/.exec(page.url())![1]!;
    assert.match(page.url(), /env=sandbox/);
    assert.ok(await page.getByText('0 of 25 keys used in sandbox').isVisible(), 'the limit is explained before it is hit');
    await screenshot(page, '03-empty-state');
  });

  test('an account that may not create keys says so, and offers no create button', async () => {
    await createAccount(kp.api, { name: 'Closed shop', eligible: false });
    await page.reload();
    await page.getByRole('combobox', { name: 'Account' }).selectOption({ label: 'Closed shop' });
    await page.getByRole('heading', { name: 'Closed shop cannot create API keys' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /New REST key|Create your first/ }).count(), 0);
    await screenshot(page, '04-empty-state-not-eligible');
    await page.getByRole('combobox', { name: 'Account' }).selectOption({ label: 'Acme Outdoor' });
    await page.getByRole('heading', { name: 'No REST keys in sandbox yet' }).waitFor();
  });

  test('create dialog: messages next to the fields, server errors too, and nothing lost when a request fails', async () => {
    await page.getByRole('button', { name: 'Create your first REST key' }).click();
    const d = dialog(page);
    await d.getByRole('heading', { name: 'New REST key' }).waitFor();
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement).name), 'name', 'focus starts in the first field');
    await screenshot(page, '05-create-dialog');
    assert.deepEqual(await unlabelledControls(page), [], 'every control of the create dialog is labelled');
    await d.getByRole('button', { name: 'Create REST key' }).click();
    const name = d.getByRole('textbox', { name: 'Name' });
    assert.match(await fieldOf(name).locator('.field-error').innerText(), /Give the key a name/);
    assert.match(await d.locator('.scope-picker .field-error').innerText(), /at least one scope or add a role/);
    await screenshot(page, '05-create-dialog-validation');

    await name.fill('ERP sync');
    await d.getByRole('checkbox', { name: /^product\.read/ }).check();
    await d.getByRole('checkbox', { name: 'All scopes of Orders' }).check();
    await d.getByRole('button', { name: 'Add role' }).click();
    await d.getByRole('combobox', { name: 'Role definition' }).selectOption({ label: 'Pricing' });
    await d.getByRole('combobox', { name: 'Access level' }).selectOption({ label: 'Editor' });
    await d.getByRole('textbox', { name: /Channel/ }).fill('b2b');
    await d.locator('input[name="expiresAt"]').fill('2020-01-31');
    assert.ok(await d.getByText('0 of 25 keys used in sandbox').isVisible());
    assert.equal(await d.locator('.field-error').count(), 0, 'the messages go once the fields are right');

    // The server refuses the past expiry: its message appears next to that field.
    await d.getByRole('button', { name: 'Create REST key' }).click();
    const expiry = d.locator('input[name="expiresAt"]');
    await fieldOf(expiry).locator('.field-error').waitFor();
    assert.match(await fieldOf(expiry).locator('.field-error').innerText(), /must be in the future/i);
    await screenshot(page, '05-create-dialog-server-error');
    await expiry.fill('');

    // The network fails once: the dialog says so and keeps everything typed.
    let failed = false;
    await page.route(
      (url) => url.pathname === `/v1/accounts/${accountId}/keys`,
      (route) => (route.request().method() === 'POST' && !failed ? ((failed = true), route.abort('failed')) : route.continue()),
    );
    await d.getByRole('button', { name: 'Create REST key' }).click();
    await d.getByText('Keyport cannot be reached').waitFor();
    assert.equal(await name.inputValue(), 'ERP sync');
    assert.equal(await d.getByRole('checkbox', { name: /^order\.cancel/ }).isChecked(), true);
    assert.equal(await d.getByRole('textbox', { name: /Channel/ }).inputValue(), 'b2b');
    await page.unroute((url) => url.pathname === `/v1/accounts/${accountId}/keys`);

    await d.getByRole('button', { name: 'Create REST key' }).click();
    await page.getByRole('heading', { name: 'REST key “ERP sync” created' }).waitFor();
  });

  test('the secret is shown once, says it will not be shown again, and its copy buttons copy it', async () => {
    const d = dialog(page);
    assert.match(await d.innerText(), /will not be shown again/);
    clientId = await d.getByTestId('issued-client-id').innerText();
    secret = await d.getByTestId('issued-secret').innerText();
    assert.match(clientId, /^kpid_test_/);
    assert.match(secret, /^kpsk_test_/);
    await d.getByRole('button', { name: 'Copy secret' }).click();
    assert.equal(await clipboard(page), secret);
    await d.getByRole('button', { name: 'Copy client ID' }).click();
    assert.equal(await clipboard(page), clientId);
    await d.getByRole('button', { name: 'Copy secret' }).click();
    await screenshot(page, '06-secret-dialog');
    secret = await clipboard(page);
  });

  test('the copied client ID and secret work against the API: an access token, then /v1/whoami', async () => {
    const res = await fetch(`${kp.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    const { access_token: accessToken } = (await res.json()) as { access_token: string };
    const whoami = await fetch(`${kp.url}/v1/whoami`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(whoami.status, 200);
    const me = (await whoami.json()) as { valid: boolean; account: string; environment: string; scopes: string[] };
    assert.equal(me.valid, true);
    assert.equal(me.account, accountId);
    assert.equal(me.environment, 'sandbox');
    assert.ok(me.scopes.includes('order.cancel') && me.scopes.includes('price.write'), 'picked scopes and role scopes');
  });

  test('quick start: ready-to-run samples with the new secret filled in; the JavaScript one runs as copied', async () => {
    await dialog(page).getByRole('button', { name: 'Try it: quick start' }).click();
    const d = dialog(page);
    await d.getByRole('heading', { name: 'Quick start: ERP sync' }).waitFor();
    const code = d.getByTestId('quickstart-code');
    await code.waitFor();
    assert.ok((await code.innerText()).includes(secret), 'the secret just created is filled in');
    await screenshot(page, '07-quickstart');
    for (const language of ['JavaScript', 'Python', 'curl']) {
      await d.getByRole('tab', { name: language }).click();
      const text = await code.innerText();
      assert.ok(text.includes(clientId) && text.includes(`${kp.url}/oauth/token`), `${language} names the client ID and the token URL`);
    }
    await d.getByRole('tab', { name: 'Behind your gateway' }).click();
    const behind = await code.innerText();
    assert.ok(behind.includes(`${kp.url}/v1/authz?environment=sandbox`) && behind.includes(secret), 'the gateway sample asks /v1/authz with the new secret');
    await d.getByRole('tab', { name: 'JavaScript' }).click();
    await d.getByRole('button', { name: 'Copy JavaScript sample' }).click();
    const sample = await clipboard(page);
    assert.ok(sample.includes(secret));
    // Run it exactly as copied: it gets a token and calls the API with it. (Asynchronously: the
    // server answering it runs in this very process.)
    const { stdout: output } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', sample], { encoding: 'utf8', timeout: 20_000 });
    assert.match(output, /valid: true/);
    assert.ok(output.includes(accountId), output);
    await page.keyboard.press('Escape');
    await dialog(page).waitFor({ state: 'detached' });
  });

  test('reset and regenerate are behind a confirmation that says they are irrevocable; verify answers match or no match', async () => {
    await row(page, 'ERP sync').getByRole('button', { name: 'Actions for ERP sync' }).click();
    await page.getByRole('menuitem', { name: 'Reset secret' }).click();
    let d = dialog(page);
    assert.match(await d.innerText(), /irrevocable/);
    await screenshot(page, '08-reset-confirmation');
    await d.getByRole('button', { name: 'Reset secret' }).click();
    await page.getByRole('heading', { name: 'New secret created' }).waitFor();
    const newSecret = await dialog(page).getByTestId('issued-secret').innerText();
    assert.notEqual(newSecret, secret);
    await dialog(page).getByRole('button', { name: 'I have stored it' }).click();

    await row(page, 'ERP sync').getByRole('button', { name: 'Actions for ERP sync' }).click();
    await page.getByRole('menuitem', { name: 'Verify a secret' }).click();
    d = dialog(page);
    await d.getByLabel('Secret').fill(secret);
    await d.getByRole('button', { name: 'Verify' }).click();
    await d.getByText('Does not match.').waitFor();
    await screenshot(page, '09-verify-does-not-match');
    await d.getByLabel('Secret').fill(newSecret);
    await d.getByRole('button', { name: 'Verify' }).click();
    await d.getByText('Matches.').waitFor();
    await screenshot(page, '09-verify-matches');
    await d.getByRole('button', { name: 'Close' }).first().click();

    await row(page, 'ERP sync').getByRole('button', { name: 'Actions for ERP sync' }).click();
    await page.getByRole('menuitem', { name: 'Regenerate client ID and secret' }).click();
    d = dialog(page);
    assert.match(await d.innerText(), /irrevocable/);
    await d.getByRole('button', { name: 'Regenerate client ID and secret' }).click();
    await page.getByRole('heading', { name: 'New client ID and secret created' }).waitFor();
    assert.notEqual(await dialog(page).getByTestId('issued-client-id').innerText(), clientId);
    await dialog(page).getByRole('button', { name: 'I have stored it' }).click();
  });

  test('key details: the client ID is hidden with an eye to show it; edits are saved', async () => {
    await row(page, 'ERP sync').getByRole('button', { name: 'ERP sync', exact: true }).click();
    const d = dialog(page);
    const shown = d.locator('.credentials .secret-text').first();
    assert.match(await shown.innerText(), /•/, 'hidden by default');
    await d.getByRole('button', { name: 'Show client ID' }).click();
    assert.match(await shown.innerText(), /^kpid_test_[0-9A-Za-z]+$/);
    await screenshot(page, '10-key-details');
    assert.deepEqual(await unlabelledControls(page), []);
    await d.getByRole('textbox', { name: 'Name' }).fill('ERP sync (orders)');
    await d.getByRole('switch', { name: /Active/ }).uncheck();
    await d.getByRole('button', { name: 'Save changes' }).click();
    await row(page, 'ERP sync (orders)').waitFor();
    assert.equal(await row(page, 'ERP sync (orders)').locator('.status').innerText(), 'Inactive');
    await row(page, 'ERP sync (orders)').getByRole('button', { name: /Actions for/ }).click();
    await page.getByRole('menuitem', { name: 'Activate' }).click();
    await row(page, 'ERP sync (orders)').locator('.status-active').waitFor();
  });

  test('token keys: their own tab; roles are fixed after creation and shown read-only', async () => {
    await page.getByRole('tab', { name: /Token keys/ }).click();
    await page.getByRole('heading', { name: 'No token keys in sandbox yet' }).waitFor();
    assert.match(page.url(), /type=token/);
    await page.getByRole('button', { name: 'Create your first token key' }).click();
    let d = dialog(page);
    await d.getByRole('textbox', { name: 'Name' }).fill('Storefront GraphQL');
    await d.getByRole('button', { name: 'Add role' }).click();
    await d.getByRole('combobox', { name: 'Role definition' }).selectOption({ label: 'Product Data' });
    await d.getByRole('button', { name: 'Create token key' }).click();
    await page.getByRole('heading', { name: 'Token key “Storefront GraphQL” created' }).waitFor();
    assert.match(await dialog(page).getByTestId('issued-secret').innerText(), /^kp_test_/);
    await dialog(page).getByRole('button', { name: 'I have stored it' }).click();
    assert.equal(await row(page, 'Storefront GraphQL').locator('.status').innerText(), 'Inactive', 'token keys start inactive');
    await screenshot(page, '11-token-keys');

    await row(page, 'Storefront GraphQL').getByRole('button', { name: 'Storefront GraphQL', exact: true }).click();
    d = dialog(page);
    assert.match(await d.innerText(), /roles of a token key are fixed when it is created/);
    assert.equal(await d.getByRole('button', { name: 'Add role' }).count(), 0);
    await d.getByText('Product Data · Viewer').scrollIntoViewIfNeeded();
    await screenshot(page, '12-token-key-roles-read-only');
    await page.keyboard.press('Escape');
    await page.getByRole('tab', { name: /REST keys/ }).click();
  });

  test('search, filters, sort and pages all live in the URL and survive a reload', async () => {
    for (const [i, spec] of [
      ['Warehouse feed', 'retail', true],
      ['Price import', 'b2b', false],
      ['ERP backup', null, true],
      ['Marketing site', 'retail', true],
      ['Legacy ERP', 'b2b', false],
      ['POS terminal 1', 'retail', true],
      ['POS terminal 2', 'retail', true],
      ['POS terminal 3', 'retail', false],
      ['Analytics', null, true],
      ['Zapier bridge', null, true],
      ['Accounting', 'b2b', true],
    ].entries()) {
      kp.clock.advance(60_000);
      const [name, channel, active] = spec as [string, string | null, boolean];
      const res = await kp.api('POST', `/v1/accounts/${accountId}/keys`, { name, environment: 'sandbox', kind: i % 3 === 0 ? 'storefront' : 'custom', credentialType: 'client_secret', scopes: i % 3 === 0 ? undefined : ['cart.read'], channel, active });
      assert.equal(res.status, 201);
    }
    await page.reload();
    await row(page, 'Zapier bridge').waitFor();

    await page.getByRole('searchbox', { name: 'Search keys by name' }).fill('erp');
    await page.waitForURL(/q=erp/);
    await row(page, 'Legacy ERP').waitFor();
    assert.deepEqual((await rowNames(page)).sort(), ['ERP backup', 'ERP sync (orders)', 'Legacy ERP']);

    await page.getByRole('radio', { name: 'Inactive' }).check();
    await page.waitForURL(/status=inactive/);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    assert.deepEqual(await rowNames(page), ['Legacy ERP']);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForURL((url) => !url.search.includes('q='));

    await page.getByRole('radio', { name: 'Storefront' }).check();
    await page.waitForURL(/kind=storefront/);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 4);
    await page.getByRole('radio', { name: 'All kinds' }).check();

    await page.getByRole('button', { name: /More filters/ }).click();
    await page.getByRole('textbox', { name: 'Channel' }).fill('retail');
    await page.waitForURL(/channel=retail/);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 5);
    await page.getByLabel('Created from').fill('2099-01-01');
    await page.getByRole('heading', { name: 'No keys match these filters' }).waitFor();
    await page.getByLabel('Created from').fill('');
    await page.getByRole('button', { name: 'Name' }).click();
    await page.waitForURL(/sort=name/);
    await page.waitForFunction(() => document.querySelector('tbody tr .key-name')?.textContent === 'Marketing site');
    assert.deepEqual(await rowNames(page), ['Marketing site', 'POS terminal 1', 'POS terminal 2', 'POS terminal 3', 'Warehouse feed']);
    assert.equal(await page.locator('th[aria-sort="ascending"]').innerText(), 'Name');
    await screenshot(page, '13-filtered-and-sorted');
    assert.deepEqual(await unlabelledControls(page), [], 'every control of the keys view is labelled');

    // Pages of 10: the cursor joins the filters in the URL; a reload keeps all of it.
    await page.getByRole('combobox', { name: 'Rows per page' }).selectOption('10');
    await page.getByRole('textbox', { name: 'Channel' }).fill('');
    await page.waitForURL((url) => !url.search.includes('channel='));
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 10);
    const first = await rowNames(page);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForURL(/cursor=/);
    assert.match(page.url(), /sort=name/);
    assert.match(page.url(), /limit=10/);
    await page.waitForFunction((names) => !names.includes(document.querySelector('tbody tr .key-name')?.textContent ?? ''), first);
    const second = await rowNames(page);
    assert.equal(second.length, 2);
    assert.deepEqual([...first, ...second], [...first, ...second].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    await page.reload();
    await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length === n, second.length);
    assert.deepEqual(await rowNames(page), second, 'a reload shows the same page');
    await page.getByRole('button', { name: /Previous|First page/ }).click();
    await page.waitForURL((url) => !url.search.includes('cursor='));
    await page.waitForFunction((name) => document.querySelector('tbody tr .key-name')?.textContent === name, first[0]);
  });

  test('bulk delete: select rows, a confirmation names how many, and they are gone', async () => {
    for (const name of ['POS terminal 1', 'POS terminal 2', 'POS terminal 3']) await page.getByRole('checkbox', { name: `Select ${name}` }).check();
    await page.getByText('3 keys selected').waitFor();
    await page.getByRole('button', { name: 'Delete selected' }).click();
    const d = dialog(page);
    await d.getByRole('heading', { name: 'Delete 3 keys?' }).waitFor();
    assert.match(await d.innerText(), /irrevocable/);
    await screenshot(page, '14-bulk-delete-confirmation');
    await d.getByRole('button', { name: 'Delete 3 keys' }).click();
    await page.getByText('3 keys deleted.').waitFor();
    const left = await kp.api('GET', `/v1/accounts/${accountId}/keys?q=pos`);
    assert.deepEqual(left.body.items, []);
  });

  test('settings: the key limit changes, and the keys view and the create dialog say when it is reached', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await screenshot(page, '15-settings', { fullPage: true });
    assert.deepEqual(await unlabelledControls(page), []);
    const limit = page.getByRole('spinbutton', { name: 'Keys per environment' });
    await limit.fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.match(await fieldOf(limit).locator('.field-error').innerText(), /1 or more/);
    const count = (await kp.api('GET', `/v1/accounts/${accountId}/keys/counts`)).body.counts.sandbox as number;
    await limit.fill(String(count));
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    assert.equal((await kp.api('GET', `/v1/accounts/${accountId}`)).body.settings.keyLimitPerEnvironment, count);

    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByText(`${count} of ${count} keys used in sandbox · limit reached`).waitFor();
    await page.getByRole('button', { name: 'New REST key' }).click();
    const d = dialog(page);
    await d.getByText(`The limit of ${count} keys in sandbox is reached`).waitFor();
    assert.equal(await d.getByRole('button', { name: 'Create REST key' }).isDisabled(), true);
    await screenshot(page, '16-limit-reached');
    // Production has its own allowance.
    await d.getByRole('radio', { name: 'Production' }).check();
    assert.equal(await d.getByRole('button', { name: 'Create REST key' }).isDisabled(), false);
    await page.keyboard.press('Escape');
    await kp.api('PATCH', `/v1/accounts/${accountId}/settings`, { keyLimitPerEnvironment: 25 });
  });

  test('secret reveal: once the account permits it, the eye shows the secret to a permitted operator', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('radio', { name: /Revealed by permitted operators/ }).check();
    const saved = page.waitForResponse((r) => r.url().endsWith('/settings') && r.request().method() === 'PATCH');
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.equal((await saved).status(), 200);
    const { body } = await kp.api('POST', `/v1/accounts/${accountId}/keys`, { name: 'Revealable', environment: 'sandbox', kind: 'storefront', credentialType: 'client_secret' });
    await page.getByRole('link', { name: 'API keys' }).click();
    await row(page, 'Revealable').getByRole('button', { name: 'Revealable', exact: true }).click();
    const d = dialog(page);
    await d.getByRole('button', { name: 'Show client secret' }).click();
    await d.getByText(body.secret).waitFor();
    await screenshot(page, '17-secret-revealed');
    await page.keyboard.press('Escape');
    await kp.api('PATCH', `/v1/accounts/${accountId}/settings`, { secretReveal: 'never' });
  });

  test('production is unmistakable: the switch is always in view and the page turns red', async () => {
    await kp.api('POST', `/v1/accounts/${accountId}/keys`, { name: 'Live checkout', environment: 'production', kind: 'storefront', credentialType: 'client_secret' });
    await page.getByRole('radio', { name: 'Production' }).check();
    await page.waitForURL(/env=production/);
    await row(page, 'Live checkout').waitFor();
    assert.match(await page.getByRole('note', { name: 'Environment' }).innerText(), /Production\. You are working with live keys/);
    assert.deepEqual(await rowNames(page), ['Live checkout'], 'only production keys');
    await screenshot(page, '18-production');
    await page.getByRole('radio', { name: 'Sandbox' }).check();
    await page.waitForURL(/env=sandbox/);
  });

  test('keyboard only: reach "New REST key", the dialog takes focus, Escape closes it and focus returns', async () => {
    await page.reload();
    await row(page, 'Accounting').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content', 'the first stop skips the header');
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate(() => document.activeElement?.textContent ?? '')) === 'New REST key';
    }
    assert.ok(reached, 'the create button is reachable with Tab');
    await page.keyboard.press('Enter');
    await dialog(page).waitFor();
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement).name), 'name');
    await page.keyboard.type('Typed by keyboard');
    await page.keyboard.press('Escape');
    await dialog(page).waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'New REST key', 'focus returns to where it was');

    // The row menu: arrows move, Escape closes and gives focus back to its button.
    const menuButton = row(page, 'Accounting').getByRole('button', { name: 'Actions for Accounting' });
    await menuButton.focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'menuitem');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Deactivate');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Actions for Accounting');

    // The tabs: arrow keys switch between REST and token keys.
    await page.getByRole('tab', { name: /REST keys/ }).focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/type=token/);
    assert.match((await page.evaluate(() => document.activeElement?.textContent)) ?? '', /Token keys/);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL((url) => !url.search.includes('type=token'));
  });

  test('a phone-width screen: no sideways scrolling, keys as cards, dialogs full screen', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.reload();
    await row(page, 'Accounting').waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'nothing wider than the screen');
    assert.ok(await page.getByRole('radio', { name: 'Production' }).isVisible(), 'the environment switch stays in view');
    await screenshot(page, '19-phone-keys');
    await page.getByRole('button', { name: 'New REST key' }).click();
    await dialog(page).waitFor();
    await screenshot(page, '20-phone-create-dialog');
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test('a session that ends mid-work: the refusal is explained, the dialog keeps what was typed, signing in again returns to the page', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await row(page, 'Accounting').waitFor();
    const keysUrl = page.url();
    const refuse = (url: URL) => url.pathname === `/v1/accounts/${accountId}/keys`;
    await page.route(refuse, (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({
            status: 401,
            contentType: 'application/problem+json',
            body: JSON.stringify({ type: 'urn:keyport:problem:unauthenticated', code: 'unauthenticated', title: 'Unauthenticated', status: 401, detail: 'The bearer token is unknown, expired or revoked.' }),
          })
        : route.continue(),
    );
    await page.getByRole('button', { name: 'New REST key' }).click();
    const d = dialog(page);
    await d.getByRole('textbox', { name: 'Name' }).fill('Typed before the session ended');
    await d.getByRole('checkbox', { name: /^cart\.read/ }).check();
    await d.getByRole('button', { name: 'Create REST key' }).click();
    await d.getByText(/You are signed out/).waitFor();
    assert.equal(await d.getByRole('textbox', { name: 'Name' }).inputValue(), 'Typed before the session ended');
    await screenshot(page, '21-session-ended');
    await page.unroute(refuse);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Sign in again' }).click();
    await page.getByRole('textbox', { name: 'Platform or API token' }).fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await row(page, 'Accounting').waitFor();
    assert.equal(page.url(), keysUrl, 'back where the work stopped');
  });

  test('operators: an owner adds a viewer with an initial password', async () => {
    await page.getByRole('link', { name: 'Operators' }).click();
    await page.getByRole('heading', { name: 'Operators', level: 1 }).waitFor();
    await page.getByRole('textbox', { name: 'E-mail address' }).fill('vera@example.com');
    await page.getByRole('textbox', { name: /^Name/ }).fill('Vera Viewer');
    await page.getByRole('button', { name: 'Add operator' }).click();
    // A new e-mail needs an initial password: the server says so next to that field.
    const password = page.getByLabel(/Initial password/);
    await fieldOf(password).locator('.field-error').waitFor();
    assert.match(await fieldOf(password).locator('.field-error').innerText(), /initial password/);
    await password.fill('correct horse battery staple');
    await page.getByRole('combobox', { name: 'Role' }).selectOption('viewer');
    await page.getByRole('button', { name: 'Add operator' }).click();
    await page.getByRole('cell', { name: 'vera@example.com' }).waitFor();
    await screenshot(page, '22-operators');
  });

  test('external keys: give a key of another account access, switch it off, remove it', async () => {
    const partner = await createAccount(kp.api, { name: 'Partner shop' });
    const { body } = await kp.api('POST', `/v1/accounts/${partner}/keys`, { name: 'Partner ERP', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['order.read'] });
    await page.getByRole('link', { name: 'External keys' }).click();
    await page.getByRole('heading', { name: 'No external keys' }).waitFor();
    await page.getByRole('button', { name: 'Give a key access' }).click();
    const d = dialog(page);
    await d.getByRole('textbox', { name: 'Client ID or key ID' }).fill('kpid_test_doesnotexist');
    await d.getByRole('button', { name: 'Give access' }).click();
    await d.locator('.field-error, .banner-error').first().waitFor();
    await d.getByRole('textbox', { name: 'Client ID or key ID' }).fill(body.key.clientId);
    await d.getByRole('combobox', { name: 'Role definition' }).selectOption({ label: 'Order Data' });
    await d.getByRole('button', { name: 'Give access' }).click();
    await page.getByRole('cell', { name: /^Partner ERP/ }).waitFor();
    await page.getByRole('switch', { name: 'On' }).uncheck();
    await page.getByText('Access of “Partner ERP” switched off.').waitFor();
    await screenshot(page, '23-external-keys');
    await page.getByRole('button', { name: 'Remove' }).click();
    assert.match(await dialog(page).innerText(), /irrevocable/);
    await dialog(page).getByRole('button', { name: 'Remove access' }).click();
    await page.getByRole('heading', { name: 'No external keys' }).waitFor();
  });

  test('audit log: every change is there, with who and what changed, never a secret', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.locator('.audit-table').waitFor();
    const text = await page.locator('.audit-table').innerText();
    for (const action of ['grant.delete', 'grant.create', 'member.add', 'key.revealed', 'settings.update', 'key.created']) assert.ok(text.includes(action), `${action} is logged`);
    assert.equal(text.includes(secret), false, 'no secret in the audit log');
    await screenshot(page, '24-audit-log');
    await page.getByRole('textbox', { name: 'Action' }).fill('key.revealed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/action=key\.revealed/);
    await page.waitForFunction(() => document.querySelectorAll('.audit-table tbody tr').length === 1);
  });

  test('sign out, then an operator signs in with e-mail and password and sees only what a viewer may do', async () => {
    await page.getByRole('button', { name: 'Signed in as Platform owner' }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Keyport' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('keyport.session')), null);

    await page.getByRole('tab', { name: 'E-mail and password' }).click();
    await page.getByRole('textbox', { name: 'E-mail address' }).fill('vera@example.com');
    await page.getByRole('textbox', { name: 'Password' }).fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back on the page where the owner signed out: the audit log, which a viewer may read too.
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'API keys' }).click();
    await row(page, 'Accounting').waitFor();
    const stored = await page.evaluate(() => sessionStorage.getItem('keyport.session'));
    assert.match(stored!, /"mode":"cookie"/);
    assert.equal(stored!.includes('correct horse'), false);

    // A viewer: no create button, no selection, no settings or operators page, read-only actions.
    assert.equal(await page.getByRole('button', { name: 'New REST key' }).count(), 0);
    assert.equal(await page.getByRole('checkbox', { name: /^Select / }).count(), 0);
    const nav = await page.getByRole('navigation', { name: 'Account pages' }).innerText();
    assert.match(nav, /API keys/);
    assert.doesNotMatch(nav, /Settings|Operators/);
    await row(page, 'Accounting').getByRole('button', { name: 'Actions for Accounting' }).click();
    const items = await page.getByRole('menuitem').allInnerTexts();
    assert.deepEqual(items, ['View details', 'Quick start', 'Verify a secret']);
    await page.keyboard.press('Escape');
    await screenshot(page, '25-viewer');
    await page.goto(`${kp.url}/accounts/${accountId}/settings?env=sandbox`);
    await page.getByRole('heading', { name: 'You cannot open this page' }).waitFor();

    // The session cookie outlives the tab: a new tab is signed in without asking again.
    const other = await browser.context.newPage();
    await other.goto(`${kp.url}/accounts/${accountId}/keys?env=sandbox`);
    await row(other, 'Accounting').waitFor();
    await other.close();

    await page.goto(`${kp.url}/`);
    await page.getByRole('button', { name: 'Signed in as Vera Viewer' }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Keyport' }).waitFor();
    const after = await fetch(`${kp.url}/v1/me`, { headers: { cookie: (await browser.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    assert.equal(after.status, 401, 'the session is gone on the server too');
  });

  test('no script error and no blocked resource (CSP) on any screen', () => {
    assert.deepEqual(browser.problems, []);
  });
});
