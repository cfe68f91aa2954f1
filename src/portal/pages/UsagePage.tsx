import { useState } from 'react';
import type { UsageGranularity, UsageOutcome } from '../../domain/verification';
import { USAGE_OUTCOMES } from '../../domain/verification';
import { useApp } from '../lib/app-context';
import { ENVIRONMENT_LABEL, formatRelative, plural } from '../lib/format';
import { href, linkHandler } from '../lib/router';
import { useResource } from '../lib/use-resource';
import { ErrorBanner, NotAvailable, Spinner } from '../components/ui';
import { OUTCOME, PeriodSwitch, UsageChart } from '../usage/outcomes';
import { isMissingEndpoint } from './ExternalKeysPage';

const DAY_MS = 86_400_000;

/**
 * How the account's keys are used in the current environment: requests over time with refusals
 * by reason, the most used keys, and the keys nobody used for 30 days (candidates to delete).
 */
export function UsagePage() {
  const { api, account, environment } = useApp();
  const [granularity, setGranularity] = useState<UsageGranularity>('hour');
  const accountId = account!.id;
  const usage = useResource(() => api.usage(accountId, { environment, granularity, top: 10 }), [api, accountId, environment, granularity]);
  // "Never used in 30 days" is about the keys, not the period shown: its own question.
  const idle = useResource(
    () => api.keys.list(accountId, { environment, unusedSince: new Date(Date.now() - 30 * DAY_MS).toISOString(), sort: 'name', limit: 25 }),
    [api, accountId, environment],
  );
  const data = usage.data;
  const envLabel = ENVIRONMENT_LABEL[environment].toLowerCase();
  const refusals = data ? USAGE_OUTCOMES.filter((o): o is Exclude<UsageOutcome, 'valid'> => o !== 'valid' && data.totals.counts[o] > 0).sort((a, b) => data.totals.counts[b] - data.totals.counts[a] || OUTCOME[a].label.localeCompare(OUTCOME[b].label)) : [];
  const refusedTotal = data ? data.totals.total - data.totals.counts.valid : 0;
  const keyLink = (keyId: string) => href(`/accounts/${encodeURIComponent(accountId)}/keys`, { env: environment, open: keyId });

  if (isMissingEndpoint(usage.error)) return <NotAvailable what="Usage analytics" />;
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Usage</h1>
          <p className="muted">
            Verifications and token requests of {account!.name}’s keys in <strong>{envLabel}</strong>. Counts arrive within a few seconds.
          </p>
        </div>
        <PeriodSwitch value={granularity} onChange={setGranularity} label="Period" />
      </div>
      <ErrorBanner error={usage.error} />
      {data === null && usage.loading && <Spinner label="Loading usage" />}
      {data && (
        <>
          <section className="panel">
            <UsageChart usage={data} title={granularity === 'hour' ? 'Requests per hour, all keys' : 'Requests per day, all keys'} />
          </section>
          <div className="usage-grid">
            <section className="panel" aria-labelledby="refusals-title">
              <h2 id="refusals-title">Refusal reasons</h2>
              {refusals.length === 0 ? (
                <p className="muted">No refusals in this period.</p>
              ) : (
                <ul className="reason-list">
                  {refusals.map((o) => (
                    <li key={o}>
                      {/* The chart's colour, set through the CSSOM (allowed by the CSP, unlike a style attribute in markup). */}
                      <span className="reason-swatch" aria-hidden="true" style={{ background: OUTCOME[o].color }} />
                      <span className="reason-label">{OUTCOME[o].label}</span>
                      <span className="reason-count">{data.totals.counts[o]}</span>
                      <span className="muted small">{Math.round((data.totals.counts[o] / refusedTotal) * 100)} %</span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section className="panel" aria-labelledby="top-keys-title">
              <h2 id="top-keys-title">Most used keys</h2>
              {data.keys.length === 0 ? (
                <p className="muted">No key was used in this period.</p>
              ) : (
                <table className="simple-table">
                  <caption className="visually-hidden">Most used keys in {envLabel}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Key</th>
                      <th scope="col" className="num">Requests</th>
                      <th scope="col" className="num">Refused</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.keys.map((k) => (
                      <tr key={k.keyId}>
                        <td>{k.name === null ? <span className="muted">Deleted key</span> : <a href={keyLink(k.keyId)} onClick={linkHandler(keyLink(k.keyId))}>{k.name}</a>}</td>
                        <td className="num">{k.total}</td>
                        <td className="num">{k.total - k.counts.valid}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      )}
      <section className="panel" aria-labelledby="idle-title">
        <h2 id="idle-title">Not used in 30 days</h2>
        <ErrorBanner error={idle.error} />
        {idle.data && idle.data.items.length === 0 && <p className="muted">Every key in {envLabel} was used in the last 30 days.</p>}
        {idle.data && idle.data.items.length > 0 && (
          <>
            <p className="muted small">
              {idle.data.nextCursor ? 'More than ' : ''}
              {plural(idle.data.items.length, 'key')} nobody used for 30 days or more. Keys that are not needed are safer deleted.
            </p>
            <ul className="idle-list">
              {idle.data.items.map((k) => (
                <li key={k.id}>
                  <a href={keyLink(k.id)} onClick={linkHandler(keyLink(k.id))}>
                    {k.name}
                  </a>
                  <span className="muted small">{k.lastUsedAt ? `last used ${formatRelative(k.lastUsedAt)}` : 'never used'}</span>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </div>
  );
}
