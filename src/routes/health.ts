import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { OPENMETRICS_CONTENT_TYPE, wantsOpenMetrics } from '../openmetrics.js';
import { jsonResponse, textResponse } from './schemas.js';
import { typed } from './type-provider.js';

/** What liveness, readiness and /metrics need. */
export interface HealthServices {
  /** Started and not draining. */
  isReady(): boolean;
  readonly draining: boolean;
  /** Throws when storage cannot be reached. */
  pingStorage(): Promise<void>;
  /** The classic Prometheus text format, and OpenMetrics for scrapers that ask for it. */
  metrics: { contentType: string; text(): Promise<string>; openMetrics(): Promise<string> };
}

const status = (values: [string, ...string[]]) => z.object({ status: z.enum(values) });
const ops = (operationId: string, summary: string) => ({ operationId, summary, tags: ['ops'] });

async function healthRoutes(app: FastifyInstance, opts: { health: HealthServices; metrics: boolean }): Promise<void> {
  const { health } = opts;
  const r = typed(app);
  r.get('/healthz', { schema: { ...ops('healthz', 'Alive'), response: { 200: jsonResponse('Alive', status(['ok'])) } } }, async () => ({ status: 'ok' as const }));
  r.get('/readyz', {
    schema: {
      ...ops('readyz', 'Ready: storage reachable, not draining'),
      response: { 200: jsonResponse('Ready', status(['ready'])), 503: jsonResponse('Not ready', status(['starting', 'draining', 'storage_unavailable'])) },
    },
  }, async (_req, reply) => {
    if (!health.isReady()) return reply.code(503).send({ status: health.draining ? 'draining' : 'starting' });
    try {
      await health.pingStorage();
    } catch {
      return reply.code(503).send({ status: 'storage_unavailable' });
    }
    return { status: 'ready' as const };
  });
  if (!opts.metrics) return;
  r.get('/metrics', { schema: { ...ops('metrics', 'Prometheus metrics'), response: { 200: textResponse('Prometheus text format, or OpenMetrics 1.0 when Accept asks for it') } } }, async (req, reply) => {
    // Prometheus asks for OpenMetrics first (Accept); anything else gets the classic text format.
    if (wantsOpenMetrics(req.headers.accept)) {
      reply.type(OPENMETRICS_CONTENT_TYPE);
      return health.metrics.openMetrics();
    }
    reply.type(health.metrics.contentType);
    return health.metrics.text();
  });
}

export default fp(healthRoutes, { name: 'health', encapsulate: true, fastify: '5.x' });
