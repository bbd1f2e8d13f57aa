import type { listDeadLetters } from '../../admin/queries.js';
import { fmtInt, qs, toInputValue } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { AnySelect, Badge, canOperate, Csrf, Empty, Flash, Layout, statusTone, Time, TimeRange, type PageCtx } from '../ui.js';

type Item = Awaited<ReturnType<typeof listDeadLetters>>['items'][number];
export type DeadQuery = Partial<Record<'endpoint' | 'type' | 'since' | 'until' | 'cursor', string>>;

const filtersOf = (q: DeadQuery) => ({ endpoint: q.endpoint, type: q.type, since: q.since, until: q.until });

export function describeFilter(q: DeadQuery): string {
  const parts = [
    q.endpoint && `endpoint ${q.endpoint}`, q.type && `type ${q.type}`,
    q.since && `dead since ${toInputValue(q.since)}`, q.until && `dead before ${toInputValue(q.until)}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'all dead letters';
}

export function DeadLettersPage(props: {
  ctx: PageCtx; q: DeadQuery; items: Item[]; next: string | null; endpoints: string[]; flash: { text: string; bad?: boolean } | null;
}): Html {
  const { ctx, q, items } = props;
  const filters = filtersOf(q);
  return (
    <Layout ctx={ctx} title="Dead letters" section="dead-letters">
      <h1>Dead letters <small>deliveries that ran out of retries, newest first</small></h1>
      <Flash flash={props.flash} />
      <form class="filters panel" method="get" action="/console/dead-letters">
        <AnySelect name="endpoint" label="Endpoint" value={q.endpoint} options={props.endpoints} />
        <label>
          Type (glob)
          <input type="text" name="type" value={q.type ?? ''} placeholder="mandate.*" />
        </label>
        <TimeRange since={q.since} until={q.until} sinceLabel="Dead since (UTC)" untilLabel="Dead before (UTC)" />
        <div class="actions">
          <button type="submit" class="primary">Filter</button>
          <a class="button" href="/console/dead-letters">Clear</a>
          {canOperate(ctx) && items.length > 0 ? (
            <a class="button" href={`/console/dead-letters/redeliver${qs(filters)}`} data-testid="bulk-redeliver">Redeliver matching…</a>
          ) : null}
        </div>
      </form>
      <div class="table-wrap">
        <table data-testid="dead-letters">
          <thead>
            <tr><th>Dead since</th><th>Event</th><th>Type</th><th>Endpoint</th><th class="num">Attempts</th><th>Last status</th><th>Last error</th></tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr data-testid="dead-row">
                <td class="mono"><Time t={d.deadSince} /></td>
                <td class="mono"><a href={`/console/events/${encodeURIComponent(d.eventId)}`}>{d.eventId}</a></td>
                <td>{d.type}</td>
                <td>{d.endpointId}</td>
                <td class="num">{fmtInt(d.attempts)}</td>
                <td>{d.lastStatus === null ? <span class="muted">—</span> : <Badge tone={statusTone(d.lastStatus)}>{d.lastStatus}</Badge>}</td>
                <td>{d.lastError ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 ? <Empty>No dead letters match.</Empty> : null}
      </div>
      <div class="pager">
        {q.cursor ? <a href={`/console/dead-letters${qs(filters)}`}>« Newest</a> : null}
        {props.next ? <a href={`/console/dead-letters${qs({ ...filters, cursor: props.next })}`}>Older »</a> : <span>end of list</span>}
      </div>
    </Layout>
  );
}

/** Step one of a bulk redelivery: how many it will send, and a button that sends exactly this filter. */
export function ConfirmRedeliverPage(props: { ctx: PageCtx; q: DeadQuery; count: number }): Html {
  const { ctx, q, count } = props;
  const filters = filtersOf(q);
  return (
    <Layout ctx={ctx} title="Redeliver dead letters" section="dead-letters">
      <h1>Redeliver dead letters</h1>
      <div class="panel">
        <p data-testid="dry-run">
          This will send <strong data-testid="dry-run-count">{fmtInt(count)}</strong> dead letter{count === 1 ? '' : 's'} again ({describeFilter(q)}).
          Each starts a fresh round of retries.
        </p>
        <div class="actions">
          {count > 0 ? (
            <form class="inline" method="post" action="/console/dead-letters/redeliver">
              <Csrf ctx={ctx} />
              {Object.entries(filters).map(([k, v]) => (v ? <input type="hidden" name={k} value={v} /> : null))}
              <button type="submit" class="primary" data-testid="confirm-redeliver">Send {fmtInt(count)} again</button>
            </form>
          ) : null}
          <a class="button" href={`/console/dead-letters${qs(filters)}`}>Cancel</a>
        </div>
      </div>
    </Layout>
  );
}
