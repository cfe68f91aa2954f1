import Type, { type Static } from 'typebox';
import type { KeyKind } from './environment.js';

export const ACCESS_LEVELS = ['viewer', 'editor', 'owner'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** A role on a key or a grant: a role definition of the catalog at one access level. */
export const RoleAssignmentSchema = Type.Object(
  {
    definition: Type.String({ minLength: 1, maxLength: 100 }),
    level: Type.Unsafe<AccessLevel>({ type: 'string', enum: ACCESS_LEVELS }),
  },
  { additionalProperties: false },
);
export type RoleAssignment = Static<typeof RoleAssignmentSchema>;

/** The catalog as written in a file: levels list the scopes each level adds to the one below. */
export interface CatalogInput {
  services: { id: string; name: string; scopes: { id: string; description: string }[] }[];
  storefrontScopes: string[];
  roleDefinitions: { id: string; name: string; levels: Record<AccessLevel, string[]> }[];
}

/** The resolved catalog: every level lists all the scopes it grants (owner ⊇ editor ⊇ viewer). */
export interface Catalog {
  services: { id: string; name: string; scopes: { id: string; description: string }[] }[];
  storefrontScopes: string[];
  roleDefinitions: { id: string; name: string; levels: { level: AccessLevel; scopes: string[] }[] }[];
  levels: readonly AccessLevel[];
  /** Every scope of every service, in catalog order. */
  allScopes: string[];
  scopeSet: ReadonlySet<string>;
  grants: ReadonlyMap<string, ReadonlyMap<AccessLevel, readonly string[]>>;
}

/** Checks a catalog input and resolves it; throws an Error naming every problem found. */
export function buildCatalog(input: CatalogInput, source = 'catalog'): Catalog {
  const problems: string[] = [];
  const fail = (msg: string) => problems.push(msg);
  if (!input || typeof input !== 'object') throw new Error(`${source}: must be a JSON object`);
  if (!Array.isArray(input.services) || input.services.length === 0) fail('services: must be a non-empty array');
  if (!Array.isArray(input.storefrontScopes)) fail('storefrontScopes: must be an array of scope ids');
  if (!Array.isArray(input.roleDefinitions)) fail('roleDefinitions: must be an array');
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);

  const allScopes: string[] = [];
  const serviceIds = new Set<string>();
  input.services.forEach((service, i) => {
    if (typeof service?.id !== 'string' || !service.id) fail(`services[${i}].id: must be a non-empty string`);
    if (serviceIds.has(service.id)) fail(`services[${i}].id: '${service.id}' is listed twice`);
    serviceIds.add(service.id);
    if (!Array.isArray(service.scopes)) return fail(`services[${i}].scopes: must be an array`);
    service.scopes.forEach((scope, j) => {
      if (typeof scope?.id !== 'string' || !/^[a-z][a-z0-9_.:-]*$/.test(scope.id))
        fail(`services[${i}].scopes[${j}].id: must be a lower-case scope id like 'product.read'`);
      else if (allScopes.includes(scope.id)) fail(`services[${i}].scopes[${j}].id: '${scope.id}' is listed twice`);
      else allScopes.push(scope.id);
    });
  });
  const scopeSet = new Set(allScopes);
  const known = (where: string, ids: unknown) => {
    if (!Array.isArray(ids)) return fail(`${where}: must be an array of scope ids`);
    for (const id of ids) if (!scopeSet.has(id)) fail(`${where}: unknown scope '${String(id)}'`);
  };
  known('storefrontScopes', input.storefrontScopes);

  const grants = new Map<string, Map<AccessLevel, string[]>>();
  const roleDefinitions: Catalog['roleDefinitions'] = [];
  input.roleDefinitions.forEach((def, i) => {
    if (typeof def?.id !== 'string' || !def.id) return fail(`roleDefinitions[${i}].id: must be a non-empty string`);
    if (grants.has(def.id)) return fail(`roleDefinitions[${i}].id: '${def.id}' is listed twice`);
    const byLevel = new Map<AccessLevel, string[]>();
    let cumulative: string[] = [];
    for (const level of ACCESS_LEVELS) {
      known(`roleDefinitions[${i}].levels.${level}`, def.levels?.[level]);
      cumulative = [...new Set([...cumulative, ...(def.levels?.[level] ?? [])])];
      byLevel.set(level, cumulative);
    }
    grants.set(def.id, byLevel);
    roleDefinitions.push({
      id: def.id,
      name: typeof def.name === 'string' ? def.name : def.id,
      levels: ACCESS_LEVELS.map((level) => ({ level, scopes: byLevel.get(level)! })),
    });
  });
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  return {
    services: input.services.map((s) => ({ id: s.id, name: s.name ?? s.id, scopes: s.scopes.map((x) => ({ id: x.id, description: x.description ?? '' })) })),
    storefrontScopes: [...input.storefrontScopes],
    roleDefinitions,
    levels: ACCESS_LEVELS,
    allScopes,
    scopeSet,
    grants,
  };
}

/** The scopes a set of roles grants. Unknown roles are ignored here: they are refused on input. */
export function scopesOfRoles(catalog: Catalog, roles: readonly RoleAssignment[]): string[] {
  const out = new Set<string>();
  for (const role of roles) for (const s of catalog.grants.get(role.definition)?.get(role.level) ?? []) out.add(s);
  return [...out];
}

/**
 * Everything a key may do: the kind's fixed set for `admin` and `storefront`, and for `custom` the
 * picked scopes plus what its roles grant. Returned in catalog order.
 */
export function grantedScopes(catalog: Catalog, kind: KeyKind, scopes: readonly string[], roles: readonly RoleAssignment[]): string[] {
  if (kind === 'admin') return catalog.allScopes;
  const set = new Set(kind === 'storefront' ? catalog.storefrontScopes : scopes);
  for (const s of scopesOfRoles(catalog, roles)) set.add(s);
  return catalog.allScopes.filter((s) => set.has(s));
}
