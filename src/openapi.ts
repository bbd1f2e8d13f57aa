// openapi.yaml is generated from the route schemas: @fastify/swagger walks the routes the
// app registers (every route plugin, for the `all` surface with admin tokens) and
// fastify-type-provider-zod turns their zod schemas into JSON Schema 2020-12; schemas
// registered with an id (src/routes/schemas.ts) become components. This module adds only
// what no route carries: document info, the webhooks (the events we send) and the
// security scheme. test/openapi.test.ts fails when openapi.yaml and the code disagree.
// Regenerate with `paygate-relay openapi > openapi.yaml`.

import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { z } from 'zod';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { app, type AppServices } from './app.js';
import type { Config } from './config/schema.js';
import { CONFLICT_EVENT_TYPE, conflictEventSchema } from './events/schema.js';
import { FEATURES } from './features.js';
import type { AuthThrottle } from './net/failure-throttle.js';
import { EVENT_TYPES } from './paygate/operation.js';
import { VERSION } from './relay.js';
import type { TokenTable } from './routes/auth.js';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function webhooks(): Json {
  const headers = [
    { name: 'webhook-id', in: 'header', required: true, description: 'The event id; stable across retries and redeliveries: dedupe on it.', schema: { type: 'string' } },
    { name: 'webhook-timestamp', in: 'header', required: true, description: 'Unix seconds of this attempt.', schema: { type: 'string' } },
    { name: 'webhook-signature', in: 'header', required: true, description: 'Space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body> per endpoint secret (key = base64-decoded secret after whsec_).', schema: { type: 'string' } },
  ];
  const types = [
    ...EVENT_TYPES.map((type) => [type, 'PaygateEvent'] as const),
    [CONFLICT_EVENT_TYPE, 'ConflictEvent'] as const,
    ...FEATURES.flatMap((f) => f.events ?? []).flatMap((family) => family.types.map((type) => [type, family.name] as const)),
  ];
  return Object.fromEntries(types.map(([type, schema]) => [type, {
    post: {
      operationId: `webhook_${type.replace('.', '_')}`, summary: `${type} event`, parameters: headers,
      requestBody: { required: true, content: { 'application/json': { schema: { allOf: [ref(schema), { properties: { type: { const: type } } }] } } } },
      responses: { '2XX': { description: 'Accepted; anything else is retried.' }, '410': { description: 'Gone: the endpoint is disabled.' } },
    },
  }]));
}

/** Services for a document build: routes are registered, never called. */
function documentServices(): AppServices {
  const absent = (name: string) => new Proxy({}, {
    get: (_t, p) => {
      throw new Error(`${name}.${String(p)} is not available while the OpenAPI document is built`);
    },
  });
  const config = { paygate: {}, limits: { bodyBytes: 64 * 1024 }, merchants: [] } as unknown as Config;
  const tokens: TokenTable = { enabled: true, roleOf: () => null, idOf: () => '', roleOfId: () => null, throttle: absent('throttle') as AuthThrottle };
  return {
    health: absent('health') as AppServices['health'],
    callbacks: { config, intake: absent('intake'), metrics: absent('metrics'), draining: false, now: Date.now } as unknown as AppServices['callbacks'],
    admin: absent('admin') as AppServices['admin'],
    tokens,
    console: null,
    features: [],
    httpDuration: { observe: () => {} },
  };
}

/** Request bodies a route marks optional (zod `.optional()`) are optional in the document too. */
function optionalBodies(doc: Json, optional: Set<string>): Json {
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const body = op.requestBody as Json | undefined;
      if (body && optional.has(`${method.toUpperCase()} ${path}`)) body.required = false;
    }
  }
  return doc;
}

const REF = '#/components/schemas/';
const refsIn = (v: unknown): string[] => [...JSON.stringify(v).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);

/**
 * The type provider emits every named schema twice, `X` for answers and `XInput` for
 * requests, because a transform can make them differ. Where they do not, one component is
 * enough; a schema only ever read from requests keeps its plain name; unused ones go.
 */
function mergeInputComponents(doc: Json): Json {
  const components = doc.components as { schemas: Record<string, unknown> };
  const schemas = components.schemas;
  const plain = (v: unknown) => JSON.stringify(v).replace(/("#\/components\/schemas\/[^"]+?)Input"/g, '$1"');
  const rename = new Map<string, string>();
  const usedOutside = new Set(refsIn({ ...doc, components: undefined }));
  for (const name of Object.keys(schemas).filter((n) => n.endsWith('Input'))) {
    const base = name.slice(0, -'Input'.length);
    if (base in schemas && (plain(schemas[name]) === plain(schemas[base]) || !usedOutside.has(base))) rename.set(name, base);
  }
  let text = JSON.stringify(doc);
  for (const [from, to] of rename) text = text.replaceAll(`"${REF}${from}"`, `"${REF}${to}"`);
  const out = JSON.parse(text) as Json;
  const outSchemas = (out.components as { schemas: Record<string, unknown> }).schemas;
  for (const [from, to] of rename) {
    if (!usedOutside.has(to) || plain(outSchemas[from]) === plain(outSchemas[to])) outSchemas[to] = outSchemas[from];
    delete outSchemas[from];
  }
  // Keep what the paths and webhooks reach, in name order.
  const reached = new Set<string>();
  const visit = (names: string[]) => {
    for (const n of names) if (!reached.has(n) && n in outSchemas) (reached.add(n), visit(refsIn(outSchemas[n])));
  };
  visit(refsIn({ ...out, components: undefined }));
  (out.components as Json).schemas = Object.fromEntries([...reached].sort().map((n) => [n, outSchemas[n]]));
  return out;
}

export async function buildOpenApi(): Promise<Json> {
  const fastify = Fastify();
  const optional = new Set<string>();
  const transform = createJsonSchemaTransform({});
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'paygate-relay', version: VERSION,
        description: 'Receives Computop Paygate callbacks, stores them durably and forwards typed, signed events (Standard Webhooks).',
      },
      tags: [{ name: 'paygate' }, { name: 'admin' }, { name: 'ops' }],
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'admin.tokens from the configuration' } } },
      webhooks: webhooks() as never,
    },
    transform: (input) => {
      // An optional body (optionalBody(schema)) is documented as its schema with required: false.
      let body = (input.schema as { body?: unknown } | undefined)?.body;
      if (!(body instanceof z.ZodOptional)) return transform(input);
      while (body instanceof z.ZodOptional || body instanceof z.ZodNullable) body = body.unwrap();
      for (const m of [input.route.method].flat()) optional.add(`${m} ${input.url.replace(/:(\w+)/g, '{$1}')}`);
      return transform({ ...input, schema: { ...input.schema, body } });
    },
    transformObject: createJsonSchemaTransformObject({}),
  });
  await fastify.register(app, { services: documentServices(), surface: 'all' });
  await fastify.ready();
  const doc = optionalBodies(fastify.swagger() as unknown as Json, optional);
  await fastify.close();
  // The envelopes of events only the webhooks name: callback.conflict and the features' events.
  const schemas = ((doc.components ??= {}) as Json).schemas ??= {};
  for (const family of [{ name: 'ConflictEvent', schema: conflictEventSchema }, ...FEATURES.flatMap((f) => f.events ?? [])]) {
    const schema = z.toJSONSchema(family.schema, { target: 'draft-2020-12' }) as Json;
    delete schema.$schema;
    (schemas as Json)[family.name] = schema;
  }
  return mergeInputComponents(JSON.parse(JSON.stringify(doc)) as Json);
}
