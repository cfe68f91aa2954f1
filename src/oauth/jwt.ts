import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * The compact JWS (RFC 7515) serialisation, just what JWT access tokens need, over node:crypto:
 * ES256 (ECDSA on P-256 with SHA-256, RFC 7518 3.4) and EdDSA (Ed25519, RFC 8037). A signature
 * costs 30-90 µs of CPU, the largest part of issuing a token, so signing runs on libuv's thread
 * pool: the event loop goes on serving requests meanwhile, and the other cores share the work.
 */

export type JwsAlg = 'ES256' | 'EdDSA';

export interface JwsHeader {
  alg: string;
  typ?: string;
  kid?: string;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** ECDSA signatures in JWS are the fixed-width r || s (RFC 7518 3.4), not DER. */
const signingKey = (alg: JwsAlg, key: KeyObject) => (alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key);
const digest = (alg: JwsAlg) => (alg === 'ES256' ? 'sha256' : null);

/**
 * Signs JWTs with one key and one header. The header's encoding and the signing options are made
 * once: the token endpoint signs with the same key until the next rotation.
 */
export class JwsSigner {
  private readonly encodedHeader: string;
  private readonly digest: string | null;
  private readonly key: ReturnType<typeof signingKey>;

  constructor(header: JwsHeader & { alg: JwsAlg }, privateKey: KeyObject) {
    this.encodedHeader = encode(header);
    this.digest = digest(header.alg);
    this.key = signingKey(header.alg, privateKey);
  }

  /** The compact serialisation of `payload` signed with this signer's key (signed off the event loop). */
  sign(payload: object): Promise<string> {
    const input = `${this.encodedHeader}.${encode(payload)}`;
    return new Promise((resolve, reject) =>
      sign(this.digest, Buffer.from(input), this.key, (err, signature) => (err ? reject(err) : resolve(`${input}.${signature.toString('base64url')}`))),
    );
  }
}

/** A JWT split into its parts; nothing is verified yet. */
export interface DecodedJwt {
  header: JwsHeader & Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Is the string meant as a compact JWS rather than a key string? A JOSE header is a JSON object, so
 * its base64url starts with "ey", which no key string does. This only picks the path: the shape
 * itself is checked by `decodeJwt`, once per token (the verification path caches its answer), so a
 * cached token is not scanned again on every request.
 */
export const looksLikeJwt = (value: string) => value.length <= 8192 && value.charCodeAt(0) === 101 && value.charCodeAt(1) === 121;

/** Splits and parses a compact JWS; null when it is not one (bad base64url or JSON, or not objects). */
export function decodeJwt(token: string): DecodedJwt | null {
  if (!looksLikeJwt(token) || !JWT_SHAPE.test(token)) return null;
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

/**
 * Checks the signature with the public key of algorithm `alg`. The caller takes `alg` from the key,
 * never from the token, and refuses a token whose header names another one.
 */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject, alg: JwsAlg): boolean {
  if (jwt.header.alg !== alg) return false;
  return verify(digest(alg), Buffer.from(jwt.signingInput), signingKey(alg, publicKey), jwt.signature);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
