import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as q from '../../admin/queries.js';
import { deadLetterFilterSchema } from '../../routes/schemas.js';
import { typed } from '../../routes/type-provider.js';
import { qs } from '../format.js';
import { flashQuery } from '../flash.js';
import { CONSOLE_PREFIX, PAGE_SIZE, form, parseFilter, pick, textFields, withUtc, type PageKit } from '../kit.js';
import { ConfirmRedeliverPage, DeadLettersPage, type DeadQuery } from '../pages/dead-letters.js';

const FILTER_KEYS = ['endpoint', 'type', 'since', 'until'] as const;
const KEYS = [...FILTER_KEYS, 'cursor'] as const;

/** Dead letters and their bulk redelivery: a count first, then the send. */
async function deadLetterPages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  const { admin } = kit.services;
  const r = typed(app);
  const { viewer, operator } = app.consoleAuth;
  const filterOf = (f: DeadQuery) => q.deadLetterFilter(parseFilter(deadLetterFilterSchema, withUtc(f)));

  r.get('/dead-letters', { ...viewer, schema: { hide: true, querystring: textFields(KEYS).extend(flashQuery.shape) } }, async (req, reply) => {
    const filters: DeadQuery = pick(req.query, KEYS);
    const t0 = performance.now();
    const { value: page, error } = await kit.orBadFilter(() => q.listDeadLetters(admin, filterOf(filters), PAGE_SIZE, filters.cursor), { items: [], next: null });
    const ctx = kit.ctxOf(req, { queries: performance.now() - t0 });
    return kit.html(reply, <DeadLettersPage ctx={ctx} q={filters} items={page.items} next={page.next} endpoints={kit.endpointIds()} flash={error ?? kit.flash(req.query)} />);
  });

  // Step one of the bulk action is a read: how many would go. Step two (POST) sends them.
  r.get('/dead-letters/redeliver', { ...operator, schema: { hide: true, querystring: textFields(FILTER_KEYS) } }, async (req, reply) => {
    const filters: DeadQuery = pick(req.query, FILTER_KEYS);
    const res = await q.redeliverDeadLetters(admin, filterOf(filters), true);
    return kit.html(reply, <ConfirmRedeliverPage ctx={kit.ctxOf(req)} q={filters} count={res.count} />);
  });

  r.post('/dead-letters/redeliver', { ...operator, schema: { hide: true, body: form(FILTER_KEYS) } }, async (req, reply) => {
    const filters = pick(req.body, FILTER_KEYS);
    const res = await q.redeliverDeadLetters(admin, filterOf(filters), false);
    kit.audit(req, 'redeliver-dead-letters', { filters, count: res.count });
    return reply.redirect(`${CONSOLE_PREFIX}/dead-letters${qs({ ...filters, msg: 'dlq', n: res.count })}`, 303);
  });
}

export default fp(deadLetterPages, { name: 'console-dead-letters', dependencies: ['console-auth'], fastify: '5.x' });
