import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { createAccount, createKey, TEST_TOKEN, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { eventually } from '../helpers/oauth.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { chromiumMissing, ensurePortalBuilt, launch, screenshot, unlabelledControls, type Browser } from './browser.js';

/**
 * The Webhooks page in a real Chromium against a real Keyport and a real receiver: adding an
 * endpoint (a refused URL explained beside its field, the secret shown once), a test ping that the
 * receiver verifies with the shown secret, the delivery log, a failing endpoint and a manual
 * retry, switching an endpoint off and deleting it.
 */

const skip = chromiumMissing();
const dialog = (page: Page) => page.locator('dialog[open]').last();

describe('portal: webhooks', { skip: skip ?? false }, () => {
  let kp: TestKeyport;
  let browser: Browser;
  let page: Page;
  let receiver: Receiver;
  let account = '';
  let secret = '';

  before(async () => {
    ensurePortalBuilt();
    receiver = await startReceiver();
    kp = await startTestKeyport('sqlite', { KEYPORT_WEBHOOK_ALLOW_HTTP: 'on', KEYPORT_WEBHOOK_POLL_MS: '50' });
    account = await createAccount(kp.api, { name: 'Hooked shop' });
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
    await receiver?.close();
  });

  test('adding an endpoint: a private address is refused beside the URL; the secret is shown once', async () => {
    await page.getByRole('navigation', { name: 'Account pages' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'No webhook endpoints' }).waitFor();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const d = dialog(page);
    const url = d.getByRole('textbox', { name: 'URL' });
    await url.fill('https://10.1.2.3/hooks');
    await d.getByRole('textbox', { name: /Description/ }).fill('Order system');
    await d.getByRole('button', { name: 'Add endpoint' }).click();
    await d.locator('.field-error').first().waitFor();
    assert.match(await d.locator('.field-error').first().innerText(), /10\.1\.2\.3.*private/);
    assert.deepEqual(await unlabelledControls(page), [], 'every control of the form is labelled');
    await screenshot(page, 'webhooks-01-refused-url');
    await url.fill(receiver.url);
    await d.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('heading', { name: 'Endpoint added' }).waitFor();
    secret = (await dialog(page).locator('.secret-value').innerText()).match(/whsec_\S+/)![0];
    await screenshot(page, 'webhooks-02-secret-once');
    await dialog(page).getByRole('button', { name: 'Done' }).click();
    const row = page.getByRole('row', { name: new RegExp(receiver.url.replace(/[.]/g, '\\.')) });
    await row.waitFor();
    assert.match(await row.innerText(), /Order system/);
    assert.match(await row.innerText(), /Active/);
    assert.ok(!(await page.content()).includes(secret), 'the secret is gone once the dialog is closed');
  });

  test('a test ping reaches the receiver, verifiable with the secret shown, and the log says delivered', async () => {
    await page.getByRole('button', { name: `Send a test ping to ${receiver.url}` }).click();
    assert.ok(await eventually(async () => receiver.received.length === 1, 20_000));
    const r = receiver.received[0]!;
    assert.equal((new StandardWebhook(secret).verify(r.body, r.headers as Record<string, string>) as any).type, 'webhook.test');
    const log = page.getByRole('region', { name: `Delivery log of ${receiver.url}` });
    await log.waitFor();
    assert.ok(
      await eventually(async () => {
        await log.getByRole('button', { name: 'Refresh' }).click();
        return /delivered/.test(await log.innerText());
      }, 20_000),
    );
    assert.match(await log.innerText(), /webhook\.test[\s\S]*delivered\s+1\s+HTTP 200/);
    await screenshot(page, 'webhooks-03-delivery-log');
  });

  test('a receiver failing for 3 days marks the endpoint failing; sending again once it works clears it', async () => {
    receiver.status = 500;
    kp.clock.advance(1); // its delivery is the newest of the log
    await createKey(kp.api, account, { name: 'Nightly export' });
    const [webhook] = (await kp.api('GET', `/v1/accounts/${account}/webhooks`)).body.items;
    const deliveries = () => kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries`);
    assert.ok(await eventually(async () => (await deliveries()).body.items[0]?.lastStatusCode === 500, 20_000));
    kp.clock.advance(3 * 86_400_000);
    assert.ok(await eventually(async () => (await deliveries()).body.items[0]?.status === 'failed', 20_000));
    await page.reload();
    await page.getByRole('status').filter({ hasText: 'An endpoint is failing' }).waitFor();
    const row = page.getByRole('row', { name: new RegExp(receiver.url.replace(/[.]/g, '\\.')) });
    assert.match(await row.innerText(), /Failing/);
    await page.getByRole('button', { name: `Deliveries of ${receiver.url}` }).click();
    const log = page.getByRole('region', { name: `Delivery log of ${receiver.url}` });
    await log.getByText('HTTP 500').waitFor();
    await screenshot(page, 'webhooks-04-failing');
    receiver.status = 200;
    await log.getByRole('button', { name: 'Send key.created again' }).click();
    assert.ok(await eventually(async () => (await deliveries()).body.items[0]?.status === 'delivered', 20_000));
    await page.reload();
    await page.getByRole('row', { name: /Active/ }).waitFor();
    assert.equal(await page.getByText('An endpoint is failing').count(), 0);
  });

  test('switching an endpoint off and deleting it', async () => {
    await page.getByRole('button', { name: `Edit ${receiver.url}` }).click();
    const d = dialog(page);
    await d.getByRole('switch', { name: /Active/ }).uncheck();
    await d.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('row', { name: /Off/ }).waitFor();
    await page.getByRole('button', { name: `Delete ${receiver.url}` }).click();
    await dialog(page).getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByRole('heading', { name: 'No webhook endpoints' }).waitFor();
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/webhooks`)).body.items, []);
    assert.deepEqual(browser.problems, []);
  });
});
