import { randomBytes } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { WebhookConfig } from '../config.js';
import type { CreateWebhookInput, DeliveryPage, ListDeliveriesQuery, UpdateWebhookInput, Webhook, WebhookDelivery, WebhookWithSecret } from '../contract/webhooks.js';
import type { Clock } from '../domain/clock.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import type { Keyring } from '../domain/envelope.js';
import { AppError, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { NoticeType } from '../domain/notice-types.js';
import type { Actor } from '../domain/principal.js';
import type { Repositories, Store } from '../storage/repositories.js';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../storage/webhook-repositories.js';
import { iso } from './key-view.js';
import type { Notice, NoticeSink } from './notices.js';
import type { Outbox } from './outbox.js';
import { checkWebhookUrl, sendWebhook } from './webhook-target.js';

/** How long a delivery is retried before it fails and its endpoint is marked failing. */
export const RETRY_WINDOW_MS = 3 * 86_400_000;
/** The first retry waits about this long; each next one four times longer, up to MAX_RETRY_DELAY_MS. */
const FIRST_RETRY_DELAY_MS = 5_000;
const MAX_RETRY_DELAY_MS = 10 * 3_600_000;
/** How long the delivery log keeps deliveries that ended (delivered or failed). */
export const DELIVERY_LOG_RETENTION_MS = 30 * 86_400_000;
/** How often a node forgets deliveries older than that. */
const PRUNE_INTERVAL_MS = 3_600_000;
/** Deliveries one node sends at once. */
const BATCH = 20;

/**
 * The wait before attempt `attempts + 1`: exponential (5 s, 20 s, 80 s, ... up to 10 h) with
 * ±25 % jitter, so receivers coming back from an outage are not hit by every sender at once.
 */
export function retryDelay(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(FIRST_RETRY_DELAY_MS * 4 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
  return Math.round(base * (0.75 + random() * 0.5));
}

/** A new signing secret, in the Standard Webhooks form: whsec_ and base64 of 24 random bytes. */
const newSigningSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

const toView = (e: WebhookEndpointRecord, now: number): Webhook => ({
  id: e.id,
  accountId: e.accountId,
  url: e.url,
  description: e.description,
  events: e.events as NoticeType[],
  active: e.active,
  failing: e.failingSince !== null,
  failingSince: iso(e.failingSince),
  previousSecretExpiresAt: e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt > now ? iso(e.previousSecretExpiresAt) : null,
  createdAt: iso(e.createdAt)!,
  updatedAt: iso(e.updatedAt)!,
});

const toDeliveryView = (d: WebhookDeliveryRecord): WebhookDelivery => ({
  id: d.id,
  eventId: d.eventId,
  type: d.eventType as NoticeType,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
  lastAttemptAt: iso(d.lastAttemptAt),
  lastStatusCode: d.lastStatusCode,
  lastDurationMs: d.lastDurationMs,
  lastError: d.lastError,
  deliveredAt: iso(d.deliveredAt),
  createdAt: iso(d.createdAt)!,
  payload: JSON.parse(d.payload),
});

/** The delivery rows of one event for each endpoint given, due now. */
function deliveriesOf(endpoints: readonly WebhookEndpointRecord[], type: string, data: unknown, now: number): WebhookDeliveryRecord[] {
  const eventId = newId('evt');
  const payload = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data });
  return endpoints.map((e) => ({
    id: newId('msg'),
    endpointId: e.id,
    accountId: e.accountId,
    eventId,
    eventType: type,
    payload,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    giveUpAt: now + RETRY_WINDOW_MS,
    leaseUntil: null,
    lastAttemptAt: null,
    lastStatusCode: null,
    lastDurationMs: null,
    lastError: null,
    deliveredAt: null,
    createdAt: now,
  }));
}

