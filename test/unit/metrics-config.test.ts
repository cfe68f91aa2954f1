import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { HistogramCell, LATENCY_BUCKETS } from '../../src/services/metrics.js';

describe('metrics configuration and cells', () => {
  test('off by default; a port, a token, or both', () => {
    assert.equal(loadConfig({}).metrics, null);
    assert.deepEqual(loadConfig({ KEYPORT_METRICS_PORT: '9464' }).metrics, { port: 9464, token: null });
    assert.deepEqual(loadConfig({ KEYPORT_METRICS_TOKEN: 'a-long-enough-token' }).metrics, { port: null, token: 'a-long-enough-token' });
    assert.deepEqual(loadConfig({ KEYPORT_METRICS_PORT: '0', KEYPORT_METRICS_TOKEN: 'a-long-enough-token' }).metrics, { port: 0, token: 'a-long-enough-token' });
  });

  test('every bad variable is named', () => {
    assert.throws(
      () => loadConfig({ PORT: '8080', KEYPORT_METRICS_PORT: '8080', KEYPORT_METRICS_TOKEN: 'short' }),
      (err: Error) =>
        err instanceof ConfigError &&
        err.message.includes('KEYPORT_METRICS_PORT must differ from PORT (8080)') &&
        err.message.includes('KEYPORT_METRICS_TOKEN must be at least 16 characters with no white space'),
    );
    assert.throws(() => loadConfig({ KEYPORT_METRICS_PORT: 'nine' }), /KEYPORT_METRICS_PORT must be a whole number from 0 to 65535 \(got 'nine'\)/);
    assert.throws(() => loadConfig({ KEYPORT_METRICS_PORT: '70000' }), /KEYPORT_METRICS_PORT must be a whole number/);
    assert.throws(() => loadConfig({ KEYPORT_METRICS_TOKEN: 'has white space in it' }), /KEYPORT_METRICS_TOKEN must be at least 16 characters/);
  });

  test('a histogram cell counts each value in its bucket (upper bounds inclusive) and above the last one only in the count', () => {
    const cell = new HistogramCell(LATENCY_BUCKETS);
    for (const v of [0.0001, 0.0005, 0.0006, 0.05, 11]) cell.observe(v);
    assert.equal(cell.count, 5);
    assert.equal(Math.round(cell.sum * 1e6), Math.round((0.0001 + 0.0005 + 0.0006 + 0.05 + 11) * 1e6));
    const at = (bound: number) => cell.buckets[LATENCY_BUCKETS.indexOf(bound)];
    assert.equal(at(0.0005), 2);
    assert.equal(at(0.001), 1);
    assert.equal(at(0.05), 1);
    assert.equal([...cell.buckets].reduce((a, b) => a + b, 0), 4, '11 s is past the last bound: +Inf only');
  });
});
