import { useSyncExternalStore, type MouseEvent } from 'react';

/**
 * A few lines of routing over the History API: the URL holds the page, the account, the
 * environment and every filter, so a reload or a shared link shows the same view.
 */

const CHANGE = 'keyport:navigate';

export interface Location {
  path: string;
  params: URLSearchParams;
  /** The search string, for effects that reload when any parameter changes. */
  search: string;
  state: unknown;
}

let cached: Location | null = null;
function snapshot(): Location {
  const { pathname, search } = window.location;
  const state = window.history.state as unknown;
  if (!cached || cached.path !== pathname || cached.search !== search || cached.state !== state)
    cached = { path: pathname, search, params: new URLSearchParams(search), state };
  return cached;
}

function subscribe(callback: () => void): () => void {
  window.addEventListener('popstate', callback);
  window.addEventListener(CHANGE, callback);
  return () => {
    window.removeEventListener('popstate', callback);
    window.removeEventListener(CHANGE, callback);
  };
}

export function useLocation(): Location {
  return useSyncExternalStore(subscribe, snapshot);
}

export function navigate(to: string, options: { replace?: boolean; state?: unknown } = {}): void {
  const current = window.location.pathname + window.location.search;
  if (to === current && options.state === undefined) return;
  if (options.replace) window.history.replaceState(options.state ?? null, '', to);
  else window.history.pushState(options.state ?? null, '', to);
  window.dispatchEvent(new Event(CHANGE));
}

/** Builds `path?query`, leaving out empty values. */
export function href(path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** onClick for <a href>: follows the link inside the app unless the user asked for a new tab. */
export function linkHandler(to: string) {
  return (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
}

/** Matches `/accounts/:account/:page`; null when the path is something else. */
export function matchAccountPage(path: string): { account: string; page: string } | null {
  const m = /^\/accounts\/([^/]+)(?:\/([a-z-]+))?\/?$/.exec(path);
  if (!m) return null;
  return { account: decodeURIComponent(m[1]!), page: m[2] ?? 'keys' };
}
