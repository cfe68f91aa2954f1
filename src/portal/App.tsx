import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, createClient, loadSession, saveSession, type Session } from './lib/api';
import { AppContext, PAGE_PERMISSION, type AppState } from './lib/app-context';
import { href, matchAccountPage, navigate, useLocation } from './lib/router';
import { ENVIRONMENTS, type Catalog, type Environment, type Me, type Permission } from './lib/types';
import { Shell } from './Shell';
import { Banner, Spinner } from './components/ui';
import { ToastProvider } from './components/widgets';
import { AccountsHome } from './pages/AccountsHome';
import { AuditPage } from './pages/AuditPage';
import { ExternalKeysPage } from './pages/ExternalKeysPage';
import { OperatorsPage } from './pages/OperatorsPage';
import { SettingsPage } from './pages/SettingsPage';
import { UsagePage } from './pages/UsagePage';
import { SystemPage } from './pages/SystemPage';
import { WebhooksPage } from './pages/WebhooksPage';
import { SignIn } from './pages/SignIn';
import { KeysPage } from './keys/KeysPage';

const PAGES = ['keys', 'usage', 'external-keys', 'webhooks', 'settings', 'audit', 'operators'] as const;

export function App() {
  return <Root />;
}

function Root() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [me, setMe] = useState<Me | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [expired, setExpired] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  // An operator's session cookie outlives the tab: a new tab picks it up instead of asking again.
  const [probing, setProbing] = useState(session === null);
  useEffect(() => {
    if (!probing) return;
    createClient(null)
      .get<{ csrfToken: string }>('/v1/session')
      .then(
        ({ csrfToken }) => {
          const restored: Session = { mode: 'cookie', csrfToken };
          saveSession(restored);
          setSession(restored);
        },
        () => {},
      )
      .finally(() => setProbing(false));
  }, [probing]);

  const api = useMemo(() => createClient(session, () => setExpired(true)), [session]);

  const signOut = useCallback(
    async (message?: string) => {
      if (session?.mode === 'cookie') await api.del('/v1/session').catch(() => {});
      saveSession(null);
      setSession(null);
      setMe(null);
      setExpired(false);
      setNotice(message ?? null);
    },
    [api, session],
  );

  const refreshMe = useCallback(async () => {
    try {
      const fresh = await api.get<Me>('/v1/me');
      setMe(fresh);
      setLoadError(null);
      return fresh;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) await signOut('Your sign-in has ended. Sign in again to continue.');
      else setLoadError(err);
      return null;
    }
  }, [api, signOut]);

  useEffect(() => {
    if (session && !me) void refreshMe();
  }, [session, me, refreshMe]);

  useEffect(() => {
    // The catalog is public and the same for every account.
    createClient(null)
      .get<Catalog>('/v1/catalog')
      .then(setCatalog)
      .catch(() => setCatalog(null));
  }, []);

  if (!session && probing)
    return (
      <main className="page-center" id="main">
        <Spinner label="Loading" />
      </main>
    );
  if (!session)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s, m) => {
          saveSession(s);
          setSession(s);
          setMe(m);
          setNotice(null);
        }}
      />
    );
  if (!me)
    return (
      <main className="page-center" id="main">
        {loadError ? (
          <Banner tone="error" title="Keyport cannot be reached" action={<button className="button button-secondary button-small" onClick={() => void refreshMe()}>Try again</button>}>
            The portal could not load who you are. Check the connection and try again.
          </Banner>
        ) : (
          <Spinner label="Signing in" />
        )}
      </main>
    );
  // Toasts live with the signed-in app: signing out clears them, so the next person sees none.
  return (
    <ToastProvider>
      <SignedIn api={api} me={me} catalog={catalog} refreshMe={refreshMe} signOut={() => void signOut()} expired={expired} onSignInAgain={() => void signOut('Sign in again; then repeat what you were doing.')} />
    </ToastProvider>
  );
}

function SignedIn({
  api,
  me,
  catalog,
  refreshMe,
  signOut,
  expired,
  onSignInAgain,
}: {
  api: AppState['api'];
  me: Me;
  catalog: Catalog | null;
  refreshMe: AppState['refreshMe'];
  signOut: () => void;
  expired: boolean;
  onSignInAgain: () => void;
}) {
  const location = useLocation();
  const envParam = location.params.get('env');
  const environment: Environment = ENVIRONMENTS.includes(envParam as Environment) ? (envParam as Environment) : 'sandbox';
  const match = matchAccountPage(location.path);
  const account = match ? me.accounts.find((a) => a.id === match.account) ?? null : null;

  // "/" and unknown paths lead to the first account's keys (or to the accounts page when there is none).
  useEffect(() => {
    if (match && account) return;
    if (location.path === '/accounts' || location.path === '/system') return;
    if (match && !account) return; // shown as "not found" below
    const first = me.accounts[0];
    // The first page of that account this operator may open (keys, for nearly everyone).
    const page = first && PAGES.find((p) => first.permissions.includes(PAGE_PERMISSION[p]!));
    navigate(first && page ? href(`/accounts/${encodeURIComponent(first.id)}/${page}`, { env: environment }) : '/accounts', { replace: true });
  }, [location.path, match, account, me.accounts, environment]);

  const can = useCallback((permission: Permission) => !!account?.permissions.includes(permission), [account]);
  const state: AppState = { api, me, catalog, account, environment, can, refreshMe };

  const page = match?.page ?? '';
  let content;
  if (location.path === '/system') content = <SystemPage />;
  else if (location.path === '/accounts' || (!match && me.accounts.length === 0)) content = <AccountsHome />;
  else if (match && !account)
    content = (
      <div className="empty-state">
        <h1>Account not found</h1>
        <p>There is no account “{match.account}”, or you are not a member of it.</p>
        <a className="button button-secondary" href="/accounts" onClick={(e) => { e.preventDefault(); navigate('/accounts'); }}>
          Show my accounts
        </a>
      </div>
    );
  else if (!match || !account) content = <Spinner />;
  else if (!(PAGES as readonly string[]).includes(page))
    content = (
      <div className="empty-state">
        <h1>Page not found</h1>
        <p>The portal has no page “{page}”. Use the navigation above.</p>
      </div>
    );
  else if (!can(PAGE_PERMISSION[page]!))
    content = (
      <div className="empty-state">
        <h1>You cannot open this page</h1>
        <p>It needs the “{PAGE_PERMISSION[page]}” permission on {account.name}. Ask an owner of the account.</p>
      </div>
    );
  else if (page === 'keys') content = <KeysPage key={`${account.id}`} />;
  else if (page === 'usage') content = <UsagePage key={account.id} />;
  else if (page === 'external-keys') content = <ExternalKeysPage key={account.id} />;
  else if (page === 'webhooks') content = <WebhooksPage key={account.id} />;
  else if (page === 'settings') content = <SettingsPage key={account.id} />;
  else if (page === 'audit') content = <AuditPage key={account.id} />;
  else content = <OperatorsPage key={account.id} />;

  return (
    <AppContext.Provider value={state}>
      <Shell page={page} onSignOut={signOut}>
        {expired && (
          <Banner
            tone="error"
            title="You are signed out"
            action={
              <button type="button" className="button button-primary button-small" onClick={onSignInAgain}>
                Sign in again
              </button>
            }
          >
            Your session or token is no longer valid, so the last request was refused and nothing was changed.
          </Banner>
        )}
        {content}
      </Shell>
    </AppContext.Provider>
  );
}
