import { AppError } from './errors.js';

/**
 * Page cursors of keyset pagination, for every listing: opaque to clients (base64url of JSON),
 * holding where the previous page stopped and the order of the listing they belong to, so a cursor
 * carried over to another sort order is refused instead of skipping or repeating rows.
 */

/** Where the previous page stopped: the sort value(s) and id of its last row. */
export type CursorPosition = Record<string, string | number | null>;

/** The cursor after a page whose last row is at `position`, in a listing sorted by `order`. */
export function encodeCursor(order: string, position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ s: order, ...position })).toString('base64url');
}

const FOREIGN = 'The cursor is not one this API returned; pass nextCursor from the previous page unchanged.';

/**
 * The position a cursor holds. `read` takes the decoded fields and returns the position, or null
 * when they are not what this listing writes. Refusals are `invalid_cursor` pointing at `/cursor`.
 */
export function decodeCursor<T>(value: string, order: string, read: (fields: Record<string, unknown>) => T | null): T {
  const invalid = (detail: string) => new AppError('invalid_cursor', detail, [{ pointer: '/cursor', detail }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw invalid(FOREIGN);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(FOREIGN);
  const fields = parsed as Record<string, unknown>;
  const position = read(fields);
  if (position === null) throw invalid(FOREIGN);
  if (fields.s !== order) throw invalid('The cursor belongs to a listing with another sort order; keep the same sort while paging.');
  return position;
}

/**
 * One page of a keyset listing: `rows` were fetched with one row more than `limit`, which tells
 * whether there is a next page without a count query.
 */
export function pageOf<R, V>(rows: readonly R[], limit: number, view: (row: R) => V, cursorAfter: (last: R) => string): { items: V[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map(view), nextCursor: rows.length > limit && last !== undefined ? cursorAfter(last) : null };
}
