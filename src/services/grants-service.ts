import type { CreateGrantInput, ExternalKey, UpdateGrantInput } from '../contract/grants.js';
import { grantedScopes, type Catalog, type RoleAssignment } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import { AppError, fieldError, notFound } from '../domain/errors.js';
import { checkRoleDefinitions } from '../domain/key-rules.js';
import { newId } from '../domain/ids.js';
import type { KeyRecord } from '../domain/model.js';
import type { Actor } from '../domain/principal.js';
import type { GrantRecord } from '../storage/operator-repositories.js';
import type { Store } from '../storage/repositories.js';
import { grantChangeEvents } from './change-events.js';
import { iso } from './key-view.js';
import type { Outbox } from './outbox.js';


/**
 * External keys: account A grants a key of account B roles in A's resources. B's key then gets
 * tokens for A (resource = A) with the granted roles' scopes only. A switches grants off or removes
 * them; B keeps its secret to itself. Every change commits with its audit entry and its events
 * (switching a grant off stops its tokens on every node: see grantChangeEvents).
 */
export class GrantsService {
  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly outbox: Outbox,
  ) {}

  private view(grant: GrantRecord, key: KeyRecord): ExternalKey {
    return {
      grantId: grant.id,
      active: grant.active,
      roles: grant.roles,
      grantedScopes: this.scopes(grant),
      createdAt: iso(grant.createdAt)!,
      updatedAt: iso(grant.updatedAt)!,
      createdBy: grant.createdBy,
      key: { id: key.id, accountId: key.accountId, name: key.name, environment: key.environment, credentialType: key.credentialType, clientId: key.clientId, active: key.active },
    };
  }

  /** The scopes a grant gives, in catalog order. */
  scopes(grant: GrantRecord): string[] {
    return grantedScopes(this.catalog, 'custom', [], grant.roles);
  }

  private checkRoles(roles: RoleAssignment[]): RoleAssignment[] {
    if (roles.length === 0) throw fieldError('/roles', 'a grant needs at least one role');
    checkRoleDefinitions(this.catalog, roles);
    return roles.map((r) => ({ definition: r.definition, level: r.level }));
  }

  /** `key` is the other account's key id or client id. */
  async create(accountId: string, input: CreateGrantInput, actor: Actor): Promise<ExternalKey> {
    const roles = this.checkRoles(input.roles);
    const key = (await this.store.repos.keys.findById(input.key)) ?? (await this.store.repos.keys.findByClientId(input.key));
    if (!key) throw new AppError('not_found', `No key '${input.key}' exists (give the key id or client id the other account shared).`, [{ pointer: '/key', detail: 'unknown key' }]);
    if (key.accountId === accountId) throw fieldError('/key', 'is a key of this account: give it roles directly instead of a grant');
    // Grants work through access tokens asked for with resource=<account>: only client_secret keys ask for tokens.
    if (key.credentialType !== 'client_secret') throw fieldError('/key', 'is a token key: only client_secret keys can obtain tokens for another account');
    const now = this.clock.now();
    const grant: GrantRecord = { id: newId('grant'), accountId, keyId: key.id, roles, active: true, createdAt: now, updatedAt: now, createdBy: actor.principal.id };
    await this.store.transaction(async (repos) => {
      if (await repos.grants.findFor(accountId, key.id))
        throw new AppError('conflict', 'This key already has a grant in this account; change that grant instead.', [{ pointer: '/key', detail: 'already granted' }]);
      await repos.grants.insert(grant);
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId, action: 'grant.create', keyId: key.id, targetId: grant.id, after: { roles, active: true, keyAccount: key.accountId } } },
        events: grantChangeEvents({ type: 'created', after: grant }, now),
        notices: [{ accountId, type: 'grant.created', data: this.view(grant, key) }],
      });
    });
    return this.view(grant, key);
  }

  async list(accountId: string): Promise<ExternalKey[]> {
    const grants = await this.store.repos.grants.ofAccount(accountId);
    const out: ExternalKey[] = [];
    for (const g of grants) {
      const key = await this.store.repos.keys.findById(g.keyId);
      if (key) out.push(this.view(g, key));
    }
    return out;
  }

  async update(accountId: string, grantId: string, input: UpdateGrantInput, actor: Actor): Promise<ExternalKey> {
    const roles = input.roles === undefined ? undefined : this.checkRoles(input.roles);
    const { after, key } = await this.store.transaction(async (repos) => {
      const before = await repos.grants.find(accountId, grantId);
      if (!before) throw notFound('Grant', grantId);
      // updatedAt is the grant's version, carried by its tokens: it must grow with every change, so
      // that tokens issued after a switch-on are told apart from those a switch-off stopped.
      const updatedAt = Math.max(this.clock.now(), before.updatedAt + 1);
      const after: GrantRecord = { ...before, active: input.active ?? before.active, roles: roles ?? before.roles, updatedAt };
      await repos.grants.update(after);
      const key = (await repos.keys.findById(before.keyId))!;
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId, action: 'grant.update', keyId: before.keyId, targetId: grantId, before: { active: before.active, roles: before.roles }, after: { active: after.active, roles: after.roles } } },
        events: grantChangeEvents({ type: 'updated', before, after }, this.clock.now()),
        notices: [{ accountId, type: 'grant.updated', data: this.view(after, key) }],
      });
      return { before, after, key };
    });
    return this.view(after, key);
  }

  async delete(accountId: string, grantId: string, actor: Actor): Promise<void> {
    await this.store.transaction(async (repos) => {
      const before = await repos.grants.find(accountId, grantId);
      if (!before) throw notFound('Grant', grantId);
      const key = await repos.keys.findById(before.keyId);
      await repos.grants.delete(accountId, grantId);
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId, action: 'grant.delete', keyId: before.keyId, targetId: grantId, before: { active: before.active, roles: before.roles } } },
        events: grantChangeEvents({ type: 'deleted', before }, this.clock.now()),
        notices: key ? [{ accountId, type: 'grant.deleted', data: this.view(before, key) }] : [],
      });
    });
  }

  /** The active grant of `keyId` in `accountId`, for the token endpoint and verification; undefined when none. */
  async activeGrant(accountId: string, keyId: string): Promise<GrantRecord | undefined> {
    const grant = await this.store.repos.grants.findFor(accountId, keyId);
    return grant?.active ? grant : undefined;
  }
}
