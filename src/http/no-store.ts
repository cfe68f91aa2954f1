import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';

/**
 * Route options for answers that carry a secret (a new key's secret, a token, the CSRF token):
 * `Cache-Control: no-store` on every answer of the route, errors included, so no browser or proxy
 * keeps a copy. Spread into the route's options: `{ ...noStore, schema }`.
 */
const onSend: onSendHookHandler = (_request: FastifyRequest, reply: FastifyReply, payload, done) => {
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
  done(null, payload);
};
export const noStore = { onSend } as const;
