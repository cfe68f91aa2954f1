import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCursor, encodeCursor, pageOf } from '../../src/domain/cursor.js';
import { AppError } from '../../src/domain/errors.js';

const read = ({ v, i }: Record<string, unknown>) => (typeof i === 'string' && (typeof v === 'string' || v === null) ? { v, i } : null);
const refusal = (detail: RegExp) => (err: unknown) =>
  err instanceof AppError && err.code === 'invalid_cursor' && err.status === 400 && detail.test(err.message) && err.errors?.[0]?.pointer === '/cursor';

describe('cursor codec', () => {
  test('a cursor decodes to the position it was made from, in the same order; it is opaque URL-safe text', () => {
    const cursor = encodeCursor('-name', { v: 'Zebra / ü', i: 'key_1' });
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(cursor, '-name', read), { v: 'Zebra / ü', i: 'key_1' });
    assert.deepEqual(decodeCursor(encodeCursor('channel', { v: null, i: 'key_2' }), 'channel', read), { v: null, i: 'key_2' });
  });

  test('a cursor of another sort order is refused, saying so', () => {
    assert.throws(() => decodeCursor(encodeCursor('name', { v: 'a', i: 'k' }), '-name', read), refusal(/another sort order/));
  });

  test('garbage, JSON that is not an object, and objects of another listing are refused', () => {
    for (const bad of ['%%%', Buffer.from('[1,2]').toString('base64url'), Buffer.from('"x"').toString('base64url'), encodeCursor('name', { at: 1, id: 'x' })])
      assert.throws(() => decodeCursor(bad, 'name', read), refusal(/not one this API returned/), bad);
  });

  test('a page holds `limit` rows and a cursor after its last one only when a further row was fetched', () => {
    const after = (row: number) => `after-${row}`;
    assert.deepEqual(pageOf([1, 2, 3], 2, (n) => n * 10, after), { items: [10, 20], nextCursor: 'after-2' });
    assert.deepEqual(pageOf([1, 2], 2, (n) => n * 10, after), { items: [10, 20], nextCursor: null });
    assert.deepEqual(pageOf([], 2, (n: number) => n, after), { items: [], nextCursor: null });
  });
});
