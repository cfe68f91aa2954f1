import { useState } from 'react';
import { accountPath } from '../lib/api';
import { useApp } from '../lib/app-context';
import { useResource } from '../lib/use-resource';
import { endOfLocalDay, formatDateTime, startOfLocalDay } from '../lib/format';
import { href, navigate, useLocation } from '../lib/router';
import type { AuditEntry } from '../lib/types';
import { Icon } from '../components/Icons';
import { ErrorBanner, NotAvailable, Spinner } from '../components/ui';
import { isMissingEndpoint } from './ExternalKeysPage';

const FILTERS = ['action', 'actor', 'key', 'from', 'to'] as const;

/** Who changed what, when and from where: filterable and paged, with the filters in the URL. */
export function AuditPage() {
  const { api, account, environment } = useApp();
  const location = useLocation();
  const params = location.params;
  const cursor = params.get('cursor') ?? '';
  const stack = ((location.state as { stack?: string[] } | null)?.stack ?? []) as string[];
  const [draft, setDraft] = useState(() => Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>);

  const { data, error } = useResource(() => {
    const p = new URLSearchParams(location.search);
    const from = p.get('from');
    const to = p.get('to');
    return api.get<{ items: AuditEntry[]; nextCursor: string | null }>(`${accountPath(account!.id)}/audit`, {
        limit: 50,
        cursor: p.get('cursor') ?? undefined,
        action: p.get('action') ?? undefined,
        actor: p.get('actor') ?? undefined,
        key: p.get('key') ?? undefined,
        from: from ? startOfLocalDay(from) : undefined,
      to: to ? endOfLocalDay(to) : undefined,
    });
  }, [api, account, location.search]);

  const go = (query: Record<string, string>, state?: unknown) => navigate(href(location.path, { env: environment, ...query }), { state });
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? '']));

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Audit log</h1>
          <p className="muted">Every change to keys, settings, operators and grants of {account!.name}: who, when, from where and what changed. Secrets never appear here.</p>
        </div>
      </div>
      {isMissingEndpoint(error) ? (
        <NotAvailable what="The audit log" />
      ) : (
        <>
          <form
            className="filters filters-row"
            onSubmit={(e) => {
              e.preventDefault();
              go(draft);
            }}
          >
            <label className="field compact">
              <span className="field-label">Action</span>
              <input value={draft.action} placeholder="e.g. key.created" onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
            </label>
            <label className="field compact">
              <span className="field-label">Actor</span>
              <input value={draft.actor} placeholder="Operator or token id" onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />
            </label>
            <label className="field compact">
              <span className="field-label">Key</span>
              <input value={draft.key} placeholder="key_…" onChange={(e) => setDraft({ ...draft, key: e.target.value })} />
            </label>
            <label className="field compact">
              <span className="field-label">From</span>
              <input type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
            </label>
            <label className="field compact">
              <span className="field-label">To</span>
              <input type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
            </label>
            <button type="submit" className="button button-secondary button-small">
              Apply
            </button>
          </form>
          <ErrorBanner error={error} />
          {!data && !error && <Spinner label="Loading the audit log" />}
          {data && data.items.length === 0 && (
            <div className="empty-state empty-state-small">
              <h2>No entries</h2>
              <p>Nothing recorded matches these filters.</p>
            </div>
          )}
          {data && data.items.length > 0 && (
            <div className="table-wrap">
              <table className="key-table audit-table">
                <caption className="visually-hidden">Audit log entries, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Who</th>
                    <th scope="col">Key</th>
                    <th scope="col">From</th>
                    <th scope="col">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((entry) => (
                    <tr key={entry.id}>
                      <td data-label="When">
                        <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
                      </td>
                      <td data-label="Action">
                        <code>{entry.action}</code>
                      </td>
                      <td data-label="Who">{entry.actor.label || entry.actor.id}</td>
                      <td data-label="Key">{entry.keyId ? <code>{entry.keyId}</code> : <span className="muted">—</span>}</td>
                      <td data-label="From">{entry.sourceIp ?? <span className="muted">—</span>}</td>
                      <td data-label="Change">
                        <Change before={entry.before} after={entry.after} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {data && (cursor || data.nextCursor) && (
            <nav className="pagination" aria-label="Pages">
              <span />
              <div className="pagination-buttons">
                <button type="button" className="button button-secondary button-small" disabled={!cursor} onClick={() => go({ ...filters, cursor: stack[stack.length - 1] ?? '' }, { stack: stack.slice(0, -1) })}>
                  <Icon name="chevronLeft" size={16} />
                  <span>Newer</span>
                </button>
                <button type="button" className="button button-secondary button-small" disabled={!data.nextCursor} onClick={() => go({ ...filters, cursor: data.nextCursor! }, { stack: [...stack, cursor] })}>
                  <span>Older</span>
                  <Icon name="chevronRight" size={16} />
                </button>
              </div>
            </nav>
          )}
        </>
      )}
    </div>
  );
}

/** Bookkeeping fields every entry has: not what a person looks for in a change. */
const HIDDEN = new Set(['id', 'accountId', 'createdAt', 'updatedAt', 'createdBy', 'lastUsedAt']);
/** What a person looks for first. */
const PREFERRED = ['name', 'email', 'role', 'active', 'environment', 'kind', 'credentialType', 'channel', 'scopes', 'roles', 'expiresAt'];

/** The fields that changed between before and after, as "field: old → new", the telling ones first. */
function Change({ before, after }: { before: unknown; after: unknown }) {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || typeof a !== 'object') return null;
  const show = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
  const rank = (f: string) => (PREFERRED.indexOf(f) + PREFERRED.length + 1) % (PREFERRED.length + 1);
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((f) => JSON.stringify(b[f]) !== JSON.stringify(a[f]) && !HIDDEN.has(f))
    .sort((x, y) => rank(x) - rank(y));
  if (fields.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="change-list">
      {fields.slice(0, 5).map((f) => (
        <li key={f}>
          <span className="muted">{f}:</span> {before ? show(b[f]) : ''}
          {before && after ? ' → ' : ''}
          {after ? show(a[f]) : ''}
        </li>
      ))}
      {fields.length > 5 && <li className="muted">and {fields.length - 5} more</li>}
    </ul>
  );
}
