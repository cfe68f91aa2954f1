// Keyport's spans through an OpenTelemetry SDK: load this before Keyport starts,
//   node --import ./tracing.mjs dist/start.js
// after `npm install @opentelemetry/sdk-trace-base @opentelemetry/context-async-hooks @opentelemetry/core`.
// It prints each span on the console; swap ConsoleSpanExporter for an OTLP exporter
// (@opentelemetry/exporter-trace-otlp-http) and BatchSpanProcessor to send them to a collector.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

// Spans of one request stay together across awaits (store statements become children of the verification).
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
// A caller's traceparent header continues its trace.
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] }));
