import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Where `vite build` puts the portal: `dist/portal` at the root of the package. The same relative
 * path works from `src/http/routes` (run from source) and `dist/http/routes` (built).
 */
export const PORTAL_DIR = fileURLToPath(new URL('../../../dist/portal/', import.meta.url));

/** Paths that belong to the API: an unknown one keeps its problem+json 404, never the portal page. */
const API_PATH = /^\/(v1|oauth|\.well-known|docs|openapi\.json|healthz|readyz)(\/|$)/;

/**
 * The portal's pages may run the portal's own scripts and styles and talk to this origin only;
 * no inline script, no framing (clickjacking), no plugins.
 */
export const SECURITY_HEADERS = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
} as const;

const NOT_BUILT = [
  'The Keyport portal has not been built.',
  '',
  'Run `npm run build` (npm install and npm ci run it too), then restart Keyport.',
  'The REST API works without it: see /docs for its reference.',
  '',
].join('\n');

/**
 * Serves the web portal (a single-page app) at `/`: hashed assets under `/assets/` with long
 * caching, and `index.html` for `/` and for any other page path a browser asks for (the app routes
 * on the client). Unknown API paths, and requests that do not accept HTML, still get the JSON 404.
 */
export const portalRoutes: FastifyPluginAsync<{ root?: string }> = async (app, options) => {
  const root = options.root ?? PORTAL_DIR;
  const indexFile = join(root, 'index.html');

  // Encapsulated: these headers go on the portal's answers only, not on the API's.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });

  if (existsSync(join(root, 'assets'))) {
    await app.register(fastifyStatic, {
      root: join(root, 'assets'),
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      // File names carry a content hash: a new build makes new names.
      immutable: true,
      maxAge: '365d',
    });
  }

  const sendIndex = async (reply: FastifyReply) => {
    let html: Buffer;
    try {
      html = await readFile(indexFile);
    } catch {
      return reply.status(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  };

  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_request, reply) => sendIndex(reply));
  for (const file of ['favicon.svg', 'robots.txt']) {
    app.get(`/${file}`, hide, async (_request, reply) => {
      try {
        const body = await readFile(join(root, file));
        return reply.type(file.endsWith('.svg') ? 'image/svg+xml' : 'text/plain; charset=utf-8').header('cache-control', 'max-age=86400').send(body);
      } catch {
        return reply.callNotFound();
      }
    });
  }

  // The single-page app's own routes (/accounts/acct_1/keys?...): a browser navigating there gets
  // the app. Everything else falls through to the problem+json 404.
  app.get('/*', hide, async (request: FastifyRequest, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const wantsHtml = (request.headers.accept ?? '').includes('text/html');
    const looksLikeFile = /\.[a-z0-9]+$/i.test(path);
    if (!wantsHtml || looksLikeFile || API_PATH.test(path)) return reply.callNotFound();
    return sendIndex(reply);
  });
};
