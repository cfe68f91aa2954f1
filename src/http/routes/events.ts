import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ServerResponse } from 'node:http';
import {
  CHANGE_EVENT_TYPES,
  ChangeEventData,
  EventsQuery,
  LookupAnswer,
  UsageReport,
  UsageReportAnswer,
  type ChangeEventType,
} from '../../contract/events.js';
import { VerifyBody } from '../../contract/verify.js';
import { forbidden } from '../../domain/errors.js';
import type { Principal } from '../../domain/principal.js';
import { rateLimitHeaders } from '../../domain/rate-limit.js';
import { USAGE_OUTCOMES } from '../../domain/verification.js';
import { CHANGE_EVENT_RETENTION_MS } from '../../services/change-events.js';
import type { Services } from '../../services/index.js';
import type { Verification } from '../../services/verification-service.js';
import type { ClusterEvent } from '../../storage/oauth-repositories.js';
import { bearerToken, guard } from '../auth.js';
import { problems } from '../schemas.js';
import { credentialOf, mayVerify, toAnswer } from './verify.js';

/**
 * What in-process verifiers (the `@keyport/node` SDK) need besides /v1/verify:
 *
 * - `GET /v1/events`: a server-sent event stream (WHATWG HTML 9.2) of the changes that make a
 *   cached answer wrong, for the accounts the service token may verify. It is fed by this node's
 *   view of the cluster event log, so a change made on any node reaches every stream, within one
 *   poll interval. Each change event's `id` is `<seq>-<ms>`: its place in the log and when this
 *   node sent it; heartbeats carry the same kind of id, so a client resuming with Last-Event-ID
 *   after a quiet hour is not mistaken for one that missed an hour of changes. A resume replays the
 *   log from a little before that place (events twice are harmless; the log's sequence numbers can
 *   commit out of order), and a resume from further back than the log keeps (or from another
 *   store) is answered with `reset`: drop every cached answer.
 * - `POST /v1/verify/lookup`: the first sight of a credential: /v1/verify's answer (counted the
 *   same way), plus what the verifier may cache of it.
 * - `POST /v1/verify/usage`: the uses a verifier answered itself, reported in batches (lastUsedAt
 *   and usage counts).
 */

/** How many sequence numbers before the resume point are read again (transactions commit out of order). */
const RESUME_OVERLAP = 256;
/** A resume point older than this is answered with `reset`: change events live CHANGE_EVENT_RETENTION_MS in the log. */
const RESUME_WINDOW_MS = CHANGE_EVENT_RETENTION_MS - 5 * 60_000;
/** A client this far behind (bytes not yet taken) is cut off; it resumes when it reconnects. */
const MAX_BUFFERED = 4 * 1024 * 1024;
const PAGE = 1000;

const FORWARDED = new Set<string>(CHANGE_EVENT_TYPES);

/** The `data` of a change event, as the stream and the documentation show it. */
export function changeEventData(event: ClusterEvent): ChangeEventData {
  return {
    seq: event.seq,
    type: event.kind as ChangeEventType,
    account: event.accountId,
    changeType: event.changeType,
    keyId: event.keyId,
    clientId: event.clientId,
    jti: event.jti,
    grantId: event.grantId,
    grantVersion: event.grantVersion,
    kid: event.kind === 'signing_keys_changed' ? event.targetId : null,
    until: event.kind === 'token_revoked' || event.kind === 'client_revoked' || event.kind === 'grant_revoked' ? new Date(event.expiresAt).toISOString() : null,
    at: new Date(event.createdAt).toISOString(),
  };
}

/** One open stream. */
class EventStream {
  /** Live events that came while the catch-up was read; null once it was sent. */
  private queue: ClusterEvent[] | null = [];
  private heartbeat: NodeJS.Timeout | undefined;
  closed = false;

  constructor(
    private readonly raw: ServerResponse,
    private principal: Principal,
    private readonly position: () => number,
    private readonly now: () => number,
  ) {}

