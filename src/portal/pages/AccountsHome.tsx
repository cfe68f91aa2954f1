import { useRef, useState } from 'react';
import { ApiError } from '../lib/api';
import { useApp } from '../lib/app-context';
import { href, linkHandler, navigate } from '../lib/router';
import type { Account } from '../lib/types';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icons';
import { Badge, ErrorBanner, Field, Switch } from '../components/ui';
import { useToast } from '../components/widgets';
import { TEXT_LIMITS } from '../../domain/text-limits';

/** The accounts the operator works on; the start of a fresh installation, where there is none yet. */
export function AccountsHome() {
  const { me, environment } = useApp();
  const [creating, setCreating] = useState(false);
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Accounts</h1>
          <p className="muted">Each account (a tenant) has its own keys, settings and operators.</p>
        </div>
        {me.isPlatformOwner && me.accounts.length > 0 && (
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" size={16} />
            <span>New account</span>
          </button>
        )}
      </div>
      {me.accounts.length === 0 ? (
        <div className="empty-state">
          <div className="empty-icon">
            <Icon name="key" size={28} />
          </div>
          {me.isPlatformOwner ? (
            <>
              <h2>Create your first account</h2>
              <p>
                Keys belong to an account: one per customer, shop or team. Create one to start; it can come with an Admin and a Storefront key in each
                environment.
              </p>
              <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
                <Icon name="plus" size={16} />
                <span>Create account</span>
              </button>
            </>
          ) : (
            <>
              <h2>You are not a member of any account yet</h2>
              <p>Ask an owner of an account to add {me.email ? <strong>{me.email}</strong> : 'you'} as an operator, then sign in again.</p>
            </>
          )}
        </div>
      ) : (
        <ul className="card-list">
          {me.accounts.map((a) => {
            const to = href(`/accounts/${encodeURIComponent(a.id)}/keys`, { env: environment });
            return (
              <li key={a.id} className="card account-card">
                <a href={to} onClick={linkHandler(to)} className="account-link">
                  <strong title={a.name}>{a.name}</strong>
                  <code className="muted">{a.id}</code>
                </a>
                {!a.eligible && <Badge tone="amber">Cannot create keys</Badge>}
              </li>
            );
          })}
        </ul>
      )}
      {creating && <CreateAccountDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

/** Platform owner only: a new account, optionally with its default keys. */
export function CreateAccountDialog({ onClose }: { onClose: () => void }) {
  const { api, refreshMe, environment } = useApp();
  const toast = useToast();
  const [name, setName] = useState('');
  const [eligible, setEligible] = useState(true);
  const [provision, setProvision] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [nameError, setNameError] = useState<string | undefined>();
  const nameInput = useRef<HTMLInputElement>(null);

  const submit = async () => {
    if (!name.trim()) {
      setNameError('Give the account a name, for example the shop or company it is for.');
      nameInput.current?.focus();
      return;
    }
    setNameError(undefined);
    setBusy(true);
    setError(null);
    try {
      const created = await api.post<Account>('/v1/accounts', { name: name.trim(), eligible, provisionDefaultKeys: provision });
      await refreshMe();
      toast(`Account “${created.name}” created.`);
      onClose();
      navigate(href(`/accounts/${encodeURIComponent(created.id)}/keys`, { env: environment }));
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setNameError(err.forField('/name'));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="New account"
      description="An account holds the keys, settings and operators of one customer."
      onClose={onClose}
      onSubmit={submit}
      busy={busy}
      footer={
        <>
          <button type="button" className="button button-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create account'}
          </button>
        </>
      }
    >
      <ErrorBanner error={error instanceof ApiError && error.forField('/name') ? null : error} />
      <Field label="Name" required error={nameError}>
        {(props) => <input {...props} ref={nameInput} value={name} maxLength={TEXT_LIMITS.accountName} onChange={(e) => setName(e.target.value)} autoComplete="organization" />}
      </Field>
      <Switch checked={eligible} onChange={setEligible} label="May create API keys" description="Turn off for an account that must not use the API yet; creating keys is then refused." />
      <Switch
        checked={provision}
        onChange={setProvision}
        label="Start with default keys"
        description="An Admin and a Storefront REST key in each environment. Their secrets are made when you first reset them."
      />
    </Dialog>
  );
}
