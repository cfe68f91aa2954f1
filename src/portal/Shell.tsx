import { useEffect, useId, useLayoutEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
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
  const header = useRef<HTMLElement>(null);
  useTopbarHeight(header);
  const who = me.kind === 'platform' ? 'Platform owner' : me.name || me.email || (me.kind === 'service' ? 'Service token' : 'Operator');

  return (
    <div className={`app env-${environment}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar" ref={header}>
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
              {/* A long name is cut with an ellipsis (styles.css); the title shows it whole. */}
              <select id={accountSelectId} value={account?.id ?? ''} onChange={(e) => switchAccount(e.target.value)} title={account?.name}>
                {!account && <option value="">Choose an account</option>}
                {me.accounts.map((a) => (
                  <option key={a.id} value={a.id} title={a.name}>
                    {a.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          {me.isPlatformOwner && (
            <a href="/system" onClick={linkHandler('/system')} className="button button-ghost button-small" aria-current={location.path === '/system' ? 'page' : undefined}>
              System
            </a>
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
          <ScrollingNav label="Account pages" current={page}>
            {NAV.filter((n) => can(PAGE_PERMISSION[n.page]!)).map((n) => {
              const to = href(`/accounts/${encodeURIComponent(account.id)}/${n.page}`, { env: environment });
              return (
                <a key={n.page} href={to} onClick={linkHandler(to)} className="nav-link" aria-current={n.page === page ? 'page' : undefined}>
                  {n.label}
                </a>
              );
            })}
          </ScrollingNav>
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

/**
 * The sticky header's height as the CSS variable --topbar-height, kept current as it wraps: fields
 * scrolled into view after a refused save stop below it (scroll-margin-top in styles.css).
 */
function useTopbarHeight(header: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    const el = header.current;
    if (!el) return;
    const root = document.documentElement;
    const set = () => root.style.setProperty('--topbar-height', `${Math.ceil(el.getBoundingClientRect().height)}px`);
    set();
    const observer = new ResizeObserver(set);
    observer.observe(el);
    return () => {
      observer.disconnect();
      root.style.removeProperty('--topbar-height');
    };
  }, [header]);
}

/**
 * The page tabs. On a narrow screen they scroll sideways; a fading edge with an arrow at the side
 * that has more says so, and the current tab is scrolled into view.
 */
function ScrollingNav({ label, current, children }: { label: string; current: string; children: ReactNode }) {
  const nav = useRef<HTMLElement>(null);
  const [more, setMore] = useState({ start: false, end: false });

  useEffect(() => {
    const el = nav.current;
    if (!el) return;
    const update = () => {
      const start = el.scrollLeft > 1;
      const end = el.scrollLeft + el.clientWidth < el.scrollWidth - 1;
      setMore((m) => (m.start === start && m.end === end ? m : { start, end }));
    };
    update();
    el.addEventListener('scroll', update, { passive: true });
    const observer = new ResizeObserver(update);
    observer.observe(el);
    return () => {
      el.removeEventListener('scroll', update);
      observer.disconnect();
    };
  }, []);

  useEffect(() => {
    const el = nav.current;
    const link = el?.querySelector<HTMLElement>('[aria-current="page"]');
    if (!el || !link) return;
    // Scroll the strip only, never the page.
    const left = link.offsetLeft - el.offsetLeft;
    if (left < el.scrollLeft || left + link.offsetWidth > el.scrollLeft + el.clientWidth) el.scrollLeft = left - (el.clientWidth - link.offsetWidth) / 2;
  }, [current]);

  const scrollBy = (direction: 1 | -1) => nav.current?.scrollBy({ left: direction * nav.current.clientWidth * 0.7, behavior: 'smooth' });

  return (
    <div className={`nav-wrap ${more.start ? 'has-more-start' : ''} ${more.end ? 'has-more-end' : ''}`}>
      <nav ref={nav} className="nav" aria-label={label}>
        {children}
      </nav>
      {/* Pointer helpers only: keyboard users reach every tab with Tab, which scrolls the strip. */}
      {more.start && (
        <button type="button" className="nav-more nav-more-start" tabIndex={-1} aria-hidden="true" aria-label="Earlier pages" title="Earlier pages" onClick={() => scrollBy(-1)} data-testid="nav-more-start">
          <Icon name="chevronLeft" size={16} />
        </button>
      )}
      {more.end && (
        <button type="button" className="nav-more nav-more-end" tabIndex={-1} aria-hidden="true" aria-label="More pages" title="More pages" onClick={() => scrollBy(1)} data-testid="nav-more-end">
          <Icon name="chevronRight" size={16} />
        </button>
      )}
    </div>
  );
}
