import type { FastifyInstance } from 'fastify';
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics, wantsOpenMetrics } from '../openmetrics.js';
import type { Relay } from '../relay.js';

export async function healthRoutes(app: FastifyInstance, opts: { relay: Relay; metrics: boolean }): Promise<void> {
  const { relay } = opts;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!relay.isReady()) return reply.code(503).send({ status: relay.draining ? 'draining' : 'starting' });
    try {
      await relay.store.ping();
    } catch {
      return reply.code(503).send({ status: 'storage_unavailable' });
    }
    return { status: 'ready' };
  });
  if (!opts.metrics) return;
  app.get('/metrics', async (req, reply) => {
    // Prometheus asks for OpenMetrics first (Accept); anything else gets the classic text format.
    if (wantsOpenMetrics(req.headers.accept)) {
      reply.type(OPENMETRICS_CONTENT_TYPE);
      return renderOpenMetrics(await relay.metrics.registry.getMetricsAsJSON());
    }
    reply.type(relay.metrics.registry.contentType);
    return relay.metrics.registry.metrics();
  });
}
