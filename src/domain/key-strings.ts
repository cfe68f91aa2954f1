import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ENVIRONMENT_LABEL, type Environment } from './environment.js';

/**
 * Key strings say what they are without a database:
 *
 *   <prefix>_<test|live>_<33 base62 chars of 192 random bits><6 base62 chars of CRC-32>
 *
 * The prefix names the product and the credential type; `test` is sandbox and `live` production.
 * The CRC-32 over everything before it lets a mistyped or truncated string be rejected before any
 * lookup, and gives secret scanners a pattern with few false positives.
 */
export const KEY_STRING_PREFIXES = {
  /** A single-token key, sent as a bearer (GraphQL-style keys). */
  token: 'kp',
  /** The public client id of a client_secret key. */
  clientId: 'kpid',
  /** The secret of a client_secret key. */
  clientSecret: 'kpsk',
  /** A platform owner, operator or service token for the management API. */
  apiToken: 'kpat',
} as const;

export type KeyStringType = keyof typeof KEY_STRING_PREFIXES;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_BYTES = 24; // 192 bits
const BODY_LENGTH = 33; // ceil(192 / log2(62))
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32

/** Fixed-width base62 of an unsigned big integer: leading zeros kept so every string has one length. */
function base62(value: bigint, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

/** The checksum: CRC-32 (below 2^32, so exact as a Number) in fixed-width base62. */
function checksum(payload: string): string {
  let value = crc32(payload);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

const PREFIX_BY_STRING = new Map<string, KeyStringType>(
  Object.entries(KEY_STRING_PREFIXES).map(([type, prefix]) => [prefix, type as KeyStringType]),
);
const KEY_STRING_PATTERN = new RegExp(
  `^(${Object.values(KEY_STRING_PREFIXES).join('|')})_(test|live)_([0-9A-Za-z]{${BODY_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

/** Makes a new key string of the given type for the given environment. */
export function generateKeyString(type: KeyStringType, environment: Environment): string {
  const random = BigInt('0x' + randomBytes(RANDOM_BYTES).toString('hex'));
  const payload = `${KEY_STRING_PREFIXES[type]}_${ENVIRONMENT_LABEL[environment]}_${base62(random, BODY_LENGTH)}`;
  return payload + checksum(payload);
}

export interface ParsedKeyString {
  type: KeyStringType;
  environment: Environment;
}

/**
 * Reads the type and environment of a key string, or returns null when it is not one of ours or its
 * checksum does not match. Touches no storage: this is the first gate on the hot path.
 */
export function parseKeyString(value: string): ParsedKeyString | null {
  if (value.length > 64) return null;
  const match = KEY_STRING_PATTERN.exec(value);
  if (!match) return null;
  const [, prefix, label, body, sum] = match as unknown as [string, string, string, string, string];
  if (checksum(`${prefix}_${label}_${body}`) !== sum) return null;
  return { type: PREFIX_BY_STRING.get(prefix)!, environment: label === 'live' ? 'production' : 'sandbox' };
}

/**
 * SHA-256 of a key string, hex. Key strings carry 192 random bits, so a fast hash is enough: there is
 * nothing to brute-force. Only this hash is stored and looked up.
 */
export function hashKeyString(value: string): string {
  // The one-shot crypto.hash: no Hash object per call (this runs on every verification).
  return hash('sha256', value, 'hex');
}

/** Constant-time comparison of a candidate secret against a stored hash. */
export function secretMatchesHash(candidate: string, storedHash: string | null): boolean {
  if (storedHash === null) return false;
  const a = hash('sha256', candidate, 'buffer');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