  /** May this stream's token learn of the event? */
  allows(event: ClusterEvent): boolean {
    if (!FORWARDED.has(event.kind)) return false;
    if (event.accountId === null) return event.kind === 'signing_keys_changed';
    return this.principal.permissionsOn(event.accountId).has('keys.verify');
  }

  /** A live event from this node's view of the log. */
  push(event: ClusterEvent): void {
    if (this.queue !== null) this.queue.push(event);
    else this.send(event);
  }

  send(event: ClusterEvent): void {
    if (this.allows(event)) this.write(`id: ${event.seq}-${this.now()}\nevent: ${event.kind}\ndata: ${JSON.stringify(changeEventData(event))}\n\n`);
  }

  /** The catch-up is sent: the live events that came meanwhile follow, then `ready`. */
  ready(resumed: boolean): void {
    const queued = this.queue ?? [];
    this.queue = null;
    for (const event of queued) this.send(event);
    this.write(`id: ${this.position()}-${this.now()}\nevent: ready\ndata: ${JSON.stringify({ seq: this.position(), resumed })}\n\n`);
  }

  reset(reason: string): void {
    this.write(`event: reset\ndata: ${JSON.stringify({ reason })}\n\n`);
  }

  startHeartbeat(intervalMs: number, fresh: () => boolean): void {
    // A client gone while its catch-up was read has a closed stream: no timer for it.
    if (this.closed) return;
    this.heartbeat = setInterval(() => {
      // Only while this node's own view of the log is current: otherwise the client must not take
      // silence about changes for the absence of changes.
      if (fresh() && this.queue === null) this.write(`id: ${this.position()}-${this.now()}\nevent: heartbeat\ndata: {}\n\n`);
    }, intervalMs);
    this.heartbeat.unref();
  }

  updatePrincipal(principal: Principal | null): void {
    if (principal === null) this.close();
    else this.principal = principal;
  }

  write(text: string): void {
    if (this.closed) return;
    if (this.raw.writableLength > MAX_BUFFERED) return this.close();
    this.raw.write(text);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.raw.end();
  }
}

/** Reads a Last-Event-ID this server wrote: `<seq>-<ms>`. */
function parseEventId(value: string): { seq: number; at: number } | null {
  const match = /^(\d{1,15})-(\d{1,15})$/.exec(value.trim());
  return match === null ? null : { seq: Number(match[1]), at: Number(match[2]) };
}

