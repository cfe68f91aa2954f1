import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { IpAllowlist } from '../domain/usage-controls.js';

/** A host as X-Forwarded-Host may name it: a name or IPv4 address, or a bracketed IPv6 one, with an optional port. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** The first value of a header that may be repeated or a comma-separated list (the one the client-facing proxy set). */
function first(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const item = text?.split(',')[0]?.trim();
  return item === '' ? undefined : item;
}

/**
 * The scheme and host the client sent the request to. From the connection and its Host header;
 * when the connection comes from a trusted proxy (KEYPORT_TRUSTED_PROXIES), X-Forwarded-Proto and
 * X-Forwarded-Host say it instead (a TLS proxy in front of plain HTTP). From anyone else these
 * headers are whatever the client wrote, and are ignored.
 */
export function requestOrigin(request: FastifyRequest, trusted: IpAllowlist | null): { protocol: 'http' | 'https'; host: string } {
  let protocol: 'http' | 'https' = request.protocol === 'https' ? 'https' : 'http';
  let host = request.host;
  const peer = request.socket.remoteAddress;
  if (trusted !== null && peer !== undefined && trusted.allows(peer)) {
    const proto = first(request.headers['x-forwarded-proto'])?.toLowerCase();
    if (proto === 'https' || proto === 'http') protocol = proto;
    const forwardedHost = first(request.headers['x-forwarded-host']);
    if (forwardedHost !== undefined && HOST.test(forwardedHost)) host = forwardedHost;
  }
  return { protocol, host };
}

/** The base URL clients reach Keyport at: KEYPORT_PUBLIC_URL, else the request's origin. */
export function publicBaseUrl(config: Readonly<Config>, request: FastifyRequest): string {
  if (config.publicUrl !== null) return config.publicUrl;
  const { protocol, host } = requestOrigin(request, config.trustedProxies);
  return `${protocol}://${host}`;
}

/** Did the client reach Keyport over TLS (directly, through a trusted proxy that says so, or at an https public URL)? */
export function reachedOverTls(config: Readonly<Config>, request: FastifyRequest): boolean {
  return config.publicUrl?.startsWith('https:') === true || requestOrigin(request, config.trustedProxies).protocol === 'https';
}

/**
 * May tokens be issued for this request? Not in production mode (NODE_ENV=production) when the
 * issuer would come from the request's Host header: anyone could then have Keyport sign tokens
 * for an issuer and audience of their choosing. KEYPORT_PUBLIC_URL fixes the issuer;
 * KEYPORT_ALLOW_HOST_ISSUER=on accepts the Host-derived one knowingly.
 */
export const hostIssuerRefused = (config: Readonly<Config>): boolean => config.production && config.publicUrl === null && !config.allowHostIssuer;

/** What start-up says about where the issuer comes from (null: nothing to say). */
export function issuerNotice(config: Readonly<Config>): string | null {
  if (config.publicUrl !== null) return null;
  if (hostIssuerRefused(config))
    return 'NODE_ENV=production and KEYPORT_PUBLIC_URL is not set: /oauth/token refuses to issue tokens, as their issuer and audience would come from the Host header of each request. Set KEYPORT_PUBLIC_URL (or KEYPORT_ALLOW_HOST_ISSUER=on to accept that knowingly).';
  return 'KEYPORT_PUBLIC_URL is not set: the token issuer, audience and quick-start URLs follow the Host header of each request (X-Forwarded-Host/-Proto from trusted proxies). Set it in production.';
}
