import { randomBytes } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { AppError, fieldError, forbidden, notFound, rateLimited, serverBusy } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { generateKeyString, hashKeyString } from '../domain/key-strings.js';
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from '../domain/passwords.js';
import { PERMISSIONS, type Actor, type Permission } from '../domain/principal.js';
import { BUILT_IN_ROLES, isBuiltInRole } from '../domain/roles.js';
import { WorkPool } from '../domain/work-pool.js';
import type { ApiTokenRecord, Store } from '../storage/repositories.js';
import type { OperatorRecord } from '../storage/operator-repositories.js';
import { LocalAttemptCounter, type AttemptCounter, type AttemptRule } from './attempts.js';
import type { AuthService } from './auth-service.js';
import { apiTokenRevokedEvent, membersChangedEvent } from './change-events.js';
import { iso } from './key-view.js';
import type { Outbox } from './outbox.js';

/** How long a portal session lasts. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;
/** Failed logins allowed per e-mail in a window, before a lock-out. */
export const LOGIN_MAX_FAILURES = 5;
/** Failed logins allowed per source address in a window (an office behind one address has many people). */
export const LOGIN_MAX_FAILURES_PER_ADDRESS = 50;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
const LOGIN_BY_EMAIL: AttemptRule = { name: 'login-email', maxFailures: LOGIN_MAX_FAILURES, windowMs: LOGIN_WINDOW_MS };
const LOGIN_BY_ADDRESS: AttemptRule = { name: 'login-address', maxFailures: LOGIN_MAX_FAILURES_PER_ADDRESS, windowMs: LOGIN_WINDOW_MS };
/** Default bounds of the password-hashing pool (KEYPORT_PASSWORD_HASH_CONCURRENCY, KEYPORT_PASSWORD_HASH_QUEUE). */
export const PASSWORD_HASH_DEFAULTS = { concurrency: 2, queue: 32 };

export interface OperatorView {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

export interface TokenView {
  id: string;
  name: string;
  kind: 'personal' | 'service';
  accountId: string | null;
  expiresAt: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface RoleView {
  id: string;
  name: string;
  builtIn: boolean;
  permissions: Permission[];
}

const operatorView = (o: OperatorRecord): OperatorView => ({ id: o.id, email: o.email, name: o.name, createdAt: iso(o.createdAt)! });
const tokenView = (t: ApiTokenRecord): TokenView => ({
  id: t.id,
  name: t.name,
  kind: t.kind as 'personal' | 'service',
  accountId: t.accountId,
  expiresAt: iso(t.expiresAt),
  createdAt: iso(t.createdAt)!,
  revokedAt: iso(t.revokedAt),
});

/** Operators, their memberships and roles, sign-in, personal and service tokens. */
export class OperatorsService {
  private readonly attempts: AttemptCounter;
  /** Every password hash (sign-in, new operators) runs here: bounded, so token signing keeps threads. */
  readonly hashPool: WorkPool;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Every change and every failed sign-in leaves its audit entry here, in the change's transaction. */
    private readonly outbox: Outbox,
    private readonly auth: AuthService,
    options: { attempts?: AttemptCounter; hashConcurrency?: number; hashQueue?: number } = {},
  ) {
    this.attempts = options.attempts ?? new LocalAttemptCounter(() => clock.now());
    this.hashPool = new WorkPool(options.hashConcurrency ?? PASSWORD_HASH_DEFAULTS.concurrency, options.hashQueue ?? PASSWORD_HASH_DEFAULTS.queue);
  }

  /** Runs a password hash in the pool; refused with 503 server_busy when the pool's queue is full. */
  private hashing<T>(task: () => Promise<T>): Promise<T> {
    const running = this.hashPool.run(task);
    if (running === null) throw serverBusy('Too many sign-ins are being checked right now; try again in a second.');
    return running;
  }

