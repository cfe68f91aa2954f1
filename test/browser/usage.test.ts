import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { createAccount, createKey, TEST_TOKEN, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { chromiumMissing, ensurePortalBuilt, launch, screenshot, unlabelledControls, type Browser } from './browser.js';

/**
 * Usage controls and usage analytics in the portal, in a real Chromium against a real Keyport:
 * the allowlist, credits, metadata and owner id in the key form with their validation, the list
 * sorted by credits left, a key's usage chart and the account's usage page, on a desktop and on a
 * 375 px phone screen, with the CSP in force (a blocked style would be a console error).
 */

const skip = chromiumMissing();
const dialog = (page: Page) => page.locator('dialog[open]').last();
const fieldOf = (control: Locator) => control.locator('xpath=ancestor::*[contains(concat(" ", @class, " "), " field ")][1]');

async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByRole('textbox', { name: 'Platform or API token' }).fill(TEST_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
}

describe('portal: usage controls and usage analytics', { skip: skip ?? false }, () => {
  let kp: TestKeyport;
  let browser: Browser;
  let page: Page;
  let account = '';
  let busyId = '';

  before(async () => {
    ensurePortalBuilt();
    kp = await startTestKeyport('sqlite');
    account = await createAccount(kp.api, { name: 'Metered shop' });
    // Traffic of the last hours: valid uses and refusals of several kinds, on three keys.
    // From 01:00 UTC of a day, so the six hours of traffic below fall in one day (and one refill period).
    kp.clock.advance(86_400_000 - (kp.clock.now() % 86_400_000) + 3_600_000);
    const busy = await createKey(kp.api, account, { name: 'Checkout API', credentialType: 'token', active: true, credits: { remaining: 1000, refill: { amount: 1000, interval: 'day' } } });
    busyId = busy.key.id;
    const partner = await createKey(kp.api, account, { name: 'Partner feed', credentialType: 'token', active: true, ipAllowlist: ['198.51.100.0/24'] });
    await createKey(kp.api, account, { name: 'Forgotten key', credentialType: 'token', active: true });
    await createKey(kp.api, account, { name: 'Small plan', credentialType: 'token', active: true, credits: { remaining: 3 } });
    for (let hour = 0; hour < 6; hour++) {
      for (let i = 0; i < 4 + hour * 2; i++) await kp.api('POST', '/v1/verify', { key: busy.secret });
      await kp.api('POST', '/v1/verify', { key: partner.secret, clientIp: '198.51.100.4' });
      await kp.api('POST', '/v1/verify', { key: partner.secret, clientIp: '203.0.113.9' });
      await kp.api('POST', '/v1/verify', { key: busy.secret, scopes: ['iam.write'] });
      kp.clock.advance(3_600_000);
    }
    await kp.services.tokens.usage.flush();
    browser = await launch(kp.url);
    page = browser.page;
    await signIn(page, kp.url);
  });
  after(async () => {
    await browser?.close();
    await kp?.stop();
  });

  test('the key form: allowlist, credits with refill, metadata and owner id, each checked next to its field', async () => {
    await page.goto(`${kp.url}/accounts/${account}/keys?env=sandbox&type=token`);
    await page.getByRole('button', { name: 'New token key' }).click();
    const d = dialog(page);
    await d.getByRole('textbox', { name: 'Name' }).fill('Metered partner');
    await d.getByRole('radio', { name: /Admin/ }).check();
    const allowlist = d.getByRole('textbox', { name: /Allowed networks/ });
    await allowlist.fill('203.0.113.0/24\n10.0.0.0/33');
    await d.getByRole('switch', { name: /Limit the number of requests/ }).check();
    const credits = d.getByRole('textbox', { name: 'Credits' });
    await credits.fill('-5');
    const meta = d.getByRole('textbox', { name: /Metadata/ });
    await meta.fill('{"plan": "pro"');
    await d.getByRole('button', { name: 'Create token key' }).click();
    assert.match(await fieldOf(allowlist).locator('.field-error').innerText(), /'10.0.0.0\/33': the prefix length of an IPv4 range is 0 to 32/);
    assert.match(await fieldOf(credits).locator('.field-error').innerText(), /whole number from 0/);
    assert.match(await fieldOf(meta).locator('.field-error').innerText(), /not valid JSON/);
    await d.locator('.usage-controls').scrollIntoViewIfNeeded();
    await screenshot(page, 'usage-01-key-form-validation');
    assert.deepEqual(await unlabelledControls(page), [], 'every new control is labelled');

    await allowlist.fill('203.0.113.0/24\n2001:DB8::/32');
    await credits.fill('500');
    await d.getByRole('combobox', { name: 'Refill' }).selectOption('month');
    await d.getByRole('textbox', { name: 'Refill to' }).fill('500');
    await d.getByRole('textbox', { name: 'On day of the month' }).fill('15');
    await meta.fill('{"plan": "pro", "tenant": "t_42"}');
    await d.getByRole('textbox', { name: /Owner id/ }).fill('org_77');
    assert.equal(await d.locator('.field-error').count(), 0, 'the messages go once the fields are right');
    await d.getByRole('button', { name: 'Create token key' }).click();
    await dialog(page).getByRole('button', { name: 'I have stored it' }).click();

    const created = (await kp.client.keys.list(account, { q: 'Metered partner' })).items[0]!;
    assert.deepEqual(
      [created.ipAllowlist, created.credits?.remaining, created.credits?.refill, created.meta, created.externalId],
      [['203.0.113.0/24', '2001:db8::/32'], 500, { amount: 500, interval: 'month', dayOfMonth: 15 }, { plan: 'pro', tenant: 't_42' }, 'org_77'],
    );
  });

  test('the list shows and sorts by credits left', async () => {
    await page.goto(`${kp.url}/accounts/${account}/keys?env=sandbox&type=token`);
    await page.getByRole('button', { name: 'Credits left' }).click();
    await page.waitForURL(/sort=credits/);
    await page.locator('tbody tr').first().waitFor();
    const cells = await page.locator('tbody td.col-credits').allInnerTexts();
    assert.deepEqual(cells.map((c) => c.replace(/\s+/g, ' ').trim()), ['3', '500 / month', '946 / day', 'Unlimited', 'Unlimited']);
    await screenshot(page, 'usage-02-list-by-credits');
  });

  test("a key's usage chart: requests over time, refusals stacked by reason", async () => {
    await page.getByRole('button', { name: 'Checkout API', exact: true }).click();
    const d = dialog(page);
    const usage = d.getByRole('region', { name: 'Usage' });
    await usage.locator('.recharts-bar-rectangle').first().waitFor();
    assert.match(await usage.locator('[data-usage-summary]').innerText(), /60 requests, 6 refusals: missing scope 6/);
    const legend = await usage.locator('.recharts-legend-item-text').allInnerTexts();
    assert.deepEqual(legend.sort(), ['Missing scope', 'Valid'], 'only the reasons that occurred');
    await usage.scrollIntoViewIfNeeded();
    await screenshot(page, 'usage-03-key-chart');
    await usage.getByRole('radio', { name: 'Last 30 days' }).check();
    await usage.getByText('Requests per day').waitFor();
    await usage.locator('.recharts-bar-rectangle').first().waitFor();
    await d.getByRole('button', { name: 'Cancel' }).click();
  });

  test('the usage page: all keys over time, refusal reasons, the most used keys, keys unused for 30 days', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', exact: true }).waitFor();
    await page.locator('.recharts-bar-rectangle').first().waitFor();
    const reasons = await page.locator('.reason-list li').allInnerTexts();
    assert.deepEqual(reasons.map((r) => r.replace(/\s+/g, ' ').trim()), ['Address not allowed 6 50 %', 'Missing scope 6 50 %']);
    const top = await page.locator('.simple-table tbody tr').allInnerTexts();
    assert.deepEqual(top.map((r) => r.split(/\s+/).join(' ')), ['Checkout API 60 6', 'Partner feed 12 6']);
    const idle = await page.locator('.idle-list li a').allInnerTexts();
    assert.deepEqual(idle, ['Forgotten key', 'Metered partner', 'Small plan']);
    await screenshot(page, 'usage-04-account-overview', { fullPage: true });
    // A key of the list leads to its details.
    await page.getByRole('link', { name: 'Checkout API' }).click();
    await dialog(page).getByRole('heading', { name: 'Checkout API' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('open'), null, 'the link is used once');
    await dialog(page).getByRole('button', { name: 'Cancel' }).click();
    assert.ok(busyId);
  });

  test('readable at 375 px: no sideways scrolling, the chart fits the screen', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${kp.url}/accounts/${account}/usage?env=sandbox`);
    await page.locator('.recharts-bar-rectangle').first().waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'nothing wider than the screen');
    const chart = await page.locator('.usage-chart-area .recharts-wrapper').first().boundingBox();
    assert.ok(chart && chart.width > 250 && chart.x >= 0 && chart.x + chart.width <= 375, `the chart fills the width: ${JSON.stringify(chart)}`);
    await screenshot(page, 'usage-05-phone-overview', { fullPage: true });
    await page.goto(`${kp.url}/accounts/${account}/keys?env=sandbox&type=token&open=${busyId}`);
    const usage = dialog(page).getByRole('region', { name: 'Usage' });
    await usage.locator('.recharts-bar-rectangle').first().waitFor();
    await usage.scrollIntoViewIfNeeded();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375));
    await screenshot(page, 'usage-06-phone-key-chart');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test('no page error and nothing blocked by the Content Security Policy', () => {
    assert.deepEqual(browser.problems, []);
  });
});
