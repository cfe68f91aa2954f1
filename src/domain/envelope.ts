import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Envelope encryption with AES-256-GCM. Each value gets its own random data key; the data key is
 * wrapped under a key-encryption key (KEK) from configuration. Changing the KEK only re-wraps data
 * keys (`rewrap`), never touches the values themselves.
 *
 * Format (all base64url, dot-separated): v1.<kek id>.<wrapped data key>.<iv>.<ciphertext+tag>
 */

/** A key-encryption key: 32 bytes, and a short id derived from it so a ciphertext names its KEK. */
export interface Kek {
  id: string;
  key: Buffer;
}

export function kekFromBytes(key: Buffer): Kek {
  if (key.length !== 32) throw new Error('a key-encryption key must be 32 bytes');
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 12), key };
}

/** Parses a KEK written as base64 (or base64url) of 32 bytes; throws with a readable message. */
export function parseKek(text: string, name: string): Kek {
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length !== 32) throw new Error(`${name} must be 32 random bytes in base64 (e.g. from: openssl rand -base64 32)`);
  return kekFromBytes(bytes);
}

/** Keys to encrypt with (the first) and to decrypt with (any). */
export class Keyring {
  constructor(
    readonly current: Kek,
    readonly previous: readonly Kek[] = [],
  ) {}

  private find(id: string): Kek {
    const kek = [this.current, ...this.previous].find((k) => k.id === id);
    if (!kek) throw new Error(`no configured key-encryption key has id ${id}`);
    return kek;
  }

  encrypt(plaintext: string | Buffer): string {
    const dataKey = randomBytes(32);
    const wrapped = seal(this.current.key, dataKey);
    const body = seal(dataKey, Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8'));
    return ['v1', this.current.id, wrapped, body].join('.');
  }

  decrypt(envelope: string): Buffer {
    const [version, kekId, wrappedIv, wrappedCt, iv, ct] = envelope.split('.');
    if (version !== 'v1' || !kekId || !wrappedIv || !wrappedCt || !iv || !ct) throw new Error('not a Keyport envelope');
    const dataKey = open(this.find(kekId).key, `${wrappedIv}.${wrappedCt}`);
    return open(dataKey, `${iv}.${ct}`);
  }

  decryptText(envelope: string): string {
    return this.decrypt(envelope).toString('utf8');
  }

  /** The same value with its data key wrapped under the current KEK; null when it already is. */
  rewrap(envelope: string): string | null {
    const [, kekId, , , iv, ct] = envelope.split('.');
    if (kekId === this.current.id) return null;
    const parts = envelope.split('.');
    const dataKey = open(this.find(kekId!).key, `${parts[2]}.${parts[3]}`);
    return ['v1', this.current.id, seal(this.current.key, dataKey), `${iv}.${ct}`].join('.');
  }
}

function seal(key: Buffer, plaintext: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${iv.toString('base64url')}.${ct.toString('base64url')}`;
}

function open(key: Buffer, sealed: string): Buffer {
  const [ivText, ctText] = sealed.split('.');
  const iv = Buffer.from(ivText!, 'base64url');
  const data = Buffer.from(ctText!, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
}
