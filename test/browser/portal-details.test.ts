import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { TEXT_LIMITS } from '../../src/domain/text-limits.js';
import { createAccount, createKey, TEST_TOKEN, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { chromiumMissing, ensurePortalBuilt, launch, screenshot, unlabelledControls, type Browser } from './browser.js';

/**
 * What a new user tripped over in the first hour, each checked in a real Chromium against a real
 * Keyport: a refused save that focuses a field under the sticky header, a secret dialog that
 * closes on Escape, inputs longer than the server takes, validator wording, long account names,
 * a phone-width audit log and nav, toasts over the pager, and "7 of 2 keys used".
 */

const skip = chromiumMissing();

const dialog = (page: Page) => page.locator('dialog[open]').last();
const fieldOf = (control: Locator) => control.locator('xpath=ancestor::*[contains(concat(" ", @class, " "), " field ")][1]');
const row = (page: Page, name: string) => page.locator('tbody tr').filter({ has: page.getByRole('button', { name, exact: true }) });
const overflows = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}
const boxOf = (locator: Locator) =>
  locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
  }) as Promise<Box>;
const intersects = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

describe('portal: first-hour details', { skip: skip ?? false }, () => {
  let kp: TestKeyport;
  let browser: Browser;
  let page: Page;
  let accountId = '';
  const longName = `Acme Outdoor Equipment and Supplies International ${'Long Name '.repeat(15)}`.trim().slice(0, TEXT_LIMITS.accountName);

  before(async () => {
    ensurePortalBuilt();
    kp = await startTestKeyport('sqlite');
    accountId = await createAccount(kp.api, { name: 'Acme Outdoor' });
    browser = await launch(kp.url, { width: 1280, height: 640 });
    page = browser.page;
    await page.goto(`${kp.url}/`);
    await page.getByRole('textbox', { name: 'Platform or API token' }).fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('combobox', { name: 'Account' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await kp?.stop();
  });

  const open = async (path: string, width = 1280, height = 640) => {
    await page.setViewportSize({ width, height });
    await page.goto(`${kp.url}/accounts/${accountId}/${path}?env=sandbox`);
  };

  test('Save with an invalid value: the field is focused and in view below the sticky header', async () => {
    await open('settings');
    const ttl = page.getByRole('spinbutton', { name: 'Access token lifetime' });
    await ttl.fill('0');
    // Save is at the bottom: the invalid field is far above, out of view.
    await page.getByRole('button', { name: 'Save settings' }).scrollIntoViewIfNeeded();
    assert.ok((await boxOf(ttl)).bottom < 0, 'the field starts out of view');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await fieldOf(ttl).locator('.field-error').waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-invalid') === 'true');
    assert.equal(await ttl.evaluate((el) => el === document.activeElement), true, 'the invalid field has the focus');
    const header = await boxOf(page.locator('.topbar'));
    const label = await boxOf(fieldOf(ttl).locator('.field-label'));
    const control = await boxOf(ttl);
    assert.ok(label.top >= header.bottom, `the field's label (top ${label.top}) is below the header (bottom ${header.bottom})`);
    assert.ok(control.bottom <= 640, 'and inside the window');
    await screenshot(page, 'details-01-settings-invalid-focused');

    // A value the server refuses is treated the same way.
    await ttl.fill('15');
    await page.route('**/settings', (route) =>
      route.request().method() === 'PATCH'
        ? route.fulfill({
            status: 400,
            contentType: 'application/problem+json',
            body: JSON.stringify({ code: 'validation_failed', title: 'Validation failed', status: 400, detail: 'The body is invalid: /accessTokenTtl must be >= 60.', errors: [{ pointer: '/accessTokenTtl', detail: 'must be >= 60' }] }),
          })
        : route.continue(),
    );
    await page.getByRole('spinbutton', { name: 'Keys per environment' }).fill('24');
    await page.getByRole('button', { name: 'Save settings' }).scrollIntoViewIfNeeded();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-invalid') === 'true');
    assert.equal(await fieldOf(ttl).locator('.field-error').innerText(), 'Use 60 or more.', 'the validator wording is said as a sentence');
    assert.ok((await boxOf(fieldOf(ttl).locator('.field-label'))).top >= (await boxOf(page.locator('.topbar'))).bottom);
    await page.unroute('**/settings');
  });

  test('the create form: the name takes as many characters as the server, no more', async () => {
    await open('keys');
    await page.getByRole('button', { name: 'New REST key' }).click();
    const name = dialog(page).getByRole('textbox', { name: 'Name' });
    assert.equal(await name.getAttribute('maxlength'), String(TEXT_LIMITS.keyName));
    await name.fill('x'.repeat(TEXT_LIMITS.keyName + 20));
    assert.equal((await name.inputValue()).length, TEXT_LIMITS.keyName);
    assert.equal(await dialog(page).getByRole('textbox', { name: /Channel/ }).getAttribute('maxlength'), String(TEXT_LIMITS.channel));

    // In the dialog too: Create from the bottom of a long form brings the refused field into view.
    await name.fill('');
    await dialog(page).locator('.dialog-body').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await dialog(page).getByRole('button', { name: 'Create REST key' }).click();
    await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.name === 'name');
    const body = await boxOf(dialog(page).locator('.dialog-body'));
    const label = await boxOf(fieldOf(name).locator('.field-label'));
    assert.ok(label.top >= body.top && (await boxOf(name)).bottom <= body.bottom, 'the name field is in view inside the dialog');
    await page.keyboard.press('Escape');
    await dialog(page).waitFor({ state: 'detached' });
  });

  test('validator messages reach people as sentences', async () => {
    await open('operators');
    const email = page.getByRole('textbox', { name: 'E-mail address' });
    await email.fill(`${'a'.repeat(250)}@example.com`);
    await page.getByLabel(/Initial password/).fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Add operator' }).click();
    const message = fieldOf(email).locator('.field-error');
    await message.waitFor();
    assert.equal(await message.innerText(), 'Use at most 254 characters.');
    assert.doesNotMatch(await page.locator('main').innerText(), /must NOT|must match/);
  });

  test('the "shown only once" dialog asks before Escape or a click outside closes it', async () => {
    await open('keys');
    await page.getByRole('button', { name: 'New REST key' }).click();
    let d = dialog(page);
    await d.getByRole('textbox', { name: 'Name' }).fill('Once only');
    await d.getByRole('checkbox', { name: /^product\.read/ }).check();
    await d.getByRole('button', { name: 'Create REST key' }).click();
    d = dialog(page);
    await d.getByTestId('issued-secret').waitFor();

    await page.keyboard.press('Escape');
    const question = d.getByTestId('close-question');
    await question.waitFor();
    assert.match(await question.innerText(), /Close without the secret\?/);
    assert.equal(await d.getByTestId('issued-secret').isVisible(), true, 'the secret is still there');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Keep it open', 'the safe answer has the focus');
    await screenshot(page, 'details-02-secret-close-question');

    // A second Escape does not close it either.
    await page.keyboard.press('Escape');
    await page.waitForTimeout(100);
    assert.equal(await d.getByTestId('issued-secret').isVisible(), true);
    await d.getByRole('button', { name: 'Keep it open' }).click();
    assert.equal(await question.count(), 0);

    // A click on the backdrop asks too.
    await page.mouse.click(8, 320);
    await question.waitFor();
    assert.equal(await d.getByTestId('issued-secret').isVisible(), true);
    await d.getByRole('button', { name: 'Close anyway' }).click();
    await page.locator('dialog[open]').waitFor({ state: 'detached' });

    // Other dialogs still close on Escape at once.
    await page.getByRole('button', { name: 'New REST key' }).click();
    await dialog(page).waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
  });

  test('a 200-character account name is cut with an ellipsis, and keeps the header on one row', async () => {
    const longId = await createAccount(kp.api, { name: longName });
    await page.setViewportSize({ width: 1280, height: 640 });
    await page.goto(`${kp.url}/accounts/${longId}/keys?env=sandbox`);
    const select = page.getByRole('combobox', { name: 'Account' });
    await select.waitFor();
    assert.equal(await select.getAttribute('title'), longName, 'the title shows the whole name');
    const style = await select.evaluate((el) => ({ overflow: getComputedStyle(el).textOverflow, width: el.getBoundingClientRect().width }));
    assert.equal(style.overflow, 'ellipsis');
    assert.ok(style.width <= 320, `the switcher stays narrow (${style.width} px)`);
    const row = await boxOf(page.locator('.topbar-row'));
    const brand = await boxOf(page.locator('.brand'));
    const user = await boxOf(page.locator('.user-menu'));
    assert.ok(Math.abs(brand.top - user.top) < 12 && row.bottom - row.top < 70, 'logo, switcher and user menu share one row');
    assert.equal(await overflows(page), false);
    await screenshot(page, 'details-03-long-account-name');

    await page.setViewportSize({ width: 375, height: 812 });
    await page.getByRole('heading', { name: /REST keys|No REST keys/ }).first().waitFor();
    assert.equal(await overflows(page), false, 'nothing wider than a phone');
    await page.goto(`${kp.url}/accounts`);
    const card = page.locator('.account-link strong', { hasText: 'Acme Outdoor Equipment' });
    assert.equal(await card.evaluate((el) => getComputedStyle(el).textOverflow), 'ellipsis');
    assert.equal(await card.getAttribute('title'), longName);
    await screenshot(page, 'details-04-long-account-name-phone');
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1).map((el) => `${el.tagName}.${el.className}`).slice(0, 8));
    assert.deepEqual(wide, [], 'nothing wider than a phone');
  });

  test('at 375 px the audit log fits the screen and the nav tabs scroll with a visible hint', async () => {
    // Changes with long values, for the audit log to show.
    const key = await createKey(kp.api, accountId, { name: 'A key with a rather long name for the audit log', scopes: ['product.read', 'order.read', 'price.read'] });
    await kp.api('PATCH', `/v1/accounts/${accountId}/keys/${key.key.id}`, { name: 'Renamed: another rather long name for the audit log of this key', channel: 'b2b-wholesale-partners-europe' });
    await open('audit', 375, 812);
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.locator('.audit-table tbody tr').first().waitFor();
    assert.equal(await overflows(page), false, `the page is ${await page.evaluate(() => document.documentElement.scrollWidth)} px wide`);
    const change = page.locator('.audit-table td[data-label="Change"]').first();
    const box = await boxOf(change);
    assert.ok(box.right <= 375, 'the Change column wraps inside the screen');
    await screenshot(page, 'details-05-phone-audit', { fullPage: true });

    // The nav: more tabs than fit; the hint shows at the end with more, and goes once there.
    const nav = page.getByRole('navigation', { name: 'Account pages' });
    await page.evaluate(() => window.scrollTo(0, 0));
    const strip = await nav.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    assert.ok(strip.scroll > strip.client, 'the tabs do not fit at 375 px');
    await nav.evaluate((el) => (el.scrollLeft = 0));
    const more = page.getByTestId('nav-more-end');
    await more.waitFor();
    assert.equal(await more.isVisible(), true, 'an arrow says there are more tabs');
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshot(page, 'details-06-phone-nav-hint');
    // Each click on the arrow scrolls on; at the end it goes, and one at the start appears.
    for (let i = 0; i < 6 && (await more.count()) > 0; i++) {
      await more.click();
      await page.waitForTimeout(400);
    }
    assert.equal(await more.count(), 0, 'no arrow once at the end');
    assert.equal(await nav.evaluate((el) => el.scrollLeft + el.clientWidth >= el.scrollWidth - 1), true);
    await page.getByTestId('nav-more-start').waitFor();
    const last = nav.getByRole('link', { name: 'Operators' });
    const lastBox = await boxOf(last);
    assert.ok(lastBox.right <= 375 && lastBox.left >= 0, 'the last tab is reachable');
    // The current tab is scrolled into view when its page opens.
    await last.click();
    await page.getByRole('heading', { name: 'Operators', level: 1 }).waitFor();
    const current = await boxOf(nav.locator('[aria-current="page"]'));
    assert.ok(current.right <= 375 && current.left >= 0);
  });

  test('a toast never covers the pager', async () => {
    for (let i = 0; i < 6; i++) await createKey(kp.api, accountId, { name: `Bulk ${i}` });
    for (const [width, height] of [
      [375, 700],
      [1280, 640],
    ] as const) {
      await open('keys', width, height);
      await row(page, 'Bulk 0').waitFor();
      const pager = page.locator('.pagination');
      await pager.scrollIntoViewIfNeeded();
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForLoadState('networkidle');
      const toggle = page.getByRole('menuitem', { name: /Deactivate|Activate/ });
      // The list may still be settling after its load: open the row menu until it stays open.
      for (let i = 0; i < 3 && !(await toggle.isVisible()); i++) {
        await row(page, 'Bulk 0').getByRole('button', { name: 'Actions for Bulk 0' }).click();
        await toggle.waitFor({ timeout: 2000 }).catch(() => undefined);
      }
      await toggle.click();
      const toast = page.locator('.toast').first();
      await toast.waitFor();
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForTimeout(50);
      const pagerBox = await boxOf(pager);
      assert.ok(pagerBox.bottom <= height && pagerBox.top >= 0, `the pager is in view at ${width} px`);
      assert.equal(intersects(await boxOf(page.locator('.toasts')), pagerBox), false, `the toast stays clear of the pager at ${width} px`);
      await screenshot(page, `details-07-toast-and-pager-${width}`);
      await page.getByRole('button', { name: 'Dismiss' }).first().click();
    }
  });

  test('keys over a lowered limit are shown as such, never as "7 of 2 keys used"', async () => {
    const acct = await createAccount(kp.api, { name: 'Over the limit' });
    for (let i = 0; i < 5; i++) await createKey(kp.api, acct, { name: `Extra ${i}` });
    const counts = (await kp.api('GET', `/v1/accounts/${acct}/keys/counts`)).body;
    const have: number = counts.counts.sandbox;
    assert.equal(have, 5);
    assert.equal((await kp.api('PATCH', `/v1/accounts/${acct}/settings`, { keyLimitPerEnvironment: 2 })).status, 200);

    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${kp.url}/accounts/${acct}/keys?env=sandbox`);
    const note = page.getByTestId('limit-note');
    await note.waitFor();
    const text = await note.innerText();
    assert.doesNotMatch(text, new RegExp(`${have} of 2`));
    assert.match(text, new RegExp(`${have} keys in sandbox, ${have - 2} over the limit of 2`));
    assert.match(text, /they keep working/);
    await page.getByRole('button', { name: 'New REST key' }).click();
    const d = dialog(page);
    assert.match(await d.locator('.banner').filter({ hasText: 'more than its limit' }).innerText(), new RegExp(`Sandbox has ${have} keys, more than its limit of 2`));
    assert.equal(await d.getByRole('button', { name: 'Create REST key' }).isDisabled(), true);
    await screenshot(page, 'details-08-over-the-limit');
    await page.keyboard.press('Escape');

    // Settings say what a lower limit means before it is saved.
    await page.goto(`${kp.url}/accounts/${acct}/settings?env=sandbox`);
    const limit = page.getByRole('spinbutton', { name: 'Keys per environment' });
    await limit.fill('1');
    const warning = page.locator('.banner').filter({ hasText: 'keep working' });
    await warning.waitFor();
    assert.match(await warning.innerText(), new RegExp(`Sandbox has ${have} keys`));
    await limit.fill('50');
    await warning.waitFor({ state: 'detached' });
  });

  test('no errors in the browser console', () => {
    assert.deepEqual(browser.problems, []);
  });
});
