import { useEffect, useRef, useState } from 'react';
import type { ApiError } from '../lib/api';
import { KIND_LABEL } from '../lib/format';
import { KINDS } from '../lib/types';
import { Icon } from '../components/Icons';
import { FieldError } from '../components/ui';
import { clearedFilters, extraFilterCount, hasFilters, type KeyQuery } from './query';

/** Search, kind and status always in view; channel and date ranges one click away. Everything goes into the URL. */
export function KeyFilters({
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
          {(['', ...KINDS] as const).map((k) => (
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
          <div className={`field ${apiErrorFor('expiresBefore') ? 'field-invalid' : ''}`}>
            <label className="field-label" htmlFor="filter-expires-before">
              Expires before
            </label>
            {query.expiresWithin ? (
              <p className="muted small" id="filter-expires-before">
                Within {query.expiresWithin} {query.expiresWithin === '1' ? 'day' : 'days'} from now.{' '}
                <button type="button" className="link-button" onClick={() => setQuery({ expiresWithin: '' })}>
                  Remove
                </button>
              </p>
            ) : (
              <input id="filter-expires-before" type="date" value={query.expiresBefore} onChange={(e) => setQuery({ expiresBefore: e.target.value })} />
            )}
            {apiErrorFor('expiresBefore') && <FieldError>{apiErrorFor('expiresBefore')}</FieldError>}
          </div>
        </div>
      )}
    </div>
  );
}
