import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as q from '../../admin/queries.js';
import { eventFilterSchema, idParams } from '../../routes/schemas.js';
import { typed } from '../../routes/type-provider.js';
import { qs } from '../format.js';
import { flashQuery } from '../flash.js';
import { CONSOLE_PREFIX, PAGE_SIZE, form, parseFilter, pick, textFields, withUtc, type PageKit } from '../kit.js';
import { EventPage } from '../pages/event.js';
import { EVENT_FILTER_KEYS, EventsPage, type EventQuery } from '../pages/events.js';

const KEYS = [...EVENT_FILTER_KEYS, 'cursor'] as const;

/** Event search, one event with its deliveries, and redelivery. */
async function eventPages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  const { admin } = kit.services;
  const r = typed(app);
  const { viewer, operator } = app.consoleAuth;

  r.get('/events', { ...viewer, schema: { hide: true, querystring: textFields(KEYS).extend(flashQuery.shape) } }, async (req, reply) => {
    const filters: EventQuery = pick(req.query, KEYS);
    const t0 = performance.now();
    const { value: page, error } = await kit.orBadFilter(
      () => q.listEvents(admin, parseFilter(eventFilterSchema, withUtc(filters)), PAGE_SIZE, filters.cursor), { items: [], next: null },
    );
    const queryMs = performance.now() - t0;
    // The status column: one aggregated query for the page's ids.
    const statuses = await q.deliveryStatuses(admin, page.items.map((e) => String(e.id)));
    const statusMs = performance.now() - t0 - queryMs;
    reply.header('server-timing', `db;dur=${queryMs.toFixed(1)}, status;dur=${statusMs.toFixed(1)}`);
    const ctx = kit.ctxOf(req, { query: queryMs, 'delivery status': statusMs });
    return kit.html(reply, <EventsPage ctx={ctx} q={filters} items={page.items} statuses={statuses} next={page.next} merchants={[...kit.services.merchantIds]} flash={error ?? kit.flash(req.query)} />);
  });

  r.get('/events/:id', { ...viewer, schema: { hide: true, params: idParams, querystring: flashQuery } }, async (req, reply) => {
    const t0 = performance.now();
    const detail = await q.eventDetail(admin, req.params.id);
    const ctx = kit.ctxOf(req, { queries: performance.now() - t0 });
    return kit.html(reply, <EventPage ctx={ctx} detail={detail} endpoints={kit.endpointIds()} flash={kit.flash(req.query)} />);
  });

  r.post('/events/:id/redeliver', { ...operator, schema: { hide: true, params: idParams, body: form(['endpoint']) } }, async (req, reply) => {
    const id = req.params.id;
    const endpoint = req.body.endpoint || undefined;
    const res = await q.redeliverEvent(admin, id, endpoint);
    kit.audit(req, 'redeliver', { eventId: id, endpoint: endpoint ?? 'all', scheduled: res.scheduled, inFlight: res.inFlight });
    return reply.redirect(`${CONSOLE_PREFIX}/events/${encodeURIComponent(id)}${qs({ msg: 'redelivered', ep: res.scheduled.join(','), busy: res.inFlight.join(',') })}`, 303);
  });
}

export default fp(eventPages, { name: 'console-events', dependencies: ['console-auth'], fastify: '5.x' });
