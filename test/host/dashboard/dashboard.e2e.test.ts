// The dashboard in real headless Chromium against a real server, fed by a real
// (small) pipeline: JSON trade batches are parsed and aggregated, outputs go out
// through the server's publish path, and their receive→emit latency is recorded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Metrics } from '../../../host/metrics/metrics.js';
import { startServer, type RunningServer } from '../../../host/server/http_server.js';
import { freePort } from '../../../bench/free_port.js';
import { startRunHttp } from '../../helpers/ganglion.js';
import { tempDir } from '../../helpers/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let metrics: Metrics;
let server: RunningServer;
let browser: Browser;
let page: Page;
let generator: NodeJS.Timeout;
const pageErrors: string[] = [];
const foreignRequests: string[] = [];

/**
 * A small real pipeline. Every 10 ms the producer turns a batch of trades into
 * JSON text and queues it on a bounded queue (the "ring"); when the queue is
 * full the source pauses, as the real ingest does. The consumer parses queued
 * batches, computes their VWAP, publishes it through the server and records the
 * receive→emit latency. `drainBudget` throttles the consumer to cause backpressure.
 */
const RING_CAPACITY = 4096;
const feed = { queue: [] as { receivedAt: bigint; json: string; n: number }[], queued: 0, paused: false, blockedNs: 0, blockedSince: 0n, drainBudget: Infinity, seq: 0, late: 0 };

function startGenerator(): NodeJS.Timeout {
  return setInterval(() => {
    const seq = feed.seq++;
    const n = 50 + (seq % 7) * 30; // varying rate so the chart moves
    if (seq % 25 === 0) feed.late++; // now and then a trade for a window already closed
    if (feed.queued + n > RING_CAPACITY) {
      if (!feed.paused) { feed.paused = true; feed.blockedSince = process.hrtime.bigint(); }
    } else {
      if (feed.paused) { feed.paused = false; feed.blockedNs += Number(process.hrtime.bigint() - feed.blockedSince); }
      const trades = Array.from({ length: n }, (_, i) => ({ sym: 'AAPL', px: 190 + Math.sin(seq + i) * 2, qty: 1 + ((seq + i) % 9) }));
      feed.queue.push({ receivedAt: process.hrtime.bigint(), json: JSON.stringify(trades), n });
      feed.queued += n;
      metrics.addEvents('synthetic', n);
    }
    let budget = feed.drainBudget;
    while (feed.queue.length && budget >= feed.queue[0].n) {
      const batch = feed.queue.shift()!;
      feed.queued -= batch.n;
      budget -= batch.n;
      let pq = 0, q = 0;
      for (const t of JSON.parse(batch.json) as { px: number; qty: number }[]) { pq += t.px * t.qty; q += t.qty; }
      server.publish({ op: 'vwap_1s', kind: 'window', key: 'AAPL', vwap: pq / q, count: batch.n, seq });
      metrics.addOutputs('vwap_1s', 1);
      metrics.recordLatencyNs(Number(process.hrtime.bigint() - batch.receivedAt));
    }
  }, 10);
}

test.before(async () => {
  assert.ok(existsSync(CHROMIUM), `chromium is required for this test at ${CHROMIUM} (apt-get install chromium)`);
  metrics = new Metrics({ tickMs: 250, processMetrics: false });
  server = await startServer({ port: 0, metrics, operators: ['vwap_1s', 'price_z'] });
  metrics.setCollector(() => {
    const blockedNs = feed.blockedNs + (feed.paused ? Number(process.hrtime.bigint() - feed.blockedSince) : 0);
    return {
      rings: [{ partition: 0, capacity: RING_CAPACITY, used: feed.queued, blockedNs }],
      operators: [{ name: 'vwap_1s', keys: 1, bytes: 1024, evictions: 0, late: feed.late }],
      sources: [{ name: 'synthetic', paused: feed.paused, pausedSeconds: blockedNs / 1e9 }],
    };
  });
  server.setReady(true);
  generator = startGenerator();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith(server.url)) foreignRequests.push(r.url()); });
});

