import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as q from '../../admin/queries.js';
import { typed } from '../../routes/type-provider.js';
import { PAGE_SIZE, textFields, type PageKit } from '../kit.js';
import { ErasuresPage } from '../pages/erasures.js';

/** The erasure record, for every console user (it names identifiers and counts, never the erased data). */
async function erasurePages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  typed(app).get('/erasures', { ...app.consoleAuth.viewer, schema: { hide: true, querystring: textFields(['cursor'] as const) } }, async (req, reply) => {
    const t0 = performance.now();
    const page = await q.listErasures(kit.services.admin, PAGE_SIZE, req.query.cursor);
    const ctx = kit.ctxOf(req, { queries: performance.now() - t0 });
    return kit.html(reply, <ErasuresPage ctx={ctx} items={page.items} cursor={req.query.cursor} next={page.next} />);
  });
}

export default fp(erasurePages, { name: 'console-erasures', dependencies: ['console-auth'], fastify: '5.x' });
