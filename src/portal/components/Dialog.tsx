import { useEffect, useId, useRef, type FormEvent, type ReactNode } from 'react';
import { Icon } from './Icons';

const FOCUSABLE = 'input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), [href], [tabindex]:not([tabindex="-1"])';

export interface DialogProps {
  title: ReactNode;
  /** A line under the title, read with it by screen readers. */
  description?: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  /** With onSubmit the body and footer are one form: Enter in a field submits it. */
  onSubmit?: () => void;
  /** While busy, Escape and the close button do nothing (a request is on its way). */
  busy?: boolean;
  size?: 'sm' | 'md' | 'lg';
  tone?: 'default' | 'danger';
  /** CSS selector of the element to focus first; default: the first field, else the first button of the footer. */
  initialFocus?: string;
  className?: string;
  /**
   * Called instead of onClose when the person leaves without using a button of the dialog:
   * Escape, the close button or a click outside. The secret dialog asks first there, since what it
   * shows cannot be shown again. Without it, those close the dialog (a click outside does nothing).
   */
  onDismiss?: () => void;
}

/**
 * A modal dialog on the native <dialog> element: the page behind is inert, focus stays inside,
 * Escape closes it, and focus returns where it was. A click outside does not close it, so nothing
 * typed is lost by a stray click.
 */
export function Dialog({ title, description, onClose, children, footer, onSubmit, busy = false, size = 'md', tone = 'default', initialFocus, className, onDismiss }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descriptionId = useId();
  const closing = useRef(false);
  const busyRef = useRef(busy);
  busyRef.current = busy;
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  const onDismissRef = useRef(onDismiss);
  onDismissRef.current = onDismiss;

  useEffect(() => {
    const dialog = ref.current!;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const body = dialog.querySelector<HTMLElement>('.dialog-body');
    const first =
      (initialFocus && dialog.querySelector<HTMLElement>(initialFocus)) ||
      body?.querySelector<HTMLElement>('input:not([disabled]):not([type="hidden"]):not([type="checkbox"]):not([type="radio"]), select:not([disabled]), textarea:not([disabled])') ||
      dialog.querySelector<HTMLElement>(`.dialog-footer ${FOCUSABLE}`) ||
      dialog.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => {
      closing.current = true;
      if (dialog.open) dialog.close();
      if (previous && previous.isConnected) previous.focus();
    };
    // Opened once per mount: the initial focus is chosen when it appears.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const requestClose = () => {
    if (busyRef.current) return;
    if (onDismissRef.current) onDismissRef.current();
    else onCloseRef.current();
  };

  const content = (
    <>
      <div className="dialog-body">{children}</div>
      {footer && <div className="dialog-footer">{footer}</div>}
    </>
  );

  return (
    <dialog
      ref={ref}
      className={`dialog dialog-${size} ${tone === 'danger' ? 'dialog-danger' : ''} ${className ?? ''}`}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      aria-busy={busy || undefined}
      onCancel={(event) => {
        event.preventDefault();
        requestClose();
      }}
      onClose={() => {
        if (closing.current) return;
        // Closed by the browser itself (Chromium ends a modal on a repeated Escape even when its
        // cancel event is refused). A dialog that asks before closing opens again and asks.
        if (onDismissRef.current) {
          ref.current?.showModal();
          onDismissRef.current();
        } else onCloseRef.current();
      }}
      onClick={(event) => {
        // A click on the backdrop lands on the <dialog> itself, outside its box.
        if (!onDismissRef.current || event.target !== event.currentTarget) return;
        const box = event.currentTarget.getBoundingClientRect();
        const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
        if (!inside) requestClose();
      }}
    >
      <div className="dialog-header">
        <div>
          <h2 id={titleId} className="dialog-title">
            {title}
          </h2>
          {description && (
            <p id={descriptionId} className="dialog-description">
              {description}
            </p>
          )}
        </div>
        <button type="button" className="icon-button" onClick={requestClose} aria-label="Close" disabled={busy}>
          <Icon name="close" />
        </button>
      </div>
      {onSubmit ? (
        <form
          className="dialog-form"
          noValidate
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            if (!busy) onSubmit();
          }}
        >
          {content}
        </form>
      ) : (
        content
      )}
    </dialog>
  );
}
