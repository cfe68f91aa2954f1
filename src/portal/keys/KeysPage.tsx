import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, accountPath, describeError, keyPath } from '../lib/api';
import { useApp } from '../lib/app-context';
import { ENVIRONMENT_LABEL, KIND_LABEL, capitalize, formatDate, formatDateTime, formatRelative, mask, plural } from '../lib/format';
import { href, navigate, useLocation } from '../lib/router';
import type { Account, Catalog, CredentialType, IssuedKey, Key, KeyCounts, KeyPage } from '../lib/types';
import { Icon } from '../components/Icons';
import { Badge, Banner, ErrorBanner, FieldError, SecretValue, Spinner } from '../components/ui';
import { Menu, Tabs, tabPanelProps, useToast, type MenuItem } from '../components/widgets';
import { DeleteDialog, QuickstartDialog, RegenerateDialog, ResetDialog, SecretDialog, VerifyDialog, type SecretReason } from './dialogs';
import { KeyFormDialog, LimitNote, TYPE_LABEL, TYPE_NOUN, type KeyAction } from './KeyFormDialog';
import { PAGE_SIZES, clearedFilters, extraFilterCount, hasFilters, keyQueryParams, listParams, parseKeyQuery, type KeyQuery, type SortColumn } from './query';

type DialogState =
  | { type: 'create' }
  | { type: 'details'; key: Key }
  | { type: 'secret'; issued: IssuedKey; reason: SecretReason }
  | { type: 'quickstart'; key: Key; secret: string | null }
  | { type: 'verify'; key: Key }
  | { type: 'reset'; key: Key }
  | { type: 'regenerate'; key: Key }
  | { type: 'delete'; keys: Key[] };

const TAB_TYPE: Record<KeyQuery['type'], CredentialType> = { rest: 'client_secret', token: 'token' };

/**
 * The keys of the current account and environment: a tab per credential type, filters, search,
 * sort and pages (all in the URL), row actions, bulk delete, and every dialog of a key's life.
 */
