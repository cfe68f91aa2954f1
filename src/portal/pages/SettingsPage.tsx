import { useRef, useState } from 'react';
import { ApiError, accountPath } from '../lib/api';
import { useApp } from '../lib/app-context';
import { useResource } from '../lib/use-resource';
import { formatDuration } from '../lib/format';
import type { Account, Settings } from '../lib/types';
import { Banner, ErrorBanner, Field, Spinner, Switch } from '../components/ui';
import { useToast } from '../components/widgets';
import { focusFirstInvalidSoon } from '../lib/focus';
import { OverLimitNote } from '../keys/KeyFormDialog';

type Unit = 'minutes' | 'hours' | 'days';
const UNIT_SECONDS: Record<Unit, number> = { minutes: 60, hours: 3600, days: 86400 };
const FIELDS = ['/accessTokenTtl', '/keyLifetime', '/keyLimitPerEnvironment', '/secretReveal', '/defaultActive', '/expiryNoticeDays', '/leakResponse', '/creditsLowThreshold'];

/** "30, 7, 1" -> [30, 7, 1]; null when a part is not a whole number of days from 1 to 365, or one repeats. */
function parseNoticeDays(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const days = parts.map(Number);
  if (days.some((d) => !Number.isInteger(d) || d < 1 || d > 365) || new Set(days).size !== days.length || days.length > 10) return null;
  return days.sort((a, b) => b - a);
}

/** The largest unit that divides a number of seconds evenly, for showing a stored duration. */
function split(seconds: number, units: Unit[]): { amount: string; unit: Unit } {
  for (const unit of [...units].reverse()) if (seconds % UNIT_SECONDS[unit] === 0) return { amount: String(seconds / UNIT_SECONDS[unit]), unit };
  return { amount: String(seconds / UNIT_SECONDS[units[0]!]), unit: units[0]! };
}

