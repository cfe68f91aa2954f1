import { useRef, useState } from 'react';
import { ApiError, accountPath, describeError, keyPath } from '../lib/api';
import { useApp } from '../lib/app-context';
import { ENVIRONMENT_LABEL, KIND_DESCRIPTION, KIND_LABEL, endOfLocalDay, formatDateTime, formatDuration, formatRelative, plural, toDateInput } from '../lib/format';
import { ENVIRONMENTS, KINDS, type Account, type CredentialType, type Environment, type IssuedKey, type Key, type KeyCounts, type Kind, type Role } from '../lib/types';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icons';
import { Badge, Banner, CopyButton, ErrorBanner, Field, SecretValue, Switch } from '../components/ui';
import { RolesBuilder, ScopePicker, grantedBy } from './access';
import { KeyUsage } from '../usage/KeyUsage';
import { TEXT_LIMITS } from '../../domain/text-limits';
import { focusFirstInvalidSoon } from '../lib/focus';
import { USAGE_CONTROL_FIELDS, UsageControlsFields, useUsageControls } from './UsageControls';

export const TYPE_LABEL: Record<CredentialType, string> = { client_secret: 'REST key', token: 'Token key' };
/** The same inside a sentence: "New REST key", "No token keys yet". */
export const TYPE_NOUN: Record<CredentialType, string> = { client_secret: 'REST key', token: 'token key' };
const SECRET_LABEL: Record<CredentialType, string> = { client_secret: 'client secret', token: 'API key' };

/** The body fields a form shows; an API error pointing elsewhere goes to the banner. */
const FIELDS = ['/name', '/environment', '/kind', '/credentialType', '/scopes', '/roles', '/channel', '/active', '/expiresAt', ...USAGE_CONTROL_FIELDS];

export type KeyAction = 'reset' | 'regenerate' | 'verify' | 'quickstart';

interface Props {
  mode: 'create' | 'edit';
  credentialType: CredentialType;
  /** The key being edited (edit mode). */
  keyItem?: Key;
  account: Account | null;
  counts: KeyCounts | null;
  onCreated?: (issued: IssuedKey) => void;
  onUpdated?: (key: Key) => void;
  onAction?: (action: KeyAction, key: Key) => void;
  onClose: () => void;
}

/**
 * Create a key, or see and edit one. Validation messages sit next to their fields, whether they
 * come from the form or from the API; a failed request leaves everything typed in place.
 */
