// ganglion live dashboard: one WebSocket (/live) feeds two uPlot charts, the KPI
// cards and the alert table. No build step and no network beyond this server:
// uPlot is served from the server's /vendor/ path.
(() => {
  'use strict';
  const MAX_POINTS = 300; // 5 minutes at one snapshot per second
  const MAX_ALERTS = 50;
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const $ = (id) => document.getElementById(id);

  // Column arrays, as uPlot wants them: [time, series...]. Log scales cannot
  // show 0, so an empty second is a gap (null), not a dip to zero.
  const throughput = [[], [], [], []]; // time, in/s, out/s, fullest ring fill %
  const latency = [[], [], [], [], []];

  const axis = { stroke: color('--muted'), grid: { stroke: color('--line'), width: 1 }, ticks: { stroke: color('--line'), width: 1 } };
  const fmtRate = (v) => v == null ? '–' : v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : v.toFixed(0);
  const fmtUs = (v) => v == null || v === 0 ? '–' : v >= 1e6 ? (v / 1e6).toFixed(2) + ' s' : v >= 1e3 ? (v / 1e3).toFixed(2) + ' ms' : v.toFixed(v < 10 ? 2 : 0) + ' µs';
  const trim = (x) => String(Number(x.toPrecision(3)));
  const tickUs = (v) => v == null ? '' : v >= 1e6 ? trim(v / 1e6) + ' s' : v >= 1e3 ? trim(v / 1e3) + ' ms' : trim(v) + ' µs';
  const series = (label, stroke, fmt) => ({ label, stroke, width: 2, points: { show: false }, value: (u, v) => fmt(v) });

  function chart(el, data, seriesList, scaleY, axisY, extra = {}) {
    const opts = {
      width: el.clientWidth || 600,
      height: 260,
      series: [{ label: 'time', value: (u, v) => v == null ? '–' : new Date(v * 1000).toTimeString().slice(0, 8) }, ...seriesList],
      scales: { x: { time: true }, y: scaleY, ...extra.scales },
      axes: [axis, { ...axis, size: 72, values: axisY, ...extra.yAxis }, ...(extra.axes ?? [])],
      legend: { live: true },
      cursor: { points: { size: 6 } },
    };
    return new uPlot(opts, data, el);
  }

  const charts = {
    throughput: chart($('chart-throughput'), throughput, [
      { ...series('in', color('--in'), fmtRate), fill: color('--in') + '22' },
      series('out', color('--out'), fmtRate),
      // Backpressure over time: the fullest input ring, on its own 0–100 % axis.
      { ...series('ring fill', color('--warn'), (v) => v == null ? '–' : v.toFixed(0) + ' %'), scale: '%', width: 1.5, dash: [6, 4] },
    ], { range: (u, min, max) => [0, Math.max(10, max * 1.1)] }, (u, ticks) => ticks.map(fmtRate), {
      scales: { '%': { range: [0, 100] } },
      axes: [{ ...axis, scale: '%', side: 1, size: 48, grid: { show: false }, values: (u, ticks) => ticks.map((v) => v + '%') }],
    }),
    latency: chart($('chart-latency'), latency, [
      series('p50', color('--p50'), fmtUs),
      series('p95', color('--p95'), fmtUs),
      series('p99', color('--p99'), fmtUs),
      series('p99.9', color('--p999'), fmtUs),
    ], { distr: 3, log: 10 }, (u, ticks) => ticks.map(tickUs), {
      // Decades only: a line at every 2…9 multiple turns a log grid into noise.
      yAxis: {
        splits: (u, i, min, max) => {
          const out = [];
          for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) if (10 ** e >= min && 10 ** e <= max) out.push(10 ** e);
          return out;
        },
      },
    }),
  };

  function push(cols, values) {
    values.forEach((v, i) => cols[i].push(v));
    if (cols[0].length > MAX_POINTS) cols.forEach((c) => c.shift());
  }

  function onSnapshot(s) {
    const t = s.time / 1000;
    push(throughput, [t, s.eventsInPerSec, s.eventsOutPerSec, s.backpressure.maxRingFill * 100]);
    const l = s.latency;
    const pos = (v) => (l.count > 0 && v > 0 ? v : null);
    push(latency, [t, pos(l.p50), pos(l.p95), pos(l.p99), pos(l.p999)]);
    for (const c of Object.values(charts)) {
      c.setData(c === charts.latency ? latency : throughput);
      // Without a hovering cursor the legend shows the newest values, not dashes.
      if (c.cursor.left == null || c.cursor.left < 0) c.setLegend({ idx: c.data[0].length - 1 });
    }

    $('k-in').textContent = fmtRate(s.eventsInPerSec);
    $('k-in-total').textContent = s.eventsInTotal.toLocaleString('en-US') + ' total';
    $('k-out').textContent = fmtRate(s.eventsOutPerSec);
    $('k-out-total').textContent = s.eventsOutTotal.toLocaleString('en-US') + ' total';
    $('k-p99').textContent = l.count > 0 ? fmtUs(l.p99) : '–';
    $('k-lat-foot').textContent = l.count > 0 ? `p50 ${fmtUs(l.p50)} · p99.9 ${fmtUs(l.p999)}` : 'no outputs this second';
    $('k-alerts').textContent = s.alertsTotal.toLocaleString('en-US');
    $('k-alerts-rate').textContent = s.alertsPerSec.toFixed(1) + ' / s';
    const fill = s.backpressure.maxRingFill;
    $('k-ring').textContent = (fill * 100).toFixed(0) + ' %';
    const bar = $('k-ring-bar');
    bar.style.width = (fill * 100).toFixed(1) + '%';
    bar.style.background = fill > 0.9 ? color('--bad') : fill > 0.6 ? color('--warn') : color('--ok');
    const b = s.backpressure;
    $('k-paused').textContent = `paused ${(b.pausedRatio * 100).toFixed(0)} % · ${fmtPause(b.pausedSecondsTotal)} total`;
    $('k-dead').textContent = s.deadLettersTotal.toLocaleString('en-US');
    $('k-late').textContent = s.lateTotal.toLocaleString('en-US') + ' late events';

    // The same figure as the status line's "backpressure N%": the share of the last second the sources were paused.
    const bp = $('bp');
    const pct = Math.round(b.pausedRatio * 100);
    bp.className = 'pill ' + (b.paused ? 'bad' : pct > 0 ? 'warn' : 'ok');
    bp.textContent = b.paused || pct > 0 ? `backpressure ${pct} %` + (b.pausedSources.length ? `: ${b.pausedSources.join(', ')}` : '') : 'flowing';
    const ready = $('ready');
    ready.className = 'pill ' + (s.ready ? 'ok' : 'warn');
    ready.textContent = s.ready ? 'ready' : 'starting';
    $('uptime').textContent = 'up ' + formatUptime(s.uptimeSeconds);
  }

  // A short surge pauses the sources for tens of milliseconds; one decimal of
  // seconds would show that as 0.0 s while /metrics says otherwise.
  function fmtPause(sec) {
    if (sec === 0) return '0 s';
    if (sec < 1) return (sec * 1000).toFixed(sec < 0.01 ? 1 : 0) + ' ms';
    return sec.toFixed(1) + ' s';
  }

  function formatUptime(sec) {
    const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = Math.floor(sec % 60);
    return h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
  }

  // Alerts: whatever output shape the pipeline emits, show the operator, kind,
  // key, the headline number (z, score, value) and the rest compactly.
  const HEADLINE = ['z', 'score', 'value', 'prediction'];
  const SKIP = new Set(['id', 'op', 'operator', 'kind', 'key', 'time', 'ts', 'ts_ns', 'alert']);
  let alertCount = 0;

  function cell(text, cls, title) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    if (title) td.title = title; // the whole text of a cut cell, on hover
    return td;
  }

  function headline(a) {
    for (const k of HEADLINE) if (typeof a[k] === 'number') return [k, a[k]];
    if (Array.isArray(a.values) && typeof a.values[0] === 'number') return ['values[0]', a.values[0]];
    return [null, null];
  }

  // Event time in ns as a BigInt (ts_ns, a window's end_ns, or an ISO/number time), to sort the table by.
  const INT = /^-?\d+$/;
  function sortKey(a) {
    if (typeof a.ts_ns === 'string' && INT.test(a.ts_ns)) return BigInt(a.ts_ns);
    if (a.window && typeof a.window.end_ns === 'string' && INT.test(a.window.end_ns)) return BigInt(a.window.end_ns);
    const t = a.time ?? a.ts ?? a.end ?? a.event_time;
    if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) return BigInt(Date.parse(t)) * 1000000n;
    if (typeof t === 'number' && Number.isFinite(t)) return BigInt(Math.round(t > 1e14 ? t : t * 1e6));
    return BigInt(Date.now()) * 1000000n;
  }

  // `k v` pairs: short, and breakable anywhere (a JSON blob without spaces would widen the card).
  function formatDetail(rest) {
    return Object.entries(rest).map(([k, v]) => `${k} ${typeof v === 'number' ? String(Number(v.toPrecision(6))) : typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
  }

  function eventTime(a) {
    const t = a.time ?? a.ts ?? a.end ?? a.event_time;
    if (typeof t === 'string' && /^\d{4}-/.test(t)) return t.slice(11, 23);
    if (typeof t === 'number') return new Date(t > 1e14 ? t / 1e6 : t).toISOString().slice(11, 23);
    return new Date().toISOString().slice(11, 23);
  }

  function addAlert(a, fresh) {
    const body = $('alerts');
    const empty = body.querySelector('tr.empty');
    if (empty) empty.remove();
    const [hk, hv] = headline(a);
    const rest = {};
    for (const [k, v] of Object.entries(a)) if (!SKIP.has(k) && k !== hk) rest[k] = v;
    const tr = document.createElement('tr');
    if (fresh) tr.className = 'fresh';
    tr.dataset.id = a.id ?? '';
    const key = sortKey(a);
    tr.dataset.ts = String(key);
    tr.appendChild(cell(eventTime(a)));
    tr.appendChild(cell(String(a.op ?? a.operator ?? '?')));
    const kind = cell('');
    const tag = document.createElement('span');
    tag.className = 'kind ' + (a.kind ?? '');
    tag.textContent = a.kind ?? 'alert';
    kind.appendChild(tag);
    tr.appendChild(kind);
    tr.appendChild(cell(String(a.key ?? ''), '', String(a.key ?? '')));
    tr.appendChild(cell(hv == null ? '' : `${hk} ${Number(hv).toPrecision(4)}`, 'num'));
    const detail = formatDetail(rest);
    tr.appendChild(cell(detail.length > 160 ? detail.slice(0, 157) + '…' : detail, 'detail', detail.length > 160 ? detail : undefined));
    // Newest event time first, whatever order the partitions' alerts arrive in
    // (an equal time: the one received last first).
    let before = null;
    for (const row of body.rows) if (BigInt(row.dataset.ts) <= key) { before = row; break; }
    body.insertBefore(tr, before);
    while (body.rows.length > MAX_ALERTS) body.deleteRow(body.rows.length - 1);
    alertCount++;
    $('alerts-count').textContent = `${alertCount} received`;
  }

  function connect() {
    const conn = $('conn');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`);
    ws.onopen = () => { conn.className = 'pill ok'; conn.textContent = 'live'; };
    ws.onclose = () => { conn.className = 'pill bad'; conn.textContent = 'disconnected'; setTimeout(connect, 1000); };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === 'snapshot') onSnapshot(msg.data);
      else if (msg.type === 'alert') addAlert(msg.data, true);
      else if (msg.type === 'hello') {
        $('alerts').replaceChildren();
        alertCount = 0;
        for (const a of [...msg.alerts].reverse()) addAlert(a, false); // hello lists newest first
        if (alertCount === 0) $('alerts').innerHTML = '<tr class="empty"><td colspan="6">no alerts yet</td></tr>';
      }
    };
  }

  addEventListener('resize', () => {
    for (const c of Object.values(charts)) c.setSize({ width: c.root.parentElement.clientWidth, height: 260 });
  });

  // For the end-to-end test and for poking at in devtools.
  window.ganglionDashboard = { charts, points: () => throughput[0].length, alerts: () => alertCount };
  connect();
})();
