import type { eventDetail } from '../../admin/queries.js';
import { ago, fmtInt, fmtMs } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { Badge, canOperate, Csrf, deliveryTone, Empty, Flash, Layout, outcomeTone, PostButton, statusTone, Time, type PageCtx } from '../ui.js';

type Detail = Awaited<ReturnType<typeof eventDetail>>;
type Delivery = Detail['deliveries'][number];

/** Never on screen, whatever a decoded record carries: the MAC and the encrypted transport fields. */
const HIDDEN_KEY = /^(mac|data|len)$/i;

/** Flatten decoded callback fields to rows: `fields.amount`, `custom.order`, `codeInfo.category`. */
export function decodedRows(decoded: Record<string, unknown>): [string, string][] {
  const rows: [string, string][] = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (HIDDEN_KEY.test(k)) continue;
      const name = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, name);
      else rows.push([name, typeof v === 'string' ? v : JSON.stringify(v)]);
    }
  };
  walk(decoded, '');
  return rows;
}

function Kv(props: { rows: [string, unknown][]; testId?: string }): Html {
  return (
    <dl class="kv" data-testid={props.testId}>
      {props.rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd class="mono">{v === null || v === undefined || v === '' ? <span class="muted">—</span> : String(v)}</dd>
        </>
      ))}
    </dl>
  );
}

function DeliveryBlock(props: { ctx: PageCtx; eventId: string; d: Delivery; known: boolean }): Html {
  const { d, ctx } = props;
  return (
    <article class="delivery" data-testid={`delivery-${d.endpointId}`}>
      <header>
        <strong>{d.endpointId}</strong>
        <Badge tone={deliveryTone(d.state)}>{d.state}</Badge>
        <span class="muted grow">
          {fmtInt(d.attemptLog.length)} attempt{d.attemptLog.length === 1 ? '' : 's'}
          {d.attemptLog.length !== d.attempts ? ` (${fmtInt(d.attempts)} since the last redelivery)` : ''}
          {d.nextAttemptAt ? <> · next <Time t={d.nextAttemptAt}>{ago(d.nextAttemptAt, ctx.now)}</Time></> : null}
          {d.completedAt ? <> · done <Time t={d.completedAt} /></> : null}
          {d.lastError ? ` · last error ${d.lastError}` : ''}
        </span>
        {canOperate(ctx) && props.known ? (
          <PostButton
            ctx={ctx} action={`/console/events/${encodeURIComponent(props.eventId)}/redeliver`} fields={{ endpoint: d.endpointId }}
            label="Redeliver" kind="primary" testId={`redeliver-${d.endpointId}`}
            confirm={`Send this event to ${d.endpointId} again?`}
          />
        ) : null}
      </header>
      {d.attemptLog.length === 0 ? (
        <Empty>No attempt yet.</Empty>
      ) : (
        <div class="scroll-x">
          <table data-testid="attempts">
            <thead>
              <tr><th>#</th><th>Started</th><th class="num">Duration</th><th>Status</th><th>Error class</th><th>Answer (first 1 KiB)</th></tr>
            </thead>
            <tbody>
              {d.attemptLog.map((a, i) => (
                <tr data-testid="attempt-row">
                  <td class="num">{i + 1}</td>
                  <td class="mono"><Time t={a.startedAt} /></td>
                  <td class="num">{fmtMs(a.durationMs)}</td>
                  <td>{a.statusCode === null ? <span class="muted">—</span> : <Badge tone={statusTone(a.statusCode)}>{a.statusCode}</Badge>}</td>
                  <td>{a.errorClass ?? <span class="muted">—</span>}</td>
                  <td>{a.responseBody ? <pre class="answer" data-testid="answer">{a.responseBody}</pre> : <span class="muted">empty</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}

export function EventPage(props: { ctx: PageCtx; detail: Detail; endpoints: string[]; flash: { text: string; bad?: boolean } | null }): Html {
  const { ctx, detail } = props;
  const ev = detail.event;
  const id = String(ev.id);
  const cb = detail.callback;
  const routed = new Set(detail.deliveries.map((d) => d.endpointId));
  const others = props.endpoints.filter((e) => !routed.has(e));
  const data = (ev.data ?? {}) as Record<string, unknown>;
  return (
    <Layout ctx={ctx} title={`Event ${id}`} section="events" live>
      <h1>
        <span>{String(ev.type)}</span>
        {ev.outcome ? <Badge tone={outcomeTone(ev.outcome)}>{String(ev.outcome)}</Badge> : null}
        <small class="mono" data-testid="event-id">{id}</small>
      </h1>
      <Flash flash={props.flash} />
      <div class="panel">
        <Kv rows={[
          ['Merchant', ev.merchantId], ['TransID', data.transId], ['PayID', data.payId], ['MandateID', data.mandateId],
          ['Received', ev.receivedAt], ['Source', ev.source],
        ]} />
      </div>

      <h2>Deliveries</h2>
      <section id="deliveries" data-refresh="3000" data-testid="deliveries">
        {detail.deliveries.length === 0 ? <div class="panel"><Empty>No endpoint matched this event.</Empty></div> : null}
        {detail.deliveries.map((d) => (
          <DeliveryBlock ctx={ctx} eventId={id} d={d} known={props.endpoints.includes(d.endpointId)} />
        ))}
      </section>
      {canOperate(ctx) && (detail.deliveries.length > 1 || others.length > 0) ? (
        <div class="actions panel">
          {detail.deliveries.length > 1 ? (
            <PostButton ctx={ctx} action={`/console/events/${encodeURIComponent(id)}/redeliver`} label="Redeliver to all its endpoints" confirm="Send this event to all its endpoints again?" />
          ) : null}
          {others.length > 0 ? (
            <form class="inline actions" method="post" action={`/console/events/${encodeURIComponent(id)}/redeliver`} data-confirm="Send this event to that endpoint?">
              <Csrf ctx={ctx} />
              <select name="endpoint">{others.map((e) => <option value={e}>{e}</option>)}</select>
              <button type="submit">Send to this endpoint too</button>
            </form>
          ) : null}
        </div>
      ) : null}

      <div class="cols">
        <div>
          <h2>Event envelope <small class="muted">as delivered</small></h2>
          <pre class="json" data-testid="envelope">{JSON.stringify(ev, null, 2)}</pre>
        </div>
        <div>
          <h2>How it was received</h2>
          <div class="panel" data-testid="received">
            {cb ? (
              <Kv rows={[
                ['Callback', cb.id], ['Received', cb.receivedAt], ['Route', `${cb.method} ${cb.path}`], ['Channel', cb.channel], ['Kind', cb.kind],
                ['Remote IP', cb.remoteIp], ['Content type', cb.contentType], ['User agent', cb.userAgent], ['Body size', `${cb.bodyBytes} bytes`],
                ['Callback state', cb.state],
              ]} />
            ) : (
              <p class="muted">Not from a callback: {String(ev.source)} created this event.</p>
            )}
          </div>
          {cb?.decoded ? (
            <>
              <h2>Decoded callback fields <small class="muted">MAC, keys and Data are never shown; custom.* is not authenticated</small></h2>
              <div class="panel">
                <Kv rows={decodedRows(cb.decoded)} testId="decoded" />
              </div>
            </>
          ) : null}
        </div>
      </div>
    </Layout>
  );
}
