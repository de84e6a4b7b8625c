import type { IncomingMessage, ServerResponse } from 'node:http';
import { packageFile, staticRoute } from '../../core/pages.js';

const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Frontdesk status</title>
<link rel="stylesheet" href="/status/uplot.min.css">
<link rel="stylesheet" href="/status/status.css">
</head>
<body>
<header>
  <h1>Frontdesk <span id="title">status</span></h1>
  <nav><button id="tab-status" class="tab active" type="button">Status</button><button id="tab-usage" class="tab" type="button">Usage</button></nav>
  <form id="login" autocomplete="off">
    <label for="credential">Admin token or API key</label>
    <input id="credential" type="password" placeholder="Bearer token or x-api-key" size="28">
    <button type="submit">Use</button>
  </form>
  <span id="updated"></span>
</header>
<p id="message" role="status"></p>
<main id="status-view">
  <section id="tiles" class="tiles"></section>
  <section class="charts">
    <figure><figcaption>Requests per second</figcaption><div id="chart-rate" class="chart"></div></figure>
    <figure><figcaption>Latency (ms): p50, p95, p99</figcaption><div id="chart-latency" class="chart"></div></figure>
    <figure><figcaption>Error rate and cache hit ratio</figcaption><div id="chart-ratios" class="chart"></div></figure>
  </section>
  <section>
    <h2>Subgraphs and instances</h2>
    <table id="subgraphs"><thead><tr><th>Subgraph</th><th>Instance</th><th>Circuit</th><th>Healthy</th><th>In flight</th><th>Fetches</th><th>Errors</th><th>Avg ms</th><th>Last error</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="columns">
    <div><h2>Top operations</h2><table id="operations"><thead><tr><th>Operation</th><th>Requests</th></tr></thead><tbody></tbody></table></div>
    <div><h2>Top clients</h2><table id="clients"><thead><tr><th>Client</th><th>Requests</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section>
    <h2>Recent errors</h2>
    <table id="errors"><thead><tr><th>Time</th><th>Operation</th><th>Client</th><th>Status</th><th>Codes</th><th>Request id</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<main id="usage-view" hidden>
  <p class="hint">Metered usage of the last 24 hours by client, plan and operation (GET /admin/usage; needs the usage feature).</p>
  <table id="usage"><thead><tr><th>Client</th><th>Plan</th><th>Operation</th><th>Requests</th><th>Errors</th><th>Cost</th><th>Bytes</th></tr></thead><tbody></tbody></table>
</main>
<script src="/status/uplot.iife.min.js"></script>
<script src="/status/status.js"></script>
</body>
</html>
`;

const STATUS_CSS = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6577; --line: #d9dee7; --bad: #b42318; --good: #067647; --accent: #3056d3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 20px 0 8px; }
nav { display: flex; gap: 4px; }
.tab { border: 1px solid var(--line); background: #fff; padding: 4px 12px; border-radius: 4px; cursor: pointer; }
.tab.active { background: var(--accent); color: #fff; border-color: var(--accent); }
form { display: flex; gap: 6px; align-items: center; margin-left: auto; }
#updated { color: var(--muted); }
#message { margin: 8px 20px; color: var(--bad); min-height: 1em; }
main { padding: 0 20px 24px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.tile .label { color: var(--muted); font-size: 12px; }
.tile .value { font-size: 20px; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; margin-top: 14px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; }
th { background: #eef1f5; font-weight: 600; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.bad { color: var(--bad); font-weight: 600; }
.good { color: var(--good); }
.hint { color: var(--muted); }
`;

