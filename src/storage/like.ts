import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * `column LIKE 'prefix<text>suffix' ESCAPE '\'`, where `%`, `_` and `\` in `text` match themselves
 * (a search for `50%` or `erp_sync` finds exactly that). The ESCAPE clause is spelled out: SQLite
 * has no default escape character, PostgreSQL's is the backslash.
 */
export function likeLiteral(column: string, prefix: '' | '%', text: string, suffix: '' | '%' | '.%'): RawBuilder<SqlBool> {
  const escaped = likeEscape(text);
  return sql<SqlBool>`${sql.ref(column)} like ${`${prefix}${escaped}${suffix}`} escape '\\'`;
}

/** `text` with `%`, `_` and `\` escaped by a backslash, for a LIKE pattern with `escape '\'`. */
export const likeEscape = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);
