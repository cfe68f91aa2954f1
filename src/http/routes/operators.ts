import type { FastifyPluginAsync } from 'fastify';
import { noStore } from '../no-store.js';
import { forbidden, unauthenticated } from '../../domain/errors.js';
import { PERMISSIONS, type Permission } from '../../domain/principal.js';
import type { Services } from '../../services/index.js';
import { SESSION_TTL_MS } from '../../services/operators-service.js';
import type { Config } from '../../config.js';
import { CSRF_HEADER, csrfTokenMatches, guard, readCookie, SESSION_COOKIE, setSessionCookie } from '../auth.js';
import { reachedOverTls } from '../public-origin.js';
import { clientAddress } from '../client-address.js';
import { AccountParams } from '../../contract/accounts.js';
import { problems } from '../schemas.js';
import { nameString } from '../../contract/schema.js';

const email = { type: 'string', format: 'email', maxLength: 254 } as const;
const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const roleName = { type: 'string', minLength: 1, maxLength: 100 } as const;
const tokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: nameString(100), expiresAt: { type: ['string', 'null'], format: 'date-time' } },
} as const;
const tokenView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    accountId: { type: ['string', 'null'] },
    expiresAt: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    revokedAt: { type: ['string', 'null'] },
  },
} as const;
const issuedToken = { type: 'object', properties: { token: { type: 'string', description: 'Shown in this answer only.' }, ...tokenView.properties } } as const;
const member = {
  type: 'object',
  properties: { operatorId: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, since: { type: 'string' } },
} as const;
const role = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, builtIn: { type: 'boolean' }, permissions: { type: 'array', items: { type: 'string' } } },
} as const;
const operatorParams = {
  type: 'object',
  required: ['account', 'operator'],
  properties: { account: { type: 'string', minLength: 1, maxLength: 100 }, operator: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;
const tokenParams = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 100 } } } as const;

