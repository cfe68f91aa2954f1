import { keyportClient, queryString, type KeyportClient, type Query } from '../contract/client.js';

/**
 * What a failed command reports: with --json, `{"error": ...}` on stderr. An answer of the server
 * keeps its problem details (RFC 9457) as they came; an error of the CLI itself (bad usage, no
 * token, server unreachable) has the same members with `status: null`.
 */
export interface CliProblem {
  code: string;
  title: string;
  detail: string;
  status: number | null;
  [member: string]: unknown;
}

/** A small REST client for the CLI: one request, problem+json turned into a readable error. */
export class CliError extends Error {
  readonly problem: CliProblem;

  constructor(
    message: string,
    readonly exitCode = 1,
    problem?: Partial<CliProblem>,
  ) {
    super(message);
    this.problem = { code: 'cli_error', title: 'The command failed', status: null, ...problem, detail: problem?.detail ?? message };
  }
}

export interface ClientOptions {
  url: string;
  token?: string | undefined;
}

export class ApiClient {
  /** The REST API's endpoints, typed by its schemas. */
  readonly api: KeyportClient;

  constructor(private readonly options: ClientOptions) {
    this.api = keyportClient((method, path, body, query?: Query) => this.request(method, `${path}${queryString(query)}`, body));
  }

  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.options.token)
      throw new CliError('No token: run keyport login, pass --token or set KEYPORT_TOKEN (the platform owner token, or a personal API token).', 2, {
        code: 'no_token',
        title: 'No token',
      });
    let res: Response;
    try {
      res = await fetch(new URL(path, this.options.url), {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
      const reason = cause?.code ?? cause?.errors?.[0]?.code ?? (cause as Error | undefined)?.message ?? (err as Error).message;
      throw new CliError(`Cannot reach Keyport at ${this.options.url} (${reason}). Is it running? Set --url or KEYPORT_URL.`, 1, {
        code: 'unreachable',
        title: 'Cannot reach Keyport',
      });
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (!res.ok) throw new CliError(formatProblem(res.status, parsed), 1, problemOf(res, parsed));
    return parsed as T;
  }
}

/** The server's problem details as they came, or the same members made from a non-problem answer. */
function problemOf(res: Response, body: any): CliProblem {
  if (body && typeof body === 'object' && !Array.isArray(body) && typeof body.detail === 'string')
    return { code: String(body.code ?? body.error ?? `http_${res.status}`), title: String(body.title ?? res.statusText), ...body, status: res.status, detail: body.detail };
  // RFC 6749 error bodies (`/oauth/*`) and plain text.
  const detail = body && typeof body === 'object' ? String(body.error_description ?? body.error ?? JSON.stringify(body)) : String(body ?? res.statusText);
  const code = body && typeof body === 'object' && typeof body.error === 'string' ? body.error : `http_${res.status}`;
  return { code, title: res.statusText || `HTTP ${res.status}`, detail, status: res.status };
}

/** "Error 400 (validation_failed): detail\n  /name: is required" */
export function formatProblem(status: number, body: any): string {
  if (body && typeof body === 'object' && typeof body.detail === 'string') {
    const lines = [`Error ${status}${body.code ? ` (${body.code})` : ''}: ${body.detail}`];
    for (const e of body.errors ?? []) lines.push(`  ${e.pointer || '(body)'}: ${e.detail}`);
    return lines.join('\n');
  }
  return `Error ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`;
}
