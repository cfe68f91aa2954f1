// The baseline: a bare Fastify app whose routes return a fixed JSON body, on the same machine and
// Node as Keyport. Prints its URL once listening.
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

const app = Fastify({ logger: false });
app.post('/bare', async () => body);
app.get('/bare', async () => body);
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${url}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
