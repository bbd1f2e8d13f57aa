import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as q from '../../admin/queries.js';
import { idParams, quarantineFilterSchema } from '../../routes/schemas.js';
import { typed } from '../../routes/type-provider.js';
import { qs } from '../format.js';
import { flashQuery } from '../flash.js';
import { CONSOLE_PREFIX, PAGE_SIZE, form, parseFilter, pick, textFields, withUtc, type PageKit } from '../kit.js';
import { QuarantinePage, type QuarantineQuery } from '../pages/quarantine.js';

const FILTER_KEYS = ['merchantId', 'claimedMerchantId', 'reason', 'since', 'until'] as const;
const KEYS = [...FILTER_KEYS, 'cursor'] as const;

/** Rejected callbacks, and reprocessing one or all matching. */
async function quarantinePages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  const { admin } = kit.services;
  const r = typed(app);
  const { viewer, operator } = app.consoleAuth;

  r.get('/quarantine', { ...viewer, schema: { hide: true, querystring: textFields(KEYS).extend(flashQuery.shape) } }, async (req, reply) => {
    const filters: QuarantineQuery = pick(req.query, KEYS);
    const t0 = performance.now();
    const [{ value: page, error }, total] = await Promise.all([
      kit.orBadFilter(() => q.listQuarantine(admin, parseFilter(quarantineFilterSchema, withUtc(filters)), PAGE_SIZE, filters.cursor), { items: [], next: null }),
      admin.store.quarantineSize(),
    ]);
    const ctx = kit.ctxOf(req, { queries: performance.now() - t0 });
    return kit.html(reply, (
      <QuarantinePage ctx={ctx} q={filters} items={page.items} next={page.next} total={total} merchants={[...kit.services.merchantIds]} flash={error ?? kit.flash(req.query)} />
    ));
  });

  r.post('/quarantine/:id/reprocess', { ...operator, schema: { hide: true, params: idParams, body: form([]) } }, async (req, reply) => {
    const id = req.params.id;
    const res = await q.reprocessOne(admin, id);
    kit.audit(req, 'reprocess', { callbackId: id, result: res.result });
    if (res.result === 'still_quarantined') return reply.redirect(`${CONSOLE_PREFIX}/quarantine${qs({ msg: 'still', reason: res.reason })}`, 303);
    const msg = res.result === 'duplicate' ? 'reprocessed-duplicate' : res.result === 'conflict' ? 'reprocessed-conflict' : 'reprocessed';
    return reply.redirect(`${CONSOLE_PREFIX}/events/${encodeURIComponent(res.eventId)}${qs({ msg })}`, 303);
  });

  r.post('/quarantine/reprocess', { ...operator, schema: { hide: true, body: form(FILTER_KEYS) } }, async (req, reply) => {
    const filters = pick(req.body, FILTER_KEYS);
    const res = await q.reprocessMatching(admin, parseFilter(quarantineFilterSchema, withUtc(filters)));
    kit.audit(req, 'reprocess-matching', { filters, ...res });
    return reply.redirect(`${CONSOLE_PREFIX}/quarantine${qs({ ...filters, msg: 'bulk', n: res.processed, a: res.accepted, d: res.duplicate, s: res.stillQuarantined, k: res.skipped })}`, 303);
  });
}

export default fp(quarantinePages, { name: 'console-quarantine', dependencies: ['console-auth'], fastify: '5.x' });
