import type { FastifyPluginAsync } from 'fastify';
import { validationError } from '../../domain/errors.js';
import type { Services } from '../../services/index.js';
import type { AuditEntry } from '../../storage/operator-repositories.js';
import { guard } from '../auth.js';
import { AccountParams } from '../../contract/accounts.js';
import { problems } from '../schemas.js';

const entry = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    at: { type: 'string' },
    action: { type: 'string' },
    actor: { type: 'object', properties: { kind: { type: 'string' }, id: { type: 'string' }, label: { type: 'string' } } },
    sourceIp: { type: ['string', 'null'] },
    keyId: { type: ['string', 'null'] },
    targetId: { type: ['string', 'null'] },
    before: {},
    after: {},
  },
} as const;

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    actor: { type: 'string', minLength: 1, maxLength: 254, description: 'An operator or token id, or an e-mail.' },
    action: { type: 'string', minLength: 1, maxLength: 100, description: "An action ('key.created') or a prefix ('key')." },
    key: { type: 'string', minLength: 1, maxLength: 100 },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: { type: 'string', minLength: 1, maxLength: 500 },
  },
} as const;

const page = { type: 'object', properties: { items: { type: 'array', items: entry }, nextCursor: { type: ['string', 'null'] } } } as const;

interface AuditQuery {
  from?: string;
  to?: string;
  actor?: string;
  action?: string;
  key?: string;
  limit: number;
  cursor?: string;
}

const view = (e: AuditEntry) => ({
  id: e.id,
  at: new Date(e.at).toISOString(),
  action: e.action,
  actor: { kind: e.actorKind, id: e.actorId, label: e.actorLabel },
  sourceIp: e.sourceIp,
  keyId: e.keyId,
  targetId: e.targetId,
  before: e.before,
  after: e.after,
});

/**
 * The audit log, read-only: there is no way to change or delete an entry. An account's entries, and
 * the platform's (what belongs to no account: operators created, sign-ins with an unknown e-mail,
 * signing keys rotated or withdrawn).
 */
export const auditRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const list = async (accountId: string | null, q: AuditQuery) => {
    const from = q.from === undefined ? undefined : Date.parse(q.from);
    const to = q.to === undefined ? undefined : Date.parse(q.to);
    if (from !== undefined && to !== undefined && from > to)
      throw validationError('from is after to: the range is empty.', [{ pointer: '/from', detail: 'must not be after to' }]);
    const result = await services.audit.list(accountId, { from, to, actor: q.actor, action: q.action, keyId: q.key }, q.limit, q.cursor);
    return { nextCursor: result.nextCursor, items: result.items.map(view) };
  };

  app.get<{ Params: { account: string }; Querystring: AuditQuery }>(
    '/v1/accounts/:account/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Who changed what, when and from where; newest first',
        params: AccountParams,
        querystring,
        response: { 200: page, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await guard(services.auth, request, { account: request.params.account, permission: 'keys.view' });
      return list(request.params.account, request.query);
    },
  );

  app.get<{ Querystring: AuditQuery }>(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: "The platform's audit log (platform owner only): what belongs to no account; newest first",
        description:
          'Operators created, personal tokens issued, sign-ins (and lock-outs) for e-mails no operator has, signing keys rotated or withdrawn. Same filters as an account\'s log.',
        querystring,
        response: { 200: page, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      await guard(services.auth, request, { platformOwner: true });
      return list(null, request.query);
    },
  );
};