export function KeysPage() {
  const { api, account: member, environment, can, catalog } = useApp();
  const toast = useToast();
  const location = useLocation();
  const query = parseKeyQuery(location.params);
  const credentialType = TAB_TYPE[query.type];
  const stack = ((location.state as { stack?: string[] } | null)?.stack ?? []) as string[];

  const [page, setPage] = useState<KeyPage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [counts, setCounts] = useState<KeyCounts | null>(null);
  const [account, setAccount] = useState<Account | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<DialogState | null>(null);
  const [reloads, setReloads] = useState(0);
  const [showMore, setShowMore] = useState(extraFilterCount(query) > 0);
  const reload = useCallback(() => setReloads((n) => n + 1), []);
  const accountId = member!.id;

  // The list follows the URL: any change of tab, filter, sort or page reloads it.
  useEffect(() => {
    let current = true;
    setLoading(true);
    api
      .get<KeyPage>(`${accountPath(accountId)}/keys`, listParams(parseKeyQuery(new URLSearchParams(location.search)), environment))
      .then((result) => {
        if (!current) return;
        setPage(result);
        setError(null);
        setSelected((sel) => new Set([...sel].filter((id) => result.items.some((k) => k.id === id))));
      })
      .catch((err) => current && setError(err))
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [api, accountId, environment, location.search, reloads]);

  useEffect(() => {
    api.get<KeyCounts>(`${accountPath(accountId)}/keys/counts`).then(setCounts, () => setCounts(null));
    api.get<Account>(accountPath(accountId)).then(setAccount, () => setAccount(null));
  }, [api, accountId, reloads]);

  const setQuery = (patch: Partial<KeyQuery>, options: { replace?: boolean } = {}) => {
    const next = { ...query, cursor: '', ...patch };
    navigate(href(location.path, keyQueryParams(next, environment)), { replace: options.replace });
  };

  const goNext = () => {
    if (!page?.nextCursor) return;
    navigate(href(location.path, keyQueryParams({ ...query, cursor: page.nextCursor }, environment)), { state: { stack: [...stack, query.cursor] } });
    document.getElementById('main')?.focus();
  };
  const goPrevious = () => {
    const previous = stack[stack.length - 1] ?? '';
    navigate(href(location.path, keyQueryParams({ ...query, cursor: previous }, environment)), { state: { stack: stack.slice(0, -1) } });
  };

  const items = page?.items ?? [];
  const selectedKeys = items.filter((k) => selected.has(k.id));
  const filtered = hasFilters(query);
  const emptyAccount = page !== null && items.length === 0 && !query.cursor && !filtered;
  const canCreate = can('keys.edit') && member!.eligible;

  const afterIssued = (issued: IssuedKey, reason: SecretReason) => {
    setDialog({ type: 'secret', issued, reason });
    reload();
  };

  const toggleActive = async (key: Key) => {
    try {
      await api.patch<Key>(keyPath(accountId, key.id), { active: !key.active });
      toast(`“${key.name}” ${key.active ? 'deactivated' : 'activated'}.`);
      reload();
    } catch (err) {
      toast(`“${key.name}” was not changed: ${describeError(err)}`, 'error');
    }
  };

  const openAction = (action: KeyAction, key: Key) => setDialog(action === 'quickstart' ? { type: 'quickstart', key, secret: null } : { type: action, key });

  const rowActions = (key: Key): MenuItem[] => [
    { label: can('keys.edit') ? 'Edit' : 'View details', icon: 'edit', onSelect: () => setDialog({ type: 'details', key }) },
    { label: key.active ? 'Deactivate' : 'Activate', icon: 'power', onSelect: () => void toggleActive(key), hidden: !can('keys.edit') },
    { label: 'Quick start', icon: 'code', onSelect: () => openAction('quickstart', key) },
    { label: 'Verify a secret', icon: 'verify', onSelect: () => openAction('verify', key), hidden: !key.hasSecret },
    { label: key.hasSecret ? 'Reset secret' : 'Create secret', icon: 'refresh', onSelect: () => openAction('reset', key), hidden: !can('keys.renew') },
    { label: 'Regenerate client ID and secret', icon: 'key', onSelect: () => openAction('regenerate', key), hidden: !can('keys.renew') || key.credentialType !== 'client_secret' },
    { label: 'Delete', icon: 'trash', tone: 'danger', onSelect: () => setDialog({ type: 'delete', keys: [key] }), hidden: !can('keys.edit') },
  ];

  const typeLabel = TYPE_LABEL[credentialType];
  const envLabel = ENVIRONMENT_LABEL[environment];

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>API keys</h1>
          <p className="muted">
            Credentials your integrations use to call the platform’s APIs in <strong>{envLabel.toLowerCase()}</strong>.
          </p>
          {member!.eligible && <LimitNote used={counts?.counts[environment] ?? null} limit={counts?.limit ?? null} environment={environment} />}
        </div>
        {canCreate && (
          <button type="button" className="button button-primary" onClick={() => setDialog({ type: 'create' })}>
            <Icon name="plus" size={16} />
            <span>New {TYPE_NOUN[credentialType]}</span>
          </button>
        )}
      </div>

      {!member!.eligible && !emptyAccount && (
        <Banner tone="warning" title="This account cannot create API keys">
          The platform has not enabled API access for {member!.name}. Existing keys are listed here; ask the platform operator to make the account eligible.
        </Banner>
      )}

      <Tabs<KeyQuery['type']>
        label="Credential type"
        idBase="keys"
        selected={query.type}
        onSelect={(type) => setQuery({ type })}
        tabs={[
          { id: 'rest', label: <TabLabel title="REST keys" sub="Client ID + secret" /> },
          { id: 'token', label: <TabLabel title="Token keys" sub="One key string" /> },
        ]}
      />
      <section {...tabPanelProps('keys', query.type)} className="panel">
        {!emptyAccount && <Filters query={query} setQuery={setQuery} showMore={showMore} setShowMore={setShowMore} error={error instanceof ApiError ? error : null} />}

        {selectedKeys.length > 0 && (
          <div className="bulk-bar" role="region" aria-label="Selected keys">
            <span aria-live="polite">{plural(selectedKeys.length, 'key')} selected</span>
            <button type="button" className="button button-danger button-small" onClick={() => setDialog({ type: 'delete', keys: selectedKeys })}>
              <Icon name="trash" size={16} />
              <span>Delete selected</span>
            </button>
            <button type="button" className="button button-ghost button-small" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          </div>
        )}

        {error && !(error instanceof ApiError && error.fieldProblems.some((p) => p.pointer.startsWith('/querystring/'))) ? (
          <ErrorBanner
            error={error}
            extra={
              <button type="button" className="button button-secondary button-small banner-retry" onClick={reload}>
                Try again
              </button>
            }
          />
        ) : null}

        {page === null && loading && <Spinner label="Loading keys" />}
        {page !== null && emptyAccount && (
          <EmptyKeys
            credentialType={credentialType}
            environment={envLabel}
            eligible={member!.eligible}
            canEdit={can('keys.edit')}
            accountName={member!.name}
            onCreate={() => setDialog({ type: 'create' })}
          />
        )}
        {page !== null && !emptyAccount && items.length === 0 && (
          <div className="empty-state empty-state-small">
            <h2>No keys match these filters</h2>
            <p>Nothing in {envLabel.toLowerCase()} matches. Change the search or the filters, or clear them.</p>
            <button type="button" className="button button-secondary" onClick={() => setQuery(clearedFilters(query))}>
              Clear filters
            </button>
          </div>
        )}
        {items.length > 0 && (
          <KeyTable
            items={items}
            query={query}
            credentialType={credentialType}
            catalog={catalog}
            selected={selected}
            setSelected={setSelected}
            canSelect={can('keys.edit')}
            onSort={(sort) => setQuery({ sort })}
            onOpen={(key) => setDialog({ type: 'details', key })}
            rowActions={rowActions}
            busy={loading}
            caption={`${typeLabel}s in ${envLabel}`}
          />
        )}

        {page !== null && (items.length > 0 || query.cursor) && (
          <nav className="pagination" aria-label="Pages">
            <label className="page-size">
              <span>Rows per page</span>
              <select value={query.limit} onChange={(e) => setQuery({ limit: Number(e.target.value) })}>
                {PAGE_SIZES.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <span className="muted small" aria-live="polite">
              {query.cursor && stack.length ? `Page ${stack.length + 1}` : !query.cursor ? 'Page 1' : ''}
            </span>
            <div className="pagination-buttons">
              <button type="button" className="button button-secondary button-small" onClick={goPrevious} disabled={!query.cursor}>
                <Icon name="chevronLeft" size={16} />
                <span>{query.cursor && stack.length === 0 ? 'First page' : 'Previous'}</span>
              </button>
              <button type="button" className="button button-secondary button-small" onClick={goNext} disabled={!page.nextCursor}>
                <span>Next</span>
                <Icon name="chevronRight" size={16} />
              </button>
            </div>
          </nav>
        )}
      </section>

      {dialog?.type === 'create' && (
        <KeyFormDialog
          mode="create"
          credentialType={credentialType}
          account={account}
          counts={counts}
          onClose={() => setDialog(null)}
          onCreated={(issued) => {
            toast(`${TYPE_LABEL[issued.key.credentialType]} “${issued.key.name}” created.`);
            afterIssued(issued, 'created');
          }}
        />
      )}
      {dialog?.type === 'details' && (
        <KeyFormDialog
          mode="edit"
          credentialType={dialog.key.credentialType}
          keyItem={dialog.key}
          account={account}
          counts={counts}
          onClose={() => setDialog(null)}
          onUpdated={(key) => {
            toast(`“${key.name}” saved.`);
            setDialog(null);
            reload();
          }}
          onAction={openAction}
        />
      )}
      {dialog?.type === 'secret' && (
        <SecretDialog issued={dialog.issued} reason={dialog.reason} onClose={() => setDialog(null)} onQuickstart={(key, secret) => setDialog({ type: 'quickstart', key, secret })} />
      )}
      {dialog?.type === 'quickstart' && <QuickstartDialog keyItem={dialog.key} initialSecret={dialog.secret} onClose={() => setDialog(null)} onActivated={reload} />}
      {dialog?.type === 'verify' && <VerifyDialog keyItem={dialog.key} onClose={() => setDialog(null)} />}
      {dialog?.type === 'reset' && <ResetDialog keyItem={dialog.key} onClose={() => setDialog(null)} onDone={(issued) => afterIssued(issued, 'reset')} />}
      {dialog?.type === 'regenerate' && <RegenerateDialog keyItem={dialog.key} onClose={() => setDialog(null)} onDone={(issued) => afterIssued(issued, 'regenerated')} />}
      {dialog?.type === 'delete' && (
        <DeleteDialog
          keys={dialog.keys}
          onClose={() => setDialog(null)}
          onDone={(deleted) => {
            toast(deleted.length === 1 ? `“${dialog.keys[0]!.name}” deleted.` : `${plural(deleted.length, 'key')} deleted.`);
            setDialog(null);
            setSelected(new Set());
            reload();
          }}
        />
      )}
    </div>
  );
}

function TabLabel({ title, sub }: { title: string; sub: string }) {
  return (
    <span className="tab-label">
      <span>{title}</span>
      <span className="tab-sub">{sub}</span>
    </span>
  );
}

/** Search, kind and status always in view; channel and date ranges one click away. Everything goes into the URL. */
function Filters({
  query,
  setQuery,
  showMore,
  setShowMore,
  error,
}: {
  query: KeyQuery;
  setQuery: (patch: Partial<KeyQuery>, options?: { replace?: boolean }) => void;
  showMore: boolean;
  setShowMore: (v: boolean) => void;
  error: ApiError | null;
}) {
  const [search, setSearch] = useState(query.q);
  const [channel, setChannel] = useState(query.channel);
  const timer = useRef<number | undefined>(undefined);
  // What this box last put into the URL: a URL change that is not that one came from elsewhere
  // (back button, "Clear filters") and replaces the text; an echo of typing must not.
  const pushed = useRef({ q: query.q, channel: query.channel });
  useEffect(() => {
    if (query.q !== pushed.current.q) setSearch(query.q);
    if (query.channel !== pushed.current.channel) setChannel(query.channel);
    pushed.current = { q: query.q, channel: query.channel };
  }, [query.q, query.channel]);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const debounced = (patch: { q?: string; channel?: string }) => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      pushed.current = { ...pushed.current, ...patch };
      setQuery(patch, { replace: true });
    }, 300);
  };
  const rangeError = (from: string, to: string) => (from && to && from > to ? 'The start is after the end: no key can match.' : undefined);
  const apiErrorFor = (field: string) => error?.forField(`/querystring/${field}`);
  const createdError = rangeError(query.createdFrom, query.createdTo) ?? apiErrorFor('createdFrom') ?? apiErrorFor('createdTo');
  const updatedError = rangeError(query.updatedFrom, query.updatedTo) ?? apiErrorFor('updatedFrom') ?? apiErrorFor('updatedTo');
  const more = extraFilterCount(query);

  return (
    <div className="filters">
      <div className="filters-row">
        <div className="input-icon search">
          <Icon name="search" size={16} />
          <input
            type="search"
            aria-label="Search keys by name"
            placeholder="Search by name"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              debounced({ q: e.target.value });
            }}
          />
        </div>
        <fieldset className="segmented segmented-small">
          <legend className="visually-hidden">Kind</legend>
          {(['', 'admin', 'storefront', 'custom'] as const).map((k) => (
            <label key={k || 'all'} className={`segment ${query.kind === k ? 'is-selected' : ''}`}>
              <input type="radio" name="filter-kind" checked={query.kind === k} onChange={() => setQuery({ kind: k })} />
              <span>{k ? KIND_LABEL[k] : 'All kinds'}</span>
            </label>
          ))}
        </fieldset>
        <fieldset className="segmented segmented-small">
          <legend className="visually-hidden">Status</legend>
          {(['', 'active', 'inactive'] as const).map((s) => (
            <label key={s || 'all'} className={`segment ${query.status === s ? 'is-selected' : ''}`}>
              <input type="radio" name="filter-status" checked={query.status === s} onChange={() => setQuery({ status: s })} />
              <span>{s === '' ? 'Any status' : s === 'active' ? 'Active' : 'Inactive'}</span>
            </label>
          ))}
        </fieldset>
        <button type="button" className="button button-ghost button-small" aria-expanded={showMore} aria-controls="more-filters" onClick={() => setShowMore(!showMore)}>
          <Icon name="filter" size={16} />
          <span>More filters{more ? ` (${more})` : ''}</span>
        </button>
        {hasFilters(query) && (
          <button type="button" className="button button-ghost button-small" onClick={() => setQuery(clearedFilters(query))}>
            Clear filters
          </button>
        )}
      </div>
      {showMore && (
        <div className="filters-more" id="more-filters">
          <div className="field">
            <label className="field-label" htmlFor="filter-channel">
              Channel
            </label>
            <input
              id="filter-channel"
              value={channel}
              placeholder="Any channel"
              onChange={(e) => {
                setChannel(e.target.value);
                debounced({ channel: e.target.value });
              }}
            />
          </div>
          <fieldset className={`field date-range ${createdError ? 'field-invalid' : ''}`}>
            <legend className="field-label">Created</legend>
            <div className="date-range-inputs">
              <input type="date" aria-label="Created from" value={query.createdFrom} max={query.createdTo || undefined} onChange={(e) => setQuery({ createdFrom: e.target.value })} aria-invalid={createdError ? true : undefined} />
              <span aria-hidden="true">–</span>
              <input type="date" aria-label="Created to" value={query.createdTo} min={query.createdFrom || undefined} onChange={(e) => setQuery({ createdTo: e.target.value })} aria-invalid={createdError ? true : undefined} />
            </div>
            {createdError && <FieldError>{createdError}</FieldError>}
          </fieldset>
          <fieldset className={`field date-range ${updatedError ? 'field-invalid' : ''}`}>
            <legend className="field-label">Updated</legend>
            <div className="date-range-inputs">
              <input type="date" aria-label="Updated from" value={query.updatedFrom} max={query.updatedTo || undefined} onChange={(e) => setQuery({ updatedFrom: e.target.value })} aria-invalid={updatedError ? true : undefined} />
              <span aria-hidden="true">–</span>
              <input type="date" aria-label="Updated to" value={query.updatedTo} min={query.updatedFrom || undefined} onChange={(e) => setQuery({ updatedTo: e.target.value })} aria-invalid={updatedError ? true : undefined} />
            </div>
            {updatedError && <FieldError>{updatedError}</FieldError>}
          </fieldset>
        </div>
      )}
    </div>
  );
}

const COLUMNS: { column: SortColumn; label: string; firstDescending: boolean }[] = [
  { column: 'name', label: 'Name', firstDescending: false },
  { column: 'active', label: 'Status', firstDescending: true },
  { column: 'channel', label: 'Channel', firstDescending: false },
  { column: 'createdAt', label: 'Created', firstDescending: true },
  { column: 'updatedAt', label: 'Updated', firstDescending: true },
  { column: 'lastUsedAt', label: 'Last used', firstDescending: true },
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

function KeyTable({
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
function EmptyKeys({ credentialType, environment, eligible, canEdit, accountName, onCreate }: { credentialType: CredentialType; environment: string; eligible: boolean; canEdit: boolean; accountName: string; onCreate: () => void }) {
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
