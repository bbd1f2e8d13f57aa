// Conflicts: callbacks with the signed identity of a delivered event but other
// content. Operators see both versions' values here; receivers got only the names.
import type { conflictDetail, listConflicts } from '../../admin/queries.js';
import { qs } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { AnySelect, Badge, Empty, Flash, Layout, Time, TimeRange, type PageCtx } from '../ui.js';

type Item = Awaited<ReturnType<typeof listConflicts>>['items'][number];
type Detail = Awaited<ReturnType<typeof conflictDetail>>;
export type ConflictQuery = Partial<Record<'merchantId' | 'transId' | 'since' | 'until' | 'cursor', string>>;

export function ConflictsPage(props: {
  ctx: PageCtx; q: ConflictQuery; items: Item[]; next: string | null; merchants: string[]; flash: { text: string; bad?: boolean } | null;
}): Html {
  const { ctx, q, items } = props;
  const filters = { merchantId: q.merchantId, transId: q.transId, since: q.since, until: q.until };
  return (
    <Layout ctx={ctx} title="Conflicts" section="conflicts">
      <h1>
        Conflicts <small>callbacks with the signed identity (merchant, PayID, TransID, Status, Code) of a stored event but other content: one of the two was tampered with</small>
      </h1>
      <Flash flash={props.flash} />
      <form class="filters panel" method="get" action="/console/conflicts">
        <AnySelect name="merchantId" label="Merchant" value={q.merchantId} options={props.merchants} />
        <label>
          TransID
          <input type="text" name="transId" value={q.transId ?? ''} />
        </label>
        <TimeRange since={q.since} until={q.until} />
        <div class="actions">
          <button type="submit" class="primary">Filter</button>
          <a class="button" href="/console/conflicts">Clear</a>
        </div>
      </form>
      <div class="table-wrap">
        <table data-testid="conflicts">
          <thead>
            <tr><th>Received</th><th>Merchant</th><th>TransID</th><th>Differing fields</th><th>First event</th><th></th></tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr data-testid="conflict-row">
                <td class="mono"><Time t={c.receivedAt} /></td>
                <td>{c.merchantId}</td>
                <td class="mono">{c.transId ?? ''}</td>
                <td>{c.fields.map((f) => <Badge tone="bad">{f}</Badge>)}</td>
                <td class="mono"><a href={`/console/events/${encodeURIComponent(c.firstEventId)}`}>{c.firstEventId}</a></td>
                <td><a href={`/console/conflicts/${encodeURIComponent(c.callbackId)}`}>Compare</a></td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 ? <Empty>No conflicts{Object.values(filters).some((v) => v) ? ' match' : ''}.</Empty> : null}
      </div>
      <div class="pager">
        {q.cursor ? <a href={`/console/conflicts${qs(filters)}`}>« Newest</a> : null}
        {props.next ? <a href={`/console/conflicts${qs({ ...filters, cursor: props.next })}`}>Older »</a> : <span>end of list</span>}
      </div>
    </Layout>
  );
}

const shown = (v: unknown) => (v === null || v === undefined ? <span class="muted">absent</span> : typeof v === 'string' ? v : JSON.stringify(v));

export function ConflictPage(props: { ctx: PageCtx; detail: Detail }): Html {
  const { ctx, detail: d } = props;
  const side = (v: Detail['first']) => v?.callback;
  return (
    <Layout ctx={ctx} title="Conflict" section="conflicts">
      <h1>Conflict <small class="mono">{d.merchantId} · TransID {d.transId ?? ''} · PayID {d.payId ?? ''}</small></h1>
      <p>
        Receivers got <a class="mono" href={`/console/events/${encodeURIComponent(d.firstEventId)}`}>{d.firstEventId}</a> first, then
        the <span class="mono">callback.conflict</span> event <a class="mono" href={`/console/events/${encodeURIComponent(d.conflictEventId)}`}>{d.conflictEventId}</a>.
        Compare with Paygate (or the shop's records) which version is genuine before acting on either.
      </p>
      <div class="table-wrap">
        <table data-testid="conflict-fields">
          <thead><tr><th>Field</th><th>First version</th><th>Conflicting version</th></tr></thead>
          <tbody>
            {d.fields.map((f) => (
              <tr>
                <td class="mono">{f}</td>
                <td class="mono">{shown(d.first?.values[f])}</td>
                <td class="mono">{shown(d.second?.values[f])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="table-wrap">
        <table data-testid="conflict-origins">
          <thead><tr><th></th><th>First version</th><th>Conflicting version</th></tr></thead>
          <tbody>
            {(['receivedAt', 'channel', 'method', 'path', 'remoteIp', 'userAgent'] as const).map((k) => (
              <tr>
                <td>{k}</td>
                <td class="mono">{k === 'receivedAt' ? <Time t={side(d.first)?.[k]} /> : <>{side(d.first)?.[k] ?? ''}</>}</td>
                <td class="mono">{k === 'receivedAt' ? <Time t={side(d.second)?.[k]} /> : <>{side(d.second)?.[k] ?? ''}</>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}
