import { keyportClient, queryString, type KeyportClient, type Query } from '../contract/client.js';

/** A small REST client for the CLI: one request, problem+json turned into a readable error. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
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
      throw new CliError('No token: run keyport login, pass --token or set KEYPORT_TOKEN (the platform owner token, or a personal API token).', 2);
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
      throw new CliError(`Cannot reach Keyport at ${this.options.url} (${reason}). Is it running? Set --url or KEYPORT_URL.`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (!res.ok) throw new CliError(formatProblem(res.status, parsed));
    return parsed as T;
  }
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