export function KeyFormDialog({ mode, credentialType, keyItem, account, counts, onCreated, onUpdated, onAction, onClose }: Props) {
  const { api, catalog, environment: currentEnvironment, can, account: member } = useApp();
  const editing = mode === 'edit' && keyItem !== undefined;
  const type = editing ? keyItem.credentialType : credentialType;
  const canEdit = can('keys.edit');
  const readOnly = editing && !canEdit;

  const [name, setName] = useState(keyItem?.name ?? '');
  const [environment, setEnvironment] = useState<Environment>(keyItem?.environment ?? currentEnvironment);
  const [kind, setKind] = useState<Kind>(keyItem?.kind ?? 'custom');
  const [scopes, setScopes] = useState<string[]>(keyItem?.kind === 'custom' ? keyItem.scopes : []);
  const [roles, setRoles] = useState<Role[]>(keyItem?.roles ?? []);
  const [channel, setChannel] = useState(keyItem?.channel ?? '');
  const [active, setActive] = useState(keyItem?.active ?? account?.settings.defaultActive[type] ?? true);
  const [expires, setExpires] = useState(toDateInput(keyItem?.expiresAt ?? null));
  // Form messages appear after the first attempt to save, then follow every change.
  const [attempted, setAttempted] = useState(false);
  const [apiError, setApiError] = useState<unknown>(null);
  // Fields changed since the API refused them: their server message no longer applies.
  const [edited, setEdited] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [revealed, setRevealed] = useState<string | null>(null);
  const [revealError, setRevealError] = useState<string | null>(null);
  const body = useRef<HTMLDivElement>(null);
  const controls = useUsageControls(keyItem);

  const validate = (): Record<string, string> => {
    const errors: Record<string, string> = { ...controls.read().errors };
    if (!name.trim()) errors['/name'] = 'Give the key a name, for example the system that will use it.';
    else if (name.trim().length > TEXT_LIMITS.keyName) errors['/name'] = `Use at most ${TEXT_LIMITS.keyName} characters.`;
    if (channel.trim().length > TEXT_LIMITS.channel) errors['/channel'] = `Use at most ${TEXT_LIMITS.channel} characters.`;
    if (kind === 'custom' && scopes.length === 0 && roles.length === 0)
      errors['/scopes'] = 'Pick at least one scope or add a role: a custom key without either could do nothing.';
    return errors;
  };
  const clientErrors = attempted ? validate() : {};
  const problem = apiError instanceof ApiError ? apiError : null;
  const serverError = (pointer: string) => (edited.has(pointer.split('/').slice(0, 2).join('/')) ? undefined : problem?.forField(pointer));
  const errorAt = (pointer: string) => clientErrors[pointer] ?? serverError(pointer);
  const changed = (pointer: string) => setEdited((prev) => (prev.has(pointer) ? prev : new Set(prev).add(pointer)));
  const bannerError = problem ? (problem.fieldProblems.length && problem.unclaimed(FIELDS).length === 0 ? null : problem) : apiError;

  const used = counts?.counts[environment] ?? null;
  const limit = counts?.limit ?? account?.settings.keyLimitPerEnvironment ?? null;
  const atLimit = mode === 'create' && used !== null && limit !== null && used >= limit;
  const notEligible = mode === 'create' && member?.eligible === false;

  const focusFirstInvalid = () =>
    focusFirstInvalidSoon(
      () => body.current?.closest('dialog'),
      () => body.current?.closest('.dialog-body')?.scrollTo({ top: 0 }), // the message is in the banner at the top
    );

  const submit = async () => {
    const errors = validate();
    setAttempted(true);
    setApiError(null);
    setEdited(new Set());
    if (Object.keys(errors).length) return focusFirstInvalid();
    if (!member) return;
    setBusy(true);
    try {
      if (!editing) {
        const payload: Record<string, unknown> = { name: name.trim(), environment, kind, credentialType: type, active };
        if (kind === 'custom') Object.assign(payload, { scopes, roles });
        if (channel.trim()) payload.channel = channel.trim();
        if (expires) payload.expiresAt = endOfLocalDay(expires);
        Object.assign(payload, controls.payload());
        const issued = await api.post<IssuedKey>(`${accountPath(member.id)}/keys`, payload);
        onCreated?.(issued);
      } else {
        const patch: Record<string, unknown> = {};
        if (name.trim() !== keyItem.name) patch.name = name.trim();
        if (active !== keyItem.active) patch.active = active;
        if ((channel.trim() || null) !== keyItem.channel) patch.channel = channel.trim() || null;
        if (expires !== toDateInput(keyItem.expiresAt)) patch.expiresAt = expires ? endOfLocalDay(expires) : null;
        if (keyItem.kind === 'custom') {
          if (scopes.join() !== keyItem.scopes.join()) patch.scopes = scopes;
          if (type === 'client_secret' && JSON.stringify(roles) !== JSON.stringify(keyItem.roles)) patch.roles = roles;
        }
        Object.assign(patch, controls.payload());
        if (Object.keys(patch).length === 0) return onClose();
        const updated = await api.patch<Key>(keyPath(member.id, keyItem.id), patch);
        onUpdated?.(updated);
      }
    } catch (err) {
      setApiError(err);
      setBusy(false);
      focusFirstInvalid();
    }
  };

  const reveal = async () => {
    if (!member || !keyItem) return;
    setRevealError(null);
    try {
      const { secret } = await api.post<{ secret: string }>(`${keyPath(member.id, keyItem.id)}/reveal`);
      setRevealed(secret);
    } catch (err) {
      setRevealError(
        err instanceof ApiError && err.status === 404 && err.code === 'not_found' && err.detail.startsWith('There is no')
          ? 'Revealing secrets is not available on this server yet.'
          : describeError(err),
      );
      throw err;
    }
  };

  const scopePicker = catalog && (
    <ScopePicker catalog={catalog} value={scopes} onChange={(v) => (setScopes(v), changed('/scopes'))} error={errorAt('/scopes')} disabled={readOnly} />
  );

  const title = editing ? keyItem.name : `New ${TYPE_NOUN[type]}`;
  const description = editing ? (
    <>
      {TYPE_LABEL[type]} · {ENVIRONMENT_LABEL[keyItem.environment]} · {KIND_LABEL[keyItem.kind]}
    </>
  ) : type === 'client_secret' ? (
    'A client ID and a secret. Your integration trades them for short-lived access tokens (OAuth 2.0 client credentials).'
  ) : (
    'One key string your integration sends as a bearer token.'
  );

  const submitLabel = editing ? (busy ? 'Saving…' : 'Save changes') : busy ? 'Creating…' : `Create ${TYPE_NOUN[type]}`;

  return (
    <Dialog
      title={title}
      description={description}
      onClose={onClose}
      onSubmit={readOnly ? undefined : submit}
      busy={busy}
      size="lg"
      className="key-form"
      footer={
        readOnly ? (
          <button type="button" className="button button-secondary" onClick={onClose}>
            Close
          </button>
        ) : (
          <>
            <button type="button" className="button button-secondary" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="button button-primary" disabled={busy || atLimit || notEligible}>
              {submitLabel}
            </button>
          </>
        )
      }
    >
      <div ref={body} className="stack">
        <ErrorBanner error={bannerError} />
        {problem && problem.fieldProblems.length > 0 && !bannerError && (
          <Banner tone="error">Some fields need a change; see the messages next to them.</Banner>
        )}

        {editing && keyItem?.leak && (
          <Banner tone="error" title="This key was found in public">
            Reported {formatDateTime(keyItem.leak.reportedAt)}
            {keyItem.leak.source ? ` by ${describeLeakSource(keyItem.leak.source)}` : ''}
            {keyItem.leak.url ? (
              <>
                {' '}at{' '}
                {/^https:\/\//.test(keyItem.leak.url) ? (
                  <a href={keyItem.leak.url} target="_blank" rel="noreferrer noopener">
                    {keyItem.leak.url}
                  </a>
                ) : (
                  <code>{keyItem.leak.url}</code>
                )}
              </>
            ) : null}
            . {keyItem.active ? 'It still works: ' : 'It was switched off and its tokens revoked. '}
            {keyItem.credentialType === 'client_secret' ? 'Regenerate its client ID and secret' : 'Replace it with a new key'} and update the integration that uses it.
          </Banner>
        )}
        {editing && <Credentials keyItem={keyItem} account={account} revealed={revealed} onReveal={reveal} revealError={revealError} onAction={onAction} />}
        {editing && <KeyUsage keyItem={keyItem} />}

        {notEligible && (
          <Banner tone="warning" title="This account cannot create API keys">
            The platform has not enabled API access for {member?.name}. Ask the platform operator to make the account eligible.
          </Banner>
        )}

        <Field label="Name" required error={errorAt('/name')} hint={!editing ? 'Only for you: name it after the system or person that will use it.' : undefined}>
          {(props) => <input {...props} name="name" value={name} onChange={(e) => (setName(e.target.value), changed('/name'))} maxLength={TEXT_LIMITS.keyName} autoComplete="off" disabled={readOnly} />}
        </Field>

        {!editing && (
          <fieldset className={`field ${errorAt('/environment') ? 'field-invalid' : ''}`}>
            <legend className="field-label">Environment</legend>
            <div className="segmented">
              {ENVIRONMENTS.map((env) => (
                <label key={env} className={`segment segment-${env} ${environment === env ? 'is-selected' : ''}`}>
                  <input type="radio" name="key-environment" value={env} checked={environment === env} onChange={() => setEnvironment(env)} />
                  <span>{ENVIRONMENT_LABEL[env]}</span>
                </label>
              ))}
            </div>
            <LimitNote used={used} limit={limit} environment={environment} />
          </fieldset>
        )}

        {atLimit && used! > limit! && (
          <Banner tone="warning" title={`${ENVIRONMENT_LABEL[environment]} has ${plural(used!, 'key')}, more than its limit of ${limit}`}>
            The limit was lowered after they were made: they keep working, but a new key can be created only once {plural(used! - limit! + 1, 'key')}{' '}
            {used! - limit! + 1 === 1 ? 'is' : 'are'} deleted{can('settings.edit') ? ', or after raising the limit in Settings' : ', or after an account owner raises the limit'}.
          </Banner>
        )}
        {atLimit && used === limit && (
          <Banner tone="warning" title={`The limit of ${limit} keys in ${ENVIRONMENT_LABEL[environment].toLowerCase()} is reached`}>
            Delete a key you no longer need{can('settings.edit') ? ', or raise the limit in Settings' : ', or ask an account owner to raise the limit'}.
          </Banner>
        )}

        {!editing && (
          <fieldset className="field">
            <legend className="field-label">Kind</legend>
            <div className="kind-options">
              {KINDS.map((k) => (
                <label key={k} className={`kind-option ${kind === k ? 'is-selected' : ''}`}>
                  <input type="radio" name="key-kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
                  <span className="kind-option-text">
                    <strong>{KIND_LABEL[k]}</strong>
                    <span className="muted small">{KIND_DESCRIPTION[k]}</span>
                  </span>
                </label>
              ))}
            </div>
            {errorAt('/kind') && <p className="field-error">{errorAt('/kind')}</p>}
          </fieldset>
        )}

        <div className="form-grid">
          <Field label="Channel" optional error={errorAt('/channel')} hint="The sales channel the key is bound to; verification reports it to your APIs.">
            {(props) => <input {...props} name="channel" value={channel} onChange={(e) => (setChannel(e.target.value), changed('/channel'))} maxLength={TEXT_LIMITS.channel} placeholder="e.g. b2b" disabled={readOnly} />}
          </Field>
          <Field
            label="Secret expires"
            optional
            error={errorAt('/expiresAt')}
            hint={
              editing
                ? 'Empty: the secret does not expire.'
                : `Empty: the account default (${account?.settings.keyLifetime ? `after ${formatDuration(account.settings.keyLifetime)}` : 'never expires'}).`
            }
          >
            {(props) => <input {...props} name="expiresAt" type="date" value={expires} onChange={(e) => (setExpires(e.target.value), changed('/expiresAt'))} disabled={readOnly} />}
          </Field>
        </div>

        <Switch
          checked={active}
          onChange={setActive}
          disabled={readOnly}
          label="Active"
          description={active ? 'The key works as soon as it is saved.' : 'The key is refused until you activate it.'}
        />

        <UsageControlsFields state={controls.state} keyItem={keyItem} errorAt={errorAt} changed={changed} disabled={readOnly} />

        {catalog && kind === 'custom' && (
          <>
            {type === 'client_secret' && scopePicker}
            <RolesBuilder
              catalog={catalog}
              value={roles}
              onChange={(v) => (setRoles(v), changed('/roles'))}
              errorFor={(i) =>
                edited.has('/roles')
                  ? undefined
                  : i < 0
                    ? problem?.fieldProblems.filter((p) => p.pointer === '/roles').map((p) => p.detail).join('; ') || undefined
                    : problem?.forField(`/roles/${i}`)
              }
              readOnlyReason={
                editing && type === 'token'
                  ? 'The roles of a token key are fixed when it is created. To give different roles, create a new token key.'
                  : readOnly
                    ? 'You can view this key but not change it.'
                    : undefined
              }
              disabled={readOnly}
            />
            {type === 'token' && scopePicker}
            {!editing && type === 'token' && (
              <p className="field-hint">
                <Icon name="info" size={14} /> Roles of a token key cannot be changed after it is created.
              </p>
            )}
            <p className="muted small granted-summary">
              This key will be able to use {grantedBy(catalog, scopes, roles).length} of {catalog.services.reduce((n, s) => n + s.scopes.length, 0)} scopes.
            </p>
          </>
        )}
        {catalog && kind !== 'custom' && (
          <div className="field">
            <span className="field-label">Access</span>
            <p className="muted">
              {kind === 'admin' ? 'Every scope of the catalog. ' : `The storefront set: ${catalog.storefrontScopes.join(', ')}. `}
              Fixed by the kind; pick the Custom kind to choose scopes yourself.
            </p>
          </div>
        )}
      </div>
    </Dialog>
  );
}