  private async newOperator(input: { email: string; name?: string; password?: string }): Promise<OperatorRecord> {
    if (input.password !== undefined && input.password.length < MIN_PASSWORD_LENGTH)
      throw fieldError('/password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
    const now = this.clock.now();
    return {
      id: newId('op'),
      email: input.email.trim().toLowerCase(),
      name: input.name?.trim() || input.email.trim().toLowerCase(),
      passwordHash: input.password === undefined ? null : await this.hashing(() => hashPassword(input.password!)),
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Creates an operator (the platform owner does this); 409 when the e-mail is taken. */
  async createOperator(input: { email: string; name: string; password?: string }, actor: Actor): Promise<OperatorView> {
    if (await this.store.repos.operators.findByEmail(input.email))
      throw new AppError('conflict', `An operator with e-mail '${input.email}' already exists.`, [{ pointer: '/email', detail: 'is taken' }]);
    const op = await this.newOperator(input);
    await this.store.transaction(async (repos) => {
      await repos.operators.insert(op);
      await this.outbox.record(repos, { audit: { actor, entry: { accountId: null, action: 'operator.create', targetId: op.id, after: operatorView(op) } } });
    });
    return operatorView(op);
  }

  /**
   * Signs in with e-mail and password. Attempts are counted per e-mail and per source address
   * before the password is checked (atomically: parallel guesses get no more checks than the
   * limit, on every node sharing the counters); past the limit the answer is 429 with Retry-After
   * until the window ends, and every failure and lock-out is audited. When the password-hashing
   * pool is full the answer is 503 server_busy, and the attempt does not count.
   */
  async login(email: string, password: string, sourceIp: string): Promise<{ cookie: string; csrfToken: string; operator: OperatorView; expiresAt: number }> {
    const subject = email.trim().toLowerCase();
    const byEmail = { rule: LOGIN_BY_EMAIL, subject };
    const byAddress = { rule: LOGIN_BY_ADDRESS, subject: sourceIp };
    const anonymous = { anonymous: subject, sourceIp };
    const audit = async (action: string, operator: OperatorRecord | undefined) => {
      const accounts = operator ? (await this.store.repos.memberships.ofOperator(operator.id)).map((m) => m.accountId) : [];
      await this.outbox.write({ audit: (accounts.length ? accounts : [null]).map((accountId) => ({ actor: anonymous, entry: { accountId, action, targetId: operator?.id ?? null } })) });
    };
    const wait = await this.attempts.reserve([byEmail, byAddress]);
    if (wait > 0) {
      await audit('login.locked', await this.store.repos.operators.findByEmail(email));
      throw rateLimited(`Too many failed sign-ins; try again in ${wait} seconds.`, wait);
    }
    // The operator is looked up in the pool too: a sign-in the pool has no room for costs no
    // store read, so a flood is refused cheaply.
    let operator: OperatorRecord | undefined;
    let valid: boolean;
    try {
      valid = await this.hashing(async () => {
        operator = await this.store.repos.operators.findByEmail(email);
        return verifyPassword(password, operator?.passwordHash ?? null);
      });
    } catch (err) {
      // Never checked (the pool was full, or the store failed): not a failed attempt.
      await this.attempts.release([{ attempt: byEmail, clear: false }, { attempt: byAddress, clear: false }]);
      throw err;
    }
    if (!valid || !operator) {
      await audit('login.failed', operator);
      throw new AppError('unauthenticated', 'The e-mail or password is wrong.');
    }
    await this.attempts.release([{ attempt: byEmail, clear: true }, { attempt: byAddress, clear: false }]);
    const cookie = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const now = this.clock.now();
    await this.store.repos.sessions.insert({ id: newId('ses'), tokenHash: hashKeyString(cookie), csrfToken, operatorId: operator.id, expiresAt: now + SESSION_TTL_MS, createdAt: now });
    return { cookie, csrfToken, operator: operatorView(operator), expiresAt: now + SESSION_TTL_MS };
  }

  async logout(cookie: string): Promise<void> {
    await this.store.repos.sessions.deleteByHash(hashKeyString(cookie));
    this.auth.invalidate();
  }

  async getOperator(id: string): Promise<OperatorView> {
    const op = await this.store.repos.operators.find(id);
    if (!op) throw notFound('Operator', id);
    return operatorView(op);
  }

  // --- tokens ------------------------------------------------------------------------------

  /**
   * Issues a token. One made by a caller that came with an expiring API token ends at the latest
   * when that token does: without an expiry asked for it gets the caller's, and a later one is
   * refused. (Its permissions are at most the caller's: a personal token stands for its
   * operator, a service token holds keys.verify only.)
   */
  private async issueToken(record: Omit<ApiTokenRecord, 'id' | 'tokenHash' | 'createdAt' | 'revokedAt'>, actor: Actor): Promise<{ token: string; view: TokenView }> {
    if (record.expiresAt !== null && record.expiresAt <= this.clock.now()) throw fieldError('/expiresAt', 'must be in the future');
    const limit = actor.principal.tokenExpiresAt;
    if (limit !== undefined && limit !== null) {
      if (record.expiresAt === null) record = { ...record, expiresAt: limit };
      else if (record.expiresAt > limit)
        throw fieldError('/expiresAt', `must not be later than ${new Date(limit).toISOString()}, when the token making it expires`);
    }
    const token = generateKeyString('apiToken', 'production');
    const full: ApiTokenRecord = { ...record, id: newId('tok'), tokenHash: hashKeyString(token), createdAt: this.clock.now(), revokedAt: null };
    await this.store.transaction(async (repos) => {
      await repos.apiTokens.insert(full);
      await this.outbox.record(repos, { audit: { actor, entry: { accountId: full.accountId, action: `${full.kind}_token.create`, targetId: full.id, after: tokenView(full) } } });
    });
    return { token, view: tokenView(full) };
  }

  /** A personal API token of the calling operator, shown once. */
  async createPersonalToken(actor: Actor, input: { name: string; expiresAt?: string | null }): Promise<{ token: string; view: TokenView }> {
    if (!actor.principal.operatorId) throw forbidden('Personal tokens belong to operators; sign in as an operator to create one.');
    return this.issueToken({ kind: 'personal', name: input.name.trim(), operatorId: actor.principal.operatorId, accountId: null, expiresAt: parseExpiry(input.expiresAt) }, actor);
  }

  async listPersonalTokens(actor: Actor): Promise<TokenView[]> {
    if (!actor.principal.operatorId) return [];
    return (await this.store.repos.apiTokens.list({ kind: 'personal', operatorId: actor.principal.operatorId })).map(tokenView);
  }

  async revokePersonalToken(actor: Actor, id: string): Promise<void> {
    const token = await this.store.repos.apiTokens.find(id);
    if (!token || token.kind !== 'personal' || token.operatorId !== actor.principal.operatorId) throw notFound('Token', id);
    await this.revoke(token, actor);
  }

  /** A service token holding only keys.verify: on one account, or (accountId null) on all. */
  async createServiceToken(accountId: string | null, input: { name: string; expiresAt?: string | null }, actor: Actor) {
    return this.issueToken({ kind: 'service', name: input.name.trim(), operatorId: null, accountId, expiresAt: parseExpiry(input.expiresAt) }, actor);
  }

  async listServiceTokens(accountId: string | null): Promise<TokenView[]> {
    return (await this.store.repos.apiTokens.list({ kind: 'service', accountId })).map(tokenView);
  }

  async revokeServiceToken(accountId: string | null, id: string, actor: Actor): Promise<void> {
    const token = await this.store.repos.apiTokens.find(id);
    if (!token || token.kind !== 'service' || token.accountId !== accountId) throw notFound('Service token', id);
    await this.revoke(token, actor);
  }

  private async revoke(token: ApiTokenRecord, actor: Actor): Promise<void> {
    await this.store.transaction(async (repos) => {
      await repos.apiTokens.revoke(token.id, this.clock.now());
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId: token.accountId, action: `${token.kind}_token.revoke`, targetId: token.id, before: tokenView(token) } },
        events: [apiTokenRevokedEvent(token.accountId, token.id, this.clock.now())],
      });
    });
  }

