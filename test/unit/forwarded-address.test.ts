import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedClientIp } from '../../src/http/forwarded-address.js';

test("the client's address is the last X-Forwarded-For entry (the one the gateway saw), else X-Real-IP", () => {
  for (const [headers, expected] of [
    [{ 'x-forwarded-for': '203.0.113.7' }, '203.0.113.7'],
    [{ 'x-forwarded-for': '10.0.0.1, 198.51.100.2, 203.0.113.7' }, '203.0.113.7'],
    [{ 'x-forwarded-for': '2001:DB8::1' }, '2001:db8::1'],
    [{ 'x-forwarded-for': '[2001:db8::1]:4711' }, '2001:db8::1'],
    [{ 'x-forwarded-for': '203.0.113.7:4711' }, '203.0.113.7'],
    [{ 'x-real-ip': '198.51.100.9' }, '198.51.100.9'],
    [{ 'x-forwarded-for': 'unknown', 'x-real-ip': '198.51.100.9' }, '198.51.100.9'],
    [{ 'x-forwarded-for': '198.51.100.9, garbage' }, undefined],
    [{ 'x-forwarded-for': '' }, undefined],
    [{ 'x-real-ip': 'localhost' }, undefined],
    [{ 'x-forwarded-for': '[2001:db8::1' }, undefined],
    [{}, undefined],
  ] as const)
    assert.equal(forwardedClientIp(headers), expected, JSON.stringify(headers));
});
