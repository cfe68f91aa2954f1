import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogging } from '../../src/http/logging.js';

describe('errors of one cause are logged once per interval, with a count', () => {
  test('the first is written with its details, the others counted and summed up in one line', () => {
    const lines: any[] = [];
    const { errors } = createLogging({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }, 10_000);
    for (let i = 0; i < 5; i++) errors.report('store:ECONNREFUSED', 'error', 'store unavailable', { err: new Error('connect ECONNREFUSED') });
    errors.report('store:57P01', 'error', 'store unavailable', { err: new Error('terminating connection') });
    assert.deepEqual(lines.map((l) => [l.msg, l.err?.message]), [
      ['store unavailable', 'connect ECONNREFUSED'],
      ['store unavailable', 'terminating connection'],
    ]);
    errors.flush();
    assert.deepEqual(lines.slice(2).map((l) => [l.level, l.msg, l.cause, l.repeated, l.intervalSeconds]), [
      [50, 'store unavailable: 4 more times in the last 10 s', 'store:ECONNREFUSED', 4, 10],
    ]);
    // A new interval: the next one is written again, in full.
    errors.report('store:ECONNREFUSED', 'error', 'store unavailable', { err: new Error('connect ECONNREFUSED') });
    assert.equal(lines.length, 4);
    assert.equal(lines[3].err.message, 'connect ECONNREFUSED');
    errors.flush();
    assert.equal(lines.length, 4, 'nothing repeated, nothing summed up');
  });
});
