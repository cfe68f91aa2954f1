import { DEFAULT_SORT, SORT_FIELDS as SORTABLE } from '../../domain/sort-fields';
import { endOfLocalDay, startOfLocalDay } from '../lib/format';
import { KINDS, type CredentialType, type Environment, type Kind } from '../lib/types';

/** The keys view as the URL holds it: tab, filters, sort, page size and page. */
export interface KeyQuery {
  type: 'rest' | 'token';
  kind: Kind | '';
  status: 'active' | 'inactive' | '';
  channel: string;
  q: string;
  createdFrom: string;
  createdTo: string;
  updatedFrom: string;
  updatedTo: string;
  /** Keys that expire (or expired) before this day: a date, or ''. */
  expiresBefore: string;
  /** Keys that have not expired and expire within this many days (the expiry banner's link): digits, or ''. */
  expiresWithin: string;
  sort: string;
  limit: number;
  cursor: string;
}

export type { SortField as SortColumn } from '../../domain/sort-fields';
export const PAGE_SIZES = [10, 25, 50, 100] as const;
const DEFAULT_LIMIT = 25;

const isDate = (v: string | null) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '');

export function parseKeyQuery(params: URLSearchParams): KeyQuery {
  const kind = params.get('kind');
  const status = params.get('status');
  const sort = params.get('sort') ?? DEFAULT_SORT;
  const limit = Number(params.get('limit'));
  return {
    type: params.get('type') === 'token' ? 'token' : 'rest',
    kind: (KINDS as readonly (string | null)[]).includes(kind) ? (kind as Kind) : '',
    status: status === 'active' || status === 'inactive' ? status : '',
    channel: params.get('channel') ?? '',
    q: params.get('q') ?? '',
    createdFrom: isDate(params.get('createdFrom')),
    createdTo: isDate(params.get('createdTo')),
    updatedFrom: isDate(params.get('updatedFrom')),
    updatedTo: isDate(params.get('updatedTo')),
    expiresBefore: isDate(params.get('expiresBefore')),
    expiresWithin: /^[1-9]\d{0,3}$/.test(params.get('expiresWithin') ?? '') ? params.get('expiresWithin')! : '',
    sort: (SORTABLE as readonly string[]).includes(sort.replace(/^-/, '')) ? sort : DEFAULT_SORT,
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_LIMIT,
    cursor: params.get('cursor') ?? '',
  };
}

/** The URL parameters of a view (defaults left out, so links stay short). */
export function keyQueryParams(query: KeyQuery, environment: Environment): Record<string, string | undefined> {
  return {
    env: environment,
    type: query.type === 'token' ? 'token' : undefined,
    kind: query.kind || undefined,
    status: query.status || undefined,
    channel: query.channel || undefined,
    q: query.q || undefined,
    createdFrom: query.createdFrom || undefined,
    createdTo: query.createdTo || undefined,
    updatedFrom: query.updatedFrom || undefined,
    updatedTo: query.updatedTo || undefined,
    expiresBefore: query.expiresBefore || undefined,
    expiresWithin: query.expiresWithin || undefined,
    sort: query.sort === DEFAULT_SORT ? undefined : query.sort,
    limit: query.limit === DEFAULT_LIMIT ? undefined : String(query.limit),
    cursor: query.cursor || undefined,
  };
}

/** The API's list parameters for a view. */
export function listParams(query: KeyQuery, environment: Environment): Record<string, string | number | boolean | undefined> {
  const credentialType: CredentialType = query.type === 'token' ? 'token' : 'client_secret';
  return {
    environment,
    credentialType,
    kind: query.kind || undefined,
    active: query.status === '' ? undefined : query.status === 'active',
    channel: query.channel.trim() || undefined,
    q: query.q.trim() || undefined,
    // Dates picked in the form are days where the operator is: send the exact instants.
    createdFrom: query.createdFrom ? startOfLocalDay(query.createdFrom) : undefined,
    createdTo: query.createdTo ? endOfLocalDay(query.createdTo) : undefined,
    updatedFrom: query.updatedFrom ? startOfLocalDay(query.updatedFrom) : undefined,
    updatedTo: query.updatedTo ? endOfLocalDay(query.updatedTo) : undefined,
    ...expiryParams(query),
    sort: query.sort,
    limit: query.limit,
    cursor: query.cursor || undefined,
  };
}

/**
 * The expiry filters as the API takes them: "within N days" is the window from now to N days on
 * (keys already expired left out); "before a day" is the start of that day where the operator is.
 */
export function expiryParams(query: Pick<KeyQuery, 'expiresBefore' | 'expiresWithin'>, now = Date.now()): { expiresBefore?: string; expiresAfter?: string } {
  if (query.expiresWithin) return { expiresAfter: new Date(now).toISOString(), expiresBefore: new Date(now + Number(query.expiresWithin) * 86_400_000).toISOString() };
  if (query.expiresBefore) return { expiresBefore: startOfLocalDay(query.expiresBefore) };
  return {};
}

/** Filters that narrow the list (not the tab, sort or page): an empty list then says "no match", not "no keys". */
export function hasFilters(query: KeyQuery): boolean {
  return !!(query.kind || query.status || query.channel || query.q || query.createdFrom || query.createdTo || query.updatedFrom || query.updatedTo || query.expiresBefore || query.expiresWithin);
}

export function extraFilterCount(query: KeyQuery): number {
  return [query.channel, query.createdFrom, query.createdTo, query.updatedFrom, query.updatedTo, query.expiresBefore || query.expiresWithin].filter(Boolean).length;
}

export const clearedFilters = (query: KeyQuery): KeyQuery => ({
  ...query,
  kind: '',
  status: '',
  channel: '',
  q: '',
  createdFrom: '',
  createdTo: '',
  updatedFrom: '',
  updatedTo: '',
  expiresBefore: '',
  expiresWithin: '',
  cursor: '',
});
