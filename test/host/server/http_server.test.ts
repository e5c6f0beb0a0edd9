// The server is imported before `ws` on purpose: it must be what decides that
// ws loads no native addon (see the last test).
import { startServer, isAlert, type RunningServer } from '../../../host/server/http_server.js';
import { Metrics, type MetricsSnapshot } from '../../../host/metrics/metrics.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { WebSocket } from 'ws';

let metrics: Metrics;
let server: RunningServer;
const clients: WebSocket[] = [];

test.before(async () => {
  metrics = new Metrics({ tickMs: 0, processMetrics: false });
  server = await startServer({ port: 0, metrics, operators: ['vwap_1s', 'price_z'] });
});
test.after(async () => {
  for (const c of clients) c.terminate();
  await server.close();
  metrics.close();
});

const get = (path: string, init?: RequestInit) => fetch(server.url + path, init);

/** A WebSocket client that queues every message for `next()`. */
async function connect(path: string): Promise<{ ws: WebSocket; next(): Promise<any> }> {
  const ws = new WebSocket(server.url.replace('http', 'ws') + path);
  clients.push(ws);
  const queue: any[] = [];
  const waiting: ((v: any) => void)[] = [];
  ws.on('message', (d) => { const v = JSON.parse(String(d)); const w = waiting.shift(); if (w) w(v); else queue.push(v); });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return {
    ws,
    next: () => queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message within 3 s')), 3000);
      waiting.push((v) => { clearTimeout(t); resolve(v); });
    }),
  };
}

test('binds a free port on 127.0.0.1', () => {
  assert.ok(server.port > 0);
  assert.is(server.url, `http://127.0.0.1:${server.port}`);
});

test('/health is liveness; /ready and /health?ready are readiness', async () => {
  let r = await get('/health');
  assert.is(r.status, 200);
  assert.equal(await r.json(), { status: 'ok' });
  r = await get('/ready');
  assert.is(r.status, 503);
  assert.equal(await r.json(), { status: 'starting' });
  assert.is((await get('/health?ready')).status, 503);
  server.setReady(true);
  r = await get('/ready');
  assert.is(r.status, 200);
  assert.equal(await r.json(), { status: 'ready' });
  assert.is((await get('/health?ready')).status, 200);
  assert.is((await get('/health', { method: 'HEAD' })).status, 200);
});

test('/metrics serves the Prometheus exposition of the live metrics', async () => {
  metrics.addEvents('ws', 42);
  metrics.recordLatencyNs(12_000);
  const r = await get('/metrics');
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type')!, 'text/plain; version=0.0.4');
  const body = await r.text();
  assert.match(body, 'ganglion_events_in_total{source="ws"} 42');
  assert.match(body, /ganglion_latency_seconds\{quantile="0.99"\} 0\.000012/);
  assert.match(body, '# TYPE ganglion_latency_histogram_seconds histogram');
});

test('/api/snapshot is the metrics snapshot', async () => {
  metrics.tick();
  const s = (await (await get('/api/snapshot')).json()) as MetricsSnapshot;
  assert.is(s.eventsInTotal, 42);
  assert.is(s.latency.count, 1);
});

