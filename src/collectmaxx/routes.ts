import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { wrapCursor } from '../admin/queries.js';
import { RelayError, errorBody } from '../errors.js';
import type { FeatureRouteOptions } from '../feature.js';
import { BEARER } from '../routes/auth.js';
import { anyObject, component, cursor, errorBodySchema, errorResponse, jsonResponse, limit, page } from '../routes/schemas.js';
import { documentOnly, typed, validatorCompiler } from '../routes/type-provider.js';
import type { Collectmaxx } from './service.js';

import { DEFAULT_RESULT_FILE_MAX_BYTES } from './core/config.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

const adminErrors = { 401: errorResponse('Missing or unknown bearer token.'), 403: errorResponse('A viewer token may not change state.') };
const op = (operationId: string, summary: string) => ({ operationId, summary, tags: ['admin'], security: BEARER });
const notConfigured = errorResponse('Collectmaxx is not configured.');

const importResult = component('CollectmaxxImport', z.object({
  status: z.enum(['imported', 'skipped']), file: z.string(), sha256: z.string(), kind: z.enum(['daily', 'monthly', 'paylink']).optional(),
  rows: z.int().optional(), events: z.int().describe('New events (changed states only).'), unchanged: z.int().optional(),
  importedAt: z.iso.datetime().nullable().optional(),
}));

function parts(feature: Collectmaxx | null): Collectmaxx {
  if (!feature) throw new RelayError('not_found', 'collectmaxx is not configured');
  return feature;
}

/** `?name=` or a Content-Disposition-style header (`attachment; filename="result_….csv"`). */
function fileNameOf(query: string | undefined, disposition: string | undefined): string {
  let name = query;
  if (!name && disposition) {
    const m = /filename\*=UTF-8''([^;]+)/i.exec(disposition) ?? /filename="([^"]*)"/i.exec(disposition) ?? /filename=([^;\s]+)/i.exec(disposition);
    if (m) {
      try {
        name = decodeURIComponent(m[1]!);
      } catch {
        name = m[1];
      }
    }
  }
  if (!name) throw new RelayError('bad_request', 'give the file name as ?name= or in a Content-Disposition header (filename="result_20260114-acos1001.csv")');
  // A name is a name: never a path into the inbox or anywhere else.
  if (name.includes('/') || name.includes('\\') || name.length > 255) throw new RelayError('bad_request', 'the file name must be a bare name without directories');
  return name;
}

/** Collectmaxx admin routes: always registered (the API contract), 404 when collectmaxx is not configured. */
export async function collectmaxxRoutes(app: FastifyInstance, opts: FeatureRouteOptions<Collectmaxx>): Promise<void> {
  const r = typed(app);
  // The raw file body is documented by its schema, never parsed by it.
  app.setValidatorCompiler((route) => (route.httpPart === 'body' ? documentOnly(route) : validatorCompiler(route as Parameters<typeof validatorCompiler>[0])));
  // Raw file bodies only in this plugin's scope: the callback routes keep their own parsers and limits.
  // The cap is collectmaxx.maxResultFileBytes (its default while the feature is not configured: 404 anyway).
  const maxBytes = opts.feature?.maxResultFileBytes ?? DEFAULT_RESULT_FILE_MAX_BYTES;
  app.addContentTypeParser(['text/csv', 'text/plain', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));

  r.post('/admin/collectmaxx/results', {
    onRequest: app.adminAuth.operator,
    bodyLimit: maxBytes,
    schema: {
      ...op('importCollectmaxxResults', 'Import a Collectmaxx result file (raw body; name in ?name= or Content-Disposition filename)'),
      querystring: z.object({ name: z.string().optional() }),
      headers: z.looseObject({ 'content-disposition': z.string().optional() }),
      consumes: ['text/csv', 'application/octet-stream'],
      body: z.string().meta({ description: 'The result file, as it is.' }),
      response: {
        200: jsonResponse('Imported, or skipped because the same name and content were imported before.', importResult),
        400: errorResponse('No file name, or a name with directories.'),
        404: notConfigured,
        413: errorResponse('Body over collectmaxx.maxResultFileBytes (default 16 MiB).'),
        415: errorResponse('Not text/csv or application/octet-stream.'),
        422: jsonResponse('Malformed: message starts with "line L, column C:" (line 0 = the file name); nothing was imported.',
          errorBodySchema.extend({ line: z.int(), column: z.int(), file: z.string().optional() })),
        ...adminErrors,
      },
    },
  }, async (req, reply) => {
    const cmx = parts(opts.feature);
    const name = fileNameOf(req.query.name, req.headers['content-disposition']);
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body)) throw new RelayError('unsupported_media_type', 'send the file as the raw body with content-type text/csv or application/octet-stream');
    const outcome = await cmx.importer.importFile(name, body, opts.now());
    if (outcome.status === 'failed') {
      // The message itself says where: an operator opens the file at that line and column.
      return reply.code(422).send({ error: errorBody('malformed_result_file').error, message: outcome.message, line: outcome.line, column: outcome.column, file: name });
    }
    return outcome.status === 'imported'
      ? { status: outcome.status, file: name, sha256: outcome.sha256, kind: outcome.kind, rows: outcome.rows, events: outcome.events, unchanged: outcome.unchanged }
      : { status: outcome.status, file: name, sha256: outcome.sha256, events: 0, importedAt: iso(outcome.importedAt) };
  });

  r.get('/admin/collectmaxx/rejects', {
    onRequest: app.adminAuth.viewer,
    schema: {
      ...op('listCollectmaxxRejects', 'Events an export rule could not turn into a valid Collectmaxx record, with every reason'),
      querystring: z.object({ limit: limit(), cursor: cursor() }),
      response: { 200: jsonResponse('OK', page(anyObject)), 400: errorResponse('Invalid cursor or limit.'), 404: notConfigured, ...adminErrors },
    },
  }, async (req) => {
    const cmx = parts(opts.feature);
    const page = await wrapCursor(() => cmx.store.listRejects(req.query.limit, req.query.cursor));
    return {
      items: page.items.map((x) => ({
        identifier: x.identifier, eventId: x.eventId, merchantId: x.merchantId, transId: x.transId, flowId: x.flowId, rule: x.ruleIndex,
        reasons: x.reasons, record: x.record, createdAt: iso(x.createdAt), resolved: x.resolved,
      })),
      next: page.next,
    };
  });

  r.get('/admin/collectmaxx/files', {
    onRequest: app.adminAuth.viewer,
    schema: {
      ...op('listCollectmaxxFiles', 'Collectmaxx delivery files written and result files imported, newest first'),
      querystring: z.object({ limit: limit() }),
      response: {
        200: jsonResponse('OK', z.object({ delivery: z.array(anyObject), imported: z.array(anyObject) })),
        400: errorResponse('Invalid limit.'), 404: notConfigured, ...adminErrors,
      },
    },
  }, async (req) => {
    const cmx = parts(opts.feature);
    const [delivery, imported] = await Promise.all([cmx.store.listDeliveryFiles(req.query.limit), cmx.store.listImports(req.query.limit)]);
    return {
      delivery: delivery.map((f) => ({ name: f.name, format: f.format, records: f.recordCount, allocatedAt: iso(f.createdAt), writtenAt: iso(f.writtenAt) })),
      imported: imported.map((f) => ({ name: f.name, sha256: f.sha256, status: f.status, reason: f.reason, events: f.events, importedAt: iso(f.importedAt) })),
    };
  });
}
