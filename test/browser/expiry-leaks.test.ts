import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { createAccount, createKey, TEST_TOKEN, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { chromiumMissing, ensurePortalBuilt, launch, screenshot, unlabelledControls, type Browser } from './browser.js';

/**
 * Expiry reminders and leaked keys in the portal, in a real Chromium against a real Keyport: the
 * banner counting keys that expire within 7 days and its link filtering the list, the expiry
 * filter, the badge and the warning of a key reported leaked, and the notice settings.
 */

const skip = chromiumMissing();
const DAY = 86_400_000;
const dialog = (page: Page) => page.locator('dialog[open]').last();
const fieldOf = (control: Locator) => control.locator('xpath=ancestor::*[contains(concat(" ", @class, " "), " field ")][1]');
const row = (page: Page, name: string) => page.locator('tbody tr').filter({ has: page.getByRole('button', { name, exact: true }) });
const rowNames = async (page: Page) => page.locator('tbody tr .key-name').allInnerTexts();

describe('portal: expiry banner, leaked keys, notice settings', { skip: skip ?? false }, () => {
  let kp: TestKeyport;
  let browser: Browser;
  let page: Page;
  let account = '';

  before(async () => {
    ensurePortalBuilt();
    kp = await startTestKeyport('sqlite', { KEYPORT_EXPIRY_SCAN_INTERVAL: '0' });
    account = await createAccount(kp.api, { name: 'Reminded shop' });
    // The portal computes "within 7 days" from the browser's clock: the keys' expiries are set from it too.
    const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
    await createKey(kp.api, account, { name: 'Expiring soon', expiresAt: iso(3 * DAY) });
    await createKey(kp.api, account, { name: 'Next month', expiresAt: iso(30 * DAY) });
    const leaked = await createKey(kp.api, account, { name: 'Pushed to GitHub' });
    await kp.services.leaks.report('github', [{ token: leaked.secret, type: 'keyport_client_secret', url: 'https://github.com/octo/shop/blob/main/.env', source: 'content' }]);
    browser = await launch(kp.url);
    page = browser.page;
    await page.goto(`${kp.url}/`);
    await page.getByRole('textbox', { name: 'Platform or API token' }).fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await kp?.stop();
  });

  test('the banner counts the keys expiring within 7 days and its link shows just them', async () => {
    await page.goto(`${kp.url}/accounts/${account}/keys?env=sandbox`);
    const banner = page.locator('.banner-warning').filter({ hasText: 'expire' });
    await banner.waitFor();
    assert.match(await banner.innerText(), /1 key expires within 7 days/);
    await page.locator('tbody tr').first().waitFor();
    assert.deepEqual((await rowNames(page)).sort(), ['Expiring soon', 'Next month', 'Pushed to GitHub']);
    await screenshot(page, 'expiry-01-banner');

    await banner.getByRole('link', { name: 'Show them' }).click();
    await page.waitForURL(/expiresWithin=7/);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    assert.deepEqual(await rowNames(page), ['Expiring soon']);
    assert.equal(await page.locator('.banner-warning').filter({ hasText: 'expire' }).count(), 0, 'the banner goes once its filter is applied');
    assert.match(await page.locator('.filters-more').innerText(), /Within 7 days from now/);
    await screenshot(page, 'expiry-02-filtered');

    // The filter by date, from "More filters".
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    const more = page.getByRole('button', { name: /More filters/ });
    if ((await more.getAttribute('aria-expanded')) !== 'true') await more.click();
    const before = new Date(Date.now() + 60 * DAY).toISOString().slice(0, 10);
    await page.getByLabel('Expires before').fill(before);
    await page.waitForURL(new RegExp(`expiresBefore=${before}`));
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 2);
    assert.deepEqual((await rowNames(page)).sort(), ['Expiring soon', 'Next month']);
    assert.deepEqual(await unlabelledControls(page), []);
  });

  test('a key reported leaked carries a badge, and its details say what happened and what to do', async () => {
    await page.goto(`${kp.url}/accounts/${account}/keys?env=sandbox`);
    const leakedRow = row(page, 'Pushed to GitHub');
    await leakedRow.waitFor();
    assert.match(await leakedRow.locator('.badge-red').allInnerTexts().then((t) => t.join(' ')), /Leaked/);
    assert.equal(await row(page, 'Next month').locator('.badge-red').count(), 0);
    await leakedRow.getByRole('button', { name: 'Pushed to GitHub', exact: true }).click();
    const warning = dialog(page).locator('.banner-error').filter({ hasText: 'found in public' });
    await warning.waitFor();
    const text = await warning.innerText();
    assert.match(text, /by GitHub secret scanning \(found in content\) at https:\/\/github\.com\/octo\/shop\/blob\/main\/\.env/);
    assert.match(text, /switched off and its tokens revoked/);
    assert.match(text, /Regenerate its client ID and secret/);
    await screenshot(page, 'leak-01-details');
    await page.keyboard.press('Escape');
  });

  test('settings: expiry reminders, credits running low and the leak response, checked next to their fields', async () => {
    await page.goto(`${kp.url}/accounts/${account}/settings`);
    const days = page.getByRole('textbox', { name: /Expiry reminders/ });
    await days.waitFor();
    assert.equal(await days.inputValue(), '7, 1');
    assert.equal(await page.getByRole('radio', { name: /Switch it off and revoke its tokens/ }).isChecked(), true);
    await days.fill('7, 0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.match(await fieldOf(days).locator('.field-error').innerText(), /from 1 to 365/);

    await days.fill('1, 30 7');
    await page.getByRole('spinbutton', { name: 'Credits running low at' }).fill('100');
    await page.getByRole('radio', { name: /Keep it working and tell us/ }).check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    assert.equal(await days.inputValue(), '30, 7, 1');
    const saved = (await kp.api('GET', `/v1/accounts/${account}`)).body.settings;
    assert.deepEqual([saved.expiryNoticeDays, saved.creditsLowThreshold, saved.leakResponse], [[30, 7, 1], 100, 'notify']);
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshot(page, 'settings-notices', { fullPage: true });
    assert.deepEqual(browser.problems, []);
  });
});
