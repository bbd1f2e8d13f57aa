// Erasures: the record of every request to erase a person's data (who, when, why,
// what identified them and how many rows changed). Read-only: an erasure is made
// through the admin API or the CLI (docs/erasure.md).
import type { listErasures } from '../../admin/queries.js';
import { qs } from '../format.js';
import type { Html } from '../jsx-runtime.js';
import { Empty, Layout, Time, type PageCtx } from '../ui.js';

type Item = Awaited<ReturnType<typeof listErasures>>['items'][number];

export function ErasuresPage(props: { ctx: PageCtx; items: Item[]; cursor?: string; next: string | null }): Html {
  const { ctx, items } = props;
  return (
    <Layout ctx={ctx} title="Erasures" section="erasures">
      <h1>
        Erasures <small>a person's data removed on request: ids, types, merchant, times and amounts stay. Made with POST /admin/erasures or <span class="mono">paygate-relay erase</span></small>
      </h1>
      <div class="table-wrap">
        <table data-testid="erasures">
          <thead>
            <tr><th>When</th><th>Who</th><th>Selector</th><th>Reason</th><th>Rows changed</th></tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr data-testid="erasure-row">
                <td class="mono"><Time t={e.erasedAt} /></td>
                <td class="mono">{e.actor}</td>
                <td class="mono">{e.selector.kind} {e.selector.value}</td>
                <td>{e.reason}</td>
                <td>
                  {e.total === 0
                    ? <span class="muted">none (already erased)</span>
                    : Object.entries(e.rows).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 ? <Empty>No erasures.</Empty> : null}
      </div>
      <div class="pager">
        {props.cursor ? <a href="/console/erasures">« Newest</a> : null}
        {props.next ? <a href={`/console/erasures${qs({ cursor: props.next })}`}>Older »</a> : <span>end of list</span>}
      </div>
    </Layout>
  );
}
