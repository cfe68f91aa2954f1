import { useRef, useState } from 'react';
import { ApiError, createClient, describeError, type Session } from '../lib/api';
import type { Me } from '../lib/types';
import { Icon } from '../components/Icons';
import { Banner, Field } from '../components/ui';
import { Tabs, tabPanelProps } from '../components/widgets';

type Method = 'operator' | 'token';
const METHOD_KEY = 'keyport.signInMethod';

/**
 * The sign-in screen: an operator's e-mail and password (a session cookie), or an API token (the
 * platform owner token printed on first start, or a personal token).
 */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (session: Session, me: Me) => void; notice?: string | null }) {
  const [method, setMethod] = useState<Method>(() => (localStorage.getItem(METHOD_KEY) === 'operator' ? 'operator' : 'token'));
  const [token, setToken] = useState('');
  const [showToken, setShowToken] = useState(false);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [operatorUnavailable, setOperatorUnavailable] = useState(false);
  const tokenInput = useRef<HTMLInputElement>(null);

  const choose = (m: Method) => {
    setMethod(m);
    setError(null);
    setFieldErrors({});
  };

  const finish = async (session: Session) => {
    const me = await createClient(session).get<Me>('/v1/me');
    localStorage.setItem(METHOD_KEY, session.mode === 'cookie' ? 'operator' : 'token');
    onSignedIn(session, me);
  };

  const signInWithToken = async () => {
    const value = token.trim();
    if (!value) return setFieldErrors({ token: 'Enter your token.' });
    if (/\s/.test(value)) return setFieldErrors({ token: 'A token has no spaces. Paste it again, all in one piece.' });
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      await finish({ mode: 'token', token: value });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401)
        setFieldErrors({ token: 'This token is not valid: it is unknown, expired or revoked. Check that it was copied whole.' });
      else setError(describeError(err));
      tokenInput.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const signInAsOperator = async () => {
    const errors: Record<string, string> = {};
    if (!/^\S+@\S+\.\S+$/.test(email.trim())) errors.email = 'Enter the e-mail address you were invited with.';
    if (!password) errors.password = 'Enter your password.';
    setFieldErrors(errors);
    if (Object.keys(errors).length) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await createClient(null).post<{ csrfToken: string }>('/v1/session', { email: email.trim(), password });
      await finish({ mode: 'cookie', csrfToken: answer.csrfToken });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.code === 'not_found') {
        setOperatorUnavailable(true);
        setError('Signing in with an e-mail address is not available on this server yet. Sign in with an API token instead.');
      } else if (err instanceof ApiError && err.status === 401) {
        setFieldErrors({ password: 'The e-mail address or the password is wrong.' });
      } else if (err instanceof ApiError && err.fieldProblems.length) {
        setFieldErrors({ email: err.forField('/email') ?? '', password: err.forField('/password') ?? '' });
        setError(err.detail);
      } else setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <div className="signin-brand">
          <span className="logo-mark" aria-hidden="true">
            <Icon name="key" size={22} />
          </span>
          <div>
            <h1>Sign in to Keyport</h1>
            <p className="muted">Manage the API keys of your accounts.</p>
          </div>
        </div>
        {notice && <Banner tone="info">{notice}</Banner>}
        <Tabs<Method>
          label="How to sign in"
          idBase="signin"
          selected={method}
          onSelect={choose}
          tabs={[
            { id: 'token', label: 'Token' },
            { id: 'operator', label: 'E-mail and password' },
          ]}
        />
        <div {...tabPanelProps('signin', method)} className="signin-panel">
          {error && (
            <Banner
              tone="error"
              action={
                operatorUnavailable && method === 'operator' ? (
                  <button type="button" className="button button-secondary button-small" onClick={() => choose('token')}>
                    Use an API token
                  </button>
                ) : undefined
              }
            >
              {error}
            </Banner>
          )}
          {method === 'token' ? (
            <form
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
                void signInWithToken();
              }}
            >
              <Field
                label="Platform or API token"
                required
                error={fieldErrors.token}
                hint={
                  <>
                    First time here? Use the <strong>platform owner token</strong> Keyport printed when it started for the first time (or the value of
                    KEYPORT_BOOTSTRAP_TOKEN). A personal API token works too.
                  </>
                }
              >
                {(props) => (
                  <div className="input-with-button">
                    <input
                      {...props}
                      ref={tokenInput}
                      name="token"
                      type={showToken ? 'text' : 'password'}
                      autoComplete="current-password"
                      spellCheck={false}
                      value={token}
                      onChange={(e) => setToken(e.target.value)}
                      autoFocus
                    />
                    <button type="button" className="icon-button" aria-pressed={showToken} aria-label="Show token" title={showToken ? 'Hide token' : 'Show token'} onClick={() => setShowToken((v) => !v)}>
                      <Icon name={showToken ? 'eyeOff' : 'eye'} size={16} />
                    </button>
                  </div>
                )}
              </Field>
              <button type="submit" className="button button-primary button-block" disabled={busy}>
                {busy ? 'Signing in…' : 'Sign in'}
              </button>
            </form>
          ) : (
            <form
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
                void signInAsOperator();
              }}
            >
              <Field label="E-mail address" required error={fieldErrors.email || undefined}>
                {(props) => <input {...props} name="email" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />}
              </Field>
              <Field label="Password" required error={fieldErrors.password || undefined}>
                {(props) => <input {...props} name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
              </Field>
              <button type="submit" className="button button-primary button-block" disabled={busy}>
                {busy ? 'Signing in…' : 'Sign in'}
              </button>
            </form>
          )}
        </div>
        <p className="signin-foot muted">
          Your sign-in lasts until you close this tab. The REST API reference is at <a href="/docs">/docs</a>.
        </p>
      </div>
    </main>
  );
}
