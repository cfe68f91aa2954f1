import { useEffect, useRef } from 'react';
import { KIND_LABEL, capitalize, formatDate, formatDateTime, formatRelative, mask, plural } from '../lib/format';
import type { Catalog, CredentialType, Key } from '../lib/types';
import { Icon } from '../components/Icons';
import { Badge, SecretValue } from '../components/ui';
import { Menu, type MenuItem } from '../components/widgets';
import { TYPE_NOUN } from './KeyFormDialog';
import type { KeyQuery, SortColumn } from './query';

const COLUMNS: { column: SortColumn; label: string; firstDescending: boolean }[] = [
  { column: 'name', label: 'Name', firstDescending: false },
  { column: 'active', label: 'Status', firstDescending: true },
  { column: 'channel', label: 'Channel', firstDescending: false },
  { column: 'createdAt', label: 'Created', firstDescending: true },
  { column: 'updatedAt', label: 'Updated', firstDescending: true },
  { column: 'lastUsedAt', label: 'Last used', firstDescending: true },
  { column: 'credits', label: 'Credits left', firstDescending: false },
];

function SortHeader({ column, label, firstDescending, sort, onSort }: { column: SortColumn; label: string; firstDescending: boolean; sort: string; onSort: (sort: string) => void }) {
  const active = sort.replace(/^-/, '') === column;
  const descending = sort.startsWith('-');
  const next = active ? (descending ? column : `-${column}`) : firstDescending ? `-${column}` : column;
  return (
    <th scope="col" aria-sort={active ? (descending ? 'descending' : 'ascending') : 'none'} className={`col-${column}`}>
      <button type="button" className={`sort-button ${active ? 'is-active' : ''}`} onClick={() => onSort(next)}>
        <span>{label}</span>
        <Icon name={active ? (descending ? 'arrowDown' : 'arrowUp') : 'sort'} size={14} />
      </button>
    </th>
  );
}