export const eventRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { sync, verification, usage } = services.tokens;
  const log = services.store.background.clusterEvents;
  const clock = services.clock;
  const streams = new Set<EventStream>();
  const tokens = new Map<EventStream, string>();
  /** The newest sequence number this node has applied. */
  let position = 0;
  let positionKnown = false;
  sync.subscribe((event) => {
    if (event.seq > position) position = event.seq;
    for (const stream of streams) stream.push(event);
    // A service token revoked, or its operator's role changed: streams re-check what they may see.
    if (event.kind === 'api_token_revoked' || event.kind === 'members_changed')
      for (const [stream, token] of tokens)
        Promise.resolve(services.auth.authenticate(token)).then(
          (p) => stream.updatePrincipal(p),
          () => {},
        );
  });
  const currentPosition = () => position;
  // Open streams would hold a graceful shutdown up forever: they are ended first (clients resume elsewhere).
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.close();
  });

  app.get(
    '/v1/events',
    {
      config: { deadline: false },
      schema: {
        tags: ['verification'],
        summary: 'Server-sent events for in-process verifiers: what makes a cached answer wrong, as it happens',
        description: [
          'A `text/event-stream` (server-sent events) for resource servers that verify in process (the `@keyport/node` SDK). Authenticate with a service token holding `keys.verify`; only events of the accounts it may verify are sent (and signing-key changes, which concern everyone). Every node serves every change, made on any node, within its poll interval.',
          'Change events (`event:` is the type, `data:` one JSON object, the `ChangeEventData` schema): `key_changed` (drop cached answers of `keyId`: created, updated, deactivated, deleted, secret reset, regenerated), `token_revoked` (`jti`), `client_revoked` (every token of `clientId`), `grant_changed` and `grant_revoked` (tokens of the grant `grantId`, or of every grant of `keyId` when null, with a `grant_version` claim below `grantVersion`), `signing_keys_changed` (`kid`, `changeType` `rotated` or `withdrawn`: tokens signed by a withdrawn key are revoked; refetch the JWKS).',
          'Stream events: `ready` once the catch-up is sent (`{seq, resumed}`), `heartbeat` every `heartbeat` ms while this node is in step with the log (silence means: do not trust the cache), `reset` when a resume point is older than the log keeps or unknown (drop every cached answer, then carry on).',
          'Every change and heartbeat has an `id` of the form `<seq>-<ms>`; send the last one as `Last-Event-ID` to resume. A new stream (no Last-Event-ID) starts with the revocations still in force.',
        ].join('\n\n'),
        security: [{ bearer: [] }],
        querystring: EventsQuery,
        response: {
          200: {
            description: 'The stream. Each change event carries a ChangeEventData object as its data.',
            content: { 'text/event-stream': { schema: ChangeEventData } },
          },
          ...problems(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const { principal } = await guard(services.auth, request, {});
      const accounts = await principal.accounts();
      if (accounts !== 'all' && !accounts.some((a) => principal.permissionsOn(a).has('keys.verify')))
        throw forbidden("The event stream needs a token holding 'keys.verify' on at least one account (a gateway's service token).");
      if (!positionKnown) {
        position = Math.max(position, await log.lastSeq());
        positionKnown = true;
      }
      const lastEventId = request.headers['last-event-id'];
      const resume = typeof lastEventId === 'string' && lastEventId.length > 0 ? lastEventId : null;
      await openStream(request, reply, principal, resume, request.query.heartbeat ?? 5000);
      return reply;
    },
  );

  async function openStream(request: FastifyRequest, reply: FastifyReply, principal: Principal, resume: string | null, heartbeatMs: number): Promise<void> {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx: pass each event on at once.
      'x-accel-buffering': 'no',
    });
    raw.flushHeaders();
    const stream = new EventStream(raw, principal, currentPosition, () => clock.now());
    streams.add(stream);
    const token = bearerToken(request);
    if (token !== null) tokens.set(stream, token);
    const forget = () => {
      stream.close();
      streams.delete(stream);
      tokens.delete(stream);
    };
    request.raw.on('close', forget);
    raw.on('error', forget);
    // Reconnect after a second when the connection drops (WHATWG HTML 9.2.4, the `retry` field).
    stream.write('retry: 1000\n\n');
    try {
      let resumed = false;
      const point = resume === null ? null : parseEventId(resume);
      if (resume !== null && (point === null || point.seq > position || clock.now() - point.at > RESUME_WINDOW_MS)) {
        stream.reset(point === null ? 'Last-Event-ID is not one this server sent' : point.seq > position ? 'the resume point is not in this log' : 'the resume point is older than the log keeps');
        await sendRevocations(stream);
      } else if (point !== null) {
        resumed = true;
        let from = Math.max(0, point.seq - RESUME_OVERLAP);
        for (;;) {
          const events = await log.since(from, [], PAGE);
          for (const event of events) stream.send(event);
          if (events.length < PAGE || stream.closed) break;
          from = events[events.length - 1]!.seq;
        }
      } else {
        await sendRevocations(stream);
      }
      stream.ready(resumed);
      stream.startHeartbeat(heartbeatMs, () => sync.isFresh());
    } catch (err) {
      // The log could not be read: the client reconnects (and resumes) in a second.
      request.log.warn({ err }, 'event stream: the cluster event log could not be read');
      forget();
    }
  }

  async function sendRevocations(stream: EventStream): Promise<void> {
    for (const event of await log.activeRevocations(clock.now())) stream.send(event);
  }

  app.post(
    '/v1/verify/lookup',
    {
      schema: {
        tags: ['verification'],
        summary: "For in-process verifiers: /v1/verify's answer, plus what may be cached of the credential",
        description:
          "Takes the body of /v1/verify and answers it as /v1/verify does (`result`, counted the same way, RateLimit-* headers included), plus `cache`: the credential's identity without requirements, the key it belongs to, and whether the verifier may answer its later uses itself (`local`) or must send each to /v1/verify (keys with a rate limit, credits or an IP allowlist, and external keys: counted centrally). The verifier keeps the answer under the credential's SHA-256 hash, never the credential, and drops it when the event stream names its key.",
        body: VerifyBody,
        response: { 200: LookupAnswer, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { principal } = await guard(services.auth, request, {});
      const { environment, scopes, clientIp, cost } = request.body;
      const credential = credentialOf(request.body);
      const authorize = mayVerify(principal);
      const identity = await verification.verify(credential, { consume: false }, authorize);
      // The use itself, counted as /v1/verify counts it (one more lookup: a cache hit).
      const result = identity.credential === null ? identity : await verification.verify(credential, { environment, scopes, clientIp, cost }, authorize);
      if (result.rateLimit !== null) {
        reply.headers(rateLimitHeaders(result.rateLimit));
        if (!result.rateLimit.allowed) reply.header('retry-after', String(result.rateLimit.resetSeconds));
      }
      reply.type('application/json; charset=utf-8');
      return `{"result":${toAnswer(result)},"cache":${JSON.stringify(cacheOf(identity))}}` as unknown as LookupAnswer;
    },
  );

  /** What a verifier may keep of a credential: its identity, and whether it may answer its uses itself. */
  function cacheOf(identity: Verification): Omit<LookupAnswer['cache'], 'identity'> & { identity: unknown } {
    const c = identity.credential;
    const policy = identity.policy;
    const central = policy !== null && (policy.rateLimit !== null || policy.credits !== null || policy.ipAllowlist !== null);
    const local = !central && !c?.token?.grant;
    const ends = [c?.expiresAt ?? null, c?.graceUntil ?? null].filter((t): t is number => t !== null);
    return {
      keyId: c?.keyId ?? null,
      local,
      identity: JSON.parse(toAnswer(identity)),
      until: ends.length === 0 ? null : new Date(Math.min(...ends)).toISOString(),
    };
  }

  app.post(
    '/v1/verify/usage',
    {
      schema: {
        tags: ['verification'],
        summary: 'For in-process verifiers: the uses they answered themselves, in batches (lastUsedAt and usage counts)',
        description:
          "Each entry names a key, its account and environment, the time of its last valid use and how many uses had each outcome. Entries of keys that are gone, or of accounts the caller may not verify (it needs 'keys.verify' there), are ignored and counted as such.",
        body: UsageReport,
        response: { 200: UsageReportAnswer, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { principal } = await guard(services.auth, request, {});
      let accepted = 0;
      let ignored = 0;
      for (const use of request.body.uses) {
        if (!principal.permissionsOn(use.account).has('keys.verify')) {
          ignored++;
          continue;
        }
        const record = await services.store.repos.keys.find(use.account, use.keyId);
        if (record === undefined || record.environment !== use.environment) {
          ignored++;
          continue;
        }
        if (use.lastUsedAt > 0) usage.record(use.keyId, Math.min(use.lastUsedAt, clock.now()));
        const at = Math.min(use.lastUsedAt || clock.now(), clock.now());
        const counted = { keyId: use.keyId, accountId: use.account, environment: use.environment, token: null };
        for (const outcome of USAGE_OUTCOMES) {
          const n = use.outcomes[outcome];
          if (n !== undefined && n > 0) usage.count(counted, outcome, at, n);
        }
        accepted++;
      }
      return { accepted, ignored };
    },
  );
};
