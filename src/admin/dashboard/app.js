// The dashboard: polls /dashboard/api/stats (cumulative counters of this
// instance) every POLL_MS, turns consecutive snapshots into rates and latency
// quantiles, and draws them on canvases. No libraries: this file is all of it.
'use strict';

const POLL_MS = 2000;
const KEEP = 90; // points per chart (3 minutes at 2 s)

const history = []; // {at (ms, client clock), stats}
const series = { requests: [], errors: [], p50: [], p99: [] };
let polls = 0;

function $(id) { return document.getElementById(id); }

function fmtCount(n) {
  if (n === undefined || n === null) return '–';
  return Math.round(n).toLocaleString('en-US');
}
function fmtRate(r) {
  if (r === null || r === undefined || !isFinite(r)) return '–';
  return r < 10 ? r.toFixed(2) : r.toFixed(1);
}
function fmtMs(s) {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  const ms = s * 1000;
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}
function fmtBytes(b) {
  if (!b) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return b.toFixed(1) + ' ' + units[i];
}

// The q-quantile of the observations between two cumulative bucket snapshots,
// interpolating linearly inside the bucket (as Prometheus' histogram_quantile).
function quantile(q, bounds, now, before) {
  const counts = now.map((c, i) => c - (before ? before[i] : 0));
  const total = counts[counts.length - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1]; // in +Inf: the highest bound
      const lower = i === 0 ? 0 : bounds[i - 1];
      const below = i === 0 ? 0 : counts[i - 1];
      const inBucket = counts[i] - below;
      return inBucket > 0 ? lower + (bounds[i] - lower) * ((rank - below) / inBucket) : bounds[i];
    }
  }
  return null;
}

function push(list, value) {
  list.push(value);
  if (list.length > KEEP) list.shift();
}

// One line chart: `lines` is [{values, color, label}], values may hold nulls (gaps).
function drawChart(canvas, lines, unit) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const left = 46, right = 8, top = 8, bottom = 20;
  const plotW = w - left - right, plotH = h - top - bottom;
  let max = 0;
  for (const l of lines) for (const v of l.values) if (v !== null && v > max) max = v;
  max = niceCeil(max);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#667085';
  ctx.strokeStyle = '#eaecf0';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + plotW, y); ctx.stroke();
    const label = (max * i) / 4;
    ctx.fillText(label < 10 && label % 1 ? label.toFixed(1) : String(Math.round(label)), 4, y + 4);
  }
  ctx.fillText(unit + ' · last ' + Math.round((KEEP * POLL_MS) / 60000) + ' min', left, h - 5);
  let points = 0;
  lines.forEach((l, n) => {
    ctx.strokeStyle = l.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let pen = false;
    l.values.forEach((v, i) => {
      const x = left + plotW - ((l.values.length - 1 - i) * plotW) / (KEEP - 1);
      if (v === null) { pen = false; return; }
      const y = top + plotH - (max > 0 ? (v / max) * plotH : 0);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
      points++;
    });
    ctx.stroke();
    if (l.label) {
      ctx.fillStyle = l.color;
      ctx.fillText(l.label, left + plotW - 60 + n * 30, top + 10);
    }
  });
  canvas.dataset.points = String(points);
}

function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fillTable(id, rows, columns) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement('tr');
    columns.forEach((c, i) => {
      const td = document.createElement('td');
      td.textContent = c(row);
      if (i === 0) td.title = td.textContent; // ids are long: the cell is cut, the tooltip is whole
      if (i === 1) td.className = 'count';
      tr.appendChild(td);
    });
    if (row.key !== undefined) tr.dataset.key = row.key;
    body.appendChild(tr);
  }
}

function rateOf(name, key, now, before, seconds) {
  if (!before || !(seconds > 0)) return null;
  const prev = (before[name] || []).find((r) => r[key] === now[key]);
  return (now.requests - (prev ? prev.requests : 0)) / seconds;
}

