import { context, propagation, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import type { MaybePromise } from '../domain/maybe-promise.js';

/**
 * OpenTelemetry spans (README, Operations: Tracing). Keyport uses only `@opentelemetry/api`: without
 * an SDK registered in the process every call here is a no-op. With one (see the README's example),
 * each verification is a span continuing the caller's trace (W3C traceparent), and every store
 * statement a child span of the request's.
 */
const tracer = trace.getTracer('keyport');
/** The API's global provider: a proxy that delegates to the SDK's once one is registered. */
const provider = trace.getTracerProvider();

/** No SDK registered (checked per call: one may be registered after Keyport is loaded). Spares the hot path a span object. */
const noSdk = () => provider instanceof ProxyTracerProvider && provider.getDelegateTracer('keyport') === undefined;

/**
 * Runs `work` in a span named `name`, a child of the trace the caller's headers carry; `outcome`
 * names the result in the `keyport.outcome` attribute. Synchronous work stays synchronous.
 */
export function inSpan<T>(name: string, headers: Record<string, unknown>, attributes: Attributes, work: () => MaybePromise<T>, outcome: (result: T) => string): MaybePromise<T> {
  if (noSdk()) return work();
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  if (!span.isRecording()) return work();
  const done = (result: T) => {
    span.setAttribute('keyport.outcome', outcome(result));
    span.end();
    return result;
  };
  const failed = (err: unknown): never => {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    span.end();
    throw err;
  };
  try {
    const result = context.with(trace.setSpan(parent, span), work);
    return result instanceof Promise ? result.then(done, failed) : done(result);
  } catch (err) {
    return failed(err);
  }
}

/** Records a store statement that has just finished as a span of the active trace (none without an SDK). */
export function traceStatement(pool: 'request' | 'background', ok: boolean, seconds: number): void {
  const active = trace.getActiveSpan();
  if (active === undefined || !active.isRecording()) return;
  const end = performance.timeOrigin + performance.now();
  const span = tracer.startSpan('keyport.store.query', { kind: SpanKind.CLIENT, startTime: end - seconds * 1000, attributes: { 'keyport.store.pool': pool } });
  if (!ok) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end(end);
}
