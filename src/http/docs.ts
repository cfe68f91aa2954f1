import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { SECURITY_HEADERS } from './routes/portal.js';

/** Keyport's mark, as the portal shows it (src/portal/public/favicon.svg). */
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3730a3"/><circle cx="12" cy="16" r="5.5" fill="none" stroke="#fff" stroke-width="2.6"/><path d="M17 16h10M23 16v4M26.5 16v3" stroke="#fff" stroke-width="2.6" stroke-linecap="round"/></svg>';

/** The reference page in Keyport's colours: its indigo top bar, the mark with the name beside it. */
const THEME_CSS = `
.swagger-ui .topbar { background-color: #3730a3; padding: 8px 0; }
.swagger-ui .topbar a { max-width: none; }
.swagger-ui .topbar-wrapper a span { display: none; }
.swagger-ui .topbar-wrapper img { height: 32px; width: 32px; }
.swagger-ui .topbar-wrapper a::after { content: "Keyport API reference"; color: #fff; font: 600 18px/32px system-ui, sans-serif; margin-left: 10px; }
.swagger-ui .topbar .download-url-wrapper .download-url-button { background: #4338ca; }
`;

/**
 * The portal's security headers on the reference page and its assets, with one difference: Swagger
 * UI's own styles set inline style attributes, so style-src allows them there (no script does).
 */
const DOCS_HEADERS = {
  ...SECURITY_HEADERS,
  'content-security-policy': SECURITY_HEADERS['content-security-policy'].replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
};

/**
 * The OpenAPI document, generated from the route schemas (GET /openapi.json), and a page that
 * shows it (GET /docs).
 */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Keyport API',
        version: '1',
        description:
          'Manage API keys (client id + secret pairs and token keys), trade them for OAuth 2.0 access tokens, and verify them. Errors are RFC 9457 problem documents with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A management token: platform owner, personal or service token.' },
          serviceToken: { type: 'apiKey', in: 'header', name: 'Keyport-Service-Token', description: "A gateway's service token (keys.verify), on /v1/authz." },
        },
      },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  // Encapsulated: the headers go on the reference page and its assets only, not on the API's answers.
  await app.register(async (docs) => {
    docs.addHook('onSend', (_request, reply, payload, done) => {
      reply.headers(DOCS_HEADERS);
      done(null, payload);
    });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { docExpansion: 'list', deepLinking: true },
      // No call to the public validator (validator.swagger.io): the page talks to this origin only.
      validatorUrl: false,
      logo: { type: 'image/svg+xml', content: LOGO_SVG, href: '/', target: '_self' },
      theme: {
        title: 'Keyport API reference',
        favicon: [{ filename: 'favicon.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: LOGO_SVG }],
        css: [{ filename: 'keyport.css', content: THEME_CSS }],
      },
    });
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
