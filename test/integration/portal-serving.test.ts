import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLogging } from '../../src/http/logging.js';
import { installProblemHandlers } from '../../src/http/problem.js';
import { portalRoutes } from '../../src/http/routes/portal.js';

/** The portal plugin over a given build directory, listening on a free port with the API's 404 handler. */
async function serve(root: string): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify();
  installProblemHandlers(app, createLogging(false));
  app.get('/v1/catalog', async () => ({ services: [] }));
  await app.register(portalRoutes, { root });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, app };
}

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('the portal is served at / with the API untouched', () => {
  let dir: string;
  let built: { url: string; app: FastifyInstance };
  let bare: { url: string; app: FastifyInstance };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyport-portal-'));
    mkdirSync(join(dir, 'built', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'built', 'index.html'), '<!doctype html><title>Keyport</title><script type="module" src="/assets/app-1a2b.js"></script>');
    writeFileSync(join(dir, 'built', 'assets', 'app-1a2b.js'), 'console.log("portal")');
    writeFileSync(join(dir, 'built', 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, 'secret.txt'), 'outside the build');
    built = await serve(join(dir, 'built'));
    bare = await serve(join(dir, 'missing'));
  });
  after(async () => {
    await built?.app.close();
    await bare?.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ answers the app with security headers and no caching of the page', async () => {
    const res = await fetch(`${built.url}/`, { headers: html });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.match(await res.text(), /<title>Keyport<\/title>/);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline scripts');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
  });

  test('a page path of the app answers the app; the same path asked for as JSON is a 404 problem', async () => {
    const page = await fetch(`${built.url}/accounts/acct_1/keys?env=production&q=erp`, { headers: html });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Keyport/);
    const json = await fetch(`${built.url}/accounts/acct_1/keys`, { headers: { accept: 'application/json' } });
    assert.equal(json.status, 404);
    assert.equal(json.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal((await json.json()).code, 'not_found');
  });

  test('unknown API paths keep their JSON 404, even when a browser asks', async () => {
    for (const path of ['/v1/nothing-here', '/oauth/nothing', '/.well-known/nothing', '/v1']) {
      const res = await fetch(`${built.url}${path}`, { headers: html });
      assert.equal(res.status, 404, path);
      assert.deepEqual(
        await res.json(),
        path.startsWith('/oauth/')
          ? { error: 'invalid_request', error_description: `There is no GET ${path} endpoint.` } // RFC 6749 under /oauth/*
          : {
              type: 'urn:keyport:problem:not_found', code: 'not_found', title: 'Not found', status: 404,
              detail: `There is no GET ${path} endpoint.`, instance: `urn:keyport:request:${res.headers.get('x-request-id')}`,
            },
      );
    }
    assert.equal((await fetch(`${built.url}/v1/catalog`, { headers: html })).status, 200, 'known API routes answer as before');
  });

  test('hashed assets are served with long caching; missing files and paths outside the build are 404', async () => {
    const asset = await fetch(`${built.url}/assets/app-1a2b.js`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type')!, /javascript/);
    assert.match(asset.headers.get('cache-control')!, /immutable/);
    assert.equal(await asset.text(), 'console.log("portal")');
    assert.equal((await fetch(`${built.url}/assets/app-0000.js`, { headers: html })).status, 404);
    assert.equal((await fetch(`${built.url}/missing.js`, { headers: html })).status, 404, 'a missing file is not answered with the page');
    for (const path of ['/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt']) {
      const res = await fetch(`${built.url}${path}`);
      assert.notEqual(res.status, 200, path);
      assert.equal((await res.text()).includes('outside the build'), false, path);
    }
    const icon = await fetch(`${built.url}/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
  });

  test('without a build, / says how to build the portal and the API still answers', async () => {
    const res = await fetch(`${bare.url}/`, { headers: html });
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run build/);
    assert.equal((await fetch(`${bare.url}/v1/catalog`)).status, 200);
    assert.equal((await fetch(`${bare.url}/v1/nothing`, { headers: html })).status, 404);
  });
});