/** The account's settings: token and key lifetimes, the key limit, the reveal policy and default states. */
export function SettingsPage() {
  const { api, account: member } = useApp();
  const toast = useToast();
  const [account, setAccount] = useState<Account | null>(null);
  const [ttl, setTtl] = useState({ amount: '', unit: 'minutes' as Unit });
  const [expires, setExpires] = useState(false);
  const [lifetime, setLifetime] = useState({ amount: '90', unit: 'days' as Unit });
  const [limit, setLimit] = useState('');
  const [reveal, setReveal] = useState<Settings['secretReveal']>('never');
  const [activeRest, setActiveRest] = useState(true);
  const [activeToken, setActiveToken] = useState(false);
  const [noticeDays, setNoticeDays] = useState('');
  const [leakResponse, setLeakResponse] = useState<Settings['leakResponse']>('revoke');
  const [creditsLow, setCreditsLow] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  const fill = (a: Account) => {
    const s = a.settings;
    setAccount(a);
    setTtl(split(s.accessTokenTtl, ['minutes', 'hours']));
    setExpires(s.keyLifetime !== null);
    if (s.keyLifetime !== null) setLifetime(split(s.keyLifetime, ['hours', 'days']));
    setLimit(String(s.keyLimitPerEnvironment));
    setReveal(s.secretReveal);
    setActiveRest(s.defaultActive.client_secret);
    setActiveToken(s.defaultActive.token);
    setNoticeDays(s.expiryNoticeDays.join(', '));
    setLeakResponse(s.leakResponse);
    setCreditsLow(String(s.creditsLowThreshold));
  };

  const { error: loadError } = useResource(() => api.accounts.get(member!.id), [api, member], { onLoaded: fill });
  // The keys there now, to say what a lowered limit means for them before it is saved.
  const counts = useResource(() => api.keys.counts(member!.id).catch(() => null), [api, member, account]).data ?? null;

  if (loadError) return <ErrorBanner error={loadError} />;
  if (!account) return <Spinner label="Loading settings" />;

  const seconds = (v: { amount: string; unit: Unit }) => (v.amount.trim() === '' ? NaN : Number(v.amount) * UNIT_SECONDS[v.unit]);

  const save = async () => {
    const problems: Record<string, string> = {};
    const ttlSeconds = seconds(ttl);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 86400) problems['/accessTokenTtl'] = 'Between 1 minute and 24 hours, in whole minutes.';
    const lifetimeSeconds = expires ? seconds(lifetime) : null;
    if (lifetimeSeconds !== null && (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 3600)) problems['/keyLifetime'] = 'At least 1 hour, in whole hours or days.';
    const limitNumber = Number(limit);
    if (!Number.isInteger(limitNumber) || limitNumber < 1) problems['/keyLimitPerEnvironment'] = 'A whole number, 1 or more.';
    const days = parseNoticeDays(noticeDays);
    if (days === null) problems['/expiryNoticeDays'] = 'Whole numbers of days from 1 to 365, each once, separated by commas (at most 10); empty for no reminders.';
    const creditsLowNumber = creditsLow.trim() === '' ? NaN : Number(creditsLow);
    if (!Number.isInteger(creditsLowNumber) || creditsLowNumber < 0) problems['/creditsLowThreshold'] = 'A whole number, 0 or more.';
    setErrors(problems);
    setError(null);
    if (Object.keys(problems).length) return focusFirstInvalidSoon(() => form.current);
    const s = account.settings;
    const patch: Partial<Settings> = {};
    if (ttlSeconds !== s.accessTokenTtl) patch.accessTokenTtl = ttlSeconds;
    if (lifetimeSeconds !== s.keyLifetime) patch.keyLifetime = lifetimeSeconds;
    if (limitNumber !== s.keyLimitPerEnvironment) patch.keyLimitPerEnvironment = limitNumber;
    if (reveal !== s.secretReveal) patch.secretReveal = reveal;
    if (activeRest !== s.defaultActive.client_secret || activeToken !== s.defaultActive.token) patch.defaultActive = { client_secret: activeRest, token: activeToken };
    if (days!.join(',') !== s.expiryNoticeDays.join(',')) patch.expiryNoticeDays = days!;
    if (leakResponse !== s.leakResponse) patch.leakResponse = leakResponse;
    if (creditsLowNumber !== s.creditsLowThreshold) patch.creditsLowThreshold = creditsLowNumber;
    if (Object.keys(patch).length === 0) return toast('Nothing to save: the settings are unchanged.', 'info');
    setBusy(true);
    try {
      const updated = await api.patch<Account>(`${accountPath(account.id)}/settings`, patch);
      fill(updated);
      toast('Settings saved.');
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setErrors(Object.fromEntries(FIELDS.map((f) => [f, err.forField(f) ?? ''] as const).filter(([, v]) => v)));
      focusFirstInvalidSoon(() => form.current);
    } finally {
      setBusy(false);
    }
  };

  const problem = error instanceof ApiError ? error : null;

  return (
    <div className="page page-narrow">
      <div className="page-header">
        <div>
          <h1>Settings</h1>
          <p className="muted">These apply to every key of {account.name}, in both environments.</p>
        </div>
      </div>
      <form
        ref={form}
        className="settings-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {error && !(problem && problem.fieldProblems.length && problem.unclaimed(FIELDS).length === 0) ? <ErrorBanner error={error} /> : null}
        <section className="card">
          <h2>Lifetimes</h2>
          <Field label="Access token lifetime" error={errors['/accessTokenTtl']} hint={`How long a token obtained with a REST key works. Now: ${formatDuration(account.settings.accessTokenTtl)}.`}>
            {(props) => (
              <div className="amount-unit">
                <input {...props} type="number" inputMode="numeric" min={1} value={ttl.amount} onChange={(e) => setTtl({ ...ttl, amount: e.target.value })} />
                <select aria-label="Unit of the access token lifetime" value={ttl.unit} onChange={(e) => setTtl({ ...ttl, unit: e.target.value as Unit })}>
                  <option value="minutes">minutes</option>
                  <option value="hours">hours</option>
                </select>
              </div>
            )}
          </Field>
          <Switch checked={expires} onChange={setExpires} label="New and reset secrets expire" description="Off: secrets work until they are reset or the key is deleted." />
          {expires && (
            <Field label="Key lifetime" error={errors['/keyLifetime']} hint="Counted from creation or the last reset.">
              {(props) => (
                <div className="amount-unit">
                  <input {...props} type="number" inputMode="numeric" min={1} value={lifetime.amount} onChange={(e) => setLifetime({ ...lifetime, amount: e.target.value })} />
                  <select aria-label="Unit of the key lifetime" value={lifetime.unit} onChange={(e) => setLifetime({ ...lifetime, unit: e.target.value as Unit })}>
                    <option value="hours">hours</option>
                    <option value="days">days</option>
                  </select>
                </div>
              )}
            </Field>
          )}
        </section>
        <section className="card">
          <h2>Limits</h2>
          <Field label="Keys per environment" error={errors['/keyLimitPerEnvironment']} hint="Creating a key beyond this many in sandbox or in production is refused.">
            {(props) => <input {...props} type="number" inputMode="numeric" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} className="input-short" />}
          </Field>
          <OverLimitNote counts={counts} limit={Number(limit)} />
        </section>
        <section className="card">
          <h2>Secrets</h2>
          <fieldset className={`field ${errors['/secretReveal'] ? 'field-invalid' : ''}`}>
            <legend className="field-label">After creation, secrets can be</legend>
            <label className="radio-card">
              <input type="radio" name="reveal" checked={reveal === 'never'} onChange={() => setReveal('never')} />
              <span>
                <strong>Never shown again</strong>
                <span className="muted small">Only a fingerprint is kept. A lost secret is replaced by a reset. The safest choice.</span>
              </span>
            </label>
            <label className="radio-card">
              <input type="radio" name="reveal" checked={reveal === 'permitted'} onChange={() => setReveal('permitted')} />
              <span>
                <strong>Revealed by permitted operators</strong>
                <span className="muted small">Secrets made from now on are also stored encrypted; operators with the reveal permission can show them. Every reveal is audited.</span>
              </span>
            </label>
          </fieldset>
        </section>
        <section className="card">
          <h2>New keys start</h2>
          <Switch checked={activeRest} onChange={setActiveRest} label="REST keys start active" />
          <Switch checked={activeToken} onChange={setActiveToken} label="Token keys start active" />
          {errors['/defaultActive'] && <Banner tone="error">{errors['/defaultActive']}</Banner>}
        </section>
        <section className="card">
          <h2>Notices</h2>
          <Field
            label="Expiry reminders, days before"
            error={errors['/expiryNoticeDays']}
            hint="A key.expiring event goes to your webhooks once per key at each of these marks, e.g. 30, 7, 1; leave empty for none. key.expired is sent when a key lapses either way."
          >
            {(props) => <input {...props} value={noticeDays} onChange={(e) => setNoticeDays(e.target.value)} placeholder="7, 1" inputMode="numeric" autoComplete="off" />}
          </Field>
          <Field label="Credits running low at" error={errors['/creditsLowThreshold']} hint="key.credits_low is sent once when a key's credits fall to this many (again after a top-up or refill).">
            {(props) => <input {...props} type="number" inputMode="numeric" min={0} value={creditsLow} onChange={(e) => setCreditsLow(e.target.value)} className="input-short" />}
          </Field>
          <fieldset className={`field ${errors['/leakResponse'] ? 'field-invalid' : ''}`}>
            <legend className="field-label">When a key is reported leaked (found in public by GitHub secret scanning)</legend>
            <label className="radio-card">
              <input type="radio" name="leak-response" checked={leakResponse === 'revoke'} onChange={() => setLeakResponse('revoke')} />
              <span>
                <strong>Switch it off and revoke its tokens</strong>
                <span className="muted small">The integration using it stops until you replace the key. The safest choice.</span>
              </span>
            </label>
            <label className="radio-card">
              <input type="radio" name="leak-response" checked={leakResponse === 'notify'} onChange={() => setLeakResponse('notify')} />
              <span>
                <strong>Keep it working and tell us</strong>
                <span className="muted small">The key is marked leaked and key.leaked is sent; you replace it when you are ready.</span>
              </span>
            </label>
          </fieldset>
        </section>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>
    </div>
  );
}
