import { useState } from 'react';
import { MAX_ALLOWLIST_ENTRIES, MAX_CREDITS, META_MAX_BYTES, checkMeta, parseAllowlistEntry, type RefillInterval } from '../../domain/usage-controls';
import { formatDateTime } from '../lib/format';
import type { Key } from '../lib/types';
import { Field, Switch } from '../components/ui';

/** The body fields of the usage controls, for the form's list of fields it shows errors beside. */
export const USAGE_CONTROL_FIELDS = ['/ipAllowlist', '/credits', '/meta', '/externalId'];

type Errors = Record<string, string>;

const wholeNumber = (text: string, min: number, max: number): number | null => {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
};

/**
 * The usage controls of a key in the create and edit form: the networks it may be used from, the
 * credits it may spend and their refill, its metadata and its owner's id. The form checks what it
 * can with the server's own rules (the same allowlist parser and size bound) before sending.
 */
export function useUsageControls(keyItem: Key | undefined) {
  const [allowlist, setAllowlist] = useState((keyItem?.ipAllowlist ?? []).join('\n'));
  const [creditsOn, setCreditsOn] = useState(keyItem?.credits != null);
  const [remaining, setRemaining] = useState(keyItem?.credits ? String(keyItem.credits.remaining) : '1000');
  const [interval, setInterval] = useState<RefillInterval | ''>(keyItem?.credits?.refill?.interval ?? '');
  const [amount, setAmount] = useState(keyItem?.credits?.refill ? String(keyItem.credits.refill.amount) : '1000');
  const [dayOfMonth, setDayOfMonth] = useState(String(keyItem?.credits?.refill?.dayOfMonth ?? 1));
  const [meta, setMeta] = useState(keyItem?.meta ? JSON.stringify(keyItem.meta, null, 2) : '');
  const [externalId, setExternalId] = useState(keyItem?.externalId ?? '');

  const entries = allowlist.split(/[\s,]+/).filter(Boolean);

  /** What the form would send, or the errors per field pointer. */
  const read = (): { errors: Errors; values: { ipAllowlist: string[] | null; credits: unknown; meta: Record<string, unknown> | null; externalId: string | null } } => {
    const errors: Errors = {};
    const canonical: string[] = [];
    for (const entry of entries) {
      const parsed = parseAllowlistEntry(entry);
      if ('error' in parsed) {
        errors['/ipAllowlist'] ??= `${parsed.error[0]!.toUpperCase()}${parsed.error.slice(1)}.`;
      } else if (!canonical.includes(parsed.value)) canonical.push(parsed.value);
    }
    if (entries.length > MAX_ALLOWLIST_ENTRIES) errors['/ipAllowlist'] = `Use at most ${MAX_ALLOWLIST_ENTRIES} addresses and ranges.`;
    let credits: unknown = null;
    if (creditsOn) {
      const left = wholeNumber(remaining, 0, MAX_CREDITS);
      if (left === null) errors['/credits/remaining'] = `Enter a whole number from 0 to ${MAX_CREDITS.toLocaleString()}.`;
      let refill: unknown = undefined;
      if (interval) {
        const every = wholeNumber(amount, 1, MAX_CREDITS);
        if (every === null) errors['/credits/refill/amount'] = 'Enter a whole number of credits, at least 1.';
        const day = interval === 'month' ? wholeNumber(dayOfMonth, 1, 31) : 1;
        if (day === null) errors['/credits/refill/dayOfMonth'] = 'Pick a day from 1 to 31 (in shorter months: their last day).';
        refill = interval === 'day' ? { amount: every, interval } : { amount: every, interval, dayOfMonth: day };
      }
      credits = refill === undefined ? { remaining: left } : { remaining: left, refill };
    }
    let metaValue: Record<string, unknown> | null = null;
    if (meta.trim()) {
      try {
        const parsed: unknown = JSON.parse(meta);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) errors['/meta'] = 'Write a JSON object, like {"plan": "pro"}.';
        else {
          metaValue = parsed as Record<string, unknown>;
          const tooBig = checkMeta(metaValue);
          if (tooBig.length) errors['/meta'] = `The metadata ${tooBig[0]!.detail}.`;
        }
      } catch {
        errors['/meta'] = 'This is not valid JSON. Write an object, like {"plan": "pro"}.';
      }
    }
    if (externalId.trim().length > 200) errors['/externalId'] = 'Use at most 200 characters.';
    return { errors, values: { ipAllowlist: canonical.length ? canonical : null, credits, meta: metaValue, externalId: externalId.trim() || null } };
  };

  /** The fields to send: on create those set, on edit those that changed. */
  const payload = (): Record<string, unknown> => {
    const { values } = read();
    const out: Record<string, unknown> = {};
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!keyItem) {
      for (const [field, value] of Object.entries(values)) if (value !== null) out[field] = value;
      return out;
    }
    if (!same(values.ipAllowlist, keyItem.ipAllowlist)) out.ipAllowlist = values.ipAllowlist;
    const current = keyItem.credits && { remaining: keyItem.credits.remaining, ...(keyItem.credits.refill ? { refill: keyItem.credits.refill } : {}) };
    if (!same(values.credits, current)) out.credits = values.credits;
    if (!same(values.meta, keyItem.meta)) out.meta = values.meta;
    if (values.externalId !== keyItem.externalId) out.externalId = values.externalId;
    return out;
  };

  return { read, payload, state: { allowlist, setAllowlist, creditsOn, setCreditsOn, remaining, setRemaining, interval, setInterval, amount, setAmount, dayOfMonth, setDayOfMonth, meta, setMeta, externalId, setExternalId, entries } };
}

