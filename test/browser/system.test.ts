import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningKeyport } from '../../src/server.js';
import { createAccount, TEST_TOKEN, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { startPeer } from '../helpers/oauth.js';
import { chromiumMissing, ensurePortalBuilt, launch, screenshot, unlabelledControls, type Browser } from './browser.js';

/**
 * The platform owner's System page in a real Chromium: two nodes sharing one store, each with its
 * version, state, sync lag and last error, the one answering marked; on a desktop and a phone.
 */

const skip = chromiumMissing();

describe('portal: the System page', { skip: skip ?? false }, () => {
  let kp: TestKeyport;
  let peer: RunningKeyport;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ensurePortalBuilt();
    kp = await startTestKeyport('sqlite');
    await createAccount(kp.api, { name: 'Some shop' });
    peer = await startPeer(kp);
    peer.services.nodes.noteError('the store is unavailable: timeout');
    await peer.services.nodes.beat();
    browser = await launch(kp.url);
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await peer?.close();
    await kp?.stop();
  });

  test('the platform owner opens System from the top bar and sees both nodes', async () => {
    await page.goto(`${kp.url}/`);
    await page.getByRole('textbox', { name: 'Platform or API token' }).fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByRole('link', { name: 'System' }).click();
    await page.getByRole('heading', { name: 'System' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/system');
    const table = page.getByRole('table', { name: 'Nodes' });
    await table.locator(`tr[data-node="${peer.services.nodes.id}"]`).waitFor();
    const self = table.locator(`tr[data-node="${kp.services.nodes.id}"]`);
    const other = table.locator(`tr[data-node="${peer.services.nodes.id}"]`);
    assert.match(await self.innerText(), /this node/);
    assert.match(await self.innerText(), /Up/);
    assert.match(await self.innerText(), /0\.1\.0/);
    assert.match(await self.innerText(), /\d+ ms/);
    assert.match(await self.innerText(), /None/);
    assert.doesNotMatch(await other.innerText(), /this node/);
    assert.match(await other.innerText(), /the store is unavailable: timeout/);
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshot(page, 'system-page');
    // A reload keeps the page (the URL holds it).
    await page.reload();
    await page.getByRole('heading', { name: 'System' }).waitFor();
    await page.setViewportSize({ width: 375, height: 760 });
    await screenshot(page, 'system-page-phone');
    assert.deepEqual(browser.problems, []);
  });
});
