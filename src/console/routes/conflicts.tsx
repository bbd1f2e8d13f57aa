import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import * as q from '../../admin/queries.js';
import { conflictFilterSchema } from '../../routes/schemas.js';
import { typed } from '../../routes/type-provider.js';
import { PAGE_SIZE, parseFilter, pick, textFields, withUtc, type PageKit } from '../kit.js';
import { ConflictPage, ConflictsPage, type ConflictQuery } from '../pages/conflicts.js';

const KEYS = ['merchantId', 'transId', 'since', 'until', 'cursor'] as const;

/** Callbacks with the signed identity of a stored event but other content: both versions, for operators. */
async function conflictPages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  const { admin } = kit.services;
  const r = typed(app);
  const { viewer } = app.consoleAuth;

  r.get('/conflicts', { ...viewer, schema: { hide: true, querystring: textFields(KEYS) } }, async (req, reply) => {
    const filters: ConflictQuery = pick(req.query, KEYS);
    const t0 = performance.now();
    const { value: page, error } = await kit.orBadFilter(
      () => q.listConflicts(admin, parseFilter(conflictFilterSchema, withUtc(filters)), PAGE_SIZE, filters.cursor), { items: [], next: null },
    );
    const ctx = kit.ctxOf(req, { queries: performance.now() - t0 });
    return kit.html(reply, <ConflictsPage ctx={ctx} q={filters} items={page.items} next={page.next} merchants={[...kit.services.merchantIds]} flash={error} />);
  });

  r.get('/conflicts/:id', { ...viewer, schema: { hide: true, params: z.object({ id: z.string() }) } }, async (req, reply) => {
    const t0 = performance.now();
    const detail = await q.conflictDetail(admin, req.params.id);
    return kit.html(reply, <ConflictPage ctx={kit.ctxOf(req, { queries: performance.now() - t0 })} detail={detail} />);
  });
}

export default fp(conflictPages, { name: 'console-conflicts', dependencies: ['console-auth'], fastify: '5.x' });
