// The console's stylesheet, served as /console/assets/console.css (style-src 'self').
// Also styles the inline SVG charts (fills by class: no style attributes anywhere).

export const STYLE_CSS = `:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #5d6778; --line: #dde1e8;
  --accent: #1f5fbf; --ok: #1e7d46; --warn: #a86300; --bad: #b42318; --code: #f1f3f6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 18px; padding: 7px 20px; min-height: 48px; background: #18202e; color: #e8ecf3; }
header.top .brand { font-weight: 600; color: #fff; margin-right: 8px; }
header.top nav { display: flex; flex-wrap: wrap; gap: 4px; flex: 1; min-width: 0; }
header.top nav a { color: #c8d0de; padding: 6px 10px; border-radius: 6px; white-space: nowrap; }
header.top nav a.current, header.top nav a:hover { background: #2b3548; color: #fff; text-decoration: none; }
header.top nav a:focus-visible, header.top .who button:focus-visible { outline: 2px solid #8fb4f0; outline-offset: 1px; }
header.top .who { display: flex; align-items: center; gap: 10px; color: #c8d0de; margin-left: auto; }
/* Narrow screens: brand and logout on the first line, the navigation wraps below, full width. */
@media (max-width: 760px) {
  header.top { padding: 6px 12px; }
  header.top nav { order: 3; flex-basis: 100%; }
  header.top nav a { padding: 5px 8px; }
  main { padding: 14px 12px; }
  footer.page { padding: 8px 12px 24px; }
}
header.top .who button { background: transparent; border: 1px solid #4a556b; color: #e8ecf3; }
main { padding: 20px; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 20px; margin: 0 0 16px; display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
h1 small { font-size: 13px; color: var(--muted); font-weight: 400; }
h2 { font-size: 16px; margin: 24px 0 10px; }
h3 { font-size: 14px; margin: 0 0 8px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; margin-bottom: 16px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; display: block; color: inherit; }
a.card:hover { border-color: var(--accent); text-decoration: none; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 600; margin-top: 4px; white-space: nowrap; }
.card .value small { font-size: 14px; font-weight: 500; color: var(--muted); }
.card .sub { color: var(--muted); font-size: 12px; margin-top: 2px; }
.card.alert .value { color: var(--bad); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; }
.charts .panel { margin-bottom: 0; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .legend { display: flex; gap: 12px; color: var(--muted); font-size: 12px; margin-top: 4px; }
.chart .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
svg .bar { fill: #7fa6e0; } svg .bar-ok { fill: #6cb98b; } svg .bar-bad { fill: #e0786f; }
svg .axis { stroke: #c9ced8; stroke-width: 1; } svg text { fill: #6b7587; font-size: 12px; font-family: inherit; }
.legend i.bar { background: #7fa6e0; } .legend i.bar-ok { background: #6cb98b; } .legend i.bar-bad { background: #e0786f; }
table { border-collapse: collapse; width: 100%; background: var(--panel); }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; white-space: nowrap; }
tr:hover td { background: #fafcff; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
time { white-space: nowrap; }
.table-wrap { border: 1px solid var(--line); border-radius: 8px; overflow: auto; margin-bottom: 12px; }
.table-wrap table tr:last-child td { border-bottom: 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #e8ebf0; color: var(--ink); white-space: nowrap; }
.badge.ok { background: #dcf1e4; color: var(--ok); } .badge.warn { background: #fdf0d9; color: var(--warn); }
.badge.bad { background: #fbe2df; color: var(--bad); } .badge.info { background: #e3ecfa; color: var(--accent); }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; }
form.filters label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
input, select, button, textarea { font: inherit; }
input[type=text], input[type=search], input[type=password], select {
  padding: 5px 8px; border: 1px solid #c6ccd6; border-radius: 6px; background: #fff; min-width: 120px; max-width: 100%; }
input.time { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; width: 23ch; }
input.time:invalid { border-color: var(--bad); }
form.filters .hint { font-size: 12px; color: var(--muted); padding-bottom: 7px; }
button, .button { padding: 5px 12px; border-radius: 6px; border: 1px solid #c6ccd6; background: #fff; color: var(--ink); cursor: pointer; display: inline-block; }
button.primary, .button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: #fff; border-color: #e4a29b; color: var(--bad); }
button:hover, .button:hover { filter: brightness(0.96); text-decoration: none; }
form.inline { display: inline; margin: 0; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.pager { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 10px 0; color: var(--muted); }
.flash { padding: 10px 14px; border-radius: 8px; margin-bottom: 14px; border: 1px solid #b9d3f5; background: #eaf2fd; }
.flash.bad { border-color: #f0b6ae; background: #fdeceb; }
pre.json, pre.answer { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: 10px; margin: 0;
  overflow: auto; max-height: 480px; white-space: pre-wrap; word-break: break-word; }
pre.answer { max-height: 160px; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; word-break: break-word; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
.delivery { border: 1px solid var(--line); border-radius: 8px; margin-bottom: 12px; background: var(--panel); }
.delivery > header { display: flex; gap: 12px; align-items: center; padding: 10px 14px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.delivery > header .grow { flex: 1; }
.delivery table { border-radius: 0 0 8px 8px; }
.scroll-x { overflow-x: auto; }
.muted { color: var(--muted); }
.pad { padding: 14px 16px; }
.empty { color: var(--muted); padding: 18px; text-align: center; }
footer.page { color: var(--muted); font-size: 12px; padding: 8px 20px 24px; max-width: 1400px; margin: 0 auto; display: flex; flex-wrap: wrap; gap: 4px 16px; }
[data-live-status] { color: var(--ok); } [data-live-status].stale { color: var(--bad); }
.login { max-width: 380px; margin: 12vh auto; }
.login form { display: flex; flex-direction: column; gap: 10px; }
.login input { width: 100%; }
.error-text { color: var(--bad); }
`;
