import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { buildApp } from './http/app.js';
import { createServices, type Services } from './services/index.js';
import { openStorage } from './storage/database.js';
import { Store } from './storage/repositories.js';

export interface RunningKeyport {
  app: FastifyInstance;
  services: Services;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The platform owner token, when this start generated it (shown once). */
  generatedToken: string | null;
  close(): Promise<void>;
}

/**
 * Opens the store, wires the services and the HTTP app, makes the platform owner token and
 * listens. main.ts and the integration tests both start Keyport through here.
 */
export async function startKeyport(
  config: Readonly<Config>,
  options: { clock?: Clock; logger?: boolean | object } = {},
): Promise<RunningKeyport> {
  const storage = await openStorage(config.storage);
  const services = createServices(new Store(storage), config.catalog, options.clock ?? systemClock);
  let app: FastifyInstance | undefined;
  try {
    const generatedToken = await services.auth.ensurePlatformToken(config.bootstrapToken);
    app = await buildApp({ config, services, logger: options.logger ?? false });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return {
      app,
      services,
      url,
      generatedToken,
      close: async () => {
        await app!.close();
        await storage.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await storage.close();
    throw err;
  }
}
