import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * Keyport's Prometheus metrics (README, Operations).
 *
 * prom-client keeps the registry, writes the text format and collects the process metrics. The
 * metrics counted per request do not go through its label API, which validates and hashes the
 * labels on every observation: each label set is bound once to a plain cell (a count, or a
 * histogram's bucket counts), the hot path adds to the cell, and the cells are read when
 * Prometheus scrapes. Gauges are read at scrape time from the parts that know them (caches, the
 * cluster sync, the store pool). No label ever holds a key id, an account id or a credential: only
 * route patterns, methods, status codes, verification codes and fixed names.
 */

type Labels = Record<string, string>;
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}
interface CustomMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] }>;
}

/** Seconds; from a cached verification (well under a millisecond) to a request at its deadline. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Store statements: a few hundred microseconds to the statement timeout. */
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3];

/** One label set of a histogram: its bucket counts, sum and count. */
export class HistogramCell {
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.buckets[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One label set of a counter. */
export class CounterCell {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

/** A histogram whose label sets are bound once (`cell`) and observed without any lookup. */
class BoundHistogram implements CustomMetric {
  readonly type = 'histogram';
  readonly aggregator = 'sum' as const;
  private readonly cells = new Map<string, { labels: Labels; cell: HistogramCell }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}
  cell(labels: Labels): HistogramCell {
    const id = JSON.stringify(labels);
    let entry = this.cells.get(id);
    if (entry === undefined) {
      entry = { labels, cell: new HistogramCell(this.bounds) };
      this.cells.set(id, entry);
    }
    return entry.cell;
  }
  async get() {
    const values: Sample[] = [];
    for (const { labels, cell } of this.cells.values()) {
      if (cell.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += cell.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: String(this.bounds[i]) }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cell.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A counter whose label sets are bound once (`cell`). */
class BoundCounter implements CustomMetric {
  readonly type = 'counter';
  readonly aggregator = 'sum' as const;
  private readonly cells = new Map<string, { labels: Labels; cell: CounterCell }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  cell(labels: Labels): CounterCell {
    const id = JSON.stringify(labels);
    let entry = this.cells.get(id);
    if (entry === undefined) {
      entry = { labels, cell: new CounterCell() };
      this.cells.set(id, entry);
    }
    return entry.cell;
  }
  async get() {
    const values = [...this.cells.values()].map(({ labels, cell }) => ({ labels, value: cell.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A gauge or counter read when scraped: `read` returns its samples (none while it does not apply). */
class ReadMetric implements CustomMetric {
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    private readonly read: () => Sample[] | Promise<Sample[]>,
  ) {}
  async get() {
    let values: Sample[] = [];
    try {
      values = await this.read();
    } catch {
      // A source that fails (a webhook provider's store query, say) leaves its metric out of this scrape.
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** What the webhook deliveries stand at, for the backlog metrics (see `Metrics.setWebhookProvider`). */
export interface WebhookDeliveryStats {
  /** Deliveries waiting to be sent or retried. */
  pending: number;
  /** Webhooks whose latest delivery attempts failed (endpoints that keep failing). */
  failing: number;
}

/** Where a gauge's value comes from: read at scrape time. */
export type GaugeSource = () => Sample[] | Promise<Sample[]>;

/** The verification paths counted in keyport_verifications_total. */
export const VERIFICATION_PATHS = ['/v1/verify', '/v1/authz', '/v1/whoami', '/oauth/token', '/oauth/introspect'] as const;
export type VerificationPath = (typeof VERIFICATION_PATHS)[number];

/**
 * The metrics of one Keyport node. `http` and `verifications` are counted on the hot path through
 * cells bound once; everything else is read when scraped, from the sources registered with
 * `gauge`/`counter`.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new BoundHistogram(
    'keyport_http_request_duration_seconds',
    'HTTP requests by route pattern, method and status: time from the request arriving to its answer being handed to the socket',
    LATENCY_BUCKETS,
  );
  private readonly verificationCounter = new BoundCounter(
    'keyport_verifications_total',
    'Credentials verified, by path and outcome: the /v1/verify code (valid, unknown, expired, ...), issued or an OAuth error for the token endpoint, active or inactive for introspection',
  );
  private readonly queries = new BoundHistogram('keyport_store_query_duration_seconds', 'Store statements by connection pool (request or background) and outcome', QUERY_BUCKETS);
  private readonly storeUnavailable = new BoundCounter('keyport_store_unavailable_total', 'Requests answered 503 because the store was unreachable or too slow');
  private webhooks: (() => WebhookDeliveryStats | Promise<WebhookDeliveryStats>) | null = null;
  /** The cells of keyport_verifications_total by path, then code: bound on first use. */
  private readonly verificationCells = new Map<string, Map<string, CounterCell>>();

  constructor(options: { version: string; defaultMetrics?: boolean }) {
    for (const metric of [this.requests, this.verificationCounter, this.queries, this.storeUnavailable]) this.registry.registerMetric(metric as never);
    this.storeUnavailable.cell({});
    this.gauge('keyport_build_info', 'Always 1; the version of Keyport this node runs', () => [{ labels: { version: options.version }, value: 1 }]);
    this.gauge('keyport_webhook_deliveries_pending', 'Webhook deliveries waiting to be sent or retried', async () =>
      this.webhooks === null ? [] : [{ labels: {}, value: (await this.webhooks()).pending }],
    );
    this.gauge('keyport_webhook_deliveries_failing', 'Webhooks whose recent deliveries fail', async () =>
      this.webhooks === null ? [] : [{ labels: {}, value: (await this.webhooks()).failing }],
    );
    // Process metrics: CPU, memory, event loop lag, garbage collection, open handles.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The cell counting one route pattern's requests of one method and status. */
  httpCell(route: string, method: string, status: number): HistogramCell {
    return this.requests.cell({ route, method, status: String(status) });
  }

  /** Counts one verification outcome; the cell of each (path, code) is bound on first use. */
  verified(path: VerificationPath, code: string): void {
    let byCode = this.verificationCells.get(path);
    if (byCode === undefined) this.verificationCells.set(path, (byCode = new Map()));
    let cell = byCode.get(code);
    if (cell === undefined) byCode.set(code, (cell = this.verificationCounter.cell({ path, code })));
    cell.value++;
  }

  /** The cell timing the store statements of one pool and outcome (ok or error). */
  queryCell(pool: 'request' | 'background', outcome: 'ok' | 'error'): HistogramCell {
    return this.queries.cell({ pool, outcome });
  }

  /** Counts a request answered 503 store_unavailable. */
  storeWasUnavailable(): void {
    this.storeUnavailable.cell({}).value++;
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: GaugeSource): void {
    this.registry.registerMetric(new ReadMetric(name, help, 'gauge', read) as never);
  }

  /** A counter kept elsewhere (a running total), read at scrape time. */
  counter(name: string, help: string, read: GaugeSource): void {
    this.registry.registerMetric(new ReadMetric(name, help, 'counter', read) as never);
  }

  /**
   * The hook for webhook delivery metrics: the webhook dispatcher calls this once with a function
   * answering how many deliveries are pending and how many webhooks are failing; it is called at
   * each scrape (keep it cheap: counters in memory, or one indexed count). Until then the two
   * gauges are absent.
   */
  setWebhookProvider(provider: (() => WebhookDeliveryStats | Promise<WebhookDeliveryStats>) | null): void {
    this.webhooks = provider;
  }

  /** The text format, for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
