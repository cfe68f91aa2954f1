import { useEffect, useRef, useState } from 'react';
import { ApiError, keyPath } from '../lib/api';
import { useApp } from '../lib/app-context';
import { ENVIRONMENT_LABEL, formatDateTime, plural } from '../lib/format';
import type { IssuedKey, Key, QuickstartSample } from '../lib/types';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icons';
import { Badge, Banner, CopyButton, ErrorBanner, Field, Spinner } from '../components/ui';
import { ConfirmDialog, Tabs, tabPanelProps } from '../components/widgets';
import { TYPE_LABEL } from './KeyFormDialog';

export type SecretReason = 'created' | 'reset' | 'regenerated';

/**
 * The one moment a secret exists outside a hash: shown in full, with copy buttons, and a plain
 * warning that it will not be shown again.
 */
export function SecretDialog({ issued, reason, onClose, onQuickstart }: { issued: IssuedKey; reason: SecretReason; onClose: () => void; onQuickstart: (key: Key, secret: string) => void }) {
  const { key, secret } = issued;
  const isToken = key.credentialType === 'token';
  const what = isToken ? 'API key' : 'secret';
  const title = reason === 'created' ? `${TYPE_LABEL[key.credentialType]} “${key.name}” created` : reason === 'reset' ? 'New secret created' : 'New client ID and secret created';
  // Escape, the close button or a click outside ask first: closing loses the secret for good.
  const [asking, setAsking] = useState(false);
  const keepOpen = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) keepOpen.current?.focus();
  }, [asking]);
  return (
    <Dialog
      title={title}
      description={
        <>
          <Badge tone={key.environment === 'production' ? 'red' : 'blue'}>{ENVIRONMENT_LABEL[key.environment]}</Badge> Copy the {what} now.
        </>
      }
      onClose={onClose}
      onDismiss={secret ? () => setAsking(true) : undefined}
      size="md"
      className="secret-dialog"
      initialFocus="[data-copy]"
      footer={
        asking ? (
          <div className="close-question" role="alertdialog" aria-labelledby="close-question-text" data-testid="close-question">
            <p id="close-question-text">
              <strong>Close without the {what}?</strong> It cannot be shown again; if you have not stored it, the key needs a reset to get a new one.
            </p>
            <div className="close-question-buttons">
              <button type="button" className="button button-secondary" onClick={onClose}>
                Close anyway
              </button>
              <button ref={keepOpen} type="button" className="button button-primary" onClick={() => setAsking(false)}>
                Keep it open
              </button>
            </div>
          </div>
        ) : (
          <>
            {secret && (
              <button type="button" className="button button-secondary" onClick={() => onQuickstart(key, secret)}>
                <Icon name="code" size={16} />
                <span>Try it: quick start</span>
              </button>
            )}
            <button type="button" className="button button-primary" onClick={onClose}>
              I have stored it
            </button>
          </>
        )
      }
    >
      <Banner tone="warning" title="This is the only time you will see it">
        The {isToken ? 'API key' : 'secret'} will not be shown again, here or anywhere else: Keyport keeps only a fingerprint of it. Store it now in a password
        manager or your secret store. If it is lost, reset it to get a new one.
      </Banner>
      <dl className="credential-list credential-list-large">
        {key.clientId && (
          <div>
            <dt>Client ID</dt>
            <dd className="inline">
              <code className="credential" data-testid="issued-client-id">
                {key.clientId}
              </code>
              <CopyButton value={key.clientId} label="Copy client ID" compact />
            </dd>
          </div>
        )}
        {secret && (
          <div>
            <dt>{isToken ? 'API key' : 'Client secret'}</dt>
            <dd className="inline">
              <code className="credential credential-secret" data-testid="issued-secret">
                {secret}
              </code>
              <CopyButton value={secret} label={isToken ? 'Copy API key' : 'Copy secret'} />
            </dd>
          </div>
        )}
      </dl>
      {!key.active && (
        <Banner tone="info">
          This key is <strong>inactive</strong>: calls with it are refused until you activate it.
        </Banner>
      )}
    </Dialog>
  );
}

