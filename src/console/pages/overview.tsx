import type { endpointHealth, overview } from '../../admin/queries.js';
import { BarChart } from '../charts.js';
import { fmtInt, fmtMs, fmtPct, fmtSeconds, qs } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { Badge, Flash, Layout, type PageCtx } from '../ui.js';

type Overview = Awaited<ReturnType<typeof overview>>;
type Window = Overview['hour'];
export type EndpointView = Awaited<ReturnType<typeof endpointHealth>>[number];

function Card(props: { label: string; value: string | Html; sub?: string; href?: string; alert?: boolean; testId?: string }): Html {
  const body = (
    <>
      <div class="label">{props.label}</div>
      <div class="value">{props.value}</div>
      {props.sub ? <div class="sub">{props.sub}</div> : null}
    </>
  );
  return props.href ? (
    <a class={['card', props.alert && 'alert']} href={props.href} data-testid={props.testId}>{body}</a>
  ) : (
    <div class={['card', props.alert && 'alert']} data-testid={props.testId}>{body}</div>
  );
}

function Charts(props: { w: Window; name: string }): Html {
  const { w } = props;
  const at = (b: Window['buckets'][number]) => Date.parse(b.start);
  return (
    <div class="charts">
      <BarChart
        title={`Callbacks · ${props.name}`} bucketMs={w.bucketMs} testId={`chart-callbacks-${props.name}`}
        series={[{ label: 'taken', cls: 'bar' }, { label: 'quarantined', cls: 'bar-bad' }]}
        buckets={w.buckets.map((b) => ({ start: at(b), values: [b.callbacks - b.quarantined, b.quarantined] }))}
      />
      <BarChart
        title={`Events · ${props.name}`} bucketMs={w.bucketMs} series={[{ label: 'events', cls: 'bar' }]}
        buckets={w.buckets.map((b) => ({ start: at(b), values: [b.events] }))}
      />
      <BarChart
        title={`Delivery attempts · ${props.name}`} bucketMs={w.bucketMs}
        series={[{ label: '2xx', cls: 'bar-ok' }, { label: 'failed', cls: 'bar-bad' }]}
        buckets={w.buckets.map((b) => ({ start: at(b), values: [b.attemptsOk, b.attempts - b.attemptsOk] }))}
      />
    </div>
  );
}

export function EndpointTable(props: { endpoints: EndpointView[]; ctx: PageCtx }): Html {
  return (
    <div class="table-wrap">
      <table data-testid="endpoint-backlog">
        <thead>
          <tr>
            <th>Endpoint</th><th>State</th><th class="num">Queue</th><th class="num">Oldest pending</th>
            <th class="num">Success 24 h</th><th class="num">Dead letters</th><th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {props.endpoints.map((e) => (
            <tr>
              <td><a href={`/console/endpoints#ep-${e.id}`}>{e.id}</a></td>
              <td>{e.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="bad">disabled{e.disabledReason ? ` (${e.disabledReason})` : ''}</Badge>}</td>
              <td class="num">{fmtInt(e.health.queueDepth)}</td>
              <td class="num">{e.health.queueDepth > 0 ? fmtSeconds(e.health.oldestPendingAgeSeconds) : '—'}</td>
              <td class="num">{fmtPct(e.health.successRate24h)}</td>
              <td class="num">{e.health.deadLetters > 0 ? <a href={`/console/dead-letters${qs({ endpoint: e.id })}`}>{fmtInt(e.health.deadLetters)}</a> : '0'}</td>
              <td>{e.health.lastError ?? <span class="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.endpoints.length === 0 ? <div class="empty">No endpoints configured.</div> : null}
    </div>
  );
}

export function OverviewPage(props: { ctx: PageCtx; o: Overview; flash: { text: string; bad?: boolean } | null }): Html {
  const { o, ctx } = props;
  const backlog = o.endpoints.reduce((n, e) => n + e.health.queueDepth, 0);
  const oldest = Math.max(0, ...o.endpoints.map((e) => (e.health.queueDepth > 0 ? e.health.oldestPendingAgeSeconds : 0)));
  return (
    <Layout ctx={ctx} title="Overview" section="overview" live>
      <h1>Overview</h1>
      <Flash flash={props.flash} />
      <section id="overview-live" data-refresh="10000">
        <div class="grid">
          <Card label="Callbacks · 1 h" value={fmtInt(o.hour.totals.callbacks)} sub={`${fmtInt(o.day.totals.callbacks)} in 24 h`} href="/console/events" testId="card-callbacks" />
          <Card label="Events · 1 h" value={fmtInt(o.hour.totals.events)} sub={`${fmtInt(o.day.totals.events)} in 24 h`} href="/console/events" />
          <Card label="Delivery success · 1 h" value={fmtPct(o.hour.delivery.successRate)} sub={`${fmtPct(o.day.delivery.successRate)} in 24 h · ${fmtInt(o.day.delivery.attempts)} attempts`} href="/console/endpoints" />
          <Card label="Latency p50 / p99 · 1 h" value={<>{fmtMs(o.hour.delivery.p50Ms)} <small>/ {fmtMs(o.hour.delivery.p99Ms)}</small></>} sub={`24 h: ${fmtMs(o.day.delivery.p50Ms)} / ${fmtMs(o.day.delivery.p99Ms)}`} href="/console/endpoints" />
          <Card label="Backlog" value={fmtInt(backlog)} sub={backlog > 0 ? `oldest ${fmtSeconds(oldest)}` : 'nothing pending'} href="/console/endpoints" alert={oldest > 600} />
          <Card label="Quarantine" value={fmtInt(o.quarantineSize)} sub="callbacks not taken" href="/console/quarantine" alert={o.quarantineSize > 0} testId="card-quarantine" />
          <Card label="Dead letters" value={fmtInt(o.deadLetters)} sub="deliveries given up" href="/console/dead-letters" alert={o.deadLetters > 0} testId="card-dead" />
          <Card label="Disabled endpoints" value={fmtInt(o.disabledEndpoints)} sub={`of ${o.endpoints.length}`} href="/console/endpoints" alert={o.disabledEndpoints > 0} testId="card-disabled" />
        </div>
        <h2>Last hour <small class="muted">per minute</small></h2>
        <Charts w={o.hour} name="last hour" />
        <h2>Last 24 hours <small class="muted">per 30 minutes</small></h2>
        <Charts w={o.day} name="last 24 h" />
        <h2>Endpoints</h2>
        <EndpointTable endpoints={o.endpoints} ctx={ctx} />
      </section>
    </Layout>
  );
}