test.after(async () => {
  clearInterval(generator);
  await browser?.close();
  await server?.close();
  metrics?.close();
});

/** Polls until `check` returns a value (not undefined), for at most `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// What dashboard.js exposes on window (typed here without the DOM lib).
interface DashboardWindow { ganglionDashboard: { points(): number; charts: { latency: { data: (number | null)[][] } } } }
/** The paused total the page shows ("· 48 ms total" or "· 2.3 s total"), in seconds. */
function pausedSeconds(text: string): number {
  const m = /· ([\d.]+) (ms|s) total/.exec(text);
  return m ? Number(m[1]) / (m[2] === 'ms' ? 1000 : 1) : NaN;
}

const points = () => page.evaluate(() => (globalThis as unknown as DashboardWindow).ganglionDashboard.points());

test('charts stream: the plotted point count grows and the values change', async () => {
  await page.goto(server.url + '/');
  await page.waitForFunction('window.ganglionDashboard?.points() >= 2', undefined, { timeout: 10_000 });
  const first = await points();
  const kpiBefore = await page.textContent('#k-in-total');
  await page.waitForFunction(`window.ganglionDashboard.points() >= ${first + 3}`, undefined, { timeout: 10_000 });
  const second = await points();
  const kpiAfter = await page.textContent('#k-in-total');
  assert.ok(second >= first + 3, `points ${first} → ${second}`);
  assert.is.not(kpiAfter, kpiBefore, 'events-in total did not change');
  // The latency chart plots real percentiles: every plotted p99 is a positive µs value.
  const p99s = await page.evaluate(() => (globalThis as unknown as DashboardWindow).ganglionDashboard.charts.latency.data[3].filter((v) => v !== null));
  assert.ok(p99s.length >= 2 && p99s.every((v) => (v as number) > 0), `p99 series ${JSON.stringify(p99s)}`);
  assert.match((await page.textContent('#conn')) ?? '', 'live');
  assert.match((await page.textContent('#ready')) ?? '', 'ready');
});

test('an alert published through the server appears in the table, newest first', async () => {
  const older = { id: 'price_z-anomaly-MSFT-1', op: 'price_z', kind: 'anomaly', key: 'MSFT', z: -4.02, value: 402.1, mean: 415.3, stddev: 3.28 };
  const newest = { id: 'price_z-anomaly-AAPL-2', op: 'price_z', kind: 'anomaly', key: 'AAPL', z: 7.31, value: 204.9, mean: 190.2, stddev: 2.01 };
  server.publish(older);
  metrics.addAlerts('price_z', 1);
  server.publish(newest);
  metrics.addAlerts('price_z', 1);
  await page.waitForSelector(`tr[data-id="${newest.id}"]`, { timeout: 5000 });
  const rows = await page.$$eval('#alerts tr', (trs) => trs.map((tr) => (tr as unknown as { dataset: { id?: string } }).dataset.id));
  assert.equal(rows.slice(0, 2), [newest.id, older.id]);
  const text = await page.textContent(`tr[data-id="${newest.id}"]`);
  assert.match(text ?? '', 'AAPL');
  assert.match(text ?? '', 'z 7.310');
  // A window output is not an alert: it must not show up in the table.
  assert.not.ok(rows.some((id) => id?.startsWith('vwap_1s')));
  await page.waitForFunction(`document.getElementById('k-alerts')?.textContent === '2'`, undefined, { timeout: 5000 });
});

