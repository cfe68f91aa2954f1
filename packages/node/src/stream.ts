/** One server-sent event (WHATWG HTML 9.2): its type, its data, and the id it carried (if any). */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export interface EventStreamOptions {
  url: string;
  headers: Record<string, string>;
  /** Called for each event, in order. */
  onEvent: (event: ServerSentEvent) => void;
  /** Called when a connection ends or fails (before the next attempt). */
  onDown: (err: unknown) => void;
  /** Silence longer than this (ms) counts as a dead connection: it is dropped and made again. */
  idleTimeoutMs: number;
  fetch: typeof fetch;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5000;

/**
 * A small server-sent events client on `fetch`: reconnects with exponential backoff and jitter,
 * resumes with Last-Event-ID, and drops a connection that stays silent longer than the idle
 * timeout (the server sends heartbeats), so a half-open TCP connection does not pass for a live one.
 */
export class EventStreamClient {
  private lastEventId: string | undefined;
  private controller: AbortController | undefined;
  private stopped = false;
  private backoff = MIN_BACKOFF_MS;
  private idle: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: EventStreamOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Forgets the resume point: the next connection starts afresh. */
  forgetPosition(): void {
    this.lastEventId = undefined;
  }

  /** Drops the current connection (it is made again after the backoff). */
  drop(): void {
    this.controller?.abort(new Error('connection dropped'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.idle);
    clearTimeout(this.retryTimer);
    this.controller?.abort(new Error('stopped'));
    this.wake?.();
    await this.running?.catch(() => {});
  }

  private wake: (() => void) | undefined;

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.connect();
        this.options.onDown(new Error('the event stream ended'));
      } catch (err) {
        if (this.stopped) break;
        this.options.onDown(err);
      }
      if (this.stopped) break;
      const wait = this.backoff * (0.5 + Math.random() / 2);
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.retryTimer = setTimeout(resolve, wait);
        this.retryTimer.unref();
      });
    }
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.controller?.abort(new Error(`the event stream was silent for ${this.options.idleTimeoutMs} ms`)), this.options.idleTimeoutMs);
    this.idle.unref();
  }

  private async connect(): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    const headers: Record<string, string> = { ...this.options.headers, accept: 'text/event-stream' };
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
    this.armIdle();
    try {
      const res = await this.options.fetch(this.options.url, { headers, signal: controller.signal });
      if (res.status !== 200 || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream') || res.body === null) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`the event stream answered ${res.status} ${res.headers.get('content-type') ?? ''}`);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let event = '';
      let data: string[] = [];
      let id: string | undefined;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.armIdle();
        buffer += value;
        let nl: number;
        while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1));
          if (line === '') {
            if (data.length > 0 || event !== '') {
              if (id !== undefined) this.lastEventId = id;
              this.backoff = MIN_BACKOFF_MS;
              this.options.onEvent({ event: event || 'message', data: data.join('\n'), id });
            }
            event = '';
            data = [];
            id = undefined;
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? '' : line.slice(colon + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'event') event = val;
          else if (field === 'data') data.push(val);
          else if (field === 'id' && !val.includes('\0')) id = val;
        }
        if (buffer.length > 1_000_000) throw new Error('an event stream line longer than 1 MB');
      }
    } finally {
      clearTimeout(this.idle);
      controller.abort();
    }
  }
}
