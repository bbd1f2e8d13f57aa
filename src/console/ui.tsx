// Layout and small building blocks shared by the console pages.

import type { Child, Html } from './jsx-runtime.js';
import type { Role } from '../routes/auth.js';
import { toInputValue } from './format.js';

export interface PageCtx {
  /** Who is looking, and the CSRF token this page's forms carry. */
  session: { id: string; role: Role; csrf: string };
  now: number;
  /** performance.now() when the request arrived: the footer shows the server time. */
  startedAt: number;
  version: string;
  assets: { css: string; js: string; icon: string };
  /** Server-side timings worth showing (e.g. the events query). */
  timings: Record<string, number>;
  /** Pages of the configured features, after the core's in the navigation. */
  nav?: readonly { readonly id: string; readonly href: string; readonly label: string }[];
}

export const canOperate = (ctx: PageCtx) => ctx.session.role === 'operator';

const NAV = [
  ['overview', '/console', 'Overview'],
  ['events', '/console/events', 'Events'],
  ['quarantine', '/console/quarantine', 'Quarantine'],
  ['conflicts', '/console/conflicts', 'Conflicts'],
  ['dead-letters', '/console/dead-letters', 'Dead letters'],
  ['endpoints', '/console/endpoints', 'Endpoints'],
  ['erasures', '/console/erasures', 'Erasures'],
  ['storage', '/console/storage', 'Storage'],
] as const;

/** A core page's id, or a feature's (its console.nav.id). */
export type Section = (typeof NAV)[number][0] | (string & {});

export function Csrf(props: { ctx: PageCtx }): Html {
  return <input type="hidden" name="_csrf" value={props.ctx.session.csrf} />;
}

/** A POST button (a form of its own) carrying the CSRF token. */
export function PostButton(props: {
  ctx: PageCtx; action: string; label: string; fields?: Record<string, string | undefined>; confirm?: string; kind?: 'primary' | 'danger'; testId?: string;
}): Html {
  return (
    <form class="inline" method="post" action={props.action} data-confirm={props.confirm}>
      <Csrf ctx={props.ctx} />
      {Object.entries(props.fields ?? {}).map(([k, v]) => (v === undefined ? null : <input type="hidden" name={k} value={v} />))}
      <button type="submit" class={props.kind} data-testid={props.testId}>{props.label}</button>
    </form>
  );
}

export function Badge(props: { tone?: 'ok' | 'warn' | 'bad' | 'info'; children?: Child }): Html {
  return <span class={['badge', props.tone]}>{props.children}</span>;
}

export function outcomeTone(outcome: unknown): 'ok' | 'warn' | 'bad' | undefined {
  return outcome === 'succeeded' ? 'ok' : outcome === 'pending' ? 'warn' : outcome === 'failed' ? 'bad' : undefined;
}

export function deliveryTone(state: string): 'ok' | 'warn' | 'bad' | 'info' {
  return state === 'succeeded' ? 'ok' : state === 'dead' ? 'bad' : state === 'in_flight' ? 'info' : 'warn';
}

export function statusTone(status: number | null): 'ok' | 'warn' | 'bad' {
  return status !== null && status >= 200 && status < 300 ? 'ok' : status !== null && status < 500 && status !== 408 && status !== 429 ? 'warn' : 'bad';
}

export function Flash(props: { flash: { text: string; bad?: boolean } | null }): Html {
  if (!props.flash) return <></>;
  return <div class={['flash', props.flash.bad && 'bad']} role="status" data-testid="flash">{props.flash.text}</div>;
}

export function Time(props: { t: number | string | null | undefined; children?: Child }): Html {
  if (props.t === null || props.t === undefined) return <span class="muted">—</span>;
  const ms = typeof props.t === 'number' ? props.t : Date.parse(props.t);
  if (Number.isNaN(ms)) return <span>{String(props.t)}</span>;
  const iso = new Date(ms).toISOString();
  return <time datetime={iso} title={iso}>{props.children ?? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')}</time>;
}

export function Empty(props: { children?: Child }): Html {
  return <div class="empty">{props.children}</div>;
}

export function Layout(props: { ctx: PageCtx; title: string; section?: Section; children?: Child; live?: boolean }): Html {
  const { ctx } = props;
  const serverMs = performance.now() - ctx.startedAt;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{props.title} · paygate-relay</title>
        <link rel="icon" href={ctx.assets.icon} type="image/svg+xml" />
        <link rel="stylesheet" href={ctx.assets.css} />
        <script src={ctx.assets.js} defer></script>
      </head>
      <body>
        <header class="top">
          <span class="brand">paygate-relay</span>
          <nav>
            {[...NAV, ...(ctx.nav ?? []).map((n) => [n.id, n.href, n.label] as const)].map(([id, href, label]) => (
              <a href={href} class={props.section === id ? 'current' : undefined} aria-current={props.section === id ? 'page' : undefined}>{label}</a>
            ))}
          </nav>
          <div class="who">
            <span data-testid="role">{ctx.session.role}</span>
            <form class="inline" method="post" action="/console/logout">
              <Csrf ctx={ctx} />
              <button type="submit" data-testid="logout">Log out</button>
            </form>
          </div>
        </header>
        <main>{props.children}</main>
        <footer class="page">
          <span>paygate-relay {ctx.version}</span>
          <span data-testid="server-time">
            server time {serverMs.toFixed(1)} ms
            {Object.entries(ctx.timings).map(([k, v]) => `, ${k} ${v.toFixed(1)} ms`)}
          </span>
          <span>times in UTC</span>
          {props.live ? <span data-live-status="">auto-refresh</span> : null}
        </footer>
      </body>
    </html>
  );
}

/** Pages without a session (login, errors before login). */
export function Bare(props: { title: string; assets: PageCtx['assets']; children?: Child }): Html {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · paygate-relay</title>
        <link rel="icon" href={props.assets.icon} type="image/svg+xml" />
        <link rel="stylesheet" href={props.assets.css} />
      </head>
      <body>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** A filter select whose empty choice means "any". */
export function AnySelect(props: { name: string; label: string; value: unknown; options: readonly string[] }): Html {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">any</option>
        {props.options.map((o) => <option value={o} selected={props.value === o}>{o}</option>)}
      </select>
    </label>
  );
}

/** What the time inputs accept, for the browser's own check (format.ts parseUtcInput decides on the server). */
const UTC_PATTERN = String.raw`\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?([Zz]|[+\-]\d{2}:\d{2})?`;

/**
 * The since/until pair of the list filters. Plain text in ISO 8601 UTC rather than
 * `datetime-local`, which shows the browser's locale format under a label that says UTC.
 */
export function TimeRange(props: { since: unknown; until: unknown; sinceLabel?: string; untilLabel?: string }): Html {
  const input = (name: 'since' | 'until', value: unknown) => (
    <input type="text" name={name} value={toInputValue(value)} placeholder="YYYY-MM-DDTHH:MMZ" pattern={UTC_PATTERN}
      title="UTC, as YYYY-MM-DDTHH:MM[:SS]Z (e.g. 2026-01-31T10:00Z); a date alone means 00:00Z"
      autocomplete="off" spellcheck="false" class="time" aria-describedby="utc-format" data-testid={`f-${name}`} />
  );
  return (
    <>
      <label>
        {props.sinceLabel ?? 'From (UTC)'}
        {input('since', props.since)}
      </label>
      <label>
        {props.untilLabel ?? 'Until (UTC)'}
        {input('until', props.until)}
      </label>
      <span class="hint" id="utc-format">UTC, ISO 8601: YYYY-MM-DDTHH:MM[:SS]Z</span>
    </>
  );
}
