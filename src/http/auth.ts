import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, notFound, unauthenticated } from '../domain/errors.js';
import type { Actor, Permission } from '../domain/principal.js';
import type { AuthService } from '../services/auth-service.js';

/** The portal session cookie: HttpOnly, SameSite=Strict, Secure over TLS. */
export const SESSION_COOKIE = 'keyport_session';
/** State-changing requests authenticated by the session cookie must echo the session's CSRF token in this header. */
export const CSRF_HEADER = 'x-csrf-token';

/** Reads the bearer token of a request, or null. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/** The value of one cookie of the request, or null. */
export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/** Sets (or, with maxAgeSeconds 0, clears) the session cookie. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates a management request and checks one permission. The caller is a bearer token
 * (platform owner, personal or service token) or a portal session cookie; a cookie-authenticated
 * request that changes state must carry the session's CSRF token. With `account`, the permission
 * must be held on that account; an account the caller has no part in is answered 404, so ids of
 * other tenants cannot be probed. A missing permission is a 403 naming it.
 */
export async function guard(
  auth: AuthService,
  request: FastifyRequest,
  need: { permission?: Permission; account?: string; platformOwner?: boolean },
): Promise<Actor> {
  const token = bearerToken(request);
  let principal;
  if (token) {
    principal = await auth.authenticate(token);
    if (!principal) throw unauthenticated('The bearer token is unknown, expired or revoked.');
  } else {
    const cookie = readCookie(request, SESSION_COOKIE);
    if (!cookie)
      throw unauthenticated('Send a management token as "Authorization: Bearer <token>" (the platform owner token, or a personal or service token), or sign in.');
    const session = await auth.authenticateSession(cookie);
    if (!session) throw unauthenticated('Your session has expired or was signed out; sign in again.');
    if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] !== session.csrfToken)
      throw new AppError('forbidden', 403, 'CSRF check failed', `Requests signed in by cookie must send the session's CSRF token in the ${CSRF_HEADER} header.`);
    principal = session.principal;
  }
  if (need.platformOwner && !principal.isPlatformOwner)
    throw new AppError('forbidden', 403, 'Forbidden', 'Only the platform owner may do this.');
  if (need.account !== undefined && need.permission) {
    const held = principal.permissionsOn(need.account);
    if (held.size === 0 || !(await auth.accountExists(need.account))) throw notFound('Account', need.account);
    if (!held.has(need.permission))
      throw new AppError('forbidden', 403, 'Permission missing', `This needs the '${need.permission}' permission on account '${need.account}'.`, [
        { pointer: '', detail: `missing permission ${need.permission}` },
      ]);
  }
  return { principal, sourceIp: request.ip };
}
