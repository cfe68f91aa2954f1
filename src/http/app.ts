import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Services } from '../services/index.js';
import { applyRequestDeadline } from './deadline.js';
import { registerDocs } from './docs.js';
import type { Logging } from './logging.js';
import { answerClientError, answerFrameworkError, installProblemHandlers } from './problem.js';
import { accountRoutes } from './routes/accounts.js';
import { catalogRoutes } from './routes/catalog.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { meRoutes } from './routes/me.js';
import { operatorRoutes } from './routes/operators.js';
import { grantRoutes } from './routes/grants.js';
import { auditRoutes } from './routes/audit.js';
import { authzRoutes } from './routes/authz.js';
import { oauthRoutes } from './routes/oauth.js';
import { signingKeyRoutes } from './routes/signing-keys.js';
import { verifyRoutes } from './routes/verify.js';
import { usageRoutes } from './routes/usage.js';
import { wellKnownRoutes } from './routes/well-known.js';
import { keyCountRoutes } from './routes/key-counts.js';
import { portalRoutes } from './routes/portal.js';
import { sharedSchemas } from './schemas.js';

export interface AppOptions {
  config: Readonly<Config>;
  services: Services;
  logging: Logging;
}

/** Request bodies larger than this are refused with 413. */
export const BODY_LIMIT = 64 * 1024;

/**
 * Two validators: bodies are checked as sent (no type coercion: `"true"` is not a boolean);
 * query strings and path parameters are text by nature and are coerced to the declared types.
 * Neither removes unknown fields, so `additionalProperties: false` refuses them.
 */
function validators() {
  const make = (coerceTypes: boolean | 'array') => {
    const ajv = new Ajv.default({ coerceTypes, removeAdditional: false, useDefaults: true, allErrors: true, allowUnionTypes: true, strict: false });
    addFormats.default(ajv);
    return ajv;
  };
  return { body: make(false), text: make('array') };
}

/** Builds the HTTP app; it does not listen (main.ts does), so tests can start it on any port. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { logging } = options;
  const limits = options.config.connectionLimits;
  // Fastify's own logger only where it writes something: see logging.ts.
  const app = Fastify({
    ...(logging.perRequest ? { loggerInstance: logging.log } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    // Slow clients are cut off (408, then the connection closed); Node checks the timeouts of open
    // connections this often, so a request that is too slow goes within a second of its bound.
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs) },
    requestTimeout: limits.bodyTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    trustProxy: false,
    // Requests Node or the router cannot take (oversized headers, broken framing, a broken URL)
    // get a problem document too.
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  // Connections past the cap are closed as soon as they are accepted.
  app.server.maxConnections = limits.maxConnections;
  // Before any route: every route added from here on gets the request deadline.
  applyRequestDeadline(app, options.config.requestTimeoutMs);
  const ajv = validators();
  for (const schema of sharedSchemas) {
    ajv.body.addSchema(schema);
    ajv.text.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? ajv.body : ajv.text).compile(schema as object) as never,
  );
  for (const schema of sharedSchemas) app.addSchema(schema);
  // JSON only: a text/plain body is refused with 415 rather than parsed into a string.
  app.removeContentTypeParser('text/plain');
  installProblemHandlers(app, logging);
  // Cookies are parsed only where a route reads one (the session), not on every request.
  await app.register(fastifyCookie, { hook: false });
  await registerDocs(app);

  const { services, config } = options;
  await app.register(healthRoutes, { services });
  await app.register(catalogRoutes, { services });
  await app.register(accountRoutes, { services });
  await app.register(keyRoutes, { services, config });
  await app.register(meRoutes, { services });
  await app.register(operatorRoutes, { services, config });
  await app.register(grantRoutes, { services });
  await app.register(auditRoutes, { services });
  await app.register(verifyRoutes, { services, config });
  await app.register(authzRoutes, { services, logging });
  await app.register(usageRoutes, { services });
  await app.register(oauthRoutes, { services, config, logging, prefix: '/oauth' });
  await app.register(wellKnownRoutes, { services, config });
  await app.register(signingKeyRoutes, { services });
  await app.register(keyCountRoutes, { services });
  await app.register(portalRoutes);
  return app;
}
