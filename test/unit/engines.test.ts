import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'));

test('every installed package supports the oldest Node.js Keyport says it runs on (no EBADENGINE)', () => {
  const oldest = semver.minVersion(manifest.engines.node)!;
  assert.equal(oldest.major, 20, `package.json engines.node (${manifest.engines.node}) admits Node 20`);
  const refusing = Object.entries(lock.packages as Record<string, { engines?: { node?: unknown } }>)
    .filter(([path, p]) => path !== '' && typeof p.engines?.node === 'string' && !semver.satisfies(oldest, p.engines.node as string))
    .map(([path, p]) => `${path} wants node ${p.engines!.node}`);
  assert.deepEqual(refusing, [], `these packages refuse Node ${oldest}`);
});
