// openapi.yaml is generated from this module: routes declared once here and
// event schemas converted from the zod schemas the relay validates with.
// test/openapi.test.ts fails when openapi.yaml, this module and the
// registered Fastify routes disagree. Regenerate with `paygate-relay openapi > openapi.yaml`.

import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { COLLECTMAXX_EVENT_TYPES, CONFLICT_EVENT_TYPE, collectmaxxEventSchema, conflictEventSchema, paygateEventSchema } from './events/schema.js';
import { EVENT_TYPES } from './paygate/operation.js';
import { VERSION } from './relay.js';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string) => ({ description, content: { 'application/json': { schema } } });
const errorResponse = (description: string) => json(ref('Error'), description);
const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });

const kindParam = {
  name: 'kind', in: 'path', required: true,
  description: 'Operation the shop started: mandate, MD/debtor, OC/open-position, OS/open-position-reversal, CR/credit, AN/prepayment, ST/prepayment-reversal, ZE/prepayment-paid, UP/prepayment-update (case-insensitive).',
  schema: { type: 'string' },
};
const tokenParam = {
  name: 'token', in: 'path', required: true,
  description: 'Signed-URL token (paygate.urlSecret), minted by `paygate-relay url` or POST /admin/callback-urls: `1a`/`1t` + 22 base64url characters, binding merchant, channel, kind and optionally the TransID. Checked against the decrypted merchant and TransID.',
  schema: { type: 'string', pattern: '^1[at][A-Za-z0-9_-]{22}$' },
};
const form = {
  required: false,
  description: 'Paygate result: Len and Data (encrypted), usually MerchantID in plain, plus plaintext Custom pairs. UTF-8 or charset=iso-8859-1.',
  content: { 'application/x-www-form-urlencoded': { schema: ref('PaygateCallbackForm') } },
};
const rejected = {
  '400': errorResponse('Can never be valid (no Data/Len, not hex, cannot decrypt, bad Len, bad Code, unknown merchant); kept in quarantine.'),
  '401': errorResponse('MAC missing or wrong, or (paygate.urlSecret) the URL token is missing or was minted for another merchant, channel, kind or TransID; kept in quarantine.'),
  '404': errorResponse('Unknown :kind; kept in quarantine.'),
  '413': errorResponse('Body over limits.bodyBytes.'),
  '415': errorResponse('Not a form body or unsupported charset; kept in quarantine.'),
  '503': errorResponse('Not stored (storage unavailable or draining); Paygate retries.'),
};

type PathShape = 'plain' | 'kind' | 'token';
const paramsOf = (shape: PathShape) => (shape === 'plain' ? {} : { parameters: shape === 'kind' ? [kindParam] : [kindParam, tokenParam] });
const idSuffix = (shape: PathShape) => (shape === 'plain' ? '' : shape === 'kind' ? 'Kind' : 'Signed');

function notifyOp(shape: PathShape) {
  return {
    post: {
      operationId: `notify${idSuffix(shape)}`, tags: ['paygate'], summary: 'URLNotify: store and classify a Paygate result',
      ...paramsOf(shape),
      requestBody: form,
      responses: {
        '200': text('Stored durably: a new event, a repeat of a stored callback, or a conflict with one (kept, announced as callback.conflict): body OK.'),
        ...rejected,
      },
    },
  };
}

function returnOps(channel: 'success' | 'failure', shape: PathShape) {
  const base = {
    tags: ['paygate'], summary: `URL${channel === 'success' ? 'Success' : 'Failure'}: browser return, stored like notify, then redirected by the verified outcome`,
    ...paramsOf(shape),
    responses: {
      '303': {
        description: "Redirect to the merchant's returnUrls entry for the decrypted, verified outcome (failure when it does not verify; a merchant named only in the plain MerchantID may pick its failure page). With browserReturns \"redirect-only\" the return is stored but makes no event.",
        headers: { location: { schema: { type: 'string', format: 'uri' } } },
      },
      '200': text('No return URL configured: a neutral page.'),
      '4XX': errorResponse('Rejected and no return URL configured.'),
      '503': errorResponse('Not stored; try again.'),
    },
  };
  const id = `${channel}${idSuffix(shape)}`;
  return {
    get: { ...base, operationId: `${id}Get`, description: 'The result arrives as the query string (Len, Data, MerchantID, Custom pairs). HEAD is answered like GET and stored as HEAD.' },
    post: { ...base, operationId: `${id}Post`, requestBody: form },
  };
}