function render(stats, at) {
  const before = history.length ? history[history.length - 1] : null;
  history.push({ at, stats });
  if (history.length > 2) history.shift();
  const seconds = before ? (at - before.at) / 1000 : 0;
  const prev = before ? before.stats : null;

  const reqRate = prev && seconds > 0 ? (stats.requests_total - prev.requests_total) / seconds : null;
  const errRate = prev && seconds > 0 ? (stats.tollgate_errors_total - prev.tollgate_errors_total) / seconds : null;
  const lat = stats.latency;
  const p50 = prev ? quantile(0.5, lat.bounds, lat.cumulative, prev.latency.cumulative) : null;
  const p99 = prev ? quantile(0.99, lat.bounds, lat.cumulative, prev.latency.cumulative) : null;
  if (prev) {
    push(series.requests, reqRate);
    push(series.errors, errRate);
    push(series.p50, p50 === null ? null : p50 * 1000);
    push(series.p99, p99 === null ? null : p99 * 1000);
  }

  $('requests-total').textContent = fmtCount(stats.requests_total);
  $('request-rate').textContent = fmtRate(reqRate);
  $('errors-total').textContent = fmtCount(stats.tollgate_errors_total);
  $('latency-now').textContent = fmtMs(p50) + ' / ' + fmtMs(p99) + ' ms';
  $('refreshes-total').textContent = fmtCount(stats.refreshes_total);
  $('refresh-failures-total').textContent = fmtCount(stats.refresh_failures_total);
  const auth = stats.auth_configs || {};
  const sessions = stats.setup_sessions || {};
  $('needs-reauth').textContent = auth.needs_reauth === undefined ? '–' : fmtCount(auth.needs_reauth);
  $('sessions-pending').textContent = sessions.pending === undefined ? '–' : fmtCount(sessions.pending);

  drawChart($('chart-requests'), [{ values: series.requests, color: '#2f6fde' }], 'req/s');
  drawChart($('chart-errors'), [{ values: series.errors, color: '#d92d20' }], 'errors/s');
  drawChart($('chart-latency'), [
    { values: series.p50, color: '#2f6fde', label: 'p50' },
    { values: series.p99, color: '#d9480f', label: 'p99' },
  ], 'ms');

  const top = (list, key) => (list || []).slice(0, 10).map((r) => ({ ...r, key: r[key], rate: rateOf(key === 'tenant' ? 'tenants' : 'providers', key, r, prev, seconds) }));
  fillTable('tenants', top(stats.tenants, 'tenant'), [(r) => r.tenant, (r) => fmtCount(r.requests), (r) => fmtRate(r.rate)]);
  fillTable('providers', top(stats.providers, 'provider'), [(r) => r.provider, (r) => fmtCount(r.requests), (r) => fmtRate(r.rate)]);
  const entries = (o) => Object.entries(o || {}).map(([k, v]) => ({ key: k, k, v }));
  fillTable('classes', entries(stats.requests_by_class), [(r) => r.k, (r) => fmtCount(r.v)]);
  fillTable('codes', entries(stats.tollgate_errors_by_code), [(r) => r.k, (r) => fmtCount(r.v)]);
  fillTable('auth-configs', entries(stats.auth_configs), [(r) => r.k, (r) => fmtCount(r.v)]);

  const up = stats.started ? Math.max(0, stats.time - stats.started) : 0;
  $('instance').textContent = 'This instance: up ' + Math.floor(up / 3600) + ' h ' + Math.floor((up % 3600) / 60) +
    ' min, ' + fmtCount(stats.connections) + ' open connections, ' + fmtBytes(stats.resident_memory_bytes) +
    ' resident. With several instances each dashboard shows its own; Grafana shows them all.';
}

async function poll() {
  try {
    const res = await fetch('/dashboard/api/stats', { credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401) { window.location.assign('/dashboard'); return; }
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const stats = await res.json();
    render(stats, performance.now());
    polls++;
    document.body.dataset.polls = String(polls);
    $('status').textContent = 'live · updated ' + new Date().toLocaleTimeString();
    $('status').className = 'status';
  } catch (e) {
    $('status').textContent = 'no answer (' + e.message + '); retrying';
    $('status').className = 'status stale';
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
