import type { FastifyRequest } from 'fastify';
import { forbidden, notFound, unauthenticated } from '../domain/errors.js';
import type { Actor, Permission } from '../domain/principal.js';
import type { AuthService } from '../services/auth-service.js';

/** Reads the bearer token of a request, or null. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * Authenticates a management request and checks one permission. With `account`, the permission
 * must be held on that account; an account the caller has no part in is answered 404, so ids of
 * other tenants cannot be probed.
 */
export async function guard(
  auth: AuthService,
  request: FastifyRequest,
  need: { permission?: Permission; account?: string; platformOwner?: boolean },
): Promise<Actor> {
  const token = bearerToken(request);
  if (!token)
    throw unauthenticated('Send a management token as "Authorization: Bearer <token>" (the platform owner token, or a personal or service token).');
  const principal = await auth.authenticate(token);
  if (!principal) throw unauthenticated('The bearer token is unknown, expired or revoked.');
  if (need.platformOwner && !principal.isPlatformOwner) throw forbidden('Only the platform owner may do this.');
  if (need.account !== undefined && need.permission) {
    const held = principal.permissionsOn(need.account);
    if (held.size === 0) throw notFound('Account', need.account);
    if (!held.has(need.permission)) throw forbidden(`This needs the '${need.permission}' permission on account '${need.account}'.`);
  }
  return { principal, sourceIp: request.ip };
}