const bearer = [{ adminToken: [] }];
const filterParams = (names: string[]) => names.map((n) => ({ name: n, in: 'query', required: false, schema: { type: 'string' } }));
const pageParams = filterParams(['limit', 'cursor']);
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const adminErrors = { '401': errorResponse('Missing or unknown bearer token.'), '403': errorResponse('A viewer token may not change state.') };

function admin(summary: string, opts: { params?: Json[]; body?: boolean; response: Json; operationId: string; operator?: boolean }) {
  return {
    operationId: opts.operationId, tags: ['admin'], summary, security: bearer,
    ...(opts.params?.length ? { parameters: opts.params } : {}),
    ...(opts.body ? { requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } } } } : {}),
    responses: { '200': json(opts.response, 'OK'), '400': errorResponse('Invalid filter or cursor.'), '404': errorResponse('Not found.'), ...adminErrors },
  };
}

const page = (item: Json) => ({ type: 'object', required: ['items', 'next'], properties: { items: { type: 'array', items: item }, next: { type: ['string', 'null'] } } });
const obj = { type: 'object', additionalProperties: true };

export function buildOpenApi(): Json {
  const eventSchema = z.toJSONSchema(paygateEventSchema, { target: 'draft-2020-12' }) as Json;
  delete eventSchema.$schema;
  const cmxEventSchema = z.toJSONSchema(collectmaxxEventSchema, { target: 'draft-2020-12' }) as Json;
  delete cmxEventSchema.$schema;
  const conflictSchema = z.toJSONSchema(conflictEventSchema, { target: 'draft-2020-12' }) as Json;
  delete conflictSchema.$schema;
  const eventFilters = filterParams(['type', 'transId', 'payId', 'mandateId', 'merchantId', 'outcome', 'since', 'until']);
  const deadFilters = filterParams(['endpoint', 'type', 'since', 'until']);
  const webhookHeaders = [
    { name: 'webhook-id', in: 'header', required: true, description: 'The event id; stable across retries and redeliveries: dedupe on it.', schema: { type: 'string' } },
    { name: 'webhook-timestamp', in: 'header', required: true, description: 'Unix seconds of this attempt.', schema: { type: 'string' } },
    { name: 'webhook-signature', in: 'header', required: true, description: 'Space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body> per endpoint secret (key = base64-decoded secret after whsec_).', schema: { type: 'string' } },
  ];
  return {
    openapi: '3.1.0',
    info: {
      title: 'paygate-relay', version: VERSION,
      description: 'Receives Computop Paygate callbacks, stores them durably and forwards typed, signed events (Standard Webhooks).',
    },
    tags: [{ name: 'paygate' }, { name: 'admin' }, { name: 'ops' }],
    paths: {
      '/paygate/notify': notifyOp('plain'),
      '/paygate/notify/{kind}': notifyOp('kind'),
      '/paygate/notify/{kind}/{token}': notifyOp('token'),
      '/paygate/success': returnOps('success', 'plain'),
      '/paygate/success/{kind}': returnOps('success', 'kind'),
      '/paygate/success/{kind}/{token}': returnOps('success', 'token'),
      '/paygate/failure': returnOps('failure', 'plain'),
      '/paygate/failure/{kind}': returnOps('failure', 'kind'),
      '/paygate/failure/{kind}/{token}': returnOps('failure', 'token'),
      '/healthz': { get: { operationId: 'healthz', tags: ['ops'], summary: 'Alive', responses: { '200': json(obj, 'Alive') } } },
      '/readyz': { get: { operationId: 'readyz', tags: ['ops'], summary: 'Ready: storage reachable, not draining', responses: { '200': json(obj, 'Ready'), '503': json(obj, 'Not ready') } } },
      '/metrics': { get: { operationId: 'metrics', tags: ['ops'], summary: 'Prometheus metrics', responses: { '200': text('Prometheus text format') } } },
      '/admin/events': { get: admin('Events, newest first', { operationId: 'listEvents', params: [...eventFilters, ...pageParams], response: page(ref('PaygateEvent')) }) },
      '/admin/events/{id}': { get: admin('An event, its callback and its deliveries with every attempt', { operationId: 'getEvent', params: [idParam('id')], response: ref('EventDetail') }) },
      '/admin/events/{id}/redeliver': { post: admin('Deliver again (same webhook-id)', { operationId: 'redeliverEvent', params: [idParam('id'), ...filterParams(['endpoint'])], response: obj }) },
      '/admin/quarantine': { get: admin('Rejected callbacks with their reason (claimedMerchantId: the merchant only named in plain, no key of it verified)', { operationId: 'listQuarantine', params: [...filterParams(['reason', 'merchantId', 'claimedMerchantId', 'since', 'until']), ...pageParams], response: page(ref('Callback')) }) },
      '/admin/quarantine/{id}/reprocess': { post: admin('Decode a quarantined callback again', { operationId: 'reprocessOne', params: [idParam('id')], response: obj }) },
      '/admin/quarantine/reprocess': { post: admin('Reprocess every quarantined callback matching the filter', { operationId: 'reprocessMatching', params: filterParams(['reason', 'merchantId', 'claimedMerchantId', 'since', 'until']), body: true, response: obj }) },
      '/admin/conflicts': { get: admin('Callbacks with the signed identity of a stored event but other content, newest first', { operationId: 'listConflicts', params: [...filterParams(['merchantId', 'transId', 'since', 'until']), ...pageParams], response: page(ref('Conflict')) }) },
      '/admin/conflicts/{callbackId}': { get: admin('A conflict with both versions: the differing fields\' values and how each callback arrived', { operationId: 'getConflict', params: [idParam('callbackId')], response: ref('ConflictDetail') }) },
      '/admin/callback-urls': {
        post: {
          ...admin('Mint a signed callback URL for URLNotify/URLSuccess/URLFailure (operator)', { operationId: 'mintCallbackUrl', response: ref('CallbackUrl') }),
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object', required: ['merchant', 'channel', 'kind'],
                  properties: {
                    merchant: { type: 'string' }, channel: { type: 'string', enum: ['notify', 'success', 'failure'] }, kind: { type: 'string' },
                    transId: { type: 'string', description: 'Bind the URL to this TransID.' }, base: { type: 'string', format: 'uri', description: 'e.g. https://pay.shop.example; without it only the path is returned.' },
                  },
                },
              },
            },
          },
        },
      },
      '/admin/dead-letters': { get: admin('Dead-lettered deliveries', { operationId: 'listDeadLetters', params: [...deadFilters, ...pageParams], response: page(obj) }) },
      '/admin/dead-letters/redeliver': { post: admin('Bulk redelivery of dead letters (dryRun=true only counts)', { operationId: 'redeliverDeadLetters', params: [...deadFilters, ...filterParams(['dryRun'])], body: true, response: obj }) },
      '/admin/endpoints': { get: admin('Endpoints with health', { operationId: 'listEndpoints', response: { type: 'object', properties: { items: { type: 'array', items: obj } } } }) },
      '/admin/endpoints/{id}/enable': { post: admin('Enable an endpoint', { operationId: 'enableEndpoint', params: [idParam('id')], response: obj }) },
      '/admin/endpoints/{id}/disable': { post: admin('Disable an endpoint', { operationId: 'disableEndpoint', params: [idParam('id')], response: obj }) },
      '/admin/collectmaxx/results': {
        post: {
          ...admin('Import a Collectmaxx result file (raw body; name in ?name= or Content-Disposition filename)', {
            operationId: 'importCollectmaxxResults', params: [...filterParams(['name']), { name: 'content-disposition', in: 'header', required: false, schema: { type: 'string' } }], response: ref('CollectmaxxImport'),
          }),
          requestBody: {
            required: true,
            content: { 'text/csv': { schema: { type: 'string' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          responses: {
            '200': json(ref('CollectmaxxImport'), 'Imported, or skipped because the same name and content were imported before.'),
            '400': errorResponse('No file name, or a name with directories.'),
            '404': errorResponse('Collectmaxx is not configured.'),
            '413': errorResponse('Body over 16 MiB.'),
            '415': errorResponse('Not text/csv or application/octet-stream.'),
            '422': json({ allOf: [ref('Error'), { type: 'object', required: ['line', 'column'], properties: { line: { type: 'integer' }, column: { type: 'integer' }, file: { type: 'string' } } }] }, 'Malformed: message starts with "line L, column C:" (line 0 = the file name); nothing was imported.'),
            ...adminErrors,
          },
        },
      },
      '/admin/collectmaxx/rejects': { get: admin('Events an export rule could not turn into a valid Collectmaxx record, with every reason', { operationId: 'listCollectmaxxRejects', params: pageParams, response: page(obj) }) },
      '/admin/collectmaxx/files': { get: admin('Collectmaxx delivery files written and result files imported, newest first', { operationId: 'listCollectmaxxFiles', params: filterParams(['limit']), response: { type: 'object', required: ['delivery', 'imported'], properties: { delivery: { type: 'array', items: obj }, imported: { type: 'array', items: obj } } } }) },
    },
    webhooks: Object.fromEntries(
      [
        ...EVENT_TYPES.map((type) => [type, 'PaygateEvent'] as const), [CONFLICT_EVENT_TYPE, 'ConflictEvent'] as const,
        ...COLLECTMAXX_EVENT_TYPES.map((type) => [type, 'CollectmaxxEvent'] as const),
      ].map(([type, schema]) => [
        type,
        {
          post: {
            operationId: `webhook_${type.replace('.', '_')}`, summary: `${type} event`, parameters: webhookHeaders,
            requestBody: { required: true, content: { 'application/json': { schema: { allOf: [ref(schema), { properties: { type: { const: type } } }] } } } },
            responses: { '2XX': { description: 'Accepted; anything else is retried.' }, '410': { description: 'Gone: the endpoint is disabled.' } },
          },
        },
      ]),
    ),
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'admin.tokens from the configuration' } },
      schemas: {
        Error: {
          type: 'object', required: ['error', 'message'],
          properties: { error: { type: 'string', enum: Object.keys(ERROR_CODES) }, message: { type: 'string' }, detail: { type: 'string' }, callbackId: { type: 'string' } },
        },
        PaygateCallbackForm: {
          type: 'object', required: ['Data', 'Len'], additionalProperties: { type: 'string' },
          properties: { MerchantID: { type: 'string' }, Len: { type: 'string', pattern: '^[0-9]+$' }, Data: { type: 'string', description: 'Hex (Blowfish) or hexIV-hexCipher (AES)' } },
        },
        PaygateEvent: eventSchema,
        CollectmaxxEvent: cmxEventSchema,
        ConflictEvent: conflictSchema,
        Conflict: {
          type: 'object', required: ['callbackId', 'receivedAt', 'merchantId', 'firstEventId', 'conflictEventId', 'fields'],
          properties: {
            callbackId: { type: 'string' }, receivedAt: { type: 'string', format: 'date-time' }, merchantId: { type: 'string' },
            transId: { type: ['string', 'null'] }, payId: { type: ['string', 'null'] }, firstEventId: { type: 'string' }, conflictEventId: { type: 'string' },
            fields: { type: 'array', items: { type: 'string' } },
          },
        },
        ConflictDetail: {
          allOf: [ref('Conflict'), {
            type: 'object', required: ['first', 'second'],
            properties: Object.fromEntries(['first', 'second'].map((k) => [k, {
              oneOf: [{ type: 'null' }, { type: 'object', required: ['callback', 'values'], properties: { callback: ref('Callback'), values: { type: 'object', additionalProperties: true, description: 'The differing fields of this version, by name.' } } }],
            }])),
          }],
        },
        CallbackUrl: {
          type: 'object', required: ['url', 'path', 'token', 'transIdBound'],
          properties: { url: { type: ['string', 'null'] }, path: { type: 'string' }, token: { type: 'string' }, transIdBound: { type: 'boolean' } },
        },
        CollectmaxxImport: {
          type: 'object', required: ['status', 'file', 'sha256', 'events'],
          properties: {
            status: { type: 'string', enum: ['imported', 'skipped'] }, file: { type: 'string' }, sha256: { type: 'string' }, kind: { type: 'string', enum: ['daily', 'monthly', 'paylink'] },
            rows: { type: 'integer' }, events: { type: 'integer', description: 'New events (changed states only).' }, unchanged: { type: 'integer' }, importedAt: { type: 'string', format: 'date-time' },
          },
        },
        Callback: { type: 'object', additionalProperties: true, description: 'A callback as received (never its raw body, MAC or Data).' },
        EventDetail: {
          type: 'object', required: ['event', 'callback', 'deliveries'],
          properties: { event: ref('PaygateEvent'), callback: { oneOf: [ref('Callback'), { type: 'null' }] }, deliveries: { type: 'array', items: obj } },
        },
      },
    },
  };
}
