import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import * as q from '../admin/queries.js';
import * as s from '../admin/schemas.js';
import { BEARER } from './auth.js';
import {
  conflictFilterSchema, deadLetterFilterSchema, errorResponse, eventFilterSchema, flag, idParams, jsonResponse, merged, optionalBody, pageQuery, quarantineFilterSchema, text,
} from './schemas.js';
import { typed } from './type-provider.js';

const adminErrors = {
  400: errorResponse('Invalid filter or cursor.'),
  401: errorResponse('Missing or unknown bearer token.'),
  403: errorResponse('A viewer token may not change state.'),
  404: errorResponse('Not found.'),
};
const ok = <T extends z.ZodType>(schema: T) => ({ 200: jsonResponse('OK', schema), ...adminErrors });
const op = (operationId: string, summary: string) => ({ operationId, summary, tags: ['admin'], security: BEARER });

const deadLetterBulk = deadLetterFilterSchema.extend({ dryRun: flag().meta({ description: 'true: only count what would be sent.' }) });

/** The admin JSON API: viewers read, operators change state. Registered only when tokens exist. */
async function adminRoutes(app: FastifyInstance, opts: { admin: q.AdminServices }): Promise<void> {
  const svc = opts.admin;
  const r = typed(app);
  const viewer = { onRequest: app.adminAuth.viewer };
  const operator = { onRequest: app.adminAuth.operator };

  r.get('/admin/events', {
    ...viewer,
    schema: { ...op('listEvents', 'Events, newest first'), querystring: eventFilterSchema.extend(pageQuery.shape), response: ok(s.eventPage) },
  }, (req) => {
    const { limit, cursor, ...filter } = req.query;
    return q.listEvents(svc, filter, limit, cursor);
  });

  r.get('/admin/events/:id', {
    ...viewer,
    schema: { ...op('getEvent', 'An event, its callback and its deliveries with every attempt'), params: idParams, response: ok(s.eventDetail) },
  }, (req) => q.eventDetail(svc, req.params.id));

  r.post('/admin/events/:id/redeliver', {
    ...operator,
    schema: {
      ...op('redeliverEvent', 'Deliver again (same webhook-id)'), params: idParams,
      querystring: z.object({ endpoint: text().meta({ description: 'Only this endpoint (default: every endpoint it went to).' }) }),
      response: ok(s.redeliverResult),
    },
  }, (req) => q.redeliverEvent(svc, req.params.id, req.query.endpoint));

  r.get('/admin/quarantine', {
    ...viewer,
    schema: { ...op('listQuarantine', 'Rejected callbacks with their reason'), querystring: quarantineFilterSchema.extend(pageQuery.shape), response: ok(s.quarantinePage) },
  }, (req) => {
    const { limit, cursor, ...filter } = req.query;
    return q.listQuarantine(svc, filter, limit, cursor);
  });

  r.post('/admin/quarantine/:id/reprocess', {
    ...operator,
    schema: {
      ...op('reprocessOne', 'Decode a quarantined callback again'), params: idParams,
      response: { ...ok(s.reprocessResult), 409: errorResponse('not_reprocessable: quarantined for a reason no configuration or key change can fix (the detail says which and why).') },
    },
  }, (req) => q.reprocessOne(svc, req.params.id));

  // Filters for bulk actions may come as a JSON body or as query parameters.
  r.post('/admin/quarantine/reprocess', {
    ...operator,
    schema: {
      ...op('reprocessMatching', 'Reprocess every quarantined callback matching the filter (skips, and counts, those no fix can help)'),
      querystring: quarantineFilterSchema, body: optionalBody(quarantineFilterSchema), response: ok(s.reprocessCounts),
    },
  }, (req) => q.reprocessMatching(svc, merged(req.query, req.body)));

  r.get('/admin/conflicts', {
    ...viewer,
    schema: {
      ...op('listConflicts', 'Callbacks with the signed identity of a stored event but other content, newest first'),
      querystring: conflictFilterSchema.extend(pageQuery.shape), response: ok(s.conflictPage),
    },
  }, (req) => {
    const { limit, cursor, ...filter } = req.query;
    return q.listConflicts(svc, filter, limit, cursor);
  });

  r.get('/admin/conflicts/:callbackId', {
    ...viewer,
    schema: {
      ...op('getConflict', 'A conflict with both versions: the differing fields\' values and how each callback arrived'),
      params: z.object({ callbackId: z.string() }), response: ok(s.conflictDetail),
    },
  }, (req) => q.conflictDetail(svc, req.params.callbackId));

  r.post('/admin/callback-urls', {
    ...operator,
    schema: {
      ...op('mintCallbackUrl', 'Mint a signed callback URL for URLNotify/URLSuccess/URLFailure'),
      body: s.mintCallbackUrlBody, response: ok(s.callbackUrl),
    },
  }, async (req) => q.mintCallbackUrl(svc, req.body));

  r.get('/admin/dead-letters', {
    ...viewer,
    schema: { ...op('listDeadLetters', 'Dead-lettered deliveries'), querystring: deadLetterFilterSchema.extend(pageQuery.shape), response: ok(s.deadLetterPage) },
  }, (req) => {
    const { limit, cursor, ...filter } = req.query;
    return q.listDeadLetters(svc, q.deadLetterFilter(filter), limit, cursor);
  });

  r.post('/admin/dead-letters/redeliver', {
    ...operator,
    schema: {
      ...op('redeliverDeadLetters', 'Bulk redelivery of dead letters (dryRun=true only counts)'),
      querystring: deadLetterBulk, body: optionalBody(deadLetterBulk), response: ok(s.deadLetterCount),
    },
  }, (req) => {
    const { dryRun, ...filter } = merged(req.query, req.body);
    return q.redeliverDeadLetters(svc, q.deadLetterFilter(filter), dryRun === true);
  });

  r.post('/admin/erasures', {
    ...operator,
    schema: {
      ...op('erase', 'Erase a person\'s data from every table, record and archive (ids, types, merchant, times and amounts stay); a repeat changes nothing'),
      body: s.erasureBody, response: ok(s.erasureResult),
    },
  }, (req) => q.erase(svc, req.body, q.actorOf.token(req.adminTokenId)));

  r.get('/admin/erasures', {
    ...viewer,
    schema: { ...op('listErasures', 'Erasures, newest first: who, when, why, what and how many rows'), querystring: pageQuery, response: ok(s.erasurePage) },
  }, (req) => q.listErasures(svc, req.query.limit, req.query.cursor));

  r.get('/admin/endpoints', {
    ...viewer,
    schema: { ...op('listEndpoints', 'Endpoints with health'), response: ok(z.object({ items: z.array(s.endpointHealth) })) },
  }, async () => ({ items: await q.endpointHealth(svc) }));

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    r.post(`/admin/endpoints/:id/${action}`, {
      ...operator,
      schema: {
        ...op(`${action}Endpoint`, `${enabled ? 'Enable' : 'Disable'} an endpoint`), params: idParams,
        response: { ...ok(s.endpointHealth), ...(enabled ? { 409: errorResponse('Disabled in the configuration: only a config change enables it.') } : {}) },
      },
    }, (req) => q.setEndpointEnabled(svc, req.params.id, enabled));
  }
}

export default fp(adminRoutes, { name: 'admin-api', dependencies: ['admin-auth'], encapsulate: true, fastify: '5.x' });
