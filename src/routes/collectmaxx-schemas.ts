// Schemas of the Collectmaxx admin routes (routes/collectmaxx.ts), attached from outside
// while those routes still take the whole relay. When Collectmaxx plugs in as a feature
// module its routes declare these themselves (see type-provider.ts) and this file goes.

import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';
import type { Relay } from '../relay.js';
import { BEARER, type TokenTable } from './auth.js';
import { collectmaxxRoutes } from './collectmaxx.js';
import { anyObject, component, cursor, errorBodySchema, errorResponse, jsonResponse, limit, page } from './schemas.js';
import { documentOnly, validatorCompiler } from './type-provider.js';

const adminErrors = { 401: errorResponse('Missing or unknown bearer token.'), 403: errorResponse('A viewer token may not change state.') };
const op = (operationId: string, summary: string) => ({ operationId, summary, tags: ['admin'], security: BEARER });

const importResult = component('CollectmaxxImport', z.object({
  status: z.enum(['imported', 'skipped']), file: z.string(), sha256: z.string(), kind: z.enum(['daily', 'monthly', 'paylink']).optional(),
  rows: z.int().optional(), events: z.int().describe('New events (changed states only).'), unchanged: z.int().optional(),
  importedAt: z.iso.datetime().nullable().optional(),
}));

const SCHEMAS: Record<string, FastifySchema> = {
  'POST /admin/collectmaxx/results': {
    ...op('importCollectmaxxResults', 'Import a Collectmaxx result file (raw body; name in ?name= or Content-Disposition filename)'),
    querystring: z.object({ name: z.string().optional() }),
    headers: z.looseObject({ 'content-disposition': z.string().optional() }),
    consumes: ['text/csv', 'application/octet-stream'],
    body: z.string().meta({ description: 'The result file, as it is.' }),
    response: {
      200: jsonResponse('Imported, or skipped because the same name and content were imported before.', importResult),
      400: errorResponse('No file name, or a name with directories.'),
      404: errorResponse('Collectmaxx is not configured.'),
      413: errorResponse('Body over 16 MiB.'),
      415: errorResponse('Not text/csv or application/octet-stream.'),
      422: jsonResponse('Malformed: message starts with "line L, column C:" (line 0 = the file name); nothing was imported.',
        errorBodySchema.extend({ line: z.int(), column: z.int(), file: z.string().optional() })),
      ...adminErrors,
    },
  } as FastifySchema,
  'GET /admin/collectmaxx/rejects': {
    ...op('listCollectmaxxRejects', 'Events an export rule could not turn into a valid Collectmaxx record, with every reason'),
    querystring: z.object({ limit: limit(), cursor: cursor() }),
    response: { 200: jsonResponse('OK', page(anyObject)), 400: errorResponse('Invalid cursor or limit.'), 404: errorResponse('Collectmaxx is not configured.'), ...adminErrors },
  } as FastifySchema,
  'GET /admin/collectmaxx/files': {
    ...op('listCollectmaxxFiles', 'Collectmaxx delivery files written and result files imported, newest first'),
    querystring: z.object({ limit: limit() }),
    response: {
      200: jsonResponse('OK', z.object({ delivery: z.array(anyObject), imported: z.array(anyObject) })),
      400: errorResponse('Invalid limit.'), 404: errorResponse('Collectmaxx is not configured.'), ...adminErrors,
    },
  } as FastifySchema,
};

/** The Collectmaxx admin routes with their schemas; the raw file body is documented, never parsed by a schema. */
export async function collectmaxxApi(app: FastifyInstance, opts: { relay: Relay; tokens: TokenTable }): Promise<void> {
  app.setValidatorCompiler((route) => (route.httpPart === 'body' ? documentOnly(route) : validatorCompiler(route as Parameters<typeof validatorCompiler>[0])));
  app.addHook('onRoute', (route) => {
    const schema = SCHEMAS[`${String(route.method)} ${route.url}`];
    if (schema) route.schema = schema;
  });
  await app.register(collectmaxxRoutes, opts);
}