test('dashboard page, script and vendored uPlot are served locally', async () => {
  const html = await (await get('/')).text();
  assert.match(html, '<script src="/vendor/uPlot.iife.min.js">');
  for (const [path, type] of [['/dashboard.js', 'javascript'], ['/dashboard.css', 'text/css'], ['/vendor/uPlot.iife.min.js', 'javascript'], ['/vendor/uPlot.min.css', 'text/css']]) {
    const r = await get(path);
    assert.is(r.status, 200, path);
    assert.match(r.headers.get('content-type')!, type);
    assert.ok((await r.text()).length > 500, path);
  }
  assert.not.match(html, /https?:\/\//, 'the page must not reference external hosts');
});

test('unknown paths and methods get precise JSON errors', async () => {
  let r = await get('/nope');
  assert.is(r.status, 404);
  const e = (await r.json()) as { error: string; paths: string[] };
  assert.is(e.error, 'no such path: /nope');
  assert.ok(e.paths.includes('/metrics'));
  r = await get('/metrics', { method: 'POST', body: 'x' });
  assert.is(r.status, 405);
  assert.is(r.headers.get('allow'), 'GET, HEAD');
  assert.match(((await r.json()) as { error: string }).error, 'method POST not allowed on /metrics');
});

test('/live: hello with the snapshot and past alerts, then snapshots and alerts as they happen', async () => {
  server.publish({ op: 'price_z', kind: 'anomaly', id: 'a1', key: 'AAPL', z: 5 });
  const { next } = await connect('/live');
  const hello = await next();
  assert.is(hello.type, 'hello');
  assert.is(hello.snapshot.eventsInTotal, 42);
  assert.equal(hello.alerts.map((a: { id: string }) => a.id), ['a1']);
  metrics.addEvents('ws', 8);
  metrics.tick();
  const snap = await next();
  assert.is(snap.type, 'snapshot');
  assert.is(snap.data.eventsInTotal, 50);
  server.publish({ op: 'vwap_1s', kind: 'window', id: 'w1' }); // not an alert: not on the feed
  server.publish({ op: 'fraud', kind: 'score', id: 's1', score: 0.97, alert: true }, '{"id":"s1","score":0.97}');
  const alert = await next();
  assert.equal(alert, { type: 'alert', data: { id: 's1', score: 0.97 } }); // pre-serialized JSON is sent as is
});

test('isAlert: anomalies and outputs flagged alert', () => {
  assert.ok(isAlert({ op: 'z', kind: 'anomaly' }));
  assert.ok(isAlert({ op: 'm', kind: 'score', alert: true }));
  assert.not.ok(isAlert({ op: 'm', kind: 'score', alert: false }));
  assert.not.ok(isAlert({ op: 'w', kind: 'window' }));
});

test('/topics: subscribe at connect, by message, unsubscribe; each output reaches only its subscribers', async () => {
  const a = await connect('/topics?subscribe=vwap_1s');
  const b = await connect('/topics');
  const all = await connect('/topics?subscribe=*');
  assert.equal(await a.next(), { subscribed: ['vwap_1s'] });
  assert.equal(await all.next(), { subscribed: ['*'] });
  b.ws.send(JSON.stringify({ subscribe: ['price_z', 'vwap_1s'] }));
  assert.equal(await b.next(), { subscribed: ['price_z', 'vwap_1s'] });
  assert.is(server.topics.subscribers('vwap_1s'), 3);

  server.publish({ op: 'vwap_1s', kind: 'window', n: 1 });
  server.publish({ op: 'price_z', kind: 'anomaly', n: 2 });
  assert.equal(await a.next(), { op: 'vwap_1s', kind: 'window', n: 1 });
  assert.equal(await b.next(), { op: 'vwap_1s', kind: 'window', n: 1 });
  assert.equal(await b.next(), { op: 'price_z', kind: 'anomaly', n: 2 });
  assert.equal(await all.next(), { op: 'vwap_1s', kind: 'window', n: 1 });
  assert.equal(await all.next(), { op: 'price_z', kind: 'anomaly', n: 2 });

  b.ws.send(JSON.stringify({ unsubscribe: ['vwap_1s'] }));
  assert.equal(await b.next(), { subscribed: ['price_z'] });
  server.publish({ op: 'vwap_1s', kind: 'window', n: 3 });
  server.publish({ op: 'price_z', kind: 'anomaly', n: 4 });
  assert.is((await b.next()).n, 4); // n: 3 never reached b
  assert.is((await a.next()).n, 3);
  server.publish({ op: 'vwap_1s', kind: 'window', endNs: 1_700_000_000_123_456_789n });
  assert.is((await a.next()).endNs, '1700000000123456789'); // bigint ns survive exactly, as strings
});

test('/topics: bad control messages get precise errors and change nothing', async () => {
  const c = await connect('/topics?subscribe=nope');
  assert.equal(await c.next(), { error: '?subscribe: unknown operator "nope"; this pipeline has: vwap_1s, price_z (or "dead_letter" for dead letters, "*" for all)' });
  c.ws.send('{not json');
  assert.match((await c.next()).error, /^control message is not valid JSON \(.+\); expected \{"subscribe":\["op"\]\}/);
  c.ws.send('[1]');
  assert.match((await c.next()).error, 'control message must be an object');
  c.ws.send(JSON.stringify({ subscribe: 'vwap_1s' }));
  assert.is((await c.next()).error, '"subscribe" must be an array of operator names, got "vwap_1s"');
  c.ws.send(JSON.stringify({ subscribe: ['price_z', 'ghost'] }));
  assert.match((await c.next()).error, 'unknown operator "ghost"');
  c.ws.send(JSON.stringify({ sub: ['price_z'] }));
  assert.is((await c.next()).error, 'unknown field "sub"; expected "subscribe" or "unsubscribe"');
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.match((await c.next()).error, 'control messages are JSON text');
  // Still open and still working after all of that; the failed subscribe added nothing.
  c.ws.send(JSON.stringify({ subscribe: ['price_z'] }));
  assert.equal(await c.next(), { subscribed: ['price_z'] });
});

test('an unknown WebSocket path is refused with 404', async () => {
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/elsewhere');
  ws.on('error', () => {}); // the refused handshake also surfaces as an error event
  const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  assert.is(status, 404);
  ws.terminate();
});

test('a slow topic subscriber is closed with 1013 instead of buffering without bound', async () => {
  const m = new Metrics({ tickMs: 0, processMetrics: false });
  const s = await startServer({ port: 0, metrics: m, maxBufferedBytes: 64 * 1024, dashboard: false });
  const ws = new WebSocket(s.url.replace('http', 'ws') + '/topics?subscribe=big');
  await new Promise((r) => ws.once('message', r)); // the subscribed ack
  ws.pause(); // stop reading: the server's socket buffer fills up
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const payload = 'x'.repeat(256 * 1024);
  for (let i = 0; i < 400 && s.topics.stats().slowClosed === 0; i++) {
    s.publish({ op: 'big', payload });
    await new Promise((r) => setImmediate(r));
  }
  assert.is(s.topics.stats().slowClosed, 1);
  ws.resume();
  assert.is(await closed, 1013);
  assert.is((await fetch(s.url + '/')).status, 404); // dashboard: false serves no page
  await s.close();
  m.close();
});

test('close() ends open WebSocket clients and frees the port', async () => {
  const m = new Metrics({ tickMs: 0, processMetrics: false });
  const s = await startServer({ port: 0, metrics: m });
  const ws = new WebSocket(s.url.replace('http', 'ws') + '/live');
  await new Promise((r) => ws.once('message', r));
  const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
  await s.close();
  assert.is(await code, 1001);
  await assert.not.ok(await fetch(s.url + '/health').then(() => true, () => false));
  m.close();
});

test('no native addon was loaded (bufferutil / utf-8-validate stay out even when installed)', () => {
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.endsWith('.node'));
  assert.equal(loaded, []);
});

test.run();
