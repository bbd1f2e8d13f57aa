import type { listQuarantine } from '../../admin/queries.js';
import { isReprocessable, QUARANTINE_REASON_CODES, reasonHint } from '../../quarantine.js';
import { qs } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { AnySelect, Badge, canOperate, Csrf, Empty, Flash, Layout, PostButton, Time, TimeRange, type PageCtx } from '../ui.js';

type Item = Awaited<ReturnType<typeof listQuarantine>>['items'][number];
export type QuarantineQuery = Partial<Record<'merchantId' | 'claimedMerchantId' | 'reason' | 'since' | 'until' | 'cursor', string>>;

function FilterFields(props: { q: QuarantineQuery; merchants: string[] }): Html {
  const { q } = props;
  return (
    <>
      <AnySelect name="merchantId" label="Merchant" value={q.merchantId} options={props.merchants} />
      <AnySelect name="claimedMerchantId" label="Claimed merchant (no key verified)" value={q.claimedMerchantId} options={props.merchants} />
      <AnySelect name="reason" label="Reason" value={q.reason} options={QUARANTINE_REASON_CODES} />
      <TimeRange since={q.since} until={q.until} />
    </>
  );
}

export function QuarantinePage(props: {
  ctx: PageCtx; q: QuarantineQuery; items: Item[]; next: string | null; total: number; merchants: string[]; flash: { text: string; bad?: boolean } | null;
}): Html {
  const { ctx, q, items } = props;
  const filters = { merchantId: q.merchantId, claimedMerchantId: q.claimedMerchantId, reason: q.reason, since: q.since, until: q.until };
  const filtered = Object.values(filters).some((v) => v);
  // A bulk action that could only skip is not offered: a hopeless reason filtered for, or a last
  // page holding nothing a fix could help.
  const bulk = canOperate(ctx) && isReprocessable(q.reason) && (props.next !== null || items.some((c) => isReprocessable(c.reason)));
  return (
    <Layout ctx={ctx} title="Quarantine" section="quarantine">
      <h1>
        Quarantine <small>{props.total} callback{props.total === 1 ? '' : 's'} not taken: fix the cause (e.g. add the key and restart), then reprocess</small>
      </h1>
      <Flash flash={props.flash} />
      <form class="filters panel" method="get" action="/console/quarantine">
        <FilterFields q={q} merchants={props.merchants} />
        <div class="actions">
          <button type="submit" class="primary">Filter</button>
          <a class="button" href="/console/quarantine">Clear</a>
        </div>
      </form>
      {bulk ? (
        <form class="panel actions" method="post" action="/console/quarantine/reprocess"
          data-confirm={filtered ? 'Reprocess every quarantined callback matching this filter?' : 'Reprocess every quarantined callback?'}>
          <Csrf ctx={ctx} />
          {Object.entries(filters).map(([k, v]) => (v ? <input type="hidden" name={k} value={v} /> : null))}
          <button type="submit" data-testid="reprocess-all">{filtered ? 'Reprocess all matching this filter' : 'Reprocess all'}</button>
          <span class="muted">Each callback is decoded again with the current keys; those that verify become events. Those quarantined for a reason no fix can change are skipped.</span>
        </form>
      ) : null}
      <div class="table-wrap">
        <table data-testid="quarantine">
          <thead>
            <tr><th>Received</th><th>Reason</th><th>Detail</th><th>Merchant</th><th>Route</th><th>Remote IP</th><th>Content type</th><th class="num">Bytes</th><th></th></tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr data-testid="quarantine-row">
                <td class="mono"><Time t={c.receivedAt} /></td>
                <td><Badge tone="bad">{c.reason ?? 'unknown'}</Badge></td>
                <td>{c.detail ?? ''}</td>
                <td>
                  {c.merchantId ?? (c.claimedMerchantId
                    ? <span title="Named in the plain MerchantID; no key of this merchant verified the callback (a key-rotation mistake, or someone else's claim)">{c.claimedMerchantId} <Badge tone="warn">claimed</Badge></span>
                    : <span class="muted">unknown</span>)}
                </td>
                <td class="mono">{c.method} {c.path}</td>
                <td class="mono">{c.remoteIp ?? ''}</td>
                <td class="mono">{c.contentType ?? ''}</td>
                <td class="num">{c.bodyBytes}</td>
                <td>
                  {!isReprocessable(c.reason) ? (
                    <span class="muted" title={reasonHint(c.reason) ?? undefined} data-testid="not-reprocessable">no fix can help</span>
                  ) : canOperate(ctx) ? (
                    <PostButton ctx={ctx} action={`/console/quarantine/${encodeURIComponent(c.id)}/reprocess`} label="Reprocess" testId="reprocess" />
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 ? <Empty>Nothing in quarantine{filtered ? ' matches' : ''}.</Empty> : null}
      </div>
      <div class="pager">
        {q.cursor ? <a href={`/console/quarantine${qs(filters)}`}>« Newest</a> : null}
        {props.next ? <a href={`/console/quarantine${qs({ ...filters, cursor: props.next })}`}>Older »</a> : <span>end of list</span>}
      </div>
    </Layout>
  );
}
