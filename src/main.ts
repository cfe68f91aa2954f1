import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadConfig } from './config.js';
import { startKeyport } from './server.js';
import { StorageError } from './storage/database.js';

/**
 * V8 may decide that the objects made at an allocation site live long, and from then on allocate
 * them in the old generation ("pretenuring"). In most starts of Keyport it tenured sites that make
 * per-request objects: each request's garbage then went to the old generation and kept its young
 * children alive, half of the young generation survived each scavenge, and scavenges took 10 ms
 * instead of 0.5 ms. Under load that cost a quarter more CPU per verification. Switched off before
 * the app is built, so request garbage dies young, as it should (README, Design).
 */
function tuneGarbageCollection(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}

/** Starts a Keyport node from the environment; the only place that touches the process. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  tuneGarbageCollection();
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  let keyport;
  try {
    keyport = await startKeyport(config, { logLevel: config.logLevel });
  } catch (err) {
    if (err instanceof StorageError) {
      console.error(`Keyport cannot start: ${err.message}`);
      process.exit(2);
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      console.error(`Keyport cannot listen on ${config.host}:${config.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : 'permission denied'}. Set PORT (and HOST) to a free address.`);
      process.exit(2);
    }
    throw err;
  }
  const { url, generatedToken, services } = keyport;
  if (generatedToken) {
    // Shown once, on the console only: the store keeps a hash.
    console.log(
      [
        '',
        'A platform owner token was created. It is shown this once; keep it safe:',
        '',
        `    ${generatedToken}`,
        '',
        `Use it as "Authorization: Bearer <token>", in the portal's sign-in, or with the CLI (KEYPORT_TOKEN).`,
        '',
      ].join('\n'),
    );
  }
  console.log(`Keyport is listening on ${url} (store: ${services.store.storage.describe}). Portal: ${url}/  API reference: ${url}/docs`);
  if (keyport.metricsUrl !== null) console.log(`Prometheus metrics: ${keyport.metricsUrl}/metrics`);

  // Graceful shutdown: stop accepting, finish the requests in flight, write what is pending
  // (lastUsedAt) while the store answers, then exit; never longer than KEYPORT_SHUTDOWN_TIMEOUT.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const limit = config.shutdownTimeoutSeconds;
    keyport.log.warn({ signal }, `shutting down: finishing the requests in flight (at most ${limit} s)`);
    const timer = setTimeout(() => {
      keyport.log.error(`shutdown took longer than ${limit} s (KEYPORT_SHUTDOWN_TIMEOUT); exiting with requests or writes unfinished`);
      process.exit(1);
    }, limit * 1000);
    timer.unref();
    try {
      await keyport.close();
    } catch (err) {
      keyport.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    keyport.log.warn('shut down');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
