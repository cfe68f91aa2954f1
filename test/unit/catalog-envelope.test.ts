import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { buildCatalog, grantedScopes } from '../../src/domain/catalog.js';
import { DEFAULT_CATALOG } from '../../src/domain/default-catalog.js';
import { kekFromBytes, Keyring } from '../../src/domain/envelope.js';

test('role levels are cumulative: owner grants what editor and viewer grant', () => {
  const catalog = buildCatalog(DEFAULT_CATALOG);
  const product = catalog.roleDefinitions.find((r) => r.id === 'product_data')!;
  assert.deepEqual(product.levels, [
    { level: 'viewer', scopes: ['product.read', 'category.read'] },
    { level: 'editor', scopes: ['product.read', 'category.read', 'product.write', 'category.write'] },
    { level: 'owner', scopes: ['product.read', 'category.read', 'product.write', 'category.write', 'product.delete'] },
  ]);
  assert.deepEqual(grantedScopes(catalog, 'custom', ['order.read'], [{ definition: 'pricing', level: 'editor' }]), ['price.read', 'price.write', 'order.read']);
  assert.equal(grantedScopes(catalog, 'admin', [], []).length, catalog.allScopes.length);
});

test('a bad catalog is refused with every problem named', () => {
  assert.throws(
    () =>
      buildCatalog({
        services: [{ id: 'a', name: 'A', scopes: [{ id: 'a.read', description: '' }, { id: 'a.read', description: '' }] }],
        storefrontScopes: ['b.read'],
        roleDefinitions: [{ id: 'r', name: 'R', levels: { viewer: ['c.read'], editor: [], owner: [] } }],
      }),
    (err: Error) =>
      /'a.read' is listed twice/.test(err.message) && /storefrontScopes: unknown scope 'b.read'/.test(err.message) && /roleDefinitions\[0\].levels.viewer: unknown scope 'c.read'/.test(err.message),
  );
});

test('envelope encryption round-trips, detects tampering and re-wraps under a new key', () => {
  const oldKek = kekFromBytes(randomBytes(32));
  const newKek = kekFromBytes(randomBytes(32));
  const sealed = new Keyring(oldKek).encrypt('kpsk_live_secret');
  assert.equal(new Keyring(oldKek).decryptText(sealed), 'kpsk_live_secret');
  const tampered = sealed.slice(0, -3) + (sealed.at(-3) === 'A' ? 'B' : 'A') + sealed.slice(-2);
  assert.throws(() => new Keyring(oldKek).decrypt(tampered));
  const rotating = new Keyring(newKek, [oldKek]);
  const rewrapped = rotating.rewrap(sealed)!;
  assert.equal(rotating.rewrap(rewrapped), null, 'already under the current key');
  assert.equal(new Keyring(newKek).decryptText(rewrapped), 'kpsk_live_secret');
  assert.throws(() => new Keyring(newKek).decrypt(sealed), /no configured key-encryption key/);
});
