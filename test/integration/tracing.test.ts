import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createAccount, createKey, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';

// The README's SDK set-up (docs/tracing/tracing.mjs), with an exporter that keeps the spans for the test.
const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

describe('OpenTelemetry spans with an SDK registered', () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('sqlite');
  });
  after(async () => kp?.stop());

  test("a verification is a span of the caller's trace, with its outcome, and its store statements are its children", async () => {
    const account = await createAccount(kp.api);
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
    exporter.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
    const res = await kp.api('POST', '/v1/verify', { key: secret }, { traceparent });
    assert.equal(res.body.valid, true);
    const again = await kp.api('POST', '/v1/verify', { key: 'nonsense' }, { traceparent: `00-${traceId}-00f067aa0ba902b8-01` });
    assert.equal(again.body.code, 'malformed');

    const spans = exporter.getFinishedSpans();
    const verifies = spans.filter((s) => s.name === 'keyport.verify');
    assert.equal(verifies.length, 2, spans.map((s) => s.name).join(', '));
    const [first, second] = verifies;
    assert.equal(first!.spanContext().traceId, traceId);
    assert.equal(first!.parentSpanContext?.spanId, '00f067aa0ba902b7');
    assert.equal(first!.attributes['keyport.outcome'], 'valid');
    assert.equal(first!.attributes['http.route'], '/v1/verify');
    assert.equal(second!.attributes['keyport.outcome'], 'malformed');
    // The first verification of the key read the store: its statements are children of the span.
    const statements = spans.filter((s) => s.name === 'keyport.store.query' && s.parentSpanContext?.spanId === first!.spanContext().spanId);
    assert.ok(statements.length >= 1, spans.map((s) => `${s.name} <- ${s.parentSpanContext?.spanId}`).join(', '));
    assert.equal(statements[0]!.spanContext().traceId, traceId);
    assert.equal(statements[0]!.attributes['keyport.store.pool'], 'request');
  });

  test('the token endpoint and forward-auth are spans too', async () => {
    exporter.reset();
    const account = await createAccount(kp.api);
    const client = await createKey(kp.api, account);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.key.clientId, client_secret: client.secret });
    const token = await fetch(`${kp.url}/oauth/token`, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(token.status, 200);
    const authz = await fetch(`${kp.url}/v1/authz?environment=production&scopes=order.read`, { headers: { 'keyport-service-token': 'test-platform-owner-token-0123456789', 'x-api-key': 'nonsense' } });
    assert.equal(authz.status, 401);
    const names = exporter.getFinishedSpans().map((s) => [s.name, s.attributes['keyport.outcome']]);
    assert.deepEqual(names.filter(([n]) => n !== 'keyport.store.query'), [
      ['keyport.oauth.token', 'issued'],
      ['keyport.authz', 'malformed'],
    ]);
  });
});
