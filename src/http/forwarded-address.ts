import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The client's address as a gateway forwards it: the last entry of `X-Forwarded-For` (the address
 * the gateway itself saw: nginx's `$proxy_add_x_forwarded_for`, Caddy, Traefik and Envoy all put it
 * last), else `X-Real-IP`. Undefined when neither holds an IP address. Only for callers that
 * authenticated as a gateway: from anyone else these headers are whatever the client made up.
 */
export function forwardedClientIp(headers: IncomingHttpHeaders): string | undefined {
  const forwardedFor = headers['x-forwarded-for'];
  if (typeof forwardedFor === 'string') {
    const comma = forwardedFor.lastIndexOf(',');
    const address = parseAddress(comma === -1 ? forwardedFor : forwardedFor.slice(comma + 1));
    if (address !== undefined) return address;
  }
  const realIp = headers['x-real-ip'];
  return typeof realIp === 'string' ? parseAddress(realIp) : undefined;
}

/** An IPv4 or IPv6 address, also written with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`). */
function parseAddress(value: string): string | undefined {
  let text = value.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end === -1) return undefined;
    text = text.slice(1, end);
  } else if (text.indexOf(':') !== -1 && text.indexOf(':') === text.lastIndexOf(':')) {
    text = text.slice(0, text.indexOf(':'));
  }
  return isIP(text) === 0 ? undefined : text.toLowerCase();
}
