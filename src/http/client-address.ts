import type { FastifyRequest } from 'fastify';
import type { IpAllowlist } from '../domain/usage-controls.js';

/**
 * The address a request comes from. Without trusted proxies, the connection's. When the connection
 * comes from a trusted proxy (KEYPORT_TRUSTED_PROXIES), X-Forwarded-For is read from the right:
 * each proxy appends the address it got the request from, so the nearest address that is not a
 * trusted proxy is the client (what comes before it, the client could have written itself).
 */
export function clientAddress(request: FastifyRequest, trusted: IpAllowlist | null): string {
  const peer = request.socket.remoteAddress ?? request.ip;
  if (trusted === null || !trusted.allows(peer)) return peer;
  const header = request.headers['x-forwarded-for'];
  if (header === undefined) return peer;
  const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
  let address = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop === '') continue;
    address = hop;
    if (!trusted.allows(hop)) break;
  }
  return address;
}
