import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as q from '../../admin/queries.js';
import { idParams } from '../../routes/schemas.js';
import { typed } from '../../routes/type-provider.js';
import { qs } from '../format.js';
import { flashQuery } from '../flash.js';
import { CONSOLE_PREFIX, form, type PageKit } from '../kit.js';
import { EndpointsPage } from '../pages/endpoints.js';

/** Endpoint health, enable/disable, and a test event. */
async function endpointPages(app: FastifyInstance, { kit }: { kit: PageKit }): Promise<void> {
  const { admin } = kit.services;
  const r = typed(app);
  const { viewer, operator } = app.consoleAuth;

  r.get('/endpoints', { ...viewer, schema: { hide: true, querystring: flashQuery } }, async (req, reply) => {
    const t0 = performance.now();
    const endpoints = await q.endpointHealth(admin);
    return kit.html(reply, <EndpointsPage ctx={kit.ctxOf(req, { queries: performance.now() - t0 })} endpoints={endpoints} flash={kit.flash(req.query)} />);
  });

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    r.post(`/endpoints/:id/${action}`, { ...operator, schema: { hide: true, params: idParams, body: form([]) } }, async (req, reply) => {
      const id = req.params.id;
      await q.setEndpointEnabled(admin, id, enabled);
      kit.audit(req, action, { endpoint: id });
      return reply.redirect(`${CONSOLE_PREFIX}/endpoints${qs({ msg: enabled ? 'enabled' : 'disabled', ep: id })}#ep-${encodeURIComponent(id)}`, 303);
    });
  }

  r.post('/endpoints/:id/test', { ...operator, schema: { hide: true, params: idParams, body: form(['message']) } }, async (req, reply) => {
    const id = req.params.id;
    const res = await q.sendTestEvent(admin, id, req.body.message || undefined);
    kit.audit(req, 'test-event', { endpoint: id, eventId: res.eventId });
    return reply.redirect(`${CONSOLE_PREFIX}/events/${encodeURIComponent(res.eventId)}${qs({ msg: 'test-sent', ep: id })}`, 303);
  });
}

export default fp(endpointPages, { name: 'console-endpoints', dependencies: ['console-auth'], fastify: '5.x' });
