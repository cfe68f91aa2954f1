/** Inline SVG icons (no icon font, nothing fetched): decorative, so hidden from screen readers. */
import type { ReactElement } from 'react';

const paths = {
  eye: 'M1.5 12s3.8-7 10.5-7 10.5 7 10.5 7-3.8 7-10.5 7S1.5 12 1.5 12Z M12 15.2a3.2 3.2 0 1 0 0-6.4 3.2 3.2 0 0 0 0 6.4Z',
  eyeOff: 'M3 3l18 18 M10.6 5.1A10 10 0 0 1 12 5c6.7 0 10.5 7 10.5 7a17 17 0 0 1-3.1 3.9 M6.6 6.6C3.4 8.5 1.5 12 1.5 12s3.8 7 10.5 7a9.9 9.9 0 0 0 5.4-1.6 M9.9 9.9a3 3 0 0 0 4.2 4.2',
  copy: 'M9 9h11v11H9z M5 15H4V4h11v1',
  check: 'M4.5 12.5l5 5 10-11',
  more: 'M5 12h.01 M12 12h.01 M19 12h.01',
  plus: 'M12 5v14 M5 12h14',
  search: 'M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13Z M15.5 15.5 20 20',
  close: 'M6 6l12 12 M18 6 6 18',
  alert: 'M12 3 2 20h20L12 3Z M12 10v4 M12 17h.01',
  info: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Z M12 11v6 M12 7.5h.01',
  trash: 'M4 7h16 M9 7V4h6v3 M6 7l1 13h10l1-13',
  key: 'M8 15.5a4.5 4.5 0 1 1 0-9 4.5 4.5 0 0 1 0 9Z M12.5 11H21 M18 11v3.5 M21 11v2.5',
  refresh: 'M20 11a8 8 0 0 0-14.9-3.5 M4 4v4h4 M4 13a8 8 0 0 0 14.9 3.5 M20 20v-4h-4',
  code: 'M8 7l-5 5 5 5 M16 7l5 5-5 5 M13.5 4l-3 16',
  shield: 'M12 3l8 3v6c0 4.5-3.4 8.2-8 9-4.6-.8-8-4.5-8-9V6l8-3Z M8.5 12l2.5 2.5 4.5-5',
  chevronDown: 'M6 9l6 6 6-6',
  chevronLeft: 'M15 6l-6 6 6 6',
  chevronRight: 'M9 6l6 6-6 6',
  arrowUp: 'M12 19V5 M6 11l6-6 6 6',
  arrowDown: 'M12 5v14 M6 13l6 6 6-6',
  sort: 'M8 9l4-4 4 4 M8 15l4 4 4-4',
  filter: 'M3 5h18 M6 12h12 M10 19h4',
  power: 'M12 3v9 M6.3 6.3a8 8 0 1 0 11.4 0',
  edit: 'M4 20h4L19 9l-4-4L4 16v4Z M13.5 6.5l4 4',
  signOut: 'M15 4h4v16h-4 M10 16l-4-4 4-4 M6 12h11',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8Z M4 21a8 8 0 0 1 16 0',
  verify: 'M9 12l2 2 4-4 M12 3l8 3v6c0 4.5-3.4 8.2-8 9-4.6-.8-8-4.5-8-9V6l8-3Z',
  play: 'M7 4l13 8-13 8V4Z',
} as const;

export type IconName = keyof typeof paths;

export function Icon({ name, size = 18, className }: { name: IconName; size?: number; className?: string }): ReactElement {
  return (
    <svg
      className={className ? `icon ${className}` : 'icon'}
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={name === 'more' ? 3.2 : 1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {paths[name].split(' M').map((d, i) => (
        <path key={i} d={i === 0 ? d : `M${d}`} />
      ))}
    </svg>
  );
}