const LANGUAGE_LABEL: Record<QuickstartSample['language'], string> = { curl: 'curl', javascript: 'JavaScript', python: 'Python', gateway: 'Behind your gateway' };

/**
 * Ready-to-run samples for one key. The secret is a placeholder, unless the person pastes it (or
 * just created it): it is then filled in, in this browser tab only.
 */
export function QuickstartDialog({ keyItem, initialSecret, onClose, onActivated }: { keyItem: Key; initialSecret: string | null; onClose: () => void; onActivated: (key: Key) => void }) {
  const { api, account, can } = useApp();
  const [samples, setSamples] = useState<QuickstartSample[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [language, setLanguage] = useState<QuickstartSample['language']>('curl');
  const [secret, setSecret] = useState(initialSecret ?? '');
  const [key, setKey] = useState(keyItem);
  const [activating, setActivating] = useState(false);
  const isToken = key.credentialType === 'token';
  const placeholder = isToken ? '<YOUR_API_KEY>' : '<YOUR_CLIENT_SECRET>';

  useEffect(() => {
    if (!account) return;
    api
      .get<{ samples: QuickstartSample[] }>(`${keyPath(account.id, key.id)}/quickstart`)
      .then((r) => setSamples(r.samples))
      .catch(setError);
  }, [api, account, key.id]);

  const sample = samples?.find((s) => s.language === language) ?? samples?.[0];
  const code = sample ? (secret.trim() ? sample.code.split(placeholder).join(secret.trim()) : sample.code) : '';

  const activate = async () => {
    if (!account) return;
    setActivating(true);
    try {
      const updated = await api.patch<Key>(keyPath(account.id, key.id), { active: true });
      setKey(updated);
      onActivated(updated);
    } catch (err) {
      setError(err);
    } finally {
      setActivating(false);
    }
  };

  return (
    <Dialog title={`Quick start: ${key.name}`} description="Call the API with this key in three steps." onClose={onClose} size="lg" className="quickstart-dialog">
      <ErrorBanner error={error} />
      {!key.active && (
        <Banner
          tone="warning"
          title="This key is inactive"
          action={
            can('keys.edit') ? (
              <button type="button" className="button button-secondary button-small" onClick={activate} disabled={activating}>
                {activating ? 'Activating…' : 'Activate it'}
              </button>
            ) : undefined
          }
        >
          Calls with it are refused until it is activated.
        </Banner>
      )}
      <ol className="steps">
        <li>
          <Field
            label={isToken ? 'Your API key' : 'Your client secret'}
            optional
            hint={secret ? 'Filled into the samples below, in this browser tab only.' : `Paste it to fill it into the samples; otherwise replace ${placeholder} yourself.`}
          >
            {(props) => <input {...props} type="password" autoComplete="off" spellCheck={false} value={secret} onChange={(e) => setSecret(e.target.value)} />}
          </Field>
        </li>
        <li>
          <span className="step-title">Copy a sample and run it{isToken ? '' : ': it trades the client ID and secret for an access token, then calls the API with it'}.</span>
          {!samples && !error && <Spinner label="Loading samples" />}
          {samples && (
            <div className="code-tabs">
              <Tabs label="Language" idBase="quickstart" selected={language} onSelect={setLanguage} tabs={samples.map((s) => ({ id: s.language, label: LANGUAGE_LABEL[s.language] }))} />
              <div {...tabPanelProps('quickstart', language)} className="code-panel">
                <div className="code-header">
                  <span className="muted small">{sample?.title}</span>
                  <CopyButton value={code} label={`Copy ${LANGUAGE_LABEL[language]} sample`} />
                </div>
                <pre className="code" tabIndex={0} aria-label={`${LANGUAGE_LABEL[language]} sample`}>
                  <code data-testid="quickstart-code">{code}</code>
                </pre>
              </div>
            </div>
          )}
        </li>
        <li>
          <span className="step-title">Read the answer.</span>
          <span className="muted">It names the account, the environment ({ENVIRONMENT_LABEL[key.environment].toLowerCase()}) and the scopes the key may use.</span>
        </li>
      </ol>
    </Dialog>
  );
}

/** "Does this secret belong to this key?": answers matches or does not match, and keeps the input for another try. */
export function VerifyDialog({ keyItem, onClose }: { keyItem: Key; onClose: () => void }) {
  const { api, account } = useApp();
  const [secret, setSecret] = useState('');
  const [result, setResult] = useState<boolean | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const label = keyItem.credentialType === 'token' ? 'API key' : 'secret';

  const check = async () => {
    setResult(null);
    setError(null);
    if (!secret.trim()) return setFieldError(`Paste the ${label} to check.`);
    setFieldError(undefined);
    if (!account) return;
    setBusy(true);
    try {
      const { matches } = await api.post<{ matches: boolean }>(`${keyPath(account.id, keyItem.id)}/verify-secret`, { secret: secret.trim() });
      setResult(matches);
    } catch (err) {
      if (err instanceof ApiError && err.forField('/secret')) setFieldError(err.forField('/secret'));
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={`Verify a ${label}`}
      description={`Check whether a ${label} belongs to “${keyItem.name}”. Nothing changes on the key.`}
      onClose={onClose}
      onSubmit={check}
      busy={busy}
      size="sm"
      footer={
        <>
          <button type="button" className="button button-secondary" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Checking…' : 'Verify'}
          </button>
        </>
      }
    >
      <ErrorBanner error={error} />
      <Field label={label === 'secret' ? 'Secret' : 'API key'} required error={fieldError}>
        {(props) => (
          <input
            {...props}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={secret}
            onChange={(e) => {
              setSecret(e.target.value);
              setResult(null);
            }}
          />
        )}
      </Field>
      <div aria-live="polite" className="verify-result-region">
        {result === true && (
          <div className="verify-result verify-match" data-testid="verify-result">
            <Icon name="check" size={20} />
            <div>
              <strong>Matches.</strong> This is the {label} of “{keyItem.name}”.
              {keyItem.previousSecretExpiresAt && <span className="muted"> (During the grace period the previous secret matches too, until {formatDateTime(keyItem.previousSecretExpiresAt)}.)</span>}
            </div>
          </div>
        )}
        {result === false && (
          <div className="verify-result verify-mismatch" data-testid="verify-result">
            <Icon name="close" size={20} />
            <div>
              <strong>Does not match.</strong> This is not the {label} of “{keyItem.name}”. Check that it was copied whole, or reset the secret to get a new one.
            </div>
          </div>
        )}
      </div>
    </Dialog>
  );
}

const GRACE_OPTIONS = [
  { seconds: 0, label: 'Stops working at once' },
  { seconds: 3600, label: 'Keeps working for 1 hour' },
  { seconds: 86400, label: 'Keeps working for 24 hours' },
  { seconds: 7 * 86400, label: 'Keeps working for 7 days' },
];

/** Reset a secret (keeps the client ID), after a confirmation that says it cannot be undone. */
export function ResetDialog({ keyItem, onClose, onDone }: { keyItem: Key; onClose: () => void; onDone: (issued: IssuedKey) => void }) {
  const { api, account } = useApp();
  const [grace, setGrace] = useState(0);
  const label = keyItem.credentialType === 'token' ? 'API key' : 'secret';
  return (
    <ConfirmDialog
      title={keyItem.hasSecret ? `Reset the ${label} of “${keyItem.name}”?` : `Create the first ${label} of “${keyItem.name}”?`}
      confirmLabel={keyItem.hasSecret ? `Reset ${label}` : `Create ${label}`}
      onClose={onClose}
      onConfirm={async () => onDone(await api.post<IssuedKey>(`${keyPath(account!.id, keyItem.id)}/reset-secret`, { confirm: true, ...(grace ? { previousSecretValidFor: grace } : {}) }))}
    >
      {keyItem.hasSecret ? (
        <>
          <p>
            <strong>This action is irrevocable.</strong> A new {label} is created and shown once. The current one cannot be restored.
          </p>
          {keyItem.clientId && <p className="muted">The client ID stays the same.</p>}
          <Field label={`The current ${label}`}>
            {(props) => (
              <select {...props} value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
                {GRACE_OPTIONS.map((o) => (
                  <option key={o.seconds} value={o.seconds}>
                    {o.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </>
      ) : (
        <p>This key has no {label} yet. A new one is created and shown once; copy it then, it cannot be shown again.</p>
      )}
    </ConfirmDialog>
  );
}

/** New client ID and secret: the old pair stops at once. */
export function RegenerateDialog({ keyItem, onClose, onDone }: { keyItem: Key; onClose: () => void; onDone: (issued: IssuedKey) => void }) {
  const { api, account } = useApp();
  const [revokeTokens, setRevokeTokens] = useState(false);
  return (
    <ConfirmDialog
      title={`Regenerate “${keyItem.name}”?`}
      confirmLabel="Regenerate client ID and secret"
      onClose={onClose}
      onConfirm={async () => onDone(await api.post<IssuedKey>(`${keyPath(account!.id, keyItem.id)}/regenerate`, { confirm: true, revokeTokens }))}
    >
      <p>
        <strong>This action is irrevocable.</strong> The key gets a new client ID and a new secret, shown once. The current pair stops working at once and
        cannot be restored.
      </p>
      <label className="checkbox-row">
        <input type="checkbox" checked={revokeTokens} onChange={(e) => setRevokeTokens(e.target.checked)} />
        <span>Also revoke the access tokens issued with the current pair (otherwise they work until they expire)</span>
      </label>
    </ConfirmDialog>
  );
}

/** Delete one key or several at once, after a confirmation naming how many. */
export function DeleteDialog({ keys, onClose, onDone }: { keys: Key[]; onClose: () => void; onDone: (deleted: string[]) => void }) {
  const { api, account } = useApp();
  const [revokeTokens, setRevokeTokens] = useState(false);
  const single = keys.length === 1 ? keys[0]! : null;
  const hasRest = keys.some((k) => k.credentialType === 'client_secret');
  const remove = async () => {
    if (single) {
      await api.del(keyPath(account!.id, single.id), revokeTokens ? { revokeTokens: true } : undefined);
      onDone([single.id]);
    } else {
      const { deleted } = await api.post<{ deleted: string[] }>(`/v1/accounts/${encodeURIComponent(account!.id)}/keys/batch-delete`, { ids: keys.map((k) => k.id), confirm: true, revokeTokens });
      onDone(deleted);
    }
  };
  return (
    <ConfirmDialog title={single ? `Delete “${single.name}”?` : `Delete ${plural(keys.length, 'key')}?`} confirmLabel={single ? 'Delete key' : `Delete ${plural(keys.length, 'key')}`} onClose={onClose} onConfirm={remove}>
      <p>
        <strong>This action is irrevocable.</strong> {single ? 'Integrations using this key' : `Integrations using these ${keys.length} keys`} stop working at once.
      </p>
      {!single && (
        <ul className="delete-list">
          {keys.slice(0, 8).map((k) => (
            <li key={k.id}>
              {k.name} <span className="muted small">({ENVIRONMENT_LABEL[k.environment]})</span>
            </li>
          ))}
          {keys.length > 8 && <li className="muted">and {keys.length - 8} more</li>}
        </ul>
      )}
      {hasRest && (
        <label className="checkbox-row">
          <input type="checkbox" checked={revokeTokens} onChange={(e) => setRevokeTokens(e.target.checked)} />
          <span>Also revoke access tokens already issued (otherwise they work until they expire)</span>
        </label>
      )}
    </ConfirmDialog>
  );
}

