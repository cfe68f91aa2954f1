import { startKeyport, type RunningKeyport } from '../../src/server.js';
import type { ApiResponse, TestKeyport } from './keyport.js';

/** POSTs a form (application/x-www-form-urlencoded) and reads the JSON answer, if any. */
export async function postForm(url: string, params: Record<string, string | string[]> | string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const body = new URLSearchParams();
  if (typeof params !== 'string')
    for (const [k, v] of Object.entries(params)) for (const value of Array.isArray(v) ? v : [v]) body.append(k, value);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof params === 'string' ? params : body.toString(),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed as any, headers: res.headers };
}

/** HTTP Basic credentials as RFC 6749 2.3.1 wants them: each half form-encoded, then base64. */
export const basic = (clientId: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** Asks the token endpoint for a token with client_secret_basic. */
export function requestToken(kp: TestKeyport, clientId: string, secret: string, params: Record<string, string | string[]> = {}): Promise<ApiResponse> {
  return postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials', ...params }, { authorization: basic(clientId, secret) });
}

/** Gets a token or fails the test; returns the access token. */
export async function accessToken(kp: TestKeyport, clientId: string, secret: string, params: Record<string, string> = {}): Promise<string> {
  const res = await requestToken(kp, clientId, secret, params);
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}

/** The header and claims of a JWT, unverified. */
export function decodeJwt(token: string): { header: any; claims: any } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), claims: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

/** Polls `check` until it returns true or the deadline passes; returns whether it became true. */
export async function eventually(check: () => Promise<boolean>, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a second Keyport node on the same store as `kp` (same configuration, another port, the
 * same clock): what several stateless nodes sharing one database look like.
 */
export async function startPeer(kp: TestKeyport): Promise<RunningKeyport> {
  return startKeyport(kp.config, { clock: kp.clock });
}
