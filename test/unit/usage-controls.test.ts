import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  IpAllowlist,
  checkIpAllowlist,
  checkMeta,
  creditsAt,
  crossedThreshold,
  nextRefillAt,
  parseAllowlistEntry,
  refillPeriodStart,
} from '../../src/domain/usage-controls.js';

const at = (iso: string) => Date.parse(iso);

describe('IP allowlists', () => {
  test('entries are checked strictly and kept in canonical form', () => {
    assert.deepEqual(parseAllowlistEntry('203.0.113.0/24'), { value: '203.0.113.0/24' });
    assert.deepEqual(parseAllowlistEntry(' 2001:DB8::/32 '), { value: '2001:db8::/32' });
    assert.deepEqual(parseAllowlistEntry('198.51.100.7'), { value: '198.51.100.7' });
    assert.deepEqual(parseAllowlistEntry('::ffff:198.51.100.7'), { value: '198.51.100.7' }, 'an IPv4-mapped address is the IPv4 address');
    assert.match((parseAllowlistEntry('10.0.0.0/33') as { error: string }).error, /prefix length of an IPv4 range is 0 to 32/);
    assert.match((parseAllowlistEntry('2001:db8::/129') as { error: string }).error, /0 to 128/);
    assert.match((parseAllowlistEntry('10.0.0.5/24') as { error: string }).error, /bits set after the prefix; the range is 10.0.0.0\/24/);
    for (const bad of ['1.2.3', '010.1.1.1', '0x7f.0.0.1', 'localhost', 'fe80::1%eth0', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8'])
      assert.ok('error' in parseAllowlistEntry(bad), bad);
  });

  test('a list: every bad entry pointed at, duplicates dropped, an empty list refused', () => {
    assert.deepEqual(checkIpAllowlist(['10.0.0.0/8', '10.0.0.0/8', 'x', '1.2.3.4/40']).errors.map((e) => e.pointer), ['/ipAllowlist/2', '/ipAllowlist/3']);
    assert.deepEqual(checkIpAllowlist(['10.0.0.0/8', '10.0.0.0/8']).value, ['10.0.0.0/8']);
    assert.deepEqual(checkIpAllowlist([]).errors.map((e) => e.pointer), ['/ipAllowlist']);
    assert.deepEqual(checkIpAllowlist(null), { value: null, errors: [] });
  });

  test('matching: ranges and single addresses of both families, IPv4-mapped clients, garbage never', () => {
    const list = new IpAllowlist(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7']);
    for (const ip of ['203.0.113.0', '203.0.113.255', '::ffff:203.0.113.9', '2001:db8::1', '2001:db8:ffff::', '198.51.100.7']) assert.equal(list.allows(ip), true, ip);
    for (const ip of ['203.0.114.1', '198.51.100.8', '2001:db9::1', '::1', '', 'not-an-ip', '203.0.113']) assert.equal(list.allows(ip), false, ip);
    assert.equal(list.allows('203.0.113.9'), true, 'a remembered answer is the same');
    assert.equal(new IpAllowlist(['0.0.0.0/0']).allows('8.8.8.8'), true);
    assert.equal(new IpAllowlist(['0.0.0.0/0']).allows('2001:db8::1'), false, 'an IPv4 range never matches an IPv6 client');
  });
});

describe('credit refills', () => {
  test('daily: at 00:00 UTC', () => {
    const refill = { amount: 10, interval: 'day' as const };
    assert.equal(refillPeriodStart(refill, at('2026-03-05T13:00:00Z')), at('2026-03-05T00:00:00Z'));
    assert.equal(refillPeriodStart(refill, at('2026-03-05T00:00:00Z')), at('2026-03-05T00:00:00Z'), 'the boundary itself belongs to the new day');
    assert.equal(nextRefillAt(refill, at('2026-03-05T23:59:59.999Z')), at('2026-03-06T00:00:00Z'));
  });

  test('monthly: on dayOfMonth, or the last day of a shorter month', () => {
    const on31 = { amount: 10, interval: 'month' as const, dayOfMonth: 31 };
    assert.equal(refillPeriodStart(on31, at('2026-02-27T10:00:00Z')), at('2026-01-31T00:00:00Z'));
    assert.equal(refillPeriodStart(on31, at('2026-02-28T00:00:00Z')), at('2026-02-28T00:00:00Z'), 'February has no 31st: its last day');
    assert.equal(nextRefillAt(on31, at('2026-02-28T00:00:00Z')), at('2026-03-31T00:00:00Z'));
    assert.equal(refillPeriodStart(on31, at('2028-02-29T05:00:00Z')), at('2028-02-29T00:00:00Z'), 'a leap year');
    const on15 = { amount: 10, interval: 'month' as const, dayOfMonth: 15 };
    assert.equal(refillPeriodStart(on15, at('2026-01-10T00:00:00Z')), at('2025-12-15T00:00:00Z'), 'across the turn of the year');
    assert.equal(nextRefillAt(on15, at('2025-12-20T00:00:00Z')), at('2026-01-15T00:00:00Z'));
    assert.equal(refillPeriodStart({ amount: 1, interval: 'month' }, at('2026-07-01T00:00:00Z')), at('2026-07-01T00:00:00Z'), 'dayOfMonth 1 by default');
  });

  test('the credits left: the refill amount once a refill is due, else the stored count', () => {
    const credits = { remaining: 0, refill: { amount: 100, interval: 'day' as const }, refilledAt: at('2026-03-05T00:00:00Z') };
    assert.equal(creditsAt(credits, at('2026-03-05T23:59:59.999Z')), 0);
    assert.equal(creditsAt(credits, at('2026-03-06T00:00:00Z')), 100);
    assert.equal(creditsAt({ ...credits, refill: null }, at('2027-01-01T00:00:00Z')), 0, 'no refill, no credits back');
  });

  test('a threshold is crossed once', () => {
    assert.equal(crossedThreshold(11, 10, 10), true);
    assert.equal(crossedThreshold(10, 9, 10), false);
    assert.equal(crossedThreshold(15, 5, 10), true);
  });
});

describe('meta', () => {
  test('at most 4 KB of JSON', () => {
    assert.deepEqual(checkMeta({ plan: 'pro' }), []);
    assert.deepEqual(checkMeta(null), []);
    assert.deepEqual(checkMeta({ blob: 'x'.repeat(4085) }), [], '4096 bytes');
    assert.match(checkMeta({ blob: 'x'.repeat(4086) })[0]!.detail, /4097 bytes of JSON; at most 4096/);
    assert.match(checkMeta({ text: 'é'.repeat(2100) })[0]!.detail, /bytes/, 'counted in bytes, not characters');
  });
});