/**
 * Sends due deliveries in the background, on every node. Each round claims what is due (a lease per
 * delivery, so one node at a time sends it; a node that dies leaves its lease to run out) and
 * starts the attempts without waiting for them, up to BATCH in flight; each attempt ends within
 * the attempt timeout and records what the receiver answered. A change's own node is nudged once
 * it commits, so its deliveries do not wait for the next round. Nothing here runs on a request's
 * path, and a receiver that is slow to answer holds up neither the API nor other deliveries.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round: Promise<void> | undefined;
  private again = false;
  private prunedAt = -Infinity;
  private readonly inFlight = new Set<Promise<void>>();
  /** The ids of the deliveries this node is sending: never claimed again while it is. */
  private readonly sending = new Set<string>();
  /** Called with what went wrong in a round (the store unavailable, say); the next round tries again. */
  onError: (err: unknown) => void = () => {};

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly keyring: Keyring,
    private readonly config: WebhookConfig,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.round;
    // Attempts under way end within the attempt timeout; what they gave is written.
    await Promise.all([...this.inFlight]);
  }

  /** Runs a round now (or right after the current one): a delivery of this node was just queued. */
  nudge(): void {
    if (!this.running) return;
    if (this.round) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.round = this.runRound().finally(() => {
        this.round = undefined;
        if (!this.running) return;
        const soon = this.again;
        this.again = false;
        this.schedule(soon ? 0 : this.config.pollIntervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async runRound(): Promise<void> {
    try {
      if (this.clock.now() - this.prunedAt >= PRUNE_INTERVAL_MS) {
        this.prunedAt = this.clock.now();
        await this.store.repos.webhookDeliveries.pruneFinished(this.prunedAt - DELIVERY_LOG_RETENTION_MS);
      }
      // At most BATCH attempts in flight: a round claims only what there is room for, and does not
      // wait for its attempts, so a receiver that is slow to answer holds up no other delivery.
      const room = BATCH - this.inFlight.size;
      if (room <= 0) return;
      const now = this.clock.now();
      // Long enough for an attempt and its write; a node that dies mid-attempt delays the retry by about this much.
      const leaseUntil = now + this.config.timeoutMs + 5_000;
      const claimed = await this.store.repos.webhookDeliveries.claimDue(this.store.storage.dialect, now, leaseUntil, room, [...this.sending]);
      for (const delivery of claimed) {
        this.sending.add(delivery.id);
        const attempt: Promise<void> = this.attempt(delivery).finally(() => {
          this.sending.delete(delivery.id);
          this.inFlight.delete(attempt);
          // Room again: look for more due deliveries if this round filled it.
          if (claimed.length === room) this.nudge();
        });
        this.inFlight.add(attempt);
      }
    } catch (err) {
      this.onError(err);
    }
  }

  /** One attempt of one claimed delivery; its outcome is written, whatever happens. */
  private async attempt(delivery: WebhookDeliveryRecord): Promise<void> {
    // On the request pool: the background connections are for reading the cluster event log, which
    // deliveries must never hold up.
    const repos = this.store.repos;
    try {
      const endpoint = await repos.webhookEndpoints.findById(delivery.endpointId);
      const attemptedAt = this.clock.now();
      if (!endpoint || !endpoint.active) {
        await repos.webhookDeliveries.finish(delivery.id, { status: 'failed', nextAttemptAt: null, attemptedAt, statusCode: null, durationMs: 0, error: 'the endpoint is switched off' });
        return;
      }
      const secrets = [this.keyring.decryptText(endpoint.secretEncrypted)];
      if (endpoint.previousSecretEncrypted && endpoint.previousSecretExpiresAt !== null && endpoint.previousSecretExpiresAt > attemptedAt)
        secrets.push(this.keyring.decryptText(endpoint.previousSecretEncrypted));
      // The signed time is this node's wall clock: receivers compare it with theirs (Standard Webhooks: 5 minutes).
      const signedAt = new Date();
      const signature = secrets.map((s) => new StandardWebhook(s).sign(delivery.id, signedAt, delivery.payload)).join(' ');
      const headers = { 'webhook-id': delivery.id, 'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)), 'webhook-signature': signature };
      const outcome = await sendWebhook(endpoint.url, headers, delivery.payload, this.config);
      const now = this.clock.now();
      const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
      const error = ok ? null : (outcome.error ?? `the receiver answered ${outcome.statusCode}`);
      // The delivery's outcome and its endpoint's failing state change together.
      if (ok)
        await this.store.transaction(async (trx) => {
          await trx.webhookDeliveries.finish(delivery.id, { status: 'delivered', nextAttemptAt: null, attemptedAt: now, ...outcome, error });
          await trx.webhookEndpoints.setFailing(endpoint.id, null);
        });
      else if (now >= delivery.giveUpAt)
        await this.store.transaction(async (trx) => {
          await trx.webhookDeliveries.finish(delivery.id, { status: 'failed', nextAttemptAt: null, attemptedAt: now, ...outcome, error });
          await trx.webhookEndpoints.setFailing(endpoint.id, now);
        });
      else {
        const next = Math.min(now + retryDelay(delivery.attempts), delivery.giveUpAt);
        await repos.webhookDeliveries.finish(delivery.id, { status: 'pending', nextAttemptAt: next, attemptedAt: now, ...outcome, error });
      }
    } catch (err) {
      // The lease runs out and the delivery is claimed again.
      this.onError(err);
    }
  }
}

/** Queues one delivery per active endpoint of the account that hears the notice, in the change's transaction. */
export class WebhookSink implements NoticeSink {
  constructor(
    private readonly clock: Clock,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  async enqueue(repos: Repositories, notices: readonly Notice[]): Promise<void> {
    const now = this.clock.now();
    const endpointsOf = new Map<string, WebhookEndpointRecord[]>();
    let queued = 0;
    for (const notice of notices) {
      let endpoints = endpointsOf.get(notice.accountId);
      if (!endpoints) endpointsOf.set(notice.accountId, (endpoints = (await repos.webhookEndpoints.ofAccount(notice.accountId)).filter((e) => e.active)));
      const hearing = endpoints.filter((e) => e.events.includes(notice.type));
      const rows = deliveriesOf(hearing, notice.type, notice.data, now);
      await repos.webhookDeliveries.insert(rows);
      queued += rows.length;
    }
    if (queued > 0) repos.onCommit(async () => this.dispatcher.nudge());
  }
}

/** Webhook endpoints of an account: their settings, secrets, test pings and delivery log. */
export class WebhooksService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly outbox: Outbox,
    private readonly keyring: Keyring,
    private readonly config: WebhookConfig,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  private async endpoint(repos: Repositories, accountId: string, id: string): Promise<WebhookEndpointRecord> {
    const endpoint = await repos.webhookEndpoints.find(accountId, id);
    if (!endpoint) throw notFound('Webhook', id);
    return endpoint;
  }

  async create(accountId: string, input: CreateWebhookInput, actor: Actor): Promise<WebhookWithSecret> {
    const url = await checkWebhookUrl(input.url, this.config);
    const secret = newSigningSecret();
    const now = this.clock.now();
    const endpoint: WebhookEndpointRecord = {
      id: newId('wh'),
      accountId,
      url,
      description: input.description ?? null,
      events: [...input.events],
      active: true,
      secretEncrypted: this.keyring.encrypt(secret),
      previousSecretEncrypted: null,
      previousSecretExpiresAt: null,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.transaction(async (repos) => {
      if (!(await repos.accounts.find(accountId))) throw notFound('Account', accountId);
      await repos.webhookEndpoints.insert(endpoint);
      await this.outbox.record(repos, { audit: { actor, entry: { accountId, action: 'webhook.create', targetId: endpoint.id, after: toView(endpoint, now) } } });
    });
    return { webhook: toView(endpoint, now), secret };
  }

  async list(accountId: string): Promise<Webhook[]> {
    const now = this.clock.now();
    return (await this.store.repos.webhookEndpoints.ofAccount(accountId)).map((e) => toView(e, now));
  }

  async get(accountId: string, id: string): Promise<Webhook> {
    return toView(await this.endpoint(this.store.repos, accountId, id), this.clock.now());
  }

  async update(accountId: string, id: string, input: UpdateWebhookInput, actor: Actor): Promise<Webhook> {
    const url = input.url === undefined ? undefined : await checkWebhookUrl(input.url, this.config);
    return this.store.transaction(async (repos) => {
      const before = await this.endpoint(repos, accountId, id);
      const now = this.clock.now();
      const after: WebhookEndpointRecord = {
        ...before,
        url: url ?? before.url,
        events: input.events ? [...input.events] : before.events,
        description: input.description === undefined ? before.description : input.description,
        active: input.active ?? before.active,
        // Switching an endpoint back on is the operator saying it works again.
        failingSince: input.active === true && !before.active ? null : before.failingSince,
        updatedAt: Math.max(now, before.updatedAt + 1),
      };
      await repos.webhookEndpoints.update(after);
      await this.outbox.record(repos, { audit: { actor, entry: { accountId, action: 'webhook.update', targetId: id, before: toView(before, now), after: toView(after, now) } } });
      return toView(after, now);
    });
  }

  async delete(accountId: string, id: string, actor: Actor): Promise<void> {
    await this.store.transaction(async (repos) => {
      const before = await this.endpoint(repos, accountId, id);
      await repos.webhookEndpoints.delete(accountId, id);
      await this.outbox.record(repos, { audit: { actor, entry: { accountId, action: 'webhook.delete', targetId: id, before: toView(before, this.clock.now()) } } });
    });
  }

  /**
   * A new signing secret; the previous one keeps signing alongside (a second signature in
   * webhook-signature) for `graceSeconds`, so receivers can switch over without missing a delivery.
   */
  async rotateSecret(accountId: string, id: string, graceSeconds: number, actor: Actor): Promise<WebhookWithSecret> {
    const secret = newSigningSecret();
    return this.store.transaction(async (repos) => {
      const before = await this.endpoint(repos, accountId, id);
      const now = this.clock.now();
      const after: WebhookEndpointRecord = {
        ...before,
        secretEncrypted: this.keyring.encrypt(secret),
        previousSecretEncrypted: graceSeconds > 0 ? before.secretEncrypted : null,
        previousSecretExpiresAt: graceSeconds > 0 ? now + graceSeconds * 1000 : null,
        updatedAt: Math.max(now, before.updatedAt + 1),
      };
      await repos.webhookEndpoints.update(after);
      await this.outbox.record(repos, { audit: { actor, entry: { accountId, action: 'webhook.rotate_secret', targetId: id, after: { previousSecretExpiresAt: iso(after.previousSecretExpiresAt) } } } });
      return { webhook: toView(after, now), secret };
    });
  }

  /** Queues a webhook.test ping to this endpoint (whatever events it hears); returns its delivery. */
  async test(accountId: string, id: string): Promise<WebhookDelivery> {
    const delivery = await this.store.transaction(async (repos) => {
      const endpoint = await this.endpoint(repos, accountId, id);
      const now = this.clock.now();
      const [row] = deliveriesOf([endpoint], 'webhook.test', toView(endpoint, now), now);
      await repos.webhookDeliveries.insert([row!]);
      return row!;
    });
    this.dispatcher.nudge();
    return toDeliveryView(delivery);
  }

  async deliveries(accountId: string, id: string, query: ListDeliveriesQuery): Promise<DeliveryPage> {
    await this.endpoint(this.store.repos, accountId, id);
    const limit = query.limit ?? 25;
    const after =
      query.cursor === undefined
        ? undefined
        : decodeCursor(query.cursor, 'deliveries', (f) => (typeof f.c === 'number' && typeof f.i === 'string' ? { createdAt: f.c, id: f.i } : null));
    const rows = await this.store.repos.webhookDeliveries.page(id, limit + 1, after, query.status);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toDeliveryView), nextCursor: rows.length > limit && last ? encodeCursor('deliveries', { c: last.createdAt, i: last.id }) : null };
  }

  /** Sends a delivery again (delivered, failed or pending alike): due now, with a fresh retry window. */
  async retry(accountId: string, id: string, deliveryId: string): Promise<WebhookDelivery> {
    const endpoint = await this.endpoint(this.store.repos, accountId, id);
    const delivery = await this.store.repos.webhookDeliveries.find(endpoint.id, deliveryId);
    if (!delivery) throw notFound('Delivery', deliveryId);
    const now = this.clock.now();
    if (!(await this.store.repos.webhookDeliveries.requeue(deliveryId, now, now + RETRY_WINDOW_MS)))
      throw new AppError('conflict', `Delivery '${deliveryId}' is being sent right now; see its outcome in the delivery log, and retry it after that if it failed.`);
    this.dispatcher.nudge();
    return toDeliveryView({ ...delivery, status: 'pending', nextAttemptAt: now, giveUpAt: now + RETRY_WINDOW_MS });
  }
}
