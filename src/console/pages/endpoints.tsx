import { ago, fmtInt, fmtPct, fmtSeconds, qs } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { Badge, canOperate, Csrf, Empty, Flash, Layout, PostButton, Time, type PageCtx } from '../ui.js';
import type { EndpointView } from './overview.js';

function Health(props: { e: EndpointView; now: number }): Html {
  const { e, now } = props;
  const h_ = e.health;
  const rows: [string, Html | string][] = [
    ['Success rate (24 h)', `${fmtPct(h_.successRate24h)} of ${fmtInt(h_.attempts24h)} attempts`],
    ['Queue depth', fmtInt(h_.queueDepth)],
    ['Oldest pending', h_.queueDepth > 0 ? fmtSeconds(h_.oldestPendingAgeSeconds) : '—'],
    ['Dead letters', h_.deadLetters > 0 ? <a href={`/console/dead-letters${qs({ endpoint: e.id })}`}>{fmtInt(h_.deadLetters)}</a> : '0'],
    ['Last success', h_.lastSuccessAt ? <Time t={h_.lastSuccessAt}>{ago(h_.lastSuccessAt, now)}</Time> : '—'],
    ['Last failure', h_.lastFailureAt ? <Time t={h_.lastFailureAt}>{ago(h_.lastFailureAt, now)}</Time> : '—'],
    ['Last error', h_.lastError ?? '—'],
    ['Failing since', h_.failingSince ? <Time t={h_.failingSince} /> : '—'],
    ['Ordering / concurrency', `${e.ordering} / ${e.concurrency}`],
  ];
  return (
    <dl class="kv">
      {rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  );
}

export function EndpointsPage(props: { ctx: PageCtx; endpoints: EndpointView[]; flash: { text: string; bad?: boolean } | null }): Html {
  const { ctx } = props;
  return (
    <Layout ctx={ctx} title="Endpoints" section="endpoints" live>
      <h1>Endpoints</h1>
      <Flash flash={props.flash} />
      {props.endpoints.length === 0 ? <div class="panel"><Empty>No endpoints configured.</Empty></div> : null}
      <section id="endpoints-live" data-refresh="10000">
        {props.endpoints.map((e) => (
          <article class="delivery" id={`ep-${e.id}`} data-testid={`endpoint-${e.id}`}>
            <header>
              <strong>{e.id}</strong>
              {e.enabled ? (
                <Badge tone="ok">enabled</Badge>
              ) : (
                <Badge tone="bad">disabled{e.disabledReason ? ` (${e.disabledReason})` : ''}</Badge>
              )}
              <span class="mono muted grow">{e.url}</span>
              {canOperate(ctx) ? (
                <span class="actions">
                  {e.enabled ? (
                    <PostButton ctx={ctx} action={`/console/endpoints/${encodeURIComponent(e.id)}/disable`} label="Disable" kind="danger"
                      confirm={`Disable ${e.id}? Deliveries wait in the queue until it is enabled again.`} testId={`disable-${e.id}`} />
                  ) : e.enabledInConfig ? (
                    <PostButton ctx={ctx} action={`/console/endpoints/${encodeURIComponent(e.id)}/enable`} label="Enable" kind="primary" testId={`enable-${e.id}`} />
                  ) : (
                    <span class="muted">disabled in the configuration</span>
                  )}
                </span>
              ) : null}
            </header>
            <div class="cols pad">
              <Health e={e} now={ctx.now} />
              {canOperate(ctx) ? (
                <form method="post" action={`/console/endpoints/${encodeURIComponent(e.id)}/test`} class="filters">
                  <Csrf ctx={ctx} />
                  <label>
                    Send a test event (relay.test, signed like every event)
                    <input type="text" name="message" maxlength="200" placeholder="Test event from paygate-relay" />
                  </label>
                  <button type="submit" data-testid={`test-${e.id}`}>Send test event</button>
                </form>
              ) : (
                <div />
              )}
            </div>
          </article>
        ))}
      </section>
    </Layout>
  );
}
