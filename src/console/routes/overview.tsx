import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as q from '../../admin/queries.js';
import { typed } from '../../routes/type-provider.js';
import { flashQuery } from '../flash.js';
import type { PageKit } from '../kit.js';
import { OverviewPage } from '../pages/overview.js';

/** The first page: totals, charts and endpoint health. */
async function overviewPages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  typed(app).get('/', { ...app.consoleAuth.viewer, schema: { hide: true, querystring: flashQuery } }, async (req, reply) => {
    const t0 = performance.now();
    const o = await q.overview(kit.services.admin);
    const ctx = kit.ctxOf(req, { queries: performance.now() - t0 });
    return kit.html(reply, <OverviewPage ctx={ctx} o={o} flash={kit.flash(req.query)} />);
  });
}

export default fp(overviewPages, { name: 'console-overview', dependencies: ['console-auth'], fastify: '5.x' });
