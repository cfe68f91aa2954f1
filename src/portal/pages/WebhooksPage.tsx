import { useState } from 'react';
import type { DeliveryPage, Webhook, WebhookDelivery, WebhookWithSecret } from '../../contract/webhooks';
import { NOTICE_TYPES } from '../../domain/notice-types';
import { ApiError, accountPath, describeError } from '../lib/api';
import { useApp } from '../lib/app-context';
import { formatDateTime } from '../lib/format';
import { useResource } from '../lib/use-resource';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icons';
import { Badge, Banner, ErrorBanner, Field, FieldError, SecretValue, Spinner, Switch } from '../components/ui';
import { ConfirmDialog, useToast } from '../components/widgets';
import { isMissingEndpoint } from './ExternalKeysPage';

/** What each event tells of, for the subscription checkboxes. */
const EVENT_HINT: Record<string, string> = {
  'key.created': 'a key was created',
  'key.updated': 'a key was changed (name, access, active…)',
  'key.deleted': 'a key was deleted',
  'key.secret_reset': 'a key got a new secret',
  'key.regenerated': 'a key was replaced by a new one',
  'key.expiring': 'a key expires soon',
  'key.expired': 'a key has expired',
  'key.leaked': 'a key was found published',
  'key.credits_low': 'a key is running out of credits',
  'grant.created': 'a key of another account got access',
  'grant.updated': "an external key's access changed",
  'grant.deleted': "an external key's access was removed",
  'webhook.test': 'test pings (always sent by “Send test”)',
};

/** The events of an endpoint in a few words: all of them, or the first three and how many more. */
function eventSummary(events: readonly string[]): string {
  if (NOTICE_TYPES.every((t) => t === 'webhook.test' || events.includes(t))) return 'All events';
  return events.length <= 3 ? events.join(', ') : `${events.slice(0, 3).join(', ')} +${events.length - 3} more`;
}

const STATUS_TONE = { delivered: 'green', pending: 'amber', failed: 'red' } as const;

/**
 * The account's webhook endpoints: where Keyport POSTs signed events about its keys, whether
 * deliveries reach them, and each endpoint's delivery log.
 */