test('backpressure shows when the consumer falls behind, and clears when it catches up', async () => {
  feed.drainBudget = 0;
  await page.waitForFunction(`/^backpressure [1-9]\\d* %: synthetic$/.test(document.getElementById('bp').textContent)`, undefined, { timeout: 5000 });
  const fill = Number((await page.textContent('#k-ring'))!.replace(' %', ''));
  assert.ok(fill >= 90, `ring fill ${fill} %`);
  const scrape = await (await fetch(server.url + '/metrics')).text();
  assert.match(scrape, 'ganglion_backpressure_paused{source="synthetic"} 1');
  feed.drainBudget = Infinity;
  await page.waitForFunction(`document.getElementById('bp').textContent === 'flowing'`, undefined, { timeout: 5000 });
  // The time spent paused stays on the page after it clears, as it does in /metrics.
  const paused = (await page.textContent('#k-paused')) ?? '';
  const total = pausedSeconds(paused);
  assert.ok(total > 0, `paused foot: ${paused}`);
});

test('late events in the feed show as late events on the page', async () => {
  await page.waitForFunction(`/^[1-9][\\d,]* late events$/.test(document.getElementById('k-late').textContent)`, undefined, { timeout: 5000 });
  const shown = Number(((await page.textContent('#k-late')) ?? '').replace(/[^\d]/g, ''));
  assert.ok(shown > 0 && shown <= feed.late, `page ${shown}, feed ${feed.late}`);
});

test('alerts are sorted by event time, newest first, whatever order they arrive in', async () => {
  const base = 1_767_623_400_000_000_000n;
  const at = (s: number) => ({ ts: new Date(Number(base / 1_000_000n) + s * 1000).toISOString(), ts_ns: String(base + BigInt(s) * 1_000_000_000n) });
  for (const s of [20, 5, 40, 30]) {
    server.publish({ id: `order-${s}`, op: 'price_z', kind: 'anomaly', key: 'IBM', z: 5 + s / 10, ...at(s) });
  }
  await page.waitForSelector('tr[data-id="order-30"]', { timeout: 5000 });
  const ts = await page.$$eval('#alerts tr', (trs) => trs.map((tr) => (tr as unknown as { dataset: { ts: string } }).dataset.ts));
  const sorted = [...ts].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : BigInt(b) < BigInt(a) ? -1 : 0));
  assert.equal(ts, sorted);
  const ids = await page.$$eval('#alerts tr', (trs) => trs.map((tr) => (tr as unknown as { dataset: { id: string } }).dataset.id).filter((id) => id.startsWith('order-')));
  assert.equal(ids, ['order-40', 'order-30', 'order-20', 'order-5']);
});

test('a long alert never makes the alerts card scroll sideways', async () => {
  const long = { id: 'long-1', op: 'price_z', kind: 'anomaly', key: 'AVERYLONGINSTRUMENTNAME-2026-12-31-C-450', z: 9.99,
    ts: new Date().toISOString(), ts_ns: String(BigInt(Date.now()) * 1_000_000n),
    trader: 'x'.repeat(120), account: 'ACC-' + '0123456789'.repeat(8), note: { nested: 'y'.repeat(200) } };
  server.publish(long);
  await page.waitForSelector('tr[data-id="long-1"]', { timeout: 5000 });
  const sizes = await page.evaluate(() => {
    const d = (globalThis as unknown as { document: { querySelector(s: string): { scrollWidth: number; clientWidth: number }; documentElement: { scrollWidth: number } }; innerWidth: number });
    const card = d.document.querySelector('.alerts');
    return { card: card.scrollWidth, cardClient: card.clientWidth, doc: d.document.documentElement.scrollWidth, win: d.innerWidth };
  });
  assert.ok(sizes.card <= sizes.cardClient, `alerts card ${sizes.card} px of content in ${sizes.cardClient} px`);
  assert.ok(sizes.doc <= sizes.win, `page ${sizes.doc} px wide in a ${sizes.win} px window`);
});

test('screenshot, no page errors, nothing fetched from outside the server', async () => {
  await page.waitForTimeout(1500); // a few more ticks so the charts have a visible history
  mkdirSync('test-output', { recursive: true });
  await page.screenshot({ path: 'test-output/dashboard.png', fullPage: true });
  assert.ok(statSync('test-output/dashboard.png').size > 10_000);
  assert.equal(pageErrors, []);
  assert.equal(foreignRequests, []);
});