/** The page's script: no template literals, it is itself a template literal here. */
const STATUS_JS = `(function () {
  'use strict';
  var REFRESH_MS = 10000;
  var charts = {};
  var view = 'status';
  var fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) { sessionStorage.setItem('frontdesk-credential', fragment.get('token')); history.replaceState(null, '', location.pathname); }
  function credential() { return sessionStorage.getItem('frontdesk-credential') || ''; }
  function headers() {
    var value = credential();
    if (!value) return {};
    return value.split('.').length === 3 ? { authorization: 'Bearer ' + value.replace(/^Bearer\\s+/i, '') } : { 'x-api-key': value };
  }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
  function fill(id, rows) {
    var body = document.querySelector('#' + id + ' tbody');
    body.replaceChildren();
    rows.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (cell) { tr.appendChild(cell instanceof Node ? cell : el('td', cell)); });
      body.appendChild(tr);
    });
    if (rows.length === 0) { var tr = document.createElement('tr'); var td = el('td', 'none', 'hint'); td.colSpan = document.querySelectorAll('#' + id + ' th').length; tr.appendChild(td); body.appendChild(tr); }
  }
  function fmt(value, unit, digits) { if (value === null || value === undefined) return '-'; return (Math.round(value * Math.pow(10, digits || 0)) / Math.pow(10, digits || 0)) + (unit || ''); }
  function pct(value) { return value === null || value === undefined ? '-' : (Math.round(value * 1000) / 10) + '%'; }
  function message(text) { document.getElementById('message').textContent = text || ''; }
  function getJson(path) {
    return fetch(path, { headers: headers(), cache: 'no-store' }).then(function (res) {
      return res.json().then(function (body) { return { status: res.status, body: body }; }, function () { return { status: res.status, body: null }; });
    });
  }
  function tile(label, value) { var d = el('div', null, 'tile'); d.appendChild(el('div', label, 'label')); d.appendChild(el('div', value, 'value')); return d; }
  function chart(id, series, data) {
    var target = document.getElementById(id);
    var width = Math.max(300, target.clientWidth || 380);
    if (charts[id]) { charts[id].setData(data); charts[id].setSize({ width: width, height: 200 }); return; }
    charts[id] = new uPlot({ width: width, height: 200, series: [{}].concat(series), axes: [{}, { size: 50 }], legend: { live: false } }, data, target);
  }
  function drawStatus(s) {
    var sum = s.summary;
    var tiles = document.getElementById('tiles');
    tiles.replaceChildren(
      tile('Requests/s (5 min)', fmt(sum.requestsPerSecond, '', 2)),
      tile('Error rate', pct(sum.errorRate)),
      tile('Refused (5 min)', fmt(sum.refused)),
      tile('p50', fmt(sum.p50, ' ms', 2)),
      tile('p95', fmt(sum.p95, ' ms', 2)),
      tile('p99', fmt(sum.p99, ' ms', 2)),
      tile('Cache hit ratio', pct(sum.cacheHitRatio)),
      tile('Uptime', fmt(s.uptimeSeconds / 60, ' min', 1))
    );
    var t = s.series.t.map(function (ms) { return ms / 1000; });
    chart('chart-rate', [{ label: 'req/s', stroke: '#3056d3', fill: 'rgba(48,86,211,0.1)' }], [t, s.series.requestsPerSecond]);
    chart('chart-latency', [{ label: 'p50', stroke: '#067647' }, { label: 'p95', stroke: '#b54708' }, { label: 'p99', stroke: '#b42318' }], [t, s.series.p50, s.series.p95, s.series.p99]);
    chart('chart-ratios', [{ label: 'error rate', stroke: '#b42318' }, { label: 'cache hit ratio', stroke: '#067647' }], [t, s.series.errorRate, s.series.cacheHitRatio]);
    var rows = [];
    s.subgraphs.forEach(function (sg) {
      var insts = sg.instances.length > 0 ? sg.instances : [{ instance: '(no fetch yet)' }];
      insts.forEach(function (i) {
        var breaker = s.resilience && s.resilience[sg.name] && s.resilience[sg.name][i.instance];
        var circuit = el('td', breaker ? breaker.circuit : '-', breaker && breaker.circuit !== 'closed' ? 'bad' : 'good');
        var healthy = el('td', breaker ? (breaker.healthy && !breaker.ejected ? 'yes' : 'no') : '-', breaker && (!breaker.healthy || breaker.ejected) ? 'bad' : '');
        rows.push([sg.name, i.instance, circuit, healthy, fmt(i.inFlight), fmt(i.fetches), el('td', fmt(i.errors), i.errors > 0 ? 'bad' : ''), fmt(i.averageMs, '', 2), i.lastError ? i.lastError.reason + ' at ' + i.lastError.at.slice(11, 19) : '-']);
      });
    });
    fill('subgraphs', rows);
    fill('operations', s.topOperations.map(function (o) { return [o.value, o.count]; }));
    fill('clients', s.topClients.map(function (c) { return [c.value, c.count]; }));
    fill('errors', s.recentErrors.map(function (e) { return [e.at.slice(11, 19), e.operation || '(anonymous)', e.client, e.status, e.codes.join(', '), e.requestId]; }));
  }
  function resilienceByInstance(body) {
    var out = {};
    if (!body || !body.subgraphs) return out;
    Object.keys(body.subgraphs).forEach(function (name) {
      var entry = body.subgraphs[name];
      out[name] = {};
      (entry.instances || []).forEach(function (i) { try { var u = new URL(i.url); out[name][u.protocol + '//' + u.host] = i; } catch (e) { out[name][i.url] = i; } });
    });
    return out;
  }
  function refreshStatus() {
    return Promise.all([getJson('/admin/status'), getJson('/admin/resilience')]).then(function (answers) {
      var status = answers[0];
      if (status.status !== 200) { message(status.status === 401 || status.status === 403 ? 'Enter an admin token (npm run token -- --role admin) or an admin API key.' : 'The status route answered ' + status.status); return; }
      message('');
      status.body.resilience = answers[1].status === 200 ? resilienceByInstance(answers[1].body) : null;
      drawStatus(status.body);
      document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    });
  }
  function refreshUsage() {
    return getJson('/admin/usage').then(function (answer) {
      if (answer.status === 404) { message('Usage metering is off (config key usage).'); fill('usage', []); return; }
      if (answer.status !== 200) { message('The usage route answered ' + answer.status); return; }
      message('');
      var totals = {};
      (answer.body.rows || []).forEach(function (r) {
        var key = r.client + '\\u0000' + r.plan + '\\u0000' + r.operation;
        var t = totals[key] || (totals[key] = { client: r.client, plan: r.plan, operation: r.operation, requests: 0, errors: 0, cost: 0, bytes: 0 });
        t.requests += r.requests || 0; t.errors += r.errors || 0; t.cost += r.cost || 0; t.bytes += r.bytes || 0;
      });
      var rows = Object.keys(totals).map(function (k) { return totals[k]; }).sort(function (a, b) { return b.requests - a.requests; }).slice(0, 200);
      fill('usage', rows.map(function (r) { return [r.client, r.plan, r.operation, r.requests, r.errors, r.cost, r.bytes]; }));
      document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    });
  }
  function refresh() {
    var pending = view === 'status' ? refreshStatus() : refreshUsage();
    pending.catch(function (error) { message('Cannot reach the gateway: ' + error.message); });
  }
  function show(next) {
    view = next;
    document.getElementById('status-view').hidden = next !== 'status';
    document.getElementById('usage-view').hidden = next !== 'usage';
    document.getElementById('tab-status').classList.toggle('active', next === 'status');
    document.getElementById('tab-usage').classList.toggle('active', next === 'usage');
    document.getElementById('title').textContent = next;
    refresh();
  }
  document.getElementById('tab-status').addEventListener('click', function () { show('status'); });
  document.getElementById('tab-usage').addEventListener('click', function () { show('usage'); });
  document.getElementById('login').addEventListener('submit', function (event) {
    event.preventDefault();
    var input = document.getElementById('credential');
    sessionStorage.setItem('frontdesk-credential', input.value.trim());
    input.value = '';
    refresh();
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
`;

/** The status page and its assets (uPlot from npm); the data comes from GET /admin/status with the admin credential. */
export function statusPageRoutes(): Record<string, (req: IncomingMessage, res: ServerResponse) => void> {
  const year = 'public, max-age=31536000, immutable';
  return {
    '/status': staticRoute(STATUS_HTML, 'text/html; charset=utf-8'),
    '/status/status.js': staticRoute(STATUS_JS, 'text/javascript; charset=utf-8'),
    '/status/status.css': staticRoute(STATUS_CSS, 'text/css; charset=utf-8'),
    '/status/uplot.iife.min.js': staticRoute(packageFile('uplot', 'dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8', year),
    '/status/uplot.min.css': staticRoute(packageFile('uplot', 'dist/uPlot.min.css'), 'text/css; charset=utf-8', year),
  };
}