export function WebhooksPage() {
  const { api, account } = useApp();
  const toast = useToast();
  const base = `${accountPath(account!.id)}/webhooks`;
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Webhook | null>(null);
  const [removing, setRemoving] = useState<Webhook | null>(null);
  const [issued, setIssued] = useState<{ secret: string; webhook: Webhook; rotated: boolean } | null>(null);
  const [rotating, setRotating] = useState<Webhook | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const { data, error, reload } = useResource(() => api.get<{ items: Webhook[] }>(base), [api, base]);
  const items = data?.items ?? null;
  const shown = items?.find((w) => w.id === selected) ?? null;

  const sendTest = async (webhook: Webhook) => {
    try {
      await api.post(`${base}/${encodeURIComponent(webhook.id)}/test`);
      toast(`Test ping queued for ${webhook.url}.`);
      setSelected(webhook.id);
    } catch (err) {
      toast(`No ping sent: ${describeError(err)}`, 'error');
    }
  };

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Webhooks</h1>
          <p className="muted">Keyport POSTs signed events about {account!.name}'s keys to these URLs (Standard Webhooks signatures; see the README).</p>
        </div>
        {!isMissingEndpoint(error) && (
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" size={16} />
            <span>Add endpoint</span>
          </button>
        )}
      </div>
      {items?.some((w) => w.failing) && (
        <Banner tone="warning" title="An endpoint is failing">
          Deliveries to {items.filter((w) => w.failing).map((w) => w.url).join(', ')} kept failing for 3 days and were given up. Fix the receiver, then retry them from its delivery log.
        </Banner>
      )}
      {isMissingEndpoint(error) ? null : error ? (
        <ErrorBanner error={error} />
      ) : items === null ? (
        <Spinner label="Loading webhooks" />
      ) : items.length === 0 ? (
        <div className="empty-state">
          <h2>No webhook endpoints</h2>
          <p>Add an endpoint to hear of key changes in your own systems as they happen.</p>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="key-table">
            <caption className="visually-hidden">Webhook endpoints of {account!.name}</caption>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((w) => (
                <tr key={w.id} aria-selected={w.id === selected}>
                  <td data-label="URL">
                    <strong className="webhook-url">{w.url}</strong>
                    {w.description && <div className="muted small">{w.description}</div>}
                  </td>
                  <td data-label="Events" title={w.events.join(', ')}>
                    {eventSummary(w.events)}
                  </td>
                  <td data-label="State">
                    {!w.active ? <Badge>Off</Badge> : w.failing ? <Badge tone="red" title={`Since ${formatDateTime(w.failingSince!)}`}>Failing</Badge> : <Badge tone="green">Active</Badge>}
                  </td>
                  <td className="col-actions">
                    <button type="button" className="button button-ghost button-small" onClick={() => setSelected(w.id === selected ? null : w.id)} aria-label={`Deliveries of ${w.url}`}>
                      Deliveries
                    </button>
                    <button type="button" className="button button-ghost button-small" onClick={() => void sendTest(w)} aria-label={`Send a test ping to ${w.url}`}>
                      Send test
                    </button>
                    <button type="button" className="button button-ghost button-small" onClick={() => setEditing(w)} aria-label={`Edit ${w.url}`}>
                      Edit
                    </button>
                    <button type="button" className="button button-ghost button-small" onClick={() => setRotating(w)} aria-label={`New secret for ${w.url}`}>
                      New secret
                    </button>
                    <button type="button" className="button button-ghost button-small" onClick={() => setRemoving(w)} aria-label={`Delete ${w.url}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && <DeliveryLog key={shown.id} webhook={shown} onChanged={reload} />}
      {(creating || editing) && (
        <WebhookDialog
          webhook={editing}
          onClose={() => {
            setCreating(false);
            setEditing(null);
          }}
          onCreated={(answer) => {
            setCreating(false);
            setIssued({ ...answer, rotated: false });
            reload();
          }}
          onUpdated={(webhook) => {
            setEditing(null);
            toast(`Endpoint ${webhook.url} saved.`);
            reload();
          }}
        />
      )}
      {issued && (
        <Dialog
          title={issued.rotated ? 'New signing secret' : 'Endpoint added'}
          description="Copy the signing secret now: it is shown this once. Your receiver verifies every delivery with it."
          onClose={() => setIssued(null)}
          footer={
            <button type="button" className="button button-primary" onClick={() => setIssued(null)}>
              Done
            </button>
          }
        >
          <p>
            <strong>{issued.webhook.url}</strong>
          </p>
          <SecretValue value={issued.secret} label="signing secret" initiallyVisible />
          {issued.rotated && issued.webhook.previousSecretExpiresAt && (
            <p className="muted small">The previous secret keeps signing alongside until {formatDateTime(issued.webhook.previousSecretExpiresAt)}.</p>
          )}
        </Dialog>
      )}
      {rotating && (
        <ConfirmDialog
          title={`New signing secret for ${rotating.url}?`}
          confirmLabel="Make a new secret"
          tone="default"
          onClose={() => setRotating(null)}
          onConfirm={async () => {
            const answer = await api.post<WebhookWithSecret>(`${base}/${encodeURIComponent(rotating.id)}/rotate-secret`, { graceSeconds: 86_400 });
            setRotating(null);
            setIssued({ ...answer, rotated: true });
            reload();
          }}
        >
          <p>Deliveries carry signatures with both the new and the old secret for one day, so your receiver can switch over without missing one.</p>
        </ConfirmDialog>
      )}
      {removing && (
        <ConfirmDialog
          title={`Delete the endpoint ${removing.url}?`}
          confirmLabel="Delete endpoint"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await api.del(`${base}/${encodeURIComponent(removing.id)}`);
            toast(`Endpoint ${removing.url} deleted.`);
            if (selected === removing.id) setSelected(null);
            setRemoving(null);
            reload();
          }}
        >
          <p>
            <strong>This action is irrevocable.</strong> No more events are sent to it, and its delivery log is deleted with it.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Add an endpoint, or change one (`webhook` given). */
function WebhookDialog({ webhook, onClose, onCreated, onUpdated }: { webhook: Webhook | null; onClose: () => void; onCreated: (answer: WebhookWithSecret) => void; onUpdated: (webhook: Webhook) => void }) {
  const { api, account } = useApp();
  const base = `${accountPath(account!.id)}/webhooks`;
  const [url, setUrl] = useState(webhook?.url ?? 'https://');
  const [description, setDescription] = useState(webhook?.description ?? '');
  const [events, setEvents] = useState<Set<string>>(new Set(webhook?.events ?? NOTICE_TYPES.filter((t) => t !== 'webhook.test')));
  const [active, setActive] = useState(webhook?.active ?? true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const problem = error instanceof ApiError ? error : null;

  const submit = async () => {
    setBusy(true);
    setError(null);
    const chosen = NOTICE_TYPES.filter((t) => events.has(t));
    try {
      if (webhook) onUpdated(await api.patch<Webhook>(`${base}/${encodeURIComponent(webhook.id)}`, { url, events: chosen, description: description || null, active }));
      else onCreated(await api.post<WebhookWithSecret>(base, { url, events: chosen, ...(description ? { description } : {}) }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={webhook ? 'Edit endpoint' : 'Add a webhook endpoint'}
      description="Events are POSTed as JSON to this URL, signed with the endpoint's secret."
      onClose={onClose}
      onSubmit={submit}
      busy={busy}
      size="lg"
      footer={
        <>
          <button type="button" className="button button-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : webhook ? 'Save' : 'Add endpoint'}
          </button>
        </>
      }
    >
      <ErrorBanner error={problem && problem.fieldProblems.length && problem.unclaimed(['/url', '/events']).length === 0 ? null : error} />
      <Field label="URL" required error={problem?.forField('/url')} hint="https:// only; addresses inside private networks are refused.">
        {(props) => <input {...props} type="url" value={url} onChange={(e) => setUrl(e.target.value)} spellCheck={false} autoComplete="off" />}
      </Field>
      <Field label="Description" optional>
        {(props) => <input {...props} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} />}
      </Field>
      <fieldset className={`field ${problem?.forField('/events') ? 'field-invalid' : ''}`}>
        <legend className="field-label">Events</legend>
        <ul className="scope-list">
          {NOTICE_TYPES.map((type) => (
            <li key={type}>
              <label className="scope-item">
                <input
                  type="checkbox"
                  value={type}
                  checked={events.has(type)}
                  onChange={(e) =>
                    setEvents((s) => {
                      const next = new Set(s);
                      if (e.target.checked) next.add(type);
                      else next.delete(type);
                      return next;
                    })
                  }
                />
                <code>{type}</code>
                <span className="muted">{EVENT_HINT[type]}</span>
              </label>
            </li>
          ))}
        </ul>
        {problem?.forField('/events') && <FieldError>{events.size === 0 ? 'Pick at least one event.' : problem.forField('/events')}</FieldError>}
      </fieldset>
      {webhook && <Switch checked={active} onChange={setActive} label="Active" description="Switched off, the endpoint gets no new deliveries." />}
    </Dialog>
  );
}

/** One endpoint's deliveries, newest first, with their last attempt and a way to send one again. */
function DeliveryLog({ webhook, onChanged }: { webhook: Webhook; onChanged: () => void }) {
  const { api, account } = useApp();
  const toast = useToast();
  const path = `${accountPath(account!.id)}/webhooks/${encodeURIComponent(webhook.id)}/deliveries`;
  const [cursor, setCursor] = useState<string | null>(null);
  const { data, error, reload, loading } = useResource(() => api.get<DeliveryPage>(path, { limit: 25, ...(cursor ? { cursor } : {}) }), [api, path, cursor]);

  const retry = async (delivery: WebhookDelivery) => {
    try {
      await api.post(`${path}/${encodeURIComponent(delivery.id)}/retry`);
      toast(`Delivery of ${delivery.type} queued again.`);
      reload();
      onChanged();
    } catch (err) {
      toast(`Not queued: ${describeError(err)}`, 'error');
    }
  };

  return (
    <section className="card" aria-label={`Delivery log of ${webhook.url}`}>
      <div className="page-header">
        <h2>Delivery log · {webhook.url}</h2>
        <button type="button" className="button button-secondary button-small" onClick={reload} disabled={loading}>
          Refresh
        </button>
      </div>
      {error ? (
        <ErrorBanner error={error} />
      ) : data === null ? (
        <Spinner label="Loading deliveries" />
      ) : data.items.length === 0 ? (
        <p className="muted">No deliveries yet. Use “Send test” to send a ping.</p>
      ) : (
        <div className="table-wrap">
          <table className="key-table delivery-table">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Response</th>
                <th scope="col">Last attempt</th>
                <th scope="col">Next attempt</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((d) => (
                <tr key={d.id}>
                  <td data-label="Event">
                    <code>{d.type}</code>
                    <div className="muted small">{formatDateTime(d.createdAt)}</div>
                  </td>
                  <td data-label="Status">
                    <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>
                  </td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Response">
                    {d.lastStatusCode !== null ? `HTTP ${d.lastStatusCode}` : d.lastError ? '' : '—'}
                    {d.lastDurationMs !== null && <span className="muted small"> · {d.lastDurationMs} ms</span>}
                    {d.lastError && d.lastStatusCode === null && <div className="muted small">{d.lastError}</div>}
                  </td>
                  <td data-label="Last attempt">{d.lastAttemptAt ? formatDateTime(d.lastAttemptAt) : '—'}</td>
                  <td data-label="Next attempt">{d.nextAttemptAt ? formatDateTime(d.nextAttemptAt) : '—'}</td>
                  <td className="col-actions">
                    {d.status !== 'pending' && (
                      <button type="button" className="button button-ghost button-small" onClick={() => void retry(d)} aria-label={`Send ${d.type} again`}>
                        Send again
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data?.nextCursor && (
        <button type="button" className="button button-secondary button-small" onClick={() => setCursor(data.nextCursor)}>
          Older deliveries
        </button>
      )}
    </section>
  );
}
