import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration of the request log', () => {
  test('defaults: the hot routes sampled at 1 %, slow from 500 ms', () => {
    assert.deepEqual(loadConfig({}).requestLog, { mode: 'sampled', sampleRate: 0.01, slowMs: 500 });
  });

  test('values are read', () => {
    assert.deepEqual(loadConfig({ KEYPORT_REQUEST_LOG: 'all', KEYPORT_REQUEST_LOG_SAMPLE: '0.25', KEYPORT_SLOW_REQUEST_MS: '100' }).requestLog, { mode: 'all', sampleRate: 0.25, slowMs: 100 });
    for (const [text, rate] of [['0', 0], ['1', 1], ['.5', 0.5], ['0.001', 0.001], ['1.0', 1]] as const)
      assert.equal(loadConfig({ KEYPORT_REQUEST_LOG_SAMPLE: text }).requestLog.sampleRate, rate, text);
  });

  test('every bad variable is named', () => {
    assert.throws(
      () => loadConfig({ KEYPORT_REQUEST_LOG: 'some', KEYPORT_REQUEST_LOG_SAMPLE: '2', KEYPORT_SLOW_REQUEST_MS: '-1' }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        for (const name of ['KEYPORT_REQUEST_LOG must', 'KEYPORT_REQUEST_LOG_SAMPLE', 'KEYPORT_SLOW_REQUEST_MS']) assert.ok(err.message.includes(name), `${name}: ${err.message}`);
        return true;
      },
    );
    for (const bad of ['1%', 'half', '1.5', '-0.1', '0x1'])
      assert.throws(() => loadConfig({ KEYPORT_REQUEST_LOG_SAMPLE: bad }), /KEYPORT_REQUEST_LOG_SAMPLE must be a fraction from 0 to 1/, bad);
  });
});
