import type { DeliveryStatus, EventDeliveryStatus } from '../../admin/queries.js';
import { qs } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { AnySelect, Badge, Empty, Flash, Layout, outcomeTone, Time, TimeRange, type PageCtx } from '../ui.js';

export const EVENT_FILTER_KEYS = ['transId', 'payId', 'mandateId', 'type', 'merchantId', 'outcome', 'since', 'until'] as const;
export type EventQuery = Partial<Record<(typeof EVENT_FILTER_KEYS)[number] | 'cursor', string>>;

type Json = Record<string, unknown>;
const field = (e: Json, k: string): string | undefined => {
  const d = e.data as Json | undefined;
  const v = d?.[k];
  return typeof v === 'string' ? v : undefined;
};
const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function Text(props: { name: string; label: string; value?: string; placeholder?: string; testId?: string }): Html {
  return (
    <label>
      {props.label}
      <input type="text" name={props.name} value={props.value ?? ''} placeholder={props.placeholder} data-testid={props.testId} />
    </label>
  );
}

export function EventFilters(props: { q: EventQuery; merchants: string[] }): Html {
  const { q } = props;
  return (
    <form class="filters panel" method="get" action="/console/events" role="search">
      <Text name="transId" label="TransID" value={q.transId} testId="f-transId" />
      <Text name="payId" label="PayID" value={q.payId} />
      <Text name="mandateId" label="MandateID" value={q.mandateId} />
      <Text name="type" label="Type (glob)" value={q.type} placeholder="mandate.*" />
      <AnySelect name="merchantId" label="Merchant" value={q.merchantId} options={props.merchants} />
      <AnySelect name="outcome" label="Outcome" value={q.outcome} options={['succeeded', 'pending', 'failed']} />
      <TimeRange since={q.since} until={q.until} />
      <div class="actions">
        <button type="submit" class="primary" data-testid="search">Search</button>
        <a class="button" href="/console/events">Clear</a>
      </div>
    </form>
  );
}

const STATUS: Record<DeliveryStatus, { label: string; tone?: 'ok' | 'warn' | 'bad' | 'info' }> = {
  delivered: { label: 'delivered', tone: 'ok' },
  pending: { label: 'pending', tone: 'info' },
  retrying: { label: 'retrying', tone: 'warn' },
  dead: { label: 'dead', tone: 'bad' },
  no_endpoint: { label: 'no endpoint' },
};

/** The worst state of the event's deliveries; with several endpoints, how many are in it, and every count in the tooltip. */
function DeliveryCell(props: { s: EventDeliveryStatus | undefined }): Html {
  const s = props.s;
  if (!s) return <span class="muted">—</span>;
  const { label, tone } = STATUS[s.status];
  const total = s.delivered + s.pending + s.retrying + s.dead;
  const parts = ([['delivered', s.delivered], ['pending', s.pending], ['retrying', s.retrying], ['dead', s.dead]] as const).filter(([, n]) => n > 0);
  const title = total === 0 ? 'No endpoint subscribes to this event' : `${total} endpoint${total === 1 ? '' : 's'}: ${parts.map(([k, n]) => `${n} ${k}`).join(', ')}`;
  const n = s.status === 'no_endpoint' ? 0 : s[s.status];
  return <span title={title} data-testid="delivery-status" data-status={s.status}><Badge tone={tone}>{label}{total > 1 ? ` ${n}/${total}` : ''}</Badge></span>;
}

export function EventsPage(props: {
  ctx: PageCtx; q: EventQuery; items: Json[]; statuses: ReadonlyMap<string, EventDeliveryStatus>; next: string | null; merchants: string[]; flash: { text: string; bad?: boolean } | null;
}): Html {
  const { q, items } = props;
  const filters = Object.fromEntries(EVENT_FILTER_KEYS.map((k) => [k, q[k]]));
  return (
    <Layout ctx={props.ctx} title="Events" section="events">
      <h1>Events</h1>
      <Flash flash={props.flash} />
      <EventFilters q={q} merchants={props.merchants} />
      <div class="table-wrap">
        <table data-testid="events">
          <thead>
            <tr>
              <th>Received</th><th>Type</th><th>Outcome</th><th>Delivery</th><th>Merchant</th><th>TransID</th><th>PayID</th><th>MandateID</th><th>Event</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => {
              const href = `/console/events/${encodeURIComponent(String(e.id))}`;
              return (
                <tr data-testid="event-row">
                  <td class="mono"><Time t={s(e.receivedAt)} /></td>
                  <td><a href={href}>{s(e.type)}</a></td>
                  <td>{e.outcome ? <Badge tone={outcomeTone(e.outcome)}>{s(e.outcome)}</Badge> : <span class="muted">—</span>}</td>
                  <td><DeliveryCell s={props.statuses.get(String(e.id))} /></td>
                  <td>{s(e.merchantId) ?? <span class="muted">—</span>}</td>
                  <td class="mono">{field(e, 'transId') ?? ''}</td>
                  <td class="mono">{field(e, 'payId') ?? ''}</td>
                  <td class="mono">{field(e, 'mandateId') ?? ''}</td>
                  <td class="mono"><a href={href} data-testid="event-link">{s(e.id)}</a></td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {items.length === 0 ? <Empty>No events match.</Empty> : null}
      </div>
      <div class="pager">
        {q.cursor ? <a href={`/console/events${qs(filters)}`}>« Newest</a> : null}
        {props.next ? <a href={`/console/events${qs({ ...filters, cursor: props.next })}`} data-testid="older">Older »</a> : <span>end of list</span>}
        <span>{items.length} shown, newest first</span>
      </div>
    </Layout>
  );
}
