// A small Fastify API for bench/sdk.ts: MODE=none (no auth), sdk (the @keyport/node plugin) or
// remote (POST /v1/verify per request). Prints its URL on stdout once it listens.
import Fastify from 'fastify';
import { createVerifier, keyportFastify } from '@keyport/node';

const mode = process.env.MODE ?? 'none';
const app = Fastify();
if (mode === 'sdk') {
  const verifier = createVerifier({ url: process.env.KEYPORT_URL!, serviceToken: process.env.SERVICE_TOKEN!, environment: 'production' });
  await verifier.ready();
  await app.register(keyportFastify, { verifier, scopes: ['order.read'] });
} else if (mode === 'remote') {
  app.addHook('onRequest', async (request, reply) => {
    const key = (request.headers.authorization ?? '').slice(7);
    const res = await fetch(`${process.env.KEYPORT_URL}/v1/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${process.env.SERVICE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key, environment: 'production', scopes: ['order.read'] }),
    });
    const body = (await res.json()) as { valid: boolean };
    if (!body.valid) return reply.code(401).send({ code: 'invalid' });
  });
}
app.get('/orders', async () => ({ orders: [] }));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address() as { port: number };
process.stdout.write(`http://127.0.0.1:${address.port}\n`);