/**
 * "3 of 25 keys used in sandbox", said before the limit is hit. A limit lowered below the keys an
 * environment already holds is said as such ("10 keys, 7 over the limit of 3"), never "10 of 3".
 */
export function LimitNote({ used, limit, environment }: { used: number | null; limit: number | null; environment: Environment }) {
  if (used === null || limit === null) return null;
  const left = limit - used;
  const where = ENVIRONMENT_LABEL[environment].toLowerCase();
  const tone = left < 0 ? 'limit-full limit-over' : left === 0 ? 'limit-full' : left <= Math.max(1, Math.ceil(limit * 0.2)) ? 'limit-near' : '';
  return (
    <p className={`limit-note ${tone}`} data-testid="limit-note">
      <span className="meter" aria-hidden="true">
        {/* Set through the CSSOM (allowed by the CSP, unlike a style attribute in markup). */}
        <span className="meter-fill" style={{ width: `${Math.min(100, Math.round((used / limit) * 100))}%` }} />
      </span>
      {left < 0 ? (
        <span>
          {plural(used, 'key')} in {where}, {-left} over the limit of {limit} · they keep working; a new one can be created once {plural(1 - left, 'key')}{' '}
          {1 - left === 1 ? 'is' : 'are'} deleted
        </span>
      ) : (
        <span>
          {used} of {limit} keys used in {where}
          {left > 0 ? ` · ${left} left` : ' · limit reached'}
        </span>
      )}
    </p>
  );
}

