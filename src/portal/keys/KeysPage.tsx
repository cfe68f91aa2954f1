import { useEffect, useState } from 'react';
import { ApiError, describeError } from '../lib/api';
import { useApp } from '../lib/app-context';
import { ENVIRONMENT_LABEL, plural } from '../lib/format';
import { href, navigate, useLocation } from '../lib/router';
import type { CredentialType, Key } from '../lib/types';
import { useResource } from '../lib/use-resource';
import { Icon } from '../components/Icons';
import { Banner, ErrorBanner, Spinner } from '../components/ui';
import { Tabs, tabPanelProps, useToast, type MenuItem } from '../components/widgets';
import { KeyDialogs, dialogFor, type DialogState } from './KeyDialogs';
import { KeyFilters } from './KeyFilters';
import { LimitNote, TYPE_LABEL, TYPE_NOUN, type KeyAction } from './KeyFormDialog';
import { EmptyKeys, KeyTable } from './KeyTable';
import { PAGE_SIZES, clearedFilters, expiryParams, extraFilterCount, hasFilters, keyQueryParams, listParams, parseKeyQuery, type KeyQuery } from './query';

/** The expiry banner counts the keys that expire within this many days. */
const EXPIRY_BANNER_DAYS = 7;

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

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<DialogState | null>(null);
  const [showMore, setShowMore] = useState(extraFilterCount(query) > 0);
  const accountId = member!.id;

  // The list follows the URL: any change of tab, filter, sort or page reloads it. Selected rows
  // that are no longer on the page are unselected.
  const list = useResource(() => api.keys.list(accountId, listParams(parseKeyQuery(new URLSearchParams(location.search)), environment)), [api, accountId, environment, location.search], {
    onLoaded: (result) => setSelected((sel) => new Set([...sel].filter((id) => result.items.some((k) => k.id === id)))),
  });
  const { data: page, error, loading } = list;
  // The limit note and the create form need the counts and the account's settings: read again
  // after every change made here, with the list.
  const [changes, setChanges] = useState(0);
  const counts = useResource(() => api.keys.counts(accountId), [api, accountId, changes]).data;
  const account = useResource(() => api.accounts.get(accountId), [api, accountId, changes]).data;
  // Keys of this tab and environment about to expire: one page of up to 200 is enough to count them for a banner.
  const expiring = useResource(
    () => api.keys.list(accountId, { environment, credentialType, ...expiryParams({ expiresWithin: String(EXPIRY_BANNER_DAYS), expiresBefore: '' }), limit: 200 }),
    [api, accountId, environment, credentialType, changes],
  ).data;
  const reload = () => {
    setChanges((n) => n + 1);
    list.reload();
  };

  // A link to one key (from the usage page) opens its details over the list.
  const openId = location.params.get('open');
  useEffect(() => {
    if (!openId) return;
    api.keys.get(accountId, openId).then(
      (key) => setDialog({ type: 'details', key }),
      (err) => toast(`That key cannot be shown: ${describeError(err)}`, 'error'),
    );
    const params = new URLSearchParams(location.search);
    params.delete('open');
    navigate(`${location.path}${params.size ? `?${params}` : ''}`, { replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [openId]);

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

  const toggleActive = async (key: Key) => {
    try {
      await api.keys.update(accountId, key.id, { active: !key.active });
      toast(`“${key.name}” ${key.active ? 'deactivated' : 'activated'}.`);
      reload();
    } catch (err) {
      toast(`“${key.name}” was not changed: ${describeError(err)}`, 'error');
    }
  };

  const openAction = (action: KeyAction, key: Key) => setDialog(dialogFor(action, key));

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

      {expiring && expiring.items.length > 0 && query.expiresWithin !== String(EXPIRY_BANNER_DAYS) && (
        <Banner
          tone="warning"
          title={`${expiring.nextCursor ? `${expiring.items.length}+` : expiring.items.length} ${expiring.items.length === 1 && !expiring.nextCursor ? 'key expires' : 'keys expire'} within ${EXPIRY_BANNER_DAYS} days`}
          action={
            <a
              className="button button-secondary button-small"
              href={href(location.path, keyQueryParams({ ...clearedFilters(query), expiresWithin: String(EXPIRY_BANNER_DAYS) }, environment))}
              onClick={(e) => {
                e.preventDefault();
                setQuery({ ...clearedFilters(query), expiresWithin: String(EXPIRY_BANNER_DAYS) });
                setShowMore(true);
              }}
            >
              Show them
            </a>
          }
        >
          {TYPE_LABEL[credentialType]}s in {ENVIRONMENT_LABEL[environment].toLowerCase()} that stop working soon. Extend their expiry or replace them before they lapse.
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
        {!emptyAccount && <KeyFilters query={query} setQuery={setQuery} showMore={showMore} setShowMore={setShowMore} error={error instanceof ApiError ? error : null} />}

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

      <KeyDialogs
        dialog={dialog}
        setDialog={setDialog}
        credentialType={credentialType}
        account={account}
        counts={counts}
        onChanged={reload}
        onDeleted={() => setSelected(new Set())}
      />
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

