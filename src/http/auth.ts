import { createHash, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, notFound, unauthenticated } from '../domain/errors.js';
import { andThen, type MaybePromise } from '../domain/maybe-promise.js';
import type { Actor, Permission, Principal } from '../domain/principal.js';
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

/**
 * The value of one cookie of the request, or null (parsed by @fastify/cookie, only when a route
 * asks). A value that is not valid percent-encoding is taken as it is: it matches no session, so
 * the request is simply not signed in.
 */
export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  return request.server.parseCookie(header)[name] || null;
}

/**
 * Sets (or, with maxAgeSeconds 0, clears) the session cookie: Secure when the request came over
 * TLS, directly or through a trusted proxy that says so (see public-origin.ts).
 */
export function setSessionCookie(reply: FastifyReply, value: string, maxAgeSeconds: number, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'strict', maxAge: maxAgeSeconds, secure });
}

/** Does the CSRF token sent match the session's? Compared in constant time (of their hashes, so lengths tell nothing either). */
export function csrfTokenMatches(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a route needs of its caller. */
export interface Need {
  permission?: Permission;
  account?: string;
  platformOwner?: boolean;
}

/**
 * Authenticates a management request and checks one permission. The caller is a bearer token
 * (platform owner, personal or service token) or a portal session cookie; a cookie-authenticated
 * request that changes state must carry the session's CSRF token. With `account`, the permission
 * must be held on that account; an account the caller has no part in is answered 404, so ids of
 * other tenants cannot be probed. A missing permission is a 403 naming it.
 *
 * Synchronous for a cached bearer token without an account to look up (the verification path);
 * callers await the result either way, and a refusal is thrown.
 */
export function guard(auth: AuthService, request: FastifyRequest, need: Need): MaybePromise<Actor> {
  const token = bearerToken(request);
  if (token === null) return guardSession(auth, request, need);
  return andThen(auth.authenticate(token), (principal) => admit(auth, request, need, principal));
}

async function guardSession(auth: AuthService, request: FastifyRequest, need: Need): Promise<Actor> {
  const cookie = readCookie(request, SESSION_COOKIE);
  if (!cookie)
    throw unauthenticated('Send a management token as "Authorization: Bearer <token>" (the platform owner token, or a personal or service token), or sign in.');
  const session = await auth.authenticateSession(cookie);
  if (!session) throw unauthenticated('Your session has expired or was signed out; sign in again.');
  if (!SAFE_METHODS.has(request.method) && !csrfTokenMatches(request.headers[CSRF_HEADER], session.csrfToken))
    throw forbidden(`Requests signed in by cookie must send the session's CSRF token in the ${CSRF_HEADER} header.`);
  return admit(auth, request, need, session.principal);
}

/** Checks what the route needs of an authenticated caller (null: the bearer token was not valid). */
function admit(auth: AuthService, request: FastifyRequest, need: Need, principal: Principal | null): MaybePromise<Actor> {
  if (!principal) throw unauthenticated('The bearer token is unknown, expired or revoked.');
  if (need.platformOwner && !principal.isPlatformOwner)
    throw forbidden('Only the platform owner may do this.');
  const actor = { principal, sourceIp: request.ip };
  if (need.account === undefined || !need.permission) return actor;
  const { account, permission } = need;
  const held = principal.permissionsOn(account);
  if (held.size === 0) throw notFound('Account', account);
  return auth.accountExists(account).then((exists) => {
    if (!exists) throw notFound('Account', account);
    if (!held.has(permission))
      throw forbidden(`This needs the '${permission}' permission on account '${account}'.`, [
        { pointer: '', detail: `missing permission ${permission}` },
      ]);
    return actor;
  });
}
