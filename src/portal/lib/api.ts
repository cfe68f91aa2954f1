/**
 * The portal's only way to the server: the public REST API, with the signed-in operator's
 * credentials. A session is either an API token (sent as a bearer) or an operator's session cookie
 * (HttpOnly, set by POST /v1/session) plus the CSRF token that state-changing requests repeat.
 * It lives in sessionStorage: it ends with the browser tab, and other sites' pages cannot read it.
 */

import { accountPath, keyPath, keyportClient, queryString, type KeyportClient, type Query } from '../../contract/client';
import { humanizeDetail, problemSentences } from './problem-text';

export type Session = { mode: 'token'; token: string } | { mode: 'cookie'; csrfToken: string };

const SESSION_KEY = 'keyport.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Session;
    if (parsed.mode === 'token' && typeof parsed.token === 'string') return parsed;
    if (parsed.mode === 'cookie' && typeof parsed.csrfToken === 'string') return parsed;
  } catch {
    /* unreadable: treat as signed out */
  }
  return null;
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** One bad field of a request, as the API points at it (RFC 6901 pointer into the body). */
export interface FieldProblem {
  pointer: string;
  detail: string;
}

/** An RFC 9457 problem answer, or a failure to reach the server at all (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly fieldProblems: FieldProblem[] = [],
  ) {
    super(detail);
  }

  /** The detail for one field: a pointer such as `/name`, or everything under `/roles/1`. */
  forField(pointer: string): string | undefined {
    const hits = this.fieldProblems.filter((p) => p.pointer === pointer || p.pointer.startsWith(`${pointer}/`));
    return hits.length ? hits.map((p) => p.detail).join(' ') : undefined;
  }

  /** Field problems none of the given pointers covers: shown in the banner instead. */
  unclaimed(pointers: readonly string[]): FieldProblem[] {
    return this.fieldProblems.filter((p) => !pointers.some((q) => p.pointer === q || p.pointer.startsWith(`${q}/`)));
  }
}

/**
 * What to tell a person about a failed request: the API's own `detail` (written for people),
 * framed by what it means for them.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something unexpected went wrong in the portal. Reload the page and try again.';
  switch (true) {
    case error.status === 0:
      return 'Keyport cannot be reached. Check your connection and try again; nothing was changed.';
    case error.status === 401:
      return 'You are signed out: your session or token is no longer valid. Sign in again; what you typed here is kept.';
    case error.status === 403 && error.code === 'account_not_eligible':
      return error.detail;
    case error.status === 403:
      return `You are not allowed to do this. ${error.detail}`;
    case error.status === 429:
      return `Too many attempts. ${error.detail}`;
    case error.status >= 500:
      return 'Keyport had a problem on its side and has logged it. Try again in a moment; nothing you typed is lost.';
    default:
      return error.detail || error.title;
  }
}

export { accountPath, keyPath, queryString };

/** The REST API as the signed-in operator: its typed endpoints, and plain requests for the rest. */
export interface ApiClient extends KeyportClient {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  del<T = void>(path: string, query?: Query): Promise<T>;
}

/** Listeners told when the server says the session is no longer valid. */
export type UnauthorizedListener = () => void;

export function createClient(session: Session | null, onUnauthorized?: UnauthorizedListener): ApiClient {
  async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (session?.mode === 'token') headers.authorization = `Bearer ${session.token}`;
    if (session?.mode === 'cookie' && method !== 'GET') headers['x-csrf-token'] = session.csrfToken;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${path}${queryString(query)}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'network_error', 'Network error', 'Keyport cannot be reached.');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (res.ok) return parsed as T;
    const problem = (parsed ?? {}) as { code?: string; title?: string; detail?: string; errors?: FieldProblem[]; error?: string; error_description?: string };
    const raw = Array.isArray(problem.errors) ? problem.errors.filter((e) => e && typeof e.detail === 'string') : [];
    let detail = problem.detail ?? problem.error_description ?? `The server answered ${res.status} ${res.statusText}.`;
    // "The body is invalid: /name must NOT have more than 100 characters." is the validator's
    // wording; say it as sentences instead.
    if (raw.length && / is invalid: /.test(detail)) detail = problemSentences(raw).join(' ');
    const error = new ApiError(
      res.status,
      problem.code ?? problem.error ?? `http_${res.status}`,
      problem.title ?? res.statusText,
      detail,
      raw.map((e) => ({ pointer: String(e.pointer ?? ''), detail: humanizeDetail(e.detail) })),
    );
    if (res.status === 401 && session) onUnauthorized?.();
    throw error;
  }
  return {
    ...keyportClient(request),
    get: (path, query) => request('GET', path, undefined, query),
    post: (path, body) => request('POST', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body),
    del: (path, query) => request('DELETE', path, undefined, query),
  };
}
