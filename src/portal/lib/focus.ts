/**
 * After a refused save: focus the first field marked invalid and bring its whole field (label,
 * control, message) into view. The scroll honours the fields' scroll-margin (styles.css), which
 * keeps them clear of the sticky header; a plain focus() would stop at the window's edge, under it.
 * Returns false when no field is marked (the message is then in a banner).
 */
export function focusFirstInvalid(container: ParentNode | null | undefined): boolean {
  const control = container?.querySelector<HTMLElement>(
    '[aria-invalid="true"], .field-invalid input:not([type="hidden"]), .field-invalid select, .field-invalid textarea',
  );
  if (!control) return false;
  control.focus({ preventScroll: true });
  (control.closest<HTMLElement>('.field, fieldset') ?? control).scrollIntoView({ block: 'nearest' });
  return true;
}

/**
 * The same, once React has drawn the messages that mark the fields: tried on the next few frames,
 * since after an awaited request React draws on its own schedule.
 */
export function focusFirstInvalidSoon(container: () => ParentNode | null | undefined, otherwise?: () => void, frames = 6): void {
  requestAnimationFrame(() => {
    if (focusFirstInvalid(container())) return;
    if (frames > 1) focusFirstInvalidSoon(container, otherwise, frames - 1);
    else otherwise?.();
  });
}
