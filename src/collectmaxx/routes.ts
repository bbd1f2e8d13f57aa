import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pageSize, wrapCursor } from '../admin/queries.js';
import { RelayError, errorBody } from '../errors.js';
import type { FeatureRouteOptions } from '../feature.js';
import { requireRole } from '../routes/auth.js';
import type { Collectmaxx } from './service.js';

/**
 * Result files are far larger than callbacks. Parsing costs about 7x the file size in heap
 * (the decoded text plus a small object per cell: an 18 MiB file took 120 MiB), so the cap
 * keeps one upload to ~120 MiB of heap at worst.
 */
export const RESULT_FILE_MAX_BYTES = 16 * 1024 * 1024;

type Q = Record<string, unknown>;
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

function parts(feature: Collectmaxx | null): Collectmaxx {
  if (!feature) throw new RelayError('not_found', 'collectmaxx is not configured');
  return feature;
}

/** `?name=` or a Content-Disposition-style header (`attachment; filename="result_….csv"`). */
function fileNameOf(req: FastifyRequest): string {
  const q = (req.query ?? {}) as Q;
  let name = typeof q.name === 'string' ? q.name : undefined;
  const cd = req.headers['content-disposition'];
  if (!name && typeof cd === 'string') {
    const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) ?? /filename="([^"]*)"/i.exec(cd) ?? /filename=([^;\s]+)/i.exec(cd);
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
  const viewer = { preHandler: requireRole(opts.tokens, 'viewer') };
  const operator = { preHandler: requireRole(opts.tokens, 'operator') };

  // Raw file bodies only in this plugin's scope: the callback routes keep their own parsers and limits.
  app.addContentTypeParser(['text/csv', 'text/plain', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: RESULT_FILE_MAX_BYTES }, (_req, body, done) => done(null, body));

  app.post('/admin/collectmaxx/results', { ...operator, bodyLimit: RESULT_FILE_MAX_BYTES }, async (req, reply) => {
    const cmx = parts(opts.feature);
    const name = fileNameOf(req);
    if (!Buffer.isBuffer(req.body)) throw new RelayError('unsupported_media_type', 'send the file as the raw body with content-type text/csv or application/octet-stream');
    const outcome = await cmx.importer.importFile(name, req.body, opts.now());
    if (outcome.status === 'failed') {
      // The message itself says where: an operator opens the file at that line and column.
      return reply.code(422).send({ error: errorBody('malformed_result_file').error, message: outcome.message, line: outcome.line, column: outcome.column, file: name });
    }
    return outcome.status === 'imported'
      ? { status: outcome.status, file: name, sha256: outcome.sha256, kind: outcome.kind, rows: outcome.rows, events: outcome.events, unchanged: outcome.unchanged }
      : { status: outcome.status, file: name, sha256: outcome.sha256, events: 0, importedAt: iso(outcome.importedAt) };
  });

  app.get('/admin/collectmaxx/rejects', viewer, async (req) => {
    const q = (req.query ?? {}) as Q;
    const cursor = typeof q.cursor === 'string' && q.cursor !== '' ? q.cursor : undefined;
    const cmx = parts(opts.feature);
    const page = await wrapCursor(() => cmx.store.listRejects(pageSize(q.limit), cursor));
    return {
      items: page.items.map((r) => ({
        identifier: r.identifier, eventId: r.eventId, merchantId: r.merchantId, transId: r.transId, flowId: r.flowId, rule: r.ruleIndex,
        reasons: r.reasons, record: r.record, createdAt: iso(r.createdAt), resolved: r.resolved,
      })),
      next: page.next,
    };
  });

  app.get('/admin/collectmaxx/files', viewer, async (req) => {
    const cmx = parts(opts.feature);
    const limit = pageSize(((req.query ?? {}) as Q).limit);
    const [delivery, imported] = await Promise.all([cmx.store.listDeliveryFiles(limit), cmx.store.listImports(limit)]);
    return {
      delivery: delivery.map((f) => ({ name: f.name, format: f.format, records: f.recordCount, allocatedAt: iso(f.createdAt), writtenAt: iso(f.writtenAt) })),
      imported: imported.map((f) => ({ name: f.name, sha256: f.sha256, status: f.status, reason: f.reason, events: f.events, importedAt: iso(f.importedAt) })),
    };
  });
}