/** What a key limit would mean for the keys already there, said before it is saved. */
export function OverLimitNote({ counts, limit }: { counts: KeyCounts | null; limit: number }) {
  if (!counts || !Number.isInteger(limit) || limit < 1) return null;
  const over = ENVIRONMENTS.filter((env) => counts.counts[env] > limit);
  if (over.length === 0) return null;
  return (
    <Banner tone="warning" title={`${over.map((env) => `${ENVIRONMENT_LABEL[env]} has ${plural(counts.counts[env], 'key')}`).join(', ')}: more than ${limit}`}>
      Lowering the limit deletes and stops no key: the keys there keep working. No new key can be created in {over.map((env) => ENVIRONMENT_LABEL[env].toLowerCase()).join(' or ')}{' '}
      until fewer than {limit} remain.
    </Banner>
  );
}

function Credentials({
  keyItem,
  account,
  revealed,
  onReveal,
  revealError,
  onAction,
}: {
  keyItem: Key;
  account: Account | null;
  revealed: string | null;
  onReveal: () => Promise<void>;
  revealError: string | null;
  onAction?: (action: KeyAction, key: Key) => void;
}) {
  const { can } = useApp();
  const secretLabel = SECRET_LABEL[keyItem.credentialType];
  const revealable = account?.settings.secretReveal === 'permitted' && can('keys.reveal') && keyItem.hasSecret;
  return (
    <section className="credentials" aria-label="Credentials">
      <dl className="credential-list">
        <div>
          <dt>Key ID</dt>
          <dd className="inline">
            <code>{keyItem.id}</code>
            <CopyButton value={keyItem.id} label="Copy key ID" compact />
          </dd>
        </div>
        {keyItem.clientId && (
          <div>
            <dt>Client ID</dt>
            <dd>
              <SecretValue value={keyItem.clientId} label="client ID" />
            </dd>
          </div>
        )}
        <div>
          <dt>{keyItem.credentialType === 'token' ? 'API key' : 'Secret'}</dt>
          <dd>
            {!keyItem.hasSecret ? (
              <span className="muted">No secret yet: reset it to create the first one.</span>
            ) : revealable ? (
              <SecretValue value={revealed} label={secretLabel} onReveal={onReveal} />
            ) : (
              <span className="muted">Hidden. It was shown once, when it was created or last reset.</span>
            )}
            {revealError && <p className="field-error">{revealError}</p>}
          </dd>
        </div>
      </dl>
      <div className="credential-actions">
        <button type="button" className="button button-secondary button-small" onClick={() => onAction?.('quickstart', keyItem)}>
          <Icon name="code" size={16} />
          <span>Quick start</span>
        </button>
        {keyItem.hasSecret && (
          <button type="button" className="button button-secondary button-small" onClick={() => onAction?.('verify', keyItem)}>
            <Icon name="verify" size={16} />
            <span>Verify a secret</span>
          </button>
        )}
        {can('keys.renew') && (
          <button type="button" className="button button-secondary button-small" onClick={() => onAction?.('reset', keyItem)}>
            <Icon name="refresh" size={16} />
            <span>{keyItem.hasSecret ? 'Reset secret' : 'Create secret'}</span>
          </button>
        )}
        {can('keys.renew') && keyItem.credentialType === 'client_secret' && (
          <button type="button" className="button button-secondary button-small" onClick={() => onAction?.('regenerate', keyItem)}>
            <Icon name="key" size={16} />
            <span>Regenerate</span>
          </button>
        )}
      </div>
      <dl className="meta-list">
        <div>
          <dt>Created</dt>
          <dd>
            <time dateTime={keyItem.createdAt}>{formatDateTime(keyItem.createdAt)}</time>
          </dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <time dateTime={keyItem.updatedAt}>{formatDateTime(keyItem.updatedAt)}</time>
          </dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd>{keyItem.lastUsedAt ? <time dateTime={keyItem.lastUsedAt} title={formatDateTime(keyItem.lastUsedAt)}>{formatRelative(keyItem.lastUsedAt)}</time> : 'Never'}</dd>
        </div>
        <div>
          <dt>Secret expires</dt>
          <dd>{keyItem.expiresAt ? <time dateTime={keyItem.expiresAt}>{formatDateTime(keyItem.expiresAt)}</time> : 'Never'}</dd>
        </div>
        {keyItem.previousSecretExpiresAt && (
          <div>
            <dt>Previous secret works until</dt>
            <dd>
              <Badge tone="amber">{formatDateTime(keyItem.previousSecretExpiresAt)}</Badge>
            </dd>
          </div>
        )}
      </dl>
    </section>
  );
}

/** `github:commit` -> "GitHub secret scanning (in a commit)": who reported a leak, for people. */
function describeLeakSource(source: string): string {
  const [scanner, where] = source.split(':');
  const name = scanner === 'github' ? 'GitHub secret scanning' : scanner!;
  return where ? `${name} (found in ${where.replace(/_/g, ' ')})` : name;
}
