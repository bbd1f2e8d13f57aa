import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as q from '../admin/queries.js';
import type { Relay } from '../relay.js';
import { requireRole, type TokenTable } from './auth.js';

type Q = Record<string, unknown>;
const query = (req: FastifyRequest) => (req.query ?? {}) as Q;
const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name]!;

/** The admin JSON API: viewers read, operators change state. Registered only when tokens exist. */
export async function adminRoutes(app: FastifyInstance, opts: { relay: Relay; tokens: TokenTable }): Promise<void> {
  const { relay } = opts;
  const viewer = { preHandler: requireRole(opts.tokens, 'viewer') };
  const operator = { preHandler: requireRole(opts.tokens, 'operator') };
  // Filters for bulk actions may come as a JSON body or as query parameters.
  const filters = (req: FastifyRequest): Q => ({ ...query(req), ...((req.body && typeof req.body === 'object' ? req.body : {}) as Q) });

  app.get('/admin/events', viewer, (req) => q.listEvents(relay, query(req)));
  app.get('/admin/events/:id', viewer, (req) => q.eventDetail(relay, param(req, 'id')));
  app.post('/admin/events/:id/redeliver', operator, (req) => q.redeliverEvent(relay, param(req, 'id'), query(req).endpoint as string | undefined));

  app.get('/admin/quarantine', viewer, (req) => q.listQuarantine(relay, query(req)));
  app.post('/admin/quarantine/:id/reprocess', operator, (req) => q.reprocessOne(relay, param(req, 'id')));
  app.post('/admin/quarantine/reprocess', operator, (req) => q.reprocessMatching(relay, filters(req)));

  app.get('/admin/conflicts', viewer, (req) => q.listConflicts(relay, query(req)));
  app.get('/admin/conflicts/:callbackId', viewer, (req) => q.conflictDetail(relay, param(req, 'callbackId')));
  app.post('/admin/callback-urls', operator, async (req) => q.mintCallbackUrl(relay, filters(req)));

  app.get('/admin/dead-letters', viewer, (req) => q.listDeadLetters(relay, query(req)));
  app.post('/admin/dead-letters/redeliver', operator, (req) => {
    const f = filters(req);
    return q.redeliverDeadLetters(relay, f, f.dryRun === true || f.dryRun === 'true');
  });

  app.get('/admin/endpoints', viewer, async () => ({ items: await q.endpointHealth(relay) }));
  app.post('/admin/endpoints/:id/enable', operator, (req) => q.setEndpointEnabled(relay, param(req, 'id'), true));
  app.post('/admin/endpoints/:id/disable', operator, (req) => q.setEndpointEnabled(relay, param(req, 'id'), false));
}
