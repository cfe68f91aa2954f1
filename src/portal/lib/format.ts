import type { Environment, Kind } from './types';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const formatDateTime = (iso: string) => dateTime.format(new Date(iso));
export const formatDate = (iso: string) => dateOnly.format(new Date(iso));

/** "3 minutes ago", "in 2 days": for last use and expiry, next to the exact time in a title. */
export function formatRelative(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 365 * 86400],
    ['month', 30 * 86400],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) if (abs >= size) return relative.format(Math.round(seconds / size), unit);
  return 'just now';
}

/** 3600 -> "1 hour", 5400 -> "90 minutes", 86400 * 30 -> "30 days". */
export function formatDuration(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds % 86400 === 0) return plural(seconds / 86400, 'day');
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

export const ENVIRONMENT_LABEL: Record<Environment, string> = { sandbox: 'Sandbox', production: 'Production' };

export const KIND_LABEL: Record<Kind, string> = { admin: 'Admin', storefront: 'Storefront', custom: 'Custom' };

export const KIND_DESCRIPTION: Record<Kind, string> = {
  admin: 'Full access to this account: every scope of every service.',
  storefront: 'The public shop set: browse products, read prices, fill a cart.',
  custom: 'Only the scopes and roles you pick, from any service.',
};

/** Masks a credential for display: keeps the prefix (kpid_test_) so people can tell keys apart. */
export function mask(value: string): string {
  const prefix = /^[a-z]+_(test|live)_/.exec(value)?.[0] ?? '';
  return `${prefix}${'•'.repeat(8)}${value.slice(-4)}`;
}

/** A local `yyyy-mm-dd` date (for <input type="date">) from an ISO timestamp. */
export function toDateInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The start of a local day as an ISO timestamp. */
export function startOfLocalDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y!, m! - 1, d!, 0, 0, 0, 0).toISOString();
}

/** The end of a local day as an ISO timestamp: an expiry date picked in a form means "through that day". */
export function endOfLocalDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y!, m! - 1, d!, 23, 59, 59, 999).toISOString();
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "viewer" -> "Viewer": built-in role and level names as labels. */
export const capitalize = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);
