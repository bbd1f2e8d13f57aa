// The Collectmaxx page: records rejected before export (with every reason), delivery files,
// imported result files, and for operators a form that imports a result file through the same
// Importer as POST /admin/collectmaxx/results. Registered (module.ts) only when collectmaxx is configured.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fmtInt, fmtTime, qs } from '../console/format.js';
import type { ConsoleHooks } from '../console/hooks.js';
import type { Html } from '../console/jsx-runtime.js';
import { Badge, canOperate, Csrf, Empty, Flash, Layout, Time, type PageCtx } from '../console/ui.js';
import { InvalidCursorError } from '../store/query.js';
import type { Collectmaxx } from './service.js';
import type { DeliveryFileRow, ImportedFileRow, RejectRow } from './store.js';

const PAGE = '/console/collectmaxx';
const PAGE_SIZE = 50;
/** The lists without a cursor in the store contract show their newest entries only. */
const LIST_SIZE = 50;

type FlashMsg = { text: string; bad?: boolean } | null;
type Body = Record<string, unknown>;
const plural = (n: number, word: string) => `${fmtInt(n)} ${word}${n === 1 ? '' : 's'}`;
const count = (v: unknown): number => {
  const n = Number.parseInt(String(v ?? ''), 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
};

function Reasons(props: { r: RejectRow }): Html {
  return (
    <ul class="reasons">
      {props.r.reasons.map((x) => {
        const given = props.r.record[x.field];
        return (
          <li data-testid="reject-reason">
            <span class="mono">{x.field}</span> <Badge tone="bad">{x.code}</Badge> {x.message}
            {given === undefined ? null : <> (given <code>{given}</code>)</>}
          </li>
        );
      })}
    </ul>
  );
}

function ImportForm(props: { ctx: PageCtx; form: { name: string; content: string } | null }): Html {
  const { ctx, form } = props;
  if (!canOperate(ctx)) return <p class="muted" data-testid="import-viewer">Importing result files is for operators.</p>;
  return (
    <form class="panel" method="post" action={`${PAGE}/import`} data-testid="import-form">
      <Csrf ctx={ctx} />
      <p class="muted">
        Paste a result file as text. The console takes no file uploads (it has no multipart parser); the admin API takes the
        raw file: <code>POST /admin/collectmaxx/results?name=…</code>. The file is parsed completely first: a malformed one
        is refused as a whole with the line and column of its first error.
      </p>
      <p>
        <label>
          File name{' '}
          <input type="text" name="name" value={form?.name ?? ''} placeholder="result_20260114-acos1001.csv" size={48} required />
        </label>
      </p>
      <p>
        <textarea name="content" rows={12} cols={110} spellcheck="false" required aria-label="Result file content (CSV)">
          {/* An HTML parser drops one newline right after <textarea>: this one, not the file's. */}
          {'\n'}{form?.content ?? ''}
        </textarea>
      </p>
      <div class="actions">
        <button type="submit" class="primary" data-testid="import">Import result file</button>
      </div>
    </form>
  );
}

export function CollectmaxxPage(props: {
  ctx: PageCtx; rejects: RejectRow[]; next: string | null; cursor?: string; delivery: DeliveryFileRow[]; imports: ImportedFileRow[];
  exporting: boolean; flash: FlashMsg; form: { name: string; content: string } | null;
}): Html {
  const { ctx, rejects, delivery, imports } = props;
  return (
    <Layout ctx={ctx} title="Collectmaxx" section="collectmaxx">
      <h1>Collectmaxx <small>reminders: records rejected before export, delivery files, imported result files</small></h1>
      <Flash flash={props.flash} />

      <h2>Import a result file</h2>
      <ImportForm ctx={ctx} form={props.form} />

      <h2>Rejected records <small class="muted">newest first; never written to a delivery file</small></h2>
      <div class="table-wrap">
        <table data-testid="rejects">
          <thead>
            <tr><th>Rejected</th><th>Event</th><th>Merchant / TransID</th><th>Flow</th><th>Identifier</th><th>Reasons</th></tr>
          </thead>
          <tbody>
            {rejects.map((r) => (
              <tr data-testid="reject-row">
                <td class="mono"><Time t={r.createdAt} /></td>
                <td class="mono"><a href={`/console/events/${encodeURIComponent(r.eventId)}`}>{r.eventId}</a></td>
                <td>{r.merchantId} <span class="mono">{r.transId}</span></td>
                <td class="mono">{r.flowId}</td>
                <td class="mono">{r.identifier}</td>
                <td>
                  {r.resolved ? <p data-testid="reject-resolved"><Badge tone="ok">exported since</Badge> the event was redelivered after a fix</p> : null}
                  <Reasons r={r} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rejects.length === 0 ? (
          <Empty>{props.cursor ? 'No older rejected records.' : props.exporting ? 'No rejected records: every exported record so far was valid.' : 'No rejected records (export is not configured).'}</Empty>
        ) : null}
      </div>
      <div class="pager">
        {props.cursor ? <a href={PAGE}>« Newest</a> : null}
        {props.next ? <a href={`${PAGE}${qs({ cursor: props.next })}`} data-testid="rejects-older">Older »</a> : <span>end of list</span>}
      </div>

      <h2>Delivery files <small class="muted">newest {LIST_SIZE}</small></h2>
      <div class="table-wrap">
        <table data-testid="delivery-files">
          <thead>
            <tr><th>Name</th><th>Format</th><th class="num">Records</th><th>Written</th></tr>
          </thead>
          <tbody>
            {delivery.map((f) => (
              <tr data-testid="delivery-row">
                <td class="mono">{f.name}</td>
                <td>{f.format}</td>
                <td class="num">{fmtInt(f.recordCount)}</td>
                <td class="mono">
                  {f.writtenAt === null ? <Badge tone="warn">pending since {fmtTime(f.createdAt)}</Badge> : <Time t={f.writtenAt} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {delivery.length === 0 ? (
          <Empty>{props.exporting ? 'No delivery files yet.' : 'Export is not configured (collectmaxx.export): no delivery files are written.'}</Empty>
        ) : null}
      </div>

      <h2>Imported result files <small class="muted">newest {LIST_SIZE}</small></h2>
      <div class="table-wrap">
        <table data-testid="imports">
          <thead>
            <tr><th>Name</th><th>Status</th><th>Reason</th><th class="num">Events</th><th>Imported</th></tr>
          </thead>
          <tbody>
            {imports.map((f) => (
              <tr data-testid="import-row">
                <td class="mono">{f.name}</td>
                <td><Badge tone={f.status === 'imported' ? 'ok' : 'bad'}>{f.status}</Badge></td>
                <td>{f.reason ?? ''}</td>
                <td class="num">{fmtInt(f.events)}</td>
                <td class="mono"><Time t={f.importedAt} /></td>
              </tr>
            ))}
          </tbody>
        </table>
        {imports.length === 0 ? <Empty>No result files imported yet.</Empty> : null}
      </div>
    </Layout>
  );
}

export function collectmaxxPages(app: FastifyInstance, d: ConsoleHooks, cmx: Collectmaxx): void {
  const render = async (req: FastifyRequest, reply: FastifyReply, cursor: string | undefined, flash: FlashMsg, form: { name: string; content: string } | null, status = 200) => {
    const t0 = performance.now();
    let cursorError: FlashMsg = null;
    const [page, delivery, imports] = await Promise.all([
      cmx.store.listRejects(PAGE_SIZE, cursor).catch((err: unknown) => {
        if (!(err instanceof InvalidCursorError)) throw err;
        cursorError = { text: 'That page link is not valid any more: showing the newest rejected records.', bad: true };
        cursor = undefined;
        return cmx.store.listRejects(PAGE_SIZE);
      }),
      cmx.store.listDeliveryFiles(LIST_SIZE),
      cmx.store.listImports(LIST_SIZE),
    ]);
    const ctx = d.ctxOf(req, { queries: performance.now() - t0 });
    return d.html(reply, (
      <CollectmaxxPage ctx={ctx} rejects={page.items} next={page.next} cursor={cursor} delivery={delivery} imports={imports}
        exporting={cmx.exporter !== null} flash={flash ?? cursorError} form={form} />
    ), status);
  };

  /**
   * After an import the page says what happened. The query string only names the file and its hash;
   * the message is built from the stored import row, so a crafted link cannot make up an outcome for a file.
   */
  const flashFor = async (query: Body): Promise<FlashMsg> => {
    if (query.msg !== 'imported' && query.msg !== 'skipped') return null;
    if (typeof query.file !== 'string' || typeof query.sha !== 'string') return null;
    const row = await cmx.store.findImport(query.file, query.sha);
    if (!row || row.status !== 'imported') return null;
    if (query.msg === 'skipped') {
      return { text: `${row.name} was imported before with the same content (${fmtTime(row.importedAt)}): skipped, no new events.` };
    }
    const unchanged = count(query.unchanged);
    return { text: `Imported ${row.name}: ${plural(row.events, 'new event')} from ${plural(count(query.rows), 'row')}${unchanged ? `; ${plural(unchanged, 'result')} already known` : ''}.` };
  };

  app.get('/collectmaxx', d.viewer, async (req, reply) => {
    const query = req.query as Body;
    const cursor = typeof query.cursor === 'string' && query.cursor !== '' ? query.cursor : undefined;
    return render(req, reply, cursor, await flashFor(query), null);
  });

  const maxBytes = cmx.maxResultFileBytes;
  // A pasted file arrives form-encoded: at worst every byte becomes `%XX`.
  app.post('/collectmaxx/import', { ...d.operator, bodyLimit: 3 * maxBytes + 64 * 1024 }, async (req, reply) => {
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Body;
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    const text = typeof body.content === 'string' ? body.content : '';
    // A refused form comes back filled in, so nothing pasted is lost.
    const refuse = (status: number, message: string) => render(req, reply, undefined, { text: message, bad: true }, { name, content: text }, status);
    if (!name) return refuse(400, 'Give the file name (e.g. result_20260114-acos1001.csv): it says which kind of result file it is.');
    if (name.includes('/') || name.includes('\\') || name.length > 255) return refuse(400, 'The file name must be a bare name without directories.');
    if (text.trim() === '') return refuse(400, 'Paste the content of the result file.');
    // Browsers send a textarea's line breaks as CRLF whatever was pasted; LF is what the file most likely had.
    const content = Buffer.from(text.replace(/\r\n/g, '\n'), 'utf8');
    if (content.length > maxBytes) {
      return refuse(413, `The file is larger than collectmaxx.maxResultFileBytes (${fmtInt(maxBytes)} bytes): raise the cap, or import it with the CLI.`);
    }
    const outcome = await cmx.importer.importFile(name, content, d.now());
    d.audit(req, 'collectmaxx-import', { file: name, status: outcome.status, events: outcome.status === 'imported' ? outcome.events : 0 });
    if (outcome.status === 'failed') {
      const where = outcome.line === 0 ? outcome.message : `${name}, ${outcome.message}`;
      return refuse(422, `Not imported: ${where}. Nothing from the file was stored; correct it and import it again.`);
    }
    const params = outcome.status === 'imported'
      ? { msg: 'imported', file: name, sha: outcome.sha256, rows: outcome.rows, unchanged: outcome.unchanged }
      : { msg: 'skipped', file: name, sha: outcome.sha256 };
    return reply.redirect(`${PAGE}${qs(params)}`, 303);
  });
}
