// The dashboard in real headless Chromium against a real server, fed by a real
// (small) pipeline: JSON trade batches are parsed and aggregated, outputs go out
// through the server's publish path, and their receive→emit latency is recorded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Metrics } from '../../../host/metrics/metrics.js';
import { startServer, type RunningServer } from '../../../host/server/http_server.js';

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
const feed = { queue: [] as { receivedAt: bigint; json: string; n: number }[], queued: 0, paused: false, blockedNs: 0, drainBudget: Infinity, seq: 0 };

function startGenerator(): NodeJS.Timeout {
  let blockedSince = 0n;
  return setInterval(() => {
    const seq = feed.seq++;
    const n = 50 + (seq % 7) * 30; // varying rate so the chart moves
    if (feed.queued + n > RING_CAPACITY) {
      if (!feed.paused) { feed.paused = true; blockedSince = process.hrtime.bigint(); }
    } else {
      if (feed.paused) { feed.paused = false; feed.blockedNs += Number(process.hrtime.bigint() - blockedSince); }
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
  metrics.setCollector(() => ({
    rings: [{ partition: 0, capacity: RING_CAPACITY, used: feed.queued, blockedNs: feed.blockedNs }],
    sources: [{ name: 'synthetic', paused: feed.paused }],
  }));
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

// What dashboard.js exposes on window (typed here without the DOM lib).
interface DashboardWindow { ganglionDashboard: { points(): number; charts: { latency: { data: (number | null)[][] } } } }
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
  await page.waitForFunction(`document.getElementById('bp').textContent === 'backpressure: synthetic'`, undefined, { timeout: 5000 });
  const fill = Number((await page.textContent('#k-ring'))!.replace(' %', ''));
  assert.ok(fill >= 90, `ring fill ${fill} %`);
  const scrape = await (await fetch(server.url + '/metrics')).text();
  assert.match(scrape, 'ganglion_backpressure_paused{source="synthetic"} 1');
  feed.drainBudget = Infinity;
  await page.waitForFunction(`document.getElementById('bp').textContent === 'flowing'`, undefined, { timeout: 5000 });
});

test('screenshot, no page errors, nothing fetched from outside the server', async () => {
  await page.waitForTimeout(1500); // a few more ticks so the charts have a visible history
  mkdirSync('test-output', { recursive: true });
  await page.screenshot({ path: 'test-output/dashboard.png', fullPage: true });
  assert.ok(statSync('test-output/dashboard.png').size > 10_000);
  assert.equal(pageErrors, []);
  assert.equal(foreignRequests, []);
});

test.run();
