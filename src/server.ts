import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { loadConfig } from './config/load.js';
import { Relay } from './relay.js';

/** Process concerns: listen, signals, drain. The app itself knows nothing of them. */
export async function serve(configPath: string): Promise<{ app: FastifyInstance; relay: Relay }> {
  const config = loadConfig(configPath);
  const relay = await Relay.create({ config });
  const app = await buildApp(relay);
  await relay.start();
  await app.listen({ host: config.listen.host, port: config.listen.port });
  relay.logger.info({ host: config.listen.host, port: config.listen.port, storage: relay.store.kind, endpoints: relay.endpoints.length }, 'relay listening');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      relay.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    relay.logger.info({ signal, drainMs: config.shutdown.drainMs }, 'draining');
    // Readiness and intake go false first, so load balancers and Paygate (503 → retry) move away.
    relay.draining = true;
    void (async () => {
      try {
        await app.close();
        await relay.stop();
        relay.logger.info('stopped');
        process.exit(0);
      } catch (err) {
        relay.logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      }
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return { app, relay };
}
