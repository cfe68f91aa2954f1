// The baseline: a bare Fastify app whose routes return a fixed JSON body (or, for forward-auth, a
// fixed set of headers), on the same machine and Node as Keyport. Prints its URL once listening.
import Fastify from 'fastify';

const body = {
  valid: true,
  code: 'valid',
  keyId: 'key_0123456789abcdefghij',
  account: 'acct_0123456789abcdefghij',
  environment: 'production',
  scopes: ['product.read', 'price.read', 'order.read'],
  roles: [{ definition: 'pricing', level: 'viewer' }],
  channel: 'b2b',
  expiresAt: null,
};

/** What /v1/authz answers a valid key with: 200, no body, the identity headers. */
const identity = {
  'x-keyport-account': 'acct_0123456789abcdefghij',
  'x-keyport-key-id': 'key_0123456789abcdefghij',
  'x-keyport-environment': 'production',
  'x-keyport-scopes': 'product.read order.read',
  'x-keyport-channel': '',
  'x-keyport-grant-id': '',
  'x-keyport-key-account': '',
  'cache-control': 'no-store',
};

const app = Fastify({ logger: false });
app.post('/bare', async () => body);
app.get('/bare', async () => body);
app.get('/bare-authz', (_request, reply) => reply.headers(identity).send());
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${url}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
