import { ago, fmtInt, fmtSeconds } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { Badge, Empty, Layout, Time, type PageCtx } from '../ui.js';
import type { SweepReport } from '../../lifecycle/sweeper.js';
import { RETENTION_CLASSES, type RetentionClass, type RetentionStats } from '../../store/retention.js';

export interface StorageView {
  database: { bytes: number; freeBytes: number | null; kind: 'sqlite' | 'postgres' };
  /** Retention per class, in ms. */
  retentionMs: Record<RetentionClass, number>;
  sweepEveryMs: number;
  stats: RetentionStats | null;
  statsAt: number | null;
  last: SweepReport | null;
  archiveDir: string | null;
  archives: { name: string; cls: string; day: string; bytes: number }[];
}

const LABEL: Record<RetentionClass, string> = { delivered: 'Delivered events', callbacks: 'Raw callbacks', quarantine: 'Quarantine', deadLetters: 'Dead letters' };
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export function StoragePage(props: { ctx: PageCtx; view: StorageView }): Html {
  const { ctx, view } = props;
  const s = view.stats;
  return (
    <Layout ctx={ctx} title="Storage" section="storage">
      <h1>Storage</h1>
      <div class="panel pad">
        <dl class="kv">
          <dt>Database</dt>
          <dd data-testid="db-size">{mib(view.database.bytes)} ({view.database.kind}){view.database.freeBytes !== null ? `, ${mib(view.database.freeBytes)} of it free pages that new rows reuse` : ''}</dd>
          <dt>Last sweep</dt>
          <dd data-testid="last-sweep">
            {view.last ? (
              <>
                <Time t={view.last.finishedAt}>{ago(view.last.finishedAt, ctx.now)}</Time>
                {view.last.error ? <Badge tone="bad">failed: {view.last.error}</Badge> : !view.last.swept ? <Badge tone="info">another instance had the turn</Badge> : <Badge tone="ok">ok</Badge>}
                {` ${fmtInt(Object.values(view.last.purged).reduce((a, b) => a + b, 0))} rows purged, ${fmtInt(Object.values(view.last.archived).reduce((a, b) => a + b, 0))} archived`}
              </>
            ) : `none yet (every ${fmtSeconds(view.sweepEveryMs / 1000)})`}
          </dd>
          <dt>Archive</dt>
          <dd>{view.archiveDir ?? 'off (purged rows are not kept)'}</dd>
        </dl>
      </div>
      <table data-testid="retention-classes">
        <thead><tr><th>class</th><th class="num">rows</th><th>oldest not held</th><th>retention</th><th></th></tr></thead>
        <tbody>
          {RETENTION_CLASSES.map((cls) => {
            const c = s?.[cls];
            const age = c?.oldestAt != null ? (ctx.now - c.oldestAt) / 1000 : null;
            const limit = view.retentionMs[cls] / 1000;
            return (
              <tr data-testid={`class-${cls}`}>
                <td>{LABEL[cls]}</td>
                <td class="num">{c ? fmtInt(c.rows) : '—'}</td>
                <td>{fmtSeconds(age)}</td>
                <td>{fmtSeconds(limit)}</td>
                <td>{age !== null && age > 2 * limit ? <Badge tone="bad">sweeper stuck?</Badge> : null}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="muted">{view.statsAt ? <>Counted <Time t={view.statsAt}>{ago(view.statsAt, ctx.now)}</Time>, at the end of the last sweep.</> : 'Not counted yet.'}</p>
      <h2>Archive files</h2>
      {view.archives.length === 0 ? (
        <div class="panel"><Empty>No archive files.</Empty></div>
      ) : (
        <table data-testid="archive-files">
          <thead><tr><th>file</th><th>class</th><th>day (UTC)</th><th class="num">size</th></tr></thead>
          <tbody>
            {view.archives.map((a) => (
              <tr><td class="mono">{a.name}</td><td>{a.cls}</td><td>{a.day}</td><td class="num">{mib(a.bytes)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