export function KeyTable({
  items,
  query,
  credentialType,
  catalog,
  selected,
  setSelected,
  canSelect,
  onSort,
  onOpen,
  rowActions,
  busy,
  caption,
}: {
  items: Key[];
  query: KeyQuery;
  credentialType: CredentialType;
  catalog: Catalog | null;
  selected: Set<string>;
  setSelected: (s: Set<string>) => void;
  canSelect: boolean;
  onSort: (sort: string) => void;
  onOpen: (key: Key) => void;
  rowActions: (key: Key) => MenuItem[];
  busy: boolean;
  caption: string;
}) {
  const all = items.length > 0 && items.every((k) => selected.has(k.id));
  const some = items.some((k) => selected.has(k.id));
  const headerBox = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (headerBox.current) headerBox.current.indeterminate = some && !all;
  }, [some, all]);
  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const roleName = (id: string) => catalog?.roleDefinitions.find((d) => d.id === id)?.name ?? id;
  const now = Date.now();

  return (
    <div className={`table-wrap ${busy ? 'is-busy' : ''}`} aria-busy={busy || undefined}>
      <table className="key-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {canSelect && (
              <th scope="col" className="col-select">
                <input ref={headerBox} type="checkbox" aria-label="Select all keys on this page" checked={all} onChange={(e) => setSelected(e.target.checked ? new Set(items.map((k) => k.id)) : new Set())} />
              </th>
            )}
            <SortHeader {...COLUMNS[0]!} sort={query.sort} onSort={onSort} />
            <th scope="col" className="col-credential">
              {credentialType === 'client_secret' ? 'Client ID' : 'Roles'}
            </th>
            {COLUMNS.slice(1).map((c) => (
              <SortHeader key={c.column} {...c} sort={query.sort} onSort={onSort} />
            ))}
            <th scope="col" className="col-actions">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((key) => {
            const expired = key.expiresAt !== null && new Date(key.expiresAt).getTime() < now;
            return (
              <tr
                key={key.id}
                className={selected.has(key.id) ? 'is-selected' : undefined}
                onClick={(e) => {
                  if ((e.target as HTMLElement).closest('button, a, input, label, select, code')) return;
                  onOpen(key);
                }}
              >
                {canSelect && (
                  <td className="col-select">
                    <input type="checkbox" aria-label={`Select ${key.name}`} checked={selected.has(key.id)} onChange={(e) => toggle(key.id, e.target.checked)} />
                  </td>
                )}
                <td className="col-name" data-label="Name">
                  <button type="button" className="link-button key-name" onClick={() => onOpen(key)}>
                    {key.name}
                  </button>
                  <span className="key-badges">
                    <Badge tone={key.kind === 'admin' ? 'violet' : key.kind === 'storefront' ? 'blue' : 'neutral'}>{KIND_LABEL[key.kind]}</Badge>
                    {!key.hasSecret && (
                      <Badge tone="amber" title="Reset the secret to create one">
                        No secret yet
                      </Badge>
                    )}
                    {expired && <Badge tone="red">Expired</Badge>}
                    {key.leak && (
                      <Badge tone="red" title={`Reported found in public${key.leak.url ? ` at ${key.leak.url}` : ''} on ${formatDateTime(key.leak.reportedAt)}`}>
                        Leaked
                      </Badge>
                    )}
                    {key.previousSecretExpiresAt && <Badge tone="amber" title={`Until ${formatDateTime(key.previousSecretExpiresAt)}`}>Old secret still valid</Badge>}
                  </span>
                </td>
                <td className="col-credential" data-label={credentialType === 'client_secret' ? 'Client ID' : 'Roles'}>
                  {key.clientId ? (
                    <SecretValue value={key.clientId} label={`client ID of ${key.name}`} masked={mask(key.clientId)} />
                  ) : key.kind === 'custom' ? (
                    key.roles.length ? (
                      <span className="roles-summary">{key.roles.map((r) => `${roleName(r.definition)} · ${capitalize(r.level)}`).join(', ')}</span>
                    ) : (
                      <span className="muted">{plural(key.scopes.length, 'scope')}</span>
                    )
                  ) : (
                    <span className="muted">{key.kind === 'admin' ? 'All scopes' : 'Storefront set'}</span>
                  )}
                </td>
                <td data-label="Status">
                  <span className={`status ${key.active ? 'status-active' : 'status-inactive'}`}>{key.active ? 'Active' : 'Inactive'}</span>
                </td>
                <td data-label="Channel">{key.channel ?? <span className="muted">—</span>}</td>
                <td data-label="Created">
                  <time dateTime={key.createdAt} title={formatDateTime(key.createdAt)}>
                    {formatDate(key.createdAt)}
                  </time>
                </td>
                <td data-label="Updated">
                  <time dateTime={key.updatedAt} title={formatDateTime(key.updatedAt)}>
                    {formatDate(key.updatedAt)}
                  </time>
                </td>
                <td data-label="Last used">
                  {key.lastUsedAt ? (
                    <time dateTime={key.lastUsedAt} title={formatDateTime(key.lastUsedAt)}>
                      {formatRelative(key.lastUsedAt)}
                    </time>
                  ) : (
                    <span className="muted">Never</span>
                  )}
                </td>
                <td data-label="Credits left" className="col-credits">
                  {key.credits ? (
                    <span title={key.credits.refill ? `Refilled to ${key.credits.refill.amount} every ${key.credits.refill.interval}` : 'No refill'}>
                      <span className={key.credits.remaining === 0 ? 'credits-empty' : undefined}>{key.credits.remaining.toLocaleString()}</span>
                      {key.credits.refill && <span className="muted small"> / {key.credits.refill.interval}</span>}
                    </span>
                  ) : (
                    <span className="muted">Unlimited</span>
                  )}
                </td>
                <td className="col-actions">
                  <Menu label={`Actions for ${key.name}`} items={rowActions(key)} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** What to do first: create a key, or why this account cannot. */
export function EmptyKeys({ credentialType, environment, eligible, canEdit, accountName, onCreate }: { credentialType: CredentialType; environment: string; eligible: boolean; canEdit: boolean; accountName: string; onCreate: () => void }) {
  if (!eligible)
    return (
      <div className="empty-state">
        <div className="empty-icon empty-icon-warning">
          <Icon name="alert" size={28} />
        </div>
        <h2>{accountName} cannot create API keys</h2>
        <p>
          The platform has not enabled API access for this account, so keys cannot be created here yet. Ask the platform operator to make the account
          eligible; this page then lets you create keys.
        </p>
      </div>
    );
  const label = TYPE_NOUN[credentialType];
  return (
    <div className="empty-state">
      <div className="empty-icon">
        <Icon name="key" size={28} />
      </div>
      <h2>
        No {label}s in {environment.toLowerCase()} yet
      </h2>
      {credentialType === 'client_secret' ? (
        <p>
          A REST key is a <strong>client ID</strong> and a <strong>secret</strong>. Your integration trades them for a short-lived access token and calls the
          API with it. Create one, copy the secret when it is shown, then follow the quick start.
        </p>
      ) : (
        <p>A token key is one key string your integration sends as a bearer token. Create one, copy it when it is shown, then follow the quick start.</p>
      )}
      {canEdit ? (
        <button type="button" className="button button-primary" onClick={onCreate}>
          <Icon name="plus" size={16} />
          <span>Create your first {label}</span>
        </button>
      ) : (
        <p className="muted">You can view keys here but not create them: ask an owner of the account for the “keys.edit” permission.</p>
      )}
    </div>
  );
}
