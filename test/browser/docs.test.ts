import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { chromiumMissing, launch, screenshot, type Browser } from './browser.js';

/**
 * The API reference at /docs, in a real Chromium: Keyport's title, mark and colours (not the stock
 * page's), every operation listed, and the portal's security headers in force (a blocked script or
 * style would be a console error).
 */

const skip = chromiumMissing();

describe('API reference at /docs', { skip: skip ?? false }, () => {
  let kp: TestKeyport;
  let browser: Browser;

  before(async () => {
    kp = await startTestKeyport('sqlite');
    browser = await launch(kp.url);
  });
  after(async () => {
    await browser?.close();
    await kp?.stop();
  });

  test('the page is Keyport\'s, with the portal\'s security headers', async () => {
    for (const path of ['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
      const res = await fetch(`${kp.url}${path}`);
      assert.equal(res.status, 200, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, `${path}: no inline or foreign script`);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    }
    const html = await (await fetch(`${kp.url}/docs`)).text();
    assert.match(html, /<title>Keyport API reference<\/title>/);
    assert.doesNotMatch(html, /Swagger UI<\/title>/);
    // The API's own answers are not given the page's headers.
    assert.equal((await fetch(`${kp.url}/v1/catalog`)).headers.get('content-security-policy'), null);

    const { page, problems } = browser;
    await page.goto(`${kp.url}/docs`);
    await page.locator('.opblock').first().waitFor();
    assert.equal(await page.title(), 'Keyport API reference');
    const logo = await page.locator('.topbar-wrapper img').getAttribute('src');
    assert.ok(logo?.startsWith('data:image/svg+xml;base64,'), `the logo is Keyport's mark: ${logo?.slice(0, 40)}`);
    assert.match(Buffer.from(logo!.split(',')[1]!, 'base64').toString(), /#3730a3/);
    const topbar = await page.locator('.swagger-ui .topbar').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(topbar, 'rgb(55, 48, 163)', "Keyport's indigo top bar");
    const favicon = await page.locator('link[rel="icon"]').first().getAttribute('href');
    assert.match(favicon ?? '', /theme\/favicon\.svg$/);
    const operations = await page.locator('.opblock').count();
    const spec = await (await fetch(`${kp.url}/docs/json`)).json();
    const documented = Object.values(spec.paths as Record<string, Record<string, unknown>>).reduce((n, ops) => n + Object.keys(ops).filter((m) => m !== 'parameters').length, 0);
    assert.equal(operations, documented, 'every documented operation is shown');
    await screenshot(page, 'docs');
    assert.deepEqual(problems, []);
  });
});