/** Operators: sign-in, personal tokens, members and roles of accounts, service tokens. */
export const operatorRoutes: FastifyPluginAsync<{ services: Services; config: Readonly<Config> }> = async (app, { services, config }) => {
  const { operators, auth } = services;

  app.post<{ Body: { email: string; password: string } }>(
    '/v1/session',
    {
      ...noStore,
      schema: {
        tags: ['operators'],
        summary: 'Sign in: sets the portal session cookie and returns the CSRF token to send on changes',
        security: [],
        body: { type: 'object', additionalProperties: false, required: ['email', 'password'], properties: { email, password } },
        response: {
          200: {
            type: 'object',
            properties: {
              csrfToken: { type: 'string' },
              expiresAt: { type: 'string' },
              operator: { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' } } },
            },
          },
          ...problems(400, 401, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const session = await operators.login(request.body.email, request.body.password, clientAddress(request, config.trustedProxies));
      setSessionCookie(reply, session.cookie, SESSION_TTL_MS / 1000, reachedOverTls(config, request));
      return { csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString(), operator: session.operator };
    },
  );

  app.get(
    '/v1/session',
    {
      ...noStore,
      schema: {
        tags: ['operators'],
        summary: 'The CSRF token of the current portal session (after a page reload)',
        security: [],
        response: { 200: { type: 'object', properties: { csrfToken: { type: 'string' } } }, ...problems(401) },
      },
    },
    async (request) => {
      const cookie = readCookie(request, SESSION_COOKIE);
      const session = cookie ? await auth.authenticateSession(cookie) : null;
      if (!session) throw unauthenticated('Not signed in.');
      return { csrfToken: session.csrfToken };
    },
  );

  app.delete(
    '/v1/session',
    {
      schema: {
        tags: ['operators'],
        summary: "Sign out (send the session's CSRF token in X-CSRF-Token)",
        security: [],
        response: { 204: { type: 'null' }, ...problems(403) },
      },
    },
    async (request, reply) => {
      const cookie = readCookie(request, SESSION_COOKIE);
      const session = cookie ? await auth.authenticateSession(cookie) : null;
      // Signing out changes state: another site must not be able to sign an operator out.
      if (cookie && session && !csrfTokenMatches(request.headers[CSRF_HEADER], session.csrfToken))
        throw forbidden(`Signing out needs the session's CSRF token in the ${CSRF_HEADER} header.`);
      if (cookie) await operators.logout(cookie);
      setSessionCookie(reply, '', 0, reachedOverTls(config, request));
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { email: string; name: string; password?: string } }>(
    '/v1/operators',
    {
      schema: {
        tags: ['operators'],
        summary: 'Create an operator (platform owner)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'name'],
          properties: { email, name: nameString(200), password },
        },
        response: { 201: { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string' } } }, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { platformOwner: true });
      return reply.status(201).send(await operators.createOperator(request.body, actor));
    },
  );

  // --- personal tokens -----------------------------------------------------------------------
  app.post<{ Body: { name: string; expiresAt?: string | null } }>(
    '/v1/me/tokens',
    { ...noStore, schema: { tags: ['operators'], summary: 'Create a personal API token (shown once)', body: tokenBody, response: { 201: issuedToken, ...problems(400, 401, 403) } } },
    async (request, reply) => {
      const actor = await guard(auth, request, {});
      const { token, view } = await operators.createPersonalToken(actor, request.body);
      return reply.status(201).send({ token, ...view });
    },
  );
  app.get(
    '/v1/me/tokens',
    { schema: { tags: ['operators'], summary: 'Your personal API tokens', response: { 200: { type: 'object', properties: { items: { type: 'array', items: tokenView } } }, ...problems(401) } } },
    async (request) => ({ items: await operators.listPersonalTokens(await guard(auth, request, {})) }),
  );
  app.delete<{ Params: { token: string } }>(
    '/v1/me/tokens/:token',
    { schema: { tags: ['operators'], summary: 'Revoke a personal API token', params: tokenParams, response: { 204: { type: 'null' }, ...problems(401, 404) } } },
    async (request, reply) => {
      await operators.revokePersonalToken(await guard(auth, request, {}), request.params.token);
      return reply.status(204).send();
    },
  );

  // --- service tokens ------------------------------------------------------------------------
  app.post<{ Body: { name: string; expiresAt?: string | null } }>(
    '/v1/service-tokens',
    { ...noStore, schema: { tags: ['operators'], summary: 'A platform-wide service token holding only keys.verify (platform owner)', body: tokenBody, response: { 201: issuedToken, ...problems(400, 401, 403) } } },
    async (request, reply) => {
      const actor = await guard(auth, request, { platformOwner: true });
      const { token, view } = await operators.createServiceToken(null, request.body, actor);
      return reply.status(201).send({ token, ...view });
    },
  );
  app.post<{ Params: { account: string }; Body: { name: string; expiresAt?: string | null } }>(
    '/v1/accounts/:account/service-tokens',
    { ...noStore, schema: { tags: ['operators'], summary: "A gateway's service token for this account, holding only keys.verify", params: AccountParams, body: tokenBody, response: { 201: issuedToken, ...problems(400, 401, 403, 404) } } },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      const { token, view } = await operators.createServiceToken(request.params.account, request.body, actor);
      return reply.status(201).send({ token, ...view });
    },
  );
  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account/service-tokens',
    { schema: { tags: ['operators'], summary: 'Service tokens of the account', params: AccountParams, response: { 200: { type: 'object', properties: { items: { type: 'array', items: tokenView } } }, ...problems(401, 403, 404) } } },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      return { items: await operators.listServiceTokens(request.params.account) };
    },
  );
  app.delete<{ Params: { account: string; token: string } }>(
    '/v1/accounts/:account/service-tokens/:token',
    {
      schema: {
        tags: ['operators'],
        summary: 'Revoke a service token',
        params: { type: 'object', required: ['account', 'token'], properties: { account: { type: 'string' }, token: { type: 'string' } } },
        response: { 204: { type: 'null' }, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      await operators.revokeServiceToken(request.params.account, request.params.token, actor);
      return reply.status(204).send();
    },
  );

  // --- members and roles -----------------------------------------------------------------------
  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account/members',
    { schema: { tags: ['operators'], summary: 'Operators of the account and their roles', params: AccountParams, response: { 200: { type: 'object', properties: { items: { type: 'array', items: member } } }, ...problems(401, 403, 404) } } },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      return { items: await operators.members(request.params.account) };
    },
  );
  app.post<{ Params: { account: string }; Body: { email: string; role: string; name?: string; password?: string } }>(
    '/v1/accounts/:account/members',
    {
      schema: {
        tags: ['operators'],
        summary: 'Add an operator to the account (a new e-mail needs an initial password)',
        params: AccountParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'role'],
          properties: { email, role: roleName, name: nameString(200), password },
        },
        response: { 201: member, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      return reply.status(201).send(await operators.addMember(request.params.account, request.body, actor));
    },
  );
  app.patch<{ Params: { account: string; operator: string }; Body: { role: string } }>(
    '/v1/accounts/:account/members/:operator',
    {
      schema: {
        tags: ['operators'],
        summary: "Change an operator's role",
        params: operatorParams,
        body: { type: 'object', additionalProperties: false, required: ['role'], properties: { role: roleName } },
        response: { 200: member, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      return operators.changeRole(request.params.account, request.params.operator, request.body.role, actor);
    },
  );
  app.delete<{ Params: { account: string; operator: string } }>(
    '/v1/accounts/:account/members/:operator',
    { schema: { tags: ['operators'], summary: 'Remove an operator from the account', params: operatorParams, response: { 204: { type: 'null' }, ...problems(401, 403, 404, 409) } } },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      await operators.removeMember(request.params.account, request.params.operator, actor);
      return reply.status(204).send();
    },
  );
  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account/roles',
    { schema: { tags: ['operators'], summary: 'Built-in and custom roles', params: AccountParams, response: { 200: { type: 'object', properties: { items: { type: 'array', items: role } } }, ...problems(401, 403, 404) } } },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return { items: await operators.roles(request.params.account) };
    },
  );
  app.post<{ Params: { account: string }; Body: { name: string; permissions: Permission[] } }>(
    '/v1/accounts/:account/roles',
    {
      schema: {
        tags: ['operators'],
        summary: 'Create a custom role from permissions',
        params: AccountParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'permissions'],
          properties: {
            name: nameString(100),
            permissions: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: PERMISSIONS } },
          },
        },
        response: { 201: role, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'operators.manage' });
      return reply.status(201).send(await operators.createRole(request.params.account, request.body, actor));
    },
  );
};
