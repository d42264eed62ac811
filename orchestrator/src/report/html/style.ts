/**
 * The one stylesheet of the HTML views, inlined into every page so a page
 * opens from disk, a mail attachment or an archive on its own. Narrow
 * screens get tighter tables; print expands every collapsed section.
 */
export const CSS = `
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa;
  --bad: #b42318; --bad-bg: #fdecea; --warn: #9a6700; --warn-bg: #fff8c5; --ok: #1a7f37; --ok-bg: #dafbe1; --link: #0550ae; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 16px 20px 48px; }
h1 { font-size: 1.45rem; line-height: 1.25; margin: 0.3em 0; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 2em 0 0.6em; padding-bottom: 0.2em; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
h3 { font-size: 1.03rem; margin: 1.4em 0 0.4em; overflow-wrap: anywhere; }
p, li { overflow-wrap: anywhere; }
a { color: var(--link); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.86em; }
pre { background: var(--soft); padding: 8px 10px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 32em; }
.meta { color: var(--muted); margin: 0.2em 0; }
nav.toc { margin: 0.8em 0; font-size: 0.92rem; }
nav.toc a { margin-right: 0.9em; white-space: nowrap; display: inline-block; }
.scroll { overflow-x: auto; max-width: 100%; margin: 0.4em 0 1em; }
table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 2px 0 6px; color: var(--ink); }
th, td { padding: 4px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--line); background: var(--soft); white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nw { white-space: nowrap; }
td.wrap { min-width: 12em; }
td.wrap code { word-break: break-all; }
.rng { display: block; color: var(--muted); font-size: 0.82em; }
ul.failures { list-style: none; padding-left: 0; }
ul.failures > li { margin: 0.4em 0 0.8em; }
tr.regression td { background: var(--bad-bg); }
tr.improvement td { background: var(--ok-bg); }
figure { margin: 1em 0 0.6em; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figure p.note, .note { color: var(--muted); font-size: 0.88rem; margin: 0.2em 0; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart a:focus { outline: 2px solid var(--link); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 400px), 1fr)); gap: 8px 28px; align-items: start; }
.box { border-left: 4px solid var(--line); background: var(--soft); padding: 8px 14px; margin: 0.8em 0; border-radius: 0 6px 6px 0; }
.box.bad { border-color: var(--bad); background: var(--bad-bg); }
.box.warn { border-color: var(--warn); background: var(--warn-bg); }
.box.ok { border-color: var(--ok); background: var(--ok-bg); }
.box h2, .box h3 { margin-top: 0.3em; border: 0; }
.box ul { padding-left: 1.2em; margin: 0.3em 0; }
.bang { color: #D55E00; font-weight: 700; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 0.82rem; font-weight: 600; line-height: 1.5; white-space: nowrap; border: 1px solid transparent; }
.badge.ok { background: var(--ok-bg); color: var(--ok); border-color: var(--ok); }
.badge.bad { background: var(--bad-bg); color: var(--bad); border-color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); border-color: var(--warn); }
.badge.muted { background: var(--soft); color: var(--muted); border-color: var(--line); }
details { margin: 0.5em 0; }
details > summary { cursor: pointer; font-weight: 600; }
details details { margin-left: 0.8em; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0.5em 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 560px) {
  body { font-size: 14px; }
  main { padding: 10px 10px 32px; }
  th, td { padding: 3px 6px; }
  table { font-size: 0.84rem; }
  dl.kv { grid-template-columns: 1fr; }
  dl.kv dd { margin-bottom: 4px; }
}
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  .scroll { overflow: visible; }
  pre { max-height: none; white-space: pre-wrap; }
  details::details-content { content-visibility: visible; display: block; }
  figure, .box, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  svg.chart { max-width: 16cm !important; }
}
`;
