import { createContext, useCallback, useContext, useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { Dialog } from './Dialog';
import { Icon, type IconName } from './Icons';
import { ErrorBanner } from './ui';

// --- Menu ---------------------------------------------------------------------------------------

export interface MenuItem {
  label: string;
  icon?: IconName;
  onSelect: () => void;
  tone?: 'danger';
  hidden?: boolean;
}

/**
 * A button that opens a list of actions (the ARIA menu button pattern): arrow keys move, Enter
 * chooses, Escape or Tab closes, and focus goes back to the button before the action runs, so a
 * dialog it opens returns focus there too.
 */
export function Menu({ label, items, buttonContent, className }: { label: string; items: MenuItem[]; buttonContent?: ReactNode; className?: string }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const id = useId();
  const visible = items.filter((i) => !i.hidden);

  useEffect(() => {
    if (!open || !list.current || !button.current) return;
    // Fixed to the viewport, so a scrolling table does not clip it; opens upwards near the bottom.
    const anchor = button.current.getBoundingClientRect();
    const menu = list.current;
    const height = menu.offsetHeight;
    const width = menu.offsetWidth;
    const below = anchor.bottom + 4 + height <= window.innerHeight;
    menu.style.top = `${Math.max(8, below ? anchor.bottom + 4 : anchor.top - 4 - height)}px`;
    menu.style.left = `${Math.max(8, Math.min(anchor.right - width, window.innerWidth - width - 8))}px`;
    menu.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const outside = (event: MouseEvent) => {
      if (!list.current?.contains(event.target as Node) && !button.current?.contains(event.target as Node)) setOpen(false);
    };
    const away = () => setOpen(false);
    document.addEventListener('mousedown', outside);
    window.addEventListener('resize', away);
    window.addEventListener('scroll', away, true);
    return () => {
      document.removeEventListener('mousedown', outside);
      window.removeEventListener('resize', away);
      window.removeEventListener('scroll', away, true);
    };
  }, [open]);

  const close = (refocus = true) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const entries = [...(list.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const index = entries.indexOf(document.activeElement as HTMLElement);
    const move = (to: number) => entries[(to + entries.length) % entries.length]?.focus();
    if (event.key === 'ArrowDown') move(index + 1);
    else if (event.key === 'ArrowUp') move(index - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(entries.length - 1);
    else if (event.key === 'Escape') close();
    else if (event.key === 'Tab') close(false);
    else return;
    if (event.key !== 'Tab') event.preventDefault();
  };

  return (
    <div className={`menu ${className ?? ''}`}>
      <button
        ref={button}
        type="button"
        className="icon-button menu-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        aria-label={label}
        title={label}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            event.preventDefault();
            setOpen(true);
          }
        }}
      >
        {buttonContent ?? <Icon name="more" />}
      </button>
      {open && (
        <div ref={list} id={id} role="menu" aria-label={label} className="menu-list" onKeyDown={onKeyDown}>
          {visible.map((item) => (
            <button
              key={item.label}
              type="button"
              role="menuitem"
              tabIndex={-1}
              className={`menu-item ${item.tone === 'danger' ? 'menu-item-danger' : ''}`}
              onClick={() => {
                close();
                item.onSelect();
              }}
            >
              {item.icon && <Icon name={item.icon} size={16} />}
              <span>{item.label}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

// --- Tabs ---------------------------------------------------------------------------------------

/**
 * A tab list (ARIA tabs pattern, automatic activation): Left/Right/Home/End move between tabs,
 * only the selected tab is in the Tab order. The caller renders the panel with `tabPanelProps`.
 */
export function Tabs<T extends string>({ label, tabs, selected, onSelect, idBase }: { label: string; tabs: { id: T; label: ReactNode }[]; selected: T; onSelect: (id: T) => void; idBase: string }) {
  const refs = useRef(new Map<T, HTMLButtonElement>());
  const onKeyDown = (event: KeyboardEvent) => {
    const index = tabs.findIndex((t) => t.id === selected);
    let next = -1;
    if (event.key === 'ArrowRight') next = (index + 1) % tabs.length;
    else if (event.key === 'ArrowLeft') next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = tabs.length - 1;
    if (next < 0) return;
    event.preventDefault();
    const tab = tabs[next]!;
    onSelect(tab.id);
    refs.current.get(tab.id)?.focus();
  };
  return (
    <div role="tablist" aria-label={label} className="tabs" onKeyDown={onKeyDown}>
      {tabs.map((tab) => (
        <button
          key={tab.id}
          ref={(el) => {
            if (el) refs.current.set(tab.id, el);
          }}
          type="button"
          role="tab"
          id={`${idBase}-tab-${tab.id}`}
          aria-selected={tab.id === selected}
          aria-controls={`${idBase}-panel`}
          tabIndex={tab.id === selected ? 0 : -1}
          className="tab"
          onClick={() => onSelect(tab.id)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export const tabPanelProps = (idBase: string, selected: string) => ({
  role: 'tabpanel' as const,
  id: `${idBase}-panel`,
  'aria-labelledby': `${idBase}-tab-${selected}`,
});

// --- Confirmation -------------------------------------------------------------------------------

/**
 * Asks before an action that cannot be undone. The action runs on confirm; if it fails, the
 * dialog stays open with the error and whatever the person chose in it.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
  tone = 'danger',
}: {
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  tone?: 'danger' | 'default';
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={title}
      onClose={onClose}
      busy={busy}
      size="sm"
      tone={tone}
      onSubmit={run}
      initialFocus=".dialog-footer .button-secondary"
      footer={
        <>
          <button type="button" className="button button-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className={`button ${tone === 'danger' ? 'button-danger' : 'button-primary'}`} disabled={busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </>
      }
    >
      <ErrorBanner error={error} />
      {children}
    </Dialog>
  );
}

// --- Toasts -------------------------------------------------------------------------------------

/** The gap between the toasts and the window's bottom edge, or a pager they move above. */
const TOAST_GAP = 16;

/**
 * Toasts sit at the bottom right, where the pagers of the lists are too: when a pager is in view
 * there, the stack rises above it so its buttons stay visible and clickable.
 */
function avoidPagers(stack: HTMLElement): void {
  const height = stack.getBoundingClientRect().height;
  const viewport = window.innerHeight;
  let bottom = TOAST_GAP;
  for (const pager of document.querySelectorAll<HTMLElement>('.pagination')) {
    const r = pager.getBoundingClientRect();
    if (r.height === 0) continue;
    const top = viewport - bottom - height;
    if (r.bottom > top && r.top < viewport - bottom) bottom = Math.max(bottom, viewport - r.top + 8);
  }
  // Set through the CSSOM, which the portal's CSP allows (unlike style attributes in markup).
  stack.style.bottom = `${bottom}px`;
}

interface Toast {
  id: number;
  message: string;
  tone: 'success' | 'info' | 'error';
}

const ToastContext = createContext<(message: string, tone?: Toast['tone']) => void>(() => {});

export const useToast = () => useContext(ToastContext);

/** Short confirmations ("Key deactivated") in a polite live region: heard, never in the way. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const push = useCallback((message: string, tone: Toast['tone'] = 'success') => {
    const id = next.current++;
    setToasts((list) => [...list.slice(-2), { id, message, tone }]);
    window.setTimeout(() => setToasts((list) => list.filter((t) => t.id !== id)), tone === 'error' ? 8000 : 4000);
  }, []);
  const stack = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = stack.current;
    if (!el || toasts.length === 0) return;
    const place = () => avoidPagers(el);
    place();
    window.addEventListener('scroll', place, { passive: true });
    window.addEventListener('resize', place);
    return () => {
      window.removeEventListener('scroll', place);
      window.removeEventListener('resize', place);
    };
  }, [toasts]);
  return (
    <ToastContext.Provider value={push}>
      {children}
      <div ref={stack} className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.tone}`}>
            <Icon name={t.tone === 'error' ? 'alert' : t.tone === 'info' ? 'info' : 'check'} size={16} />
            <span>{t.message}</span>
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setToasts((list) => list.filter((x) => x.id !== t.id))}>
              <Icon name="close" size={14} />
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}