export type UsageControlsState = ReturnType<typeof useUsageControls>['state'];

export function UsageControlsFields({
  state: s,
  keyItem,
  errorAt,
  changed,
  disabled,
}: {
  state: UsageControlsState;
  keyItem: Key | undefined;
  errorAt: (pointer: string) => string | undefined;
  changed: (pointer: string) => void;
  disabled: boolean;
}) {
  const creditsError = errorAt('/credits') && !errorAt('/credits/remaining') && !errorAt('/credits/refill/amount') && !errorAt('/credits/refill/dayOfMonth') ? errorAt('/credits') : undefined;
  return (
    <fieldset className="field usage-controls">
      <legend className="field-label">Usage controls</legend>

      <Field
        label="Allowed networks"
        optional
        error={errorAt('/ipAllowlist')}
        hint={`IPv4 or IPv6 addresses and CIDR ranges, one per line (at most ${MAX_ALLOWLIST_ENTRIES}). Empty: the key works from anywhere. Requests from elsewhere are refused.`}
      >
        {(props) => (
          <textarea
            {...props}
            name="ipAllowlist"
            rows={3}
            value={s.allowlist}
            onChange={(e) => (s.setAllowlist(e.target.value), changed('/ipAllowlist'))}
            placeholder={'203.0.113.0/24\n2001:db8::/32'}
            spellCheck={false}
            disabled={disabled}
          />
        )}
      </Field>

      <Switch
        checked={s.creditsOn}
        onChange={(on) => (s.setCreditsOn(on), changed('/credits'))}
        disabled={disabled}
        label="Limit the number of requests (credits)"
        description={s.creditsOn ? 'Each verification uses its cost (1 unless the API says otherwise), each token request one credit. At zero the key is refused.' : 'Unlimited: the key is never refused for its number of requests.'}
      />
      {s.creditsOn && (
        <div className="form-grid credits-grid">
          <Field
            label={keyItem?.credits ? 'Credits left' : 'Credits'}
            error={errorAt('/credits/remaining')}
            hint={keyItem?.credits ? 'Changing it tops the key up: the count becomes this number.' : undefined}
          >
            {(props) => <input {...props} name="creditsRemaining" inputMode="numeric" value={s.remaining} onChange={(e) => (s.setRemaining(e.target.value), changed('/credits'))} disabled={disabled} />}
          </Field>
          <Field label="Refill" error={errorAt('/credits/refill/interval')}>
            {(props) => (
              <select {...props} name="refillInterval" value={s.interval} onChange={(e) => (s.setInterval(e.target.value as RefillInterval | ''), changed('/credits'))} disabled={disabled}>
                <option value="">Never</option>
                <option value="day">Every day (00:00 UTC)</option>
                <option value="month">Every month</option>
              </select>
            )}
          </Field>
          {s.interval && (
            <Field label="Refill to" error={errorAt('/credits/refill/amount')} hint="The credits the key holds again after each refill.">
              {(props) => <input {...props} name="refillAmount" inputMode="numeric" value={s.amount} onChange={(e) => (s.setAmount(e.target.value), changed('/credits'))} disabled={disabled} />}
            </Field>
          )}
          {s.interval === 'month' && (
            <Field label="On day of the month" error={errorAt('/credits/refill/dayOfMonth')} hint="In shorter months, their last day.">
              {(props) => <input {...props} name="refillDay" inputMode="numeric" value={s.dayOfMonth} onChange={(e) => (s.setDayOfMonth(e.target.value), changed('/credits'))} disabled={disabled} />}
            </Field>
          )}
          {keyItem?.credits?.nextRefillAt && <p className="field-hint">Next refill: {formatDateTime(keyItem.credits.nextRefillAt)}</p>}
          {creditsError && <p className="field-error">{creditsError}</p>}
        </div>
      )}

      <div className="form-grid">
        <Field label="Owner id" optional error={errorAt('/externalId')} hint="Your own id for who owns the key (a customer or user id); the key list can filter by it.">
          {(props) => <input {...props} name="externalId" value={s.externalId} onChange={(e) => (s.setExternalId(e.target.value), changed('/externalId'))} maxLength={220} autoComplete="off" disabled={disabled} />}
        </Field>
      </div>
      <Field label="Metadata" optional error={errorAt('/meta')} hint={`A JSON object (up to ${META_MAX_BYTES / 1024} KB) your APIs get back with every verification: plan, tenant, limits.`}>
        {(props) => (
          <textarea {...props} name="meta" rows={3} value={s.meta} onChange={(e) => (s.setMeta(e.target.value), changed('/meta'))} placeholder={'{"plan": "pro"}'} spellCheck={false} className="mono" disabled={disabled} />
        )}
      </Field>
    </fieldset>
  );
}