  // --- members and roles -------------------------------------------------------------------

  async roles(accountId: string): Promise<RoleView[]> {
    const custom = await this.store.repos.customRoles.ofAccount(accountId);
    return [
      ...Object.entries(BUILT_IN_ROLES).map(([name, permissions]) => ({ id: name, name, builtIn: true, permissions: [...permissions] })),
      ...custom.map((r) => ({ id: r.id, name: r.name, builtIn: false, permissions: r.permissions })),
    ];
  }

  async createRole(accountId: string, input: { name: string; permissions: Permission[] }, actor: Actor): Promise<RoleView> {
    const name = input.name.trim();
    if (isBuiltInRole(name) || (await this.store.repos.customRoles.ofAccount(accountId)).some((r) => r.name === name))
      throw new AppError('conflict', `A role named '${name}' already exists in this account.`, [{ pointer: '/name', detail: 'is taken' }]);
    const role = { id: newId('role'), accountId, name, permissions: PERMISSIONS.filter((p) => input.permissions.includes(p)), createdAt: this.clock.now() };
    await this.store.transaction(async (repos) => {
      await repos.customRoles.insert(role);
      await this.outbox.record(repos, { audit: { actor, entry: { accountId, action: 'role.create', targetId: role.id, after: { name: role.name, permissions: role.permissions } } } });
    });
    return { id: role.id, name: role.name, builtIn: false, permissions: role.permissions };
  }

