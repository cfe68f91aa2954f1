import type { Kysely, Selectable, Transaction } from 'kysely';
import type { RoleAssignment } from '../domain/catalog.js';
import type { Permission } from '../domain/principal.js';
import { likeLiteral } from './like.js';
import type { AuditLogTable, Database, GrantsTable, OperatorsTable, SessionsTable } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type OperatorRecord = Selectable<OperatorsTable>;

export class OperatorsRepository {
  constructor(private readonly db: Executor) {}

  async insert(op: OperatorRecord): Promise<void> {
    await this.db.insertInto('operators').values(op).execute();
  }
  async find(id: string): Promise<OperatorRecord | undefined> {
    return this.db.selectFrom('operators').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async findByEmail(email: string): Promise<OperatorRecord | undefined> {
    return this.db.selectFrom('operators').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
  }
}

export interface MembershipRecord {
  accountId: string;
  operatorId: string;
  role: string;
  createdAt: number;
}

export class MembershipsRepository {
  constructor(private readonly db: Executor) {}

  async upsert(m: MembershipRecord): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values(m)
      .onConflict((oc) => oc.columns(['accountId', 'operatorId']).doUpdateSet({ role: m.role }))
      .execute();
  }
  async find(accountId: string, operatorId: string): Promise<MembershipRecord | undefined> {
    return this.db.selectFrom('memberships').selectAll().where('accountId', '=', accountId).where('operatorId', '=', operatorId).executeTakeFirst();
  }
  async ofOperator(operatorId: string): Promise<MembershipRecord[]> {
    return this.db.selectFrom('memberships').selectAll().where('operatorId', '=', operatorId).execute();
  }
  async ofAccount(accountId: string): Promise<(MembershipRecord & { email: string; name: string })[]> {
    return this.db
      .selectFrom('memberships')
      .innerJoin('operators', 'operators.id', 'memberships.operatorId')
      .select(['memberships.accountId', 'memberships.operatorId', 'memberships.role', 'memberships.createdAt', 'operators.email', 'operators.name'])
      .where('memberships.accountId', '=', accountId)
      .orderBy('operators.email')
      .execute();
  }
  async countWithRole(accountId: string, role: string): Promise<number> {
    const row = await this.db
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('accountId', '=', accountId)
      .where('role', '=', role)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
  async delete(accountId: string, operatorId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('memberships').where('accountId', '=', accountId).where('operatorId', '=', operatorId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

export interface CustomRoleRecord {
  id: string;
  accountId: string;
  name: string;
  permissions: Permission[];
  createdAt: number;
}

export class CustomRolesRepository {
  constructor(private readonly db: Executor) {}

  async insert(r: CustomRoleRecord): Promise<void> {
    await this.db.insertInto('customRoles').values({ ...r, permissions: JSON.stringify(r.permissions) }).execute();
  }
  async ofAccount(accountId: string): Promise<CustomRoleRecord[]> {
    const rows = await this.db.selectFrom('customRoles').selectAll().where('accountId', '=', accountId).orderBy('name').execute();
    return rows.map((r) => ({ ...r, permissions: JSON.parse(r.permissions) as Permission[] }));
  }
  async ofAccounts(accountIds: readonly string[]): Promise<CustomRoleRecord[]> {
    if (accountIds.length === 0) return [];
    const rows = await this.db.selectFrom('customRoles').selectAll().where('accountId', 'in', accountIds).execute();
    return rows.map((r) => ({ ...r, permissions: JSON.parse(r.permissions) as Permission[] }));
  }
}

export type SessionRecord = Selectable<SessionsTable>;

export class SessionsRepository {
  constructor(private readonly db: Executor) {}

  async insert(s: SessionRecord): Promise<void> {
    await this.db.insertInto('sessions').values(s).execute();
  }
  async findByHash(tokenHash: string): Promise<SessionRecord | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('tokenHash', '=', tokenHash).executeTakeFirst();
  }
  async deleteByHash(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('tokenHash', '=', tokenHash).execute();
  }
}

export interface GrantRecord {
  id: string;
  accountId: string;
  keyId: string;
  roles: RoleAssignment[];
  active: boolean;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

const toGrant = (row: Selectable<GrantsTable>): GrantRecord => ({
  ...row,
  roles: JSON.parse(row.roles) as RoleAssignment[],
  active: row.active === 1,
});
const fromGrant = (g: GrantRecord): GrantsTable => ({ ...g, roles: JSON.stringify(g.roles), active: g.active ? 1 : 0 });

export class GrantsRepository {
  constructor(private readonly db: Executor) {}

  async insert(g: GrantRecord): Promise<void> {
    await this.db.insertInto('grants').values(fromGrant(g)).execute();
  }
  async update(g: GrantRecord): Promise<void> {
    const { id, ...rest } = fromGrant(g);
    await this.db.updateTable('grants').set(rest).where('id', '=', id).execute();
  }
  async find(accountId: string, id: string): Promise<GrantRecord | undefined> {
    const row = await this.db.selectFrom('grants').selectAll().where('accountId', '=', accountId).where('id', '=', id).executeTakeFirst();
    return row && toGrant(row);
  }
  async findFor(accountId: string, keyId: string): Promise<GrantRecord | undefined> {
    const row = await this.db.selectFrom('grants').selectAll().where('accountId', '=', accountId).where('keyId', '=', keyId).executeTakeFirst();
    return row && toGrant(row);
  }
  async ofAccount(accountId: string): Promise<GrantRecord[]> {
    const rows = await this.db.selectFrom('grants').selectAll().where('accountId', '=', accountId).orderBy('createdAt').orderBy('id').execute();
    return rows.map(toGrant);
  }
  /** Every grant held by the key, in any account. */
  async ofKey(keyId: string): Promise<GrantRecord[]> {
    const rows = await this.db.selectFrom('grants').selectAll().where('keyId', '=', keyId).orderBy('createdAt').orderBy('id').execute();
    return rows.map(toGrant);
  }
  async delete(accountId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('grants').where('accountId', '=', accountId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

/** An audit row with its before/after read back from JSON. */
export type AuditEntry = Omit<Selectable<AuditLogTable>, 'before' | 'after'> & { before: unknown; after: unknown };

export interface AuditFilter {
  from?: number;
  to?: number;
  actor?: string;
  action?: string;
  keyId?: string;
}

const toAudit = (row: Selectable<AuditLogTable>): AuditEntry => ({
  ...row,
  before: row.before === null ? null : JSON.parse(row.before),
  after: row.after === null ? null : JSON.parse(row.after),
});

/** Append-only: there is no update or delete here, by design. */
export class AuditRepository {
  constructor(private readonly db: Executor) {}

  async append(e: AuditEntry): Promise<void> {
    await this.db
      .insertInto('auditLog')
      .values({ ...e, before: e.before === null || e.before === undefined ? null : JSON.stringify(e.before), after: e.after === null || e.after === undefined ? null : JSON.stringify(e.after) })
      .execute();
  }

  /**
   * Newest first; continues after (at, id) of the previous page's last entry. `accountId` null:
   * the platform's entries, those of no account.
   */
  async list(accountId: string | null, filter: AuditFilter, limit: number, after?: { at: number; id: string }): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('auditLog').selectAll().where('accountId', accountId === null ? 'is' : '=', accountId);
    if (filter.from !== undefined) q = q.where('at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('at', '<=', filter.to);
    if (filter.actor !== undefined) q = q.where((eb) => eb.or([eb('actorId', '=', filter.actor!), eb('actorLabel', '=', filter.actor!)]));
    if (filter.action !== undefined) q = q.where((eb) => eb.or([eb('action', '=', filter.action!), likeLiteral('action', '', filter.action!, '.%')]));
    if (filter.keyId !== undefined) q = q.where('keyId', '=', filter.keyId);
    if (after) q = q.where((eb) => eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]));
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toAudit);
  }
}
