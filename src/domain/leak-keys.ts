import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * The public keys a secret scanner signs its leak reports with. GitHub publishes its keys at
 * https://api.github.com/meta/public_keys/secret_scanning as
 * `{"public_keys": [{"key_identifier": "...", "key": "-----BEGIN PUBLIC KEY-----...", "is_current": true}]}`;
 * that document can be configured as it is (no fetch happens at run time). Keys given as bare
 * PEM carry no identifier and are tried for any identifier a report names.
 */
export interface LeakKeys {
  /** Keys by the identifier a report names in its Github-Public-Key-Identifier header. */
  byId: ReadonlyMap<string, KeyObject>;
  /** Keys without an identifier. */
  anyId: readonly KeyObject[];
}

/** Reads keys from JSON (GitHub's document, its `public_keys` array, or `{identifier: pem}`) or PEM text; throws saying what is wrong. */
export function parseLeakKeys(text: string): LeakKeys {
  const trimmed = text.trim();
  const byId = new Map<string, KeyObject>();
  const anyId: KeyObject[] = [];
  const ecKey = (pem: string, where: string): KeyObject => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new Error(`${where} is not a PEM public key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error(`${where} is not an ECDSA P-256 public key`);
    return key;
  };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      throw new Error(`not valid JSON (${(err as Error).message})`);
    }
    const list = Array.isArray(doc) ? doc : (doc as { public_keys?: unknown }).public_keys;
    if (Array.isArray(list)) {
      for (const [i, entry] of list.entries()) {
        const { key_identifier: id, key } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
        if (typeof id !== 'string' || id === '' || typeof key !== 'string') throw new Error(`public_keys[${i}] needs a key_identifier and a key (PEM)`);
        byId.set(id, ecKey(key, `public_keys[${i}]`));
      }
    } else if (doc !== null && typeof doc === 'object') {
      for (const [id, key] of Object.entries(doc)) {
        if (typeof key !== 'string') throw new Error(`the key of '${id}' must be a PEM string`);
        byId.set(id, ecKey(key, `the key of '${id}'`));
      }
    }
  } else {
    const blocks = trimmed.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    for (const [i, pem] of blocks.entries()) anyId.push(ecKey(pem, `PEM block ${i + 1}`));
  }
  if (byId.size === 0 && anyId.length === 0) throw new Error('names no public key');
  return { byId, anyId };
}

/**
 * Does `signature` (base64 of a DER-encoded ECDSA signature, as GitHub sends it) sign `body` with
 * SHA-256 under the key named `keyId`? Checked over the raw bytes received: any re-encoding of
 * the JSON would break it.
 */
export function verifyLeakSignature(keys: LeakKeys, keyId: string, signature: string, body: Buffer): boolean {
  const candidates = keys.byId.has(keyId) ? [keys.byId.get(keyId)!] : keys.anyId;
  if (candidates.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  const sig = Buffer.from(signature, 'base64');
  return candidates.some((key) => {
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, sig);
    } catch {
      return false;
    }
  });
}
