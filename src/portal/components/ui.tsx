import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { describeError } from '../lib/api';
import { Icon, type IconName } from './Icons';

/** A message across a page or dialog. Errors are announced as they appear. */
export function Banner({ tone, title, children, action }: { tone: 'error' | 'warning' | 'info' | 'success'; title?: ReactNode; children?: ReactNode; action?: ReactNode }) {
  const icon: IconName = tone === 'error' || tone === 'warning' ? 'alert' : tone === 'success' ? 'check' : 'info';
  return (
    <div className={`banner banner-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      <Icon name={icon} className="banner-icon" />
      <div className="banner-text">
        {title && <strong className="banner-title">{title}</strong>}
        {children && <div>{children}</div>}
        {action && <div className="banner-action">{action}</div>}
      </div>
    </div>
  );
}

/** The banner for a failed request; nothing when there is no error. */
export function ErrorBanner({ error, extra }: { error: unknown; extra?: ReactNode }) {
  if (!error) return null;
  return (
    <Banner tone="error">
      {describeError(error)}
      {extra}
    </Banner>
  );
}

export interface FieldControlProps {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}

/**
 * A labelled form field with its hint and its error right under it. The control gets the ids that
 * tie the hint and the error to it for screen readers.
 */
export function Field({
  label,
  hint,
  error,
  required,
  optional,
  children,
  className,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  required?: boolean;
  optional?: boolean;
  children: (props: FieldControlProps) => ReactNode;
  className?: string;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field ${error ? 'field-invalid' : ''} ${className ?? ''}`}>
      <label htmlFor={id} className="field-label">
        {label}
        {required && <span className="required" aria-hidden="true"> *</span>}
        {optional && <span className="optional"> (optional)</span>}
      </label>
      {children({ id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })}
      {error && <FieldError id={errorId}>{error}</FieldError>}
      {hint && (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      )}
    </div>
  );
}

export function FieldError({ id, children }: { id?: string; children: ReactNode }) {
  return (
    <p id={id} className="field-error">
      <Icon name="alert" size={14} />
      <span>{children}</span>
    </p>
  );
}

/** An on/off switch: a checkbox with the switch role, so Space toggles it and it reads "on"/"off". */
export function Switch({ checked, onChange, label, description, disabled, id }: { checked: boolean; onChange: (value: boolean) => void; label: ReactNode; description?: ReactNode; disabled?: boolean; id?: string }) {
  const autoId = useId();
  const inputId = id ?? autoId;
  return (
    <div className="switch-row">
      <input id={inputId} type="checkbox" role="switch" className="switch" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} aria-describedby={description ? `${inputId}-d` : undefined} />
      <label htmlFor={inputId} className="switch-label">
        <span>{label}</span>
        {description && (
          <span id={`${inputId}-d`} className="field-hint">
            {description}
          </span>
        )}
      </label>
    </div>
  );
}

/** Puts text on the clipboard; falls back to a hidden text area where the Clipboard API is missing (plain HTTP). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy failed');
}

/** A copy button that says "Copied" for a moment, also to screen readers. */
export function CopyButton({ value, label, compact = false, className }: { value: string; label: string; compact?: boolean; className?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const copy = async () => {
    try {
      await copyText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setState('idle'), 2000);
  };
  const text = state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy by hand' : label;
  return (
    <>
      <button type="button" className={`${compact ? 'icon-button' : 'button button-secondary button-small'} ${className ?? ''}`} onClick={copy} aria-label={label} title={label} data-copy>
        <Icon name={state === 'copied' ? 'check' : 'copy'} size={16} />
        {!compact && <span>{state === 'copied' ? 'Copied' : 'Copy'}</span>}
      </button>
      <span className="visually-hidden" role="status" aria-live="polite">
        {state === 'idle' ? '' : text}
      </span>
    </>
  );
}

/**
 * A credential shown masked, with an eye to show it and a copy button. `value` may come later
 * (revealed on demand): `onReveal` fetches it when the eye is first pressed.
 */
export function SecretValue({
  value,
  label,
  initiallyVisible = false,
  onReveal,
  masked,
  className,
}: {
  value: string | null;
  label: string;
  initiallyVisible?: boolean;
  onReveal?: () => Promise<void>;
  masked?: string;
  className?: string;
}) {
  const [visible, setVisible] = useState(initiallyVisible);
  const [loading, setLoading] = useState(false);
  const toggle = async () => {
    if (!visible && value === null && onReveal) {
      setLoading(true);
      try {
        await onReveal();
      } finally {
        setLoading(false);
      }
    }
    setVisible((v) => !v);
  };
  const shown = visible && value !== null ? value : masked ?? (value ? `${value.slice(0, 10)}${'•'.repeat(12)}` : '•'.repeat(16));
  return (
    <span className={`secret-value ${className ?? ''}`}>
      {visible ? (
        <code className="secret-text is-visible">{shown}</code>
      ) : (
        <>
          <code className="secret-text is-masked" aria-hidden="true">
            {shown}
          </code>
          <span className="visually-hidden">{label}, hidden</span>
        </>
      )}
      {/* A toggle keeps one name; its pressed state says whether the value shows. */}
      <button type="button" className="icon-button" onClick={toggle} aria-pressed={visible} aria-label={`Show ${label}`} title={`${visible ? 'Hide' : 'Show'} ${label}`} disabled={loading}>
        <Icon name={visible ? 'eyeOff' : 'eye'} size={16} />
      </button>
      {value !== null && <CopyButton value={value} label={`Copy ${label}`} compact />}
    </span>
  );
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <span className="spinner-wrap" role="status">
      <span className="spinner" aria-hidden="true" />
      <span className="visually-hidden">{label}</span>
    </span>
  );
}

/** A page's "this server does not offer it yet" state, driven by a 404 from its endpoint. */
export function NotAvailable({ what }: { what: string }) {
  return (
    <div className="empty-state">
      <div className="empty-icon">
        <Icon name="info" size={28} />
      </div>
      <h2>{what} is not available on this server</h2>
      <p>This Keyport server does not offer this yet. When it is updated to a version that does, this page works without any change here.</p>
    </div>
  );
}

export function Badge({ tone = 'neutral', children, title }: { tone?: 'neutral' | 'green' | 'red' | 'amber' | 'blue' | 'violet'; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}