test('a real `ganglion run`: late events, backpressure and alerts on the page are the service\'s own numbers', async () => {
  const dir = tempDir('ganglion-dashboard-run-');
  const port = await freePort();
  // A steady feed with late events and anomalies, and a bounded surge at full
  // speed into one partition that fills its ring for a moment (backpressure).
  const run = await startRunHttp(dir.path, `name: dashboard_run
sources:
  - { name: steady, type: synthetic, rate: 5000, instruments: 40, seed: 11, late: 0.01, anomalies: 0.002 }
  - { name: surge, type: synthetic, rate: 0, events: 600000, instruments: 40, seed: 12, late: 0 }
schema: { type: trades }
key: instrument
operators:
  - { name: vwap_1s, type: window, window: tumbling, size: 1s, field: price, weight: qty, aggregates: [count, vwap] }
  - { name: price_z, type: zscore, field: price, threshold: 4, min_samples: 20 }
delivery: { mode: at_most_once }
partitions: 1
server: { host: 127.0.0.1, port: ${port}, dashboard: true }
`, port, ['--no-status']);
  const p = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  try {
    await until('the surge to end', async () => (run.stderr.includes('source surge ended') ? true : undefined));
    await p.goto(run.http + '/');
    await p.waitForFunction(`/^[1-9][\\d,]* late events$/.test(document.getElementById('k-late').textContent)`, undefined, { timeout: 10_000 });
    await p.waitForFunction(`document.querySelectorAll('#alerts tr[data-id]').length >= 3`, undefined, { timeout: 10_000 });
    const page = await p.evaluate(() => {
      const d = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string }; querySelector(s: string): { scrollWidth: number; clientWidth: number }; querySelectorAll(s: string): ArrayLike<{ dataset: { ts: string } }> } }).document;
      const card = d.querySelector('.alerts');
      return { late: d.getElementById('k-late').textContent, paused: d.getElementById('k-paused').textContent, ts: Array.from(d.querySelectorAll('#alerts tr[data-id]'), (r) => r.dataset.ts), card: [card.scrollWidth, card.clientWidth] };
    });
    const snap = (await (await fetch(run.http + '/api/snapshot')).json()) as { lateTotal: number; backpressure: { pausedSecondsTotal: number } };
    const scrape = await (await fetch(run.http + '/metrics')).text();
    const metric = (re: RegExp) => [...scrape.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
    // Late: non-zero, and what /metrics counts (the page shows the tick before, so at most that).
    const late = Number(page.late.replace(/[^\d]/g, ''));
    assert.ok(late > 0 && late <= snap.lateTotal && snap.lateTotal <= metric(/^ganglion_late_events_total\{[^}]*\} (\S+)$/gm), `page ${late}, snapshot ${snap.lateTotal}`);
    // Backpressure: the surge paused the sources; the page shows the same total as /metrics.
    const pausedTotal = pausedSeconds(page.paused);
    const pausedMetric = metric(/^ganglion_backpressure_paused_seconds_total\{source="surge"\} (\S+)$/gm);
    assert.ok(pausedTotal > 0 && Math.abs(pausedTotal - pausedMetric) < 0.06, `page ${page.paused}, /metrics ${pausedMetric} s`);
    // Alerts newest first, and the card never scrolls sideways.
    assert.equal(page.ts, [...page.ts].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : BigInt(b) < BigInt(a) ? -1 : 0)));
    assert.ok(page.card[0] <= page.card[1], `alerts card ${page.card[0]} px of content in ${page.card[1]} px`);
    mkdirSync('test-output', { recursive: true });
    await p.screenshot({ path: 'test-output/dashboard-run.png', fullPage: true });
    assert.equal(errors, []);
    assert.is(await run.stop(), 0, run.stderr);
  } finally {
    await p.close();
    run.kill();
    dir.remove();
  }
});

test.run();