  private async checkRole(accountId: string, role: string): Promise<void> {
    if (isBuiltInRole(role)) return;
    if (!(await this.store.repos.customRoles.ofAccount(accountId)).some((r) => r.id === role))
      throw fieldError('/role', `unknown role '${role}': use owner, editor, viewer or the id of a custom role of this account`);
  }

  async members(accountId: string) {
    return (await this.store.repos.memberships.ofAccount(accountId)).map((m) => ({
      operatorId: m.operatorId,
      email: m.email,
      name: m.name,
      role: m.role,
      since: iso(m.createdAt)!,
    }));
  }

  /**
   * Adds an operator to the account with a role. An e-mail Keyport does not know yet becomes a new
   * operator, with the initial password given (they can sign in with it at once).
   */
  async addMember(accountId: string, input: { email: string; role: string; name?: string; password?: string }, actor: Actor) {
    await this.checkRole(accountId, input.role);
    let op = await this.store.repos.operators.findByEmail(input.email);
    const created = !op;
    if (!op) {
      if (input.password === undefined)
        throw fieldError('/password', `no operator has e-mail '${input.email}' yet: give an initial password (${MIN_PASSWORD_LENGTH}+ characters) to create one`);
      op = await this.newOperator(input);
    }
    if (!created && (await this.store.repos.memberships.find(accountId, op.id)))
      throw new AppError('conflict', `'${op.email}' is already a member of this account; change their role instead.`, [{ pointer: '/email', detail: 'is already a member' }]);
    const operator = op;
    await this.store.transaction(async (repos) => {
      if (created) await repos.operators.insert(operator);
      await repos.memberships.upsert({ accountId, operatorId: operator.id, role: input.role, createdAt: this.clock.now() });
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId, action: 'member.add', targetId: operator.id, after: { email: operator.email, role: input.role } } },
        events: [membersChangedEvent(accountId, operator.id, 'added', this.clock.now())],
      });
    });
    return { operatorId: operator.id, email: operator.email, name: operator.name, role: input.role, since: iso(this.clock.now())! };
  }

  async changeRole(accountId: string, operatorId: string, role: string, actor: Actor) {
    await this.checkRole(accountId, role);
    const result = await this.store.transaction(async (repos) => {
      if (!(await repos.accounts.lock(accountId))) throw notFound('Account', accountId);
      const before = await repos.memberships.find(accountId, operatorId);
      if (!before) throw notFound('Member', operatorId);
      if (before.role === 'owner' && role !== 'owner') await this.keepAnOwner(repos, accountId);
      await repos.memberships.upsert({ ...before, role });
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId, action: 'member.role_change', targetId: operatorId, before: { role: before.role }, after: { role } } },
        events: [membersChangedEvent(accountId, operatorId, 'role_changed', this.clock.now())],
      });
      return before;
    });
    const op = await this.store.repos.operators.find(operatorId);
    return { operatorId, email: op!.email, name: op!.name, role, since: iso(result.createdAt)! };
  }

  async removeMember(accountId: string, operatorId: string, actor: Actor): Promise<void> {
    await this.store.transaction(async (repos) => {
      if (!(await repos.accounts.lock(accountId))) throw notFound('Account', accountId);
      const before = await repos.memberships.find(accountId, operatorId);
      if (!before) throw notFound('Member', operatorId);
      if (before.role === 'owner') await this.keepAnOwner(repos, accountId);
      await repos.memberships.delete(accountId, operatorId);
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId, action: 'member.remove', targetId: operatorId, before: { role: before.role } } },
        events: [membersChangedEvent(accountId, operatorId, 'removed', this.clock.now())],
      });
    });
  }

  /** An account keeps at least one owner, so someone can always manage it. */
  private async keepAnOwner(repos: Store['repos'], accountId: string): Promise<void> {
    if ((await repos.memberships.countWithRole(accountId, 'owner')) <= 1)
      throw new AppError('conflict', 'This is the account\u2019s last owner: make someone else owner first.');
  }
}

function parseExpiry(value: string | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw fieldError('/expiresAt', `'${value}' is not an ISO 8601 date-time`);
  return ms;
}
