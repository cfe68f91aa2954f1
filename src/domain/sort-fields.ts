/**
 * The fields a key listing sorts by: the one list the API's schema, the service, the portal and
 * the CLI use. A module of its own with no imports, so the portal loads only this.
 */
export const SORT_FIELDS = ['name', 'active', 'channel', 'createdAt', 'updatedAt', 'lastUsedAt', 'credits'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

/** The order of a listing that names none: newest first. */
export const DEFAULT_SORT = '-createdAt';
