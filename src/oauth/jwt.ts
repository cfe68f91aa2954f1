import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * The compact JWS (RFC 7515) serialisation, just what JWT access tokens need, over node:crypto.
 * Signing with EdDSA (Ed25519, RFC 8037) is synchronous and takes a few tens of microseconds.
 */

export interface JwsHeader {
  alg: string;
  typ?: string;
  kid?: string;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs `payload` with an Ed25519 private key; returns the compact serialisation. */
export function signJwt(header: JwsHeader, payload: object, privateKey: KeyObject): string {
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

/** A JWT split into its parts; nothing is verified yet. */
export interface DecodedJwt {
  header: JwsHeader & Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Does the string look like a compact JWS (three base64url parts)? */
export const looksLikeJwt = (value: string) => value.length <= 8192 && JWT_SHAPE.test(value);

/** Splits and parses a compact JWS; null when it is not one (bad base64url or JSON, or not objects). */
export function decodeJwt(token: string): DecodedJwt | null {
  if (!looksLikeJwt(token)) return null;
  const [h, p, s] = token.split('.') as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(payload) || typeof header.alg !== 'string') return null;
    return { header: header as DecodedJwt['header'], payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return null;
  }
}

/** Checks an Ed25519 signature over the signing input. */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  return verify(null, Buffer.from(jwt.signingInput), publicKey, jwt.signature);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
