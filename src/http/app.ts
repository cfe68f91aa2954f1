import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Services } from '../services/index.js';
import { metricsRoute, timeRoutes, timeUnmatched } from './metrics.js';
import { requestIdOf, returnRequestIds } from './request-id.js';
import { applyRequestDeadline } from './deadline.js';
import { registerDocs } from './docs.js';
import { installRequestLog, type Logging } from './logging.js';
import { answerClientError, answerFrameworkError, installProblemHandlers, MAX_PARAM_LENGTH } from './problem.js';
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
import { eventRoutes } from './routes/events.js';
import { usageRoutes } from './routes/usage.js';
import { webhookRoutes } from './routes/webhooks.js';
import { wellKnownRoutes } from './routes/well-known.js';
import { keyCountRoutes } from './routes/key-counts.js';
import { portalRoutes } from './routes/portal.js';
import { leakRoutes } from './routes/leaks.js';
import { systemRoutes } from './routes/system.js';
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
    // RFC 3339 allows a leap second (23:59:60), which no clock or store here can represent (it
    // would filter as NaN): a date-time must also be an instant JavaScript can hold.
    const rfc3339 = ajv.formats['date-time'] as { validate: (value: string) => boolean };
    ajv.addFormat('date-time', { type: 'string', validate: (value: string) => rfc3339.validate(value) && !Number.isNaN(Date.parse(value)) });
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
    // Ids longer than the schemas allow still reach their route, which names the bad field (400).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The caller's X-Request-Id or traceparent when well-formed, else a new id (request-id.ts).
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Requests Node or the router cannot take (oversized headers, broken framing, a broken URL)
    // get a problem document too.
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  // Connections past the cap are closed as soon as they are accepted.
  app.server.maxConnections = limits.maxConnections;
  // Before any route: every route added from here on gets the request deadline, and is timed.
  applyRequestDeadline(app, options.config.requestTimeoutMs);
  // Switched on by config.metrics (server.ts): requests are timed into them.
  const metrics = options.services.metrics;
  if (metrics !== null) timeRoutes(app, metrics);
  returnRequestIds(app);
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
  installProblemHandlers(app, logging, metrics === null ? undefined : timeUnmatched(metrics), metrics);
  installRequestLog(app, logging);
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
  await app.register(eventRoutes, { services });
  await app.register(usageRoutes, { services });
  await app.register(webhookRoutes, { services });
  await app.register(oauthRoutes, { services, config, logging, prefix: '/oauth' });
  await app.register(wellKnownRoutes, { services, config });
  await app.register(signingKeyRoutes, { services });
  await app.register(keyCountRoutes, { services });
  await app.register(leakRoutes, { services, config });
  await app.register(portalRoutes);
  await app.register(systemRoutes, { services });
  // On the main port only with a token; with KEYPORT_METRICS_PORT it has a listener of its own (server.ts).
  if (metrics !== null && options.config.metrics !== null && options.config.metrics.port === null) metricsRoute(app, metrics, options.config.metrics.token);
  return app;
}
