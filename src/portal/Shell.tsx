import { useId, useState, type ReactNode } from 'react';
import { PAGE_PERMISSION, useApp } from './lib/app-context';
import { ENVIRONMENT_LABEL } from './lib/format';
import { href, linkHandler, navigate, useLocation } from './lib/router';
import { ENVIRONMENTS, type Environment } from './lib/types';
import { Icon } from './components/Icons';
import { Menu } from './components/widgets';
import { CreateAccountDialog } from './pages/AccountsHome';

const NAV: { page: string; label: string }[] = [
  { page: 'keys', label: 'API keys' },
  { page: 'usage', label: 'Usage' },
  { page: 'external-keys', label: 'External keys' },
  { page: 'webhooks', label: 'Webhooks' },
  { page: 'settings', label: 'Settings' },
  { page: 'audit', label: 'Audit log' },
  { page: 'operators', label: 'Operators' },
];

/**
 * The frame of every signed-in page: the account switcher, the environment switch (always in
 * view, and production marked in a colour nobody misses), the pages this operator may open, and
 * who is signed in.
 */
export function Shell({ page, children, onSignOut }: { page: string; children: ReactNode; onSignOut: () => void }) {
  const { me, account, environment, can } = useApp();
  const location = useLocation();
  const [creating, setCreating] = useState(false);
  const accountSelectId = useId();

  const switchEnvironment = (env: Environment) => {
    const params = new URLSearchParams(location.params);
    params.set('env', env);
    params.delete('cursor');
    navigate(`${location.path}?${params.toString()}`);
  };
  const switchAccount = (id: string) => navigate(href(`/accounts/${encodeURIComponent(id)}/${page || 'keys'}`, { env: environment }));
  const who = me.kind === 'platform' ? 'Platform owner' : me.name || me.email || (me.kind === 'service' ? 'Service token' : 'Operator');

  return (
    <div className={`app env-${environment}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-row">
          <a className="brand" href="/" onClick={linkHandler('/')}>
            <span className="logo-mark" aria-hidden="true">
              <Icon name="key" size={18} />
            </span>
            <span className="brand-name">Keyport</span>
          </a>
          {me.accounts.length > 0 && (
            <div className="account-switcher">
              <label htmlFor={accountSelectId} className="visually-hidden">
                Account
              </label>
              <select id={accountSelectId} value={account?.id ?? ''} onChange={(e) => switchAccount(e.target.value)}>
                {!account && <option value="">Choose an account</option>}
                {me.accounts.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          {me.isPlatformOwner && (
            <button type="button" className="button button-ghost button-small hide-narrow" onClick={() => setCreating(true)}>
              <Icon name="plus" size={16} />
              <span>New account</span>
            </button>
          )}
          <div className="topbar-spacer" />
          <fieldset className="env-switch">
            <legend className="visually-hidden">Environment</legend>
            {ENVIRONMENTS.map((env) => (
              <label key={env} className={`env-option env-option-${env} ${env === environment ? 'is-selected' : ''}`}>
                <input type="radio" name="environment" value={env} checked={env === environment} onChange={() => switchEnvironment(env)} />
                <span>{ENVIRONMENT_LABEL[env]}</span>
              </label>
            ))}
          </fieldset>
          <Menu
            label={`Signed in as ${who}`}
            className="user-menu"
            buttonContent={
              <>
                <Icon name="user" size={18} />
                <span className="user-name hide-narrow">{who}</span>
              </>
            }
            items={[
              ...(me.isPlatformOwner ? [{ label: 'New account', icon: 'plus' as const, onSelect: () => setCreating(true) }] : []),
              { label: 'Sign out', icon: 'signOut', onSelect: onSignOut },
            ]}
          />
        </div>
        {account && (
          <nav className="nav" aria-label="Account pages">
            {NAV.filter((n) => can(PAGE_PERMISSION[n.page]!)).map((n) => {
              const to = href(`/accounts/${encodeURIComponent(account.id)}/${n.page}`, { env: environment });
              return (
                <a key={n.page} href={to} onClick={linkHandler(to)} className="nav-link" aria-current={n.page === page ? 'page' : undefined}>
                  {n.label}
                </a>
              );
            })}
          </nav>
        )}
        <div className={`env-banner env-banner-${environment}`} role="note" aria-label="Environment">
          {environment === 'production' ? (
            <>
              <Icon name="alert" size={16} />
              <span>
                <strong>Production.</strong> You are working with live keys: changes reach live integrations at once.
              </span>
            </>
          ) : (
            <>
              <Icon name="shield" size={16} />
              <span>
                <strong>Sandbox.</strong> Test keys: they never work against production.
              </span>
            </>
          )}
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
      {creating && <CreateAccountDialog onClose={() => setCreating(false)} />}
    </div>
  );
}
