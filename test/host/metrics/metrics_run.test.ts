// Every exported metric moves when its thing happens, seen from outside: a real
// `ganglion run` process, load over real WebSockets (and the synthetic feed
// flat out, for backpressure), /metrics scraped over HTTP and parsed, and each
// figure checked against what the test itself sent or what the sinks wrote.
// The status line, /api/snapshot and /metrics must give the same numbers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { freePort } from '../../../bench/free_port.js';
import { smallDisk, tempDir } from '../../helpers/tmp.js';
import { startRunHttp } from '../../helpers/ganglion.js';

// ── exposition parsing ─────────────────────────────────────────────────────

interface Scrape { series: Map<string, number>; types: Map<string, string> }

function parseExposition(text: string): Scrape {
  const series = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) { types.set(t[1], t[2]); continue; }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
    assert.ok(m, `unparseable exposition line: ${line}`);
    series.set(m[1], Number(m[2]));
  }
  return { series, types };
}

/** Samples of one family (the name before `{`, `_bucket`/`_sum`/`_count` excluded unless asked). */
function samples(s: Scrape, name: string): Array<[string, number]> {
  return [...s.series].filter(([k]) => k === name || k.startsWith(name + '{'));
}
const value = (s: Scrape, series: string) => s.series.get(series);
const sum = (s: Scrape, name: string) => samples(s, name).reduce((a, [, v]) => a + v, 0);

/** Counters that exist from the start: per source, operator or partition, at 0 until something happens. */
const STANDING_COUNTERS = [
  'ganglion_events_in_total', 'ganglion_events_out_total', 'ganglion_alerts_total', 'ganglion_ring_blocked_seconds_total',
  'ganglion_state_evictions_total', 'ganglion_late_events_total', 'ganglion_backpressure_paused_seconds_total',
  'ganglion_checkpoint_failures_total', 'ganglion_process_cpu_seconds_total',
];

/**
 * Gauges, histograms, summaries and standing counters without a single sample:
 * the symptom of a family nobody feeds. (A per-reason counter such as the dead
 * letters' has none until its first reason, as Prometheus counters go.)
 */
function unfedFamilies(s: Scrape): string[] {
  const keys = [...s.series.keys()];
  return [...s.types]
    .filter(([f, type]) => (type !== 'counter' || STANDING_COUNTERS.includes(f)) && !EVENT_LABELLED.includes(f))
    .filter(([f]) => !keys.some((k) => k === f || k.startsWith(f + '{') || k.startsWith(f + '_')))
    .map(([f]) => f);
}

/** Labelled by what happened: no series before it first happens (GC kinds since the first scrape). */
const EVENT_LABELLED = ['ganglion_nodejs_gc_duration_seconds'];

/** CPU seconds of process `pid` (all its threads) as the kernel counts them. */
function kernelCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime: fields 14 and 15
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const PAGE_SIZE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());

// ── a running `ganglion run` ────────────────────────────────────────────────

type Running = Awaited<ReturnType<typeof startRunHttp>>;
const run = (dir: string, yaml: string) => startRunHttp(dir, yaml, Number(/port: (\d+), dashboard/.exec(yaml)![1]));

async function stop(r: Running): Promise<void> {
  const code = await r.stop();
  assert.is(code, 0, r.stderr);
}

function jsonLines(file: string): unknown[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

/** Fills a filesystem to the last byte (ENOSPC from then on). */
function fillDisk(path: string): void {
  const fd = openSync(join(path, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try { for (;;) writeSync(fd, chunk); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e; }
  try { for (;;) writeSync(fd, chunk, 0, 1); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e; }
  closeSync(fd);
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const scrape = async (http: string) => parseExposition(await (await fetch(`${http}/metrics`)).text());
const snapshot = async (http: string) => (await (await fetch(`${http}/api/snapshot`)).json()) as {
  eventsInTotal: number; alertsTotal: number; lateTotal: number; deadLettersTotal: number;
  latency: { p50: number; p99: number; count: number };
  backpressure: { paused: boolean; pausedRatio: number; pausedSecondsTotal: number; maxRingFill: number };
};

/** Polls until `check` returns a value (not undefined) or the deadline passes. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 10_000, detail?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await sleep(50);
  }
}

/** A producer connection: sends JSON frames and resolves each with its ack. */
async function producer(url: string) {
  const ws = new WebSocket(url);
  await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
  const waiting: Array<(a: { ok: boolean; accepted?: number; rejected?: number }) => void> = [];
  ws.on('message', (d) => { const a = JSON.parse(String(d)); if ('ack' in a) waiting.shift()?.(a); });
  return {
    send: (events: object[]) => new Promise<{ ok: boolean; accepted?: number; rejected?: number }>((res) => { waiting.push(res); ws.send(JSON.stringify(events)); }),
    close: () => ws.close(),
  };
}

const INSTRUMENTS = Array.from({ length: 20 }, (_, i) => `T${String(i).padStart(2, '0')}`);
const T0 = Date.UTC(2026, 0, 5, 14, 0, 0); // ms: the pipeline reads ts in ms

test('a run over WebSockets: every counter and gauge equals what was sent, on /metrics, /api/snapshot and the status line', async () => {
  const dir = tempDir('ganglion-metrics-run-');
  // Checkpoints go to a small disk of their own, filled up once they work: then they fail, and say so.
  const disk = smallDisk(8 * 1024 * 1024);
  const [wsPort, httpPort] = [await freePort(), await freePort()];
  let r: Running | undefined;
  try {
    r = await run(dir.path, `name: metrics_exact
sources:
  - { name: gateway, type: ws, host: 127.0.0.1, port: ${wsPort}, path: /ingest }
schema: { type: trades }
key: instrument
event_time: { field: ts, unit: ms, out_of_orderness: 0s, allowed_lateness: 0s }
validation:
  ranges: { qty: { min: 1, max: 1000000 } }
operators:
  - { name: vol_1s, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum], capacity: 256 }
  - { name: tight_1s, type: window, window: tumbling, size: 1s, aggregates: [count], capacity: 4 }
  - { name: price_z, type: zscore, field: price, threshold: 4, min_samples: 10, direction: above, capacity: 64 }
sinks:
  - { name: late, type: jsonl, path: ${JSON.stringify(join(dir.path, 'late.jsonl'))}, kinds: [late] }
  - { name: alerts, type: jsonl, path: ${JSON.stringify(join(dir.path, 'alerts.jsonl'))}, kinds: [anomaly] }
delivery: { mode: exactly_once, checkpoint: { interval: 200ms, dir: ${JSON.stringify(disk.path)}, on_failure: continue } }
partitions: 2
server: { host: 127.0.0.1, port: ${httpPort}, dashboard: false }
`);
    const before = await scrape(r.http);
    assert.equal(samples(before, 'ganglion_events_in_total'), [['ganglion_events_in_total{source="gateway"}', 0]]);
    assert.equal(samples(before, 'ganglion_events_out_total').map(([k, v]) => [k.replace(/.*operator="(.*)".*/, '$1'), v]), [['vol_1s', 0], ['tight_1s', 0], ['price_z', 0]]);
    assert.equal(unfedFamilies(before), []);

    // Three connections, 3 s of event time over 20 instruments, frames of 20 events.
    const url = `ws://127.0.0.1:${wsPort}/ingest`;
    const conns = await Promise.all([producer(url), producer(url), producer(url)]);
    let accepted = 0, rejected = 0, sent = 0;
    const acks: Array<Promise<unknown>> = [];
    for (let f = 0; f < 150; f++) {
      const events = INSTRUMENTS.map((instrument, k) => ({ ts: T0 + f * 20 + k, instrument, price: 100 + ((f + k) % 5) * 0.01, qty: 100 + k }));
      sent += events.length;
      acks.push(conns[f % 3].send(events).then((a) => { accepted += a.accepted ?? 0; }));
      if (f % 10 === 9) await Promise.all(acks.splice(0)); // a bounded window of unacked frames
    }
    await Promise.all(acks.splice(0));
    assert.is(accepted, sent);
    // One price spike (an alert), two records outside the qty range (dead letters), and
    // five events from the first second, long closed (late for both windows).
    const spike = await conns[0].send([{ ts: T0 + 3000, instrument: 'T03', price: 200, qty: 100 }]);
    const bad = await conns[1].send([{ ts: T0 + 3001, instrument: 'T04', price: 100, qty: -5 }, { ts: T0 + 3002, instrument: 'T05', price: 100, qty: 0 }, { ts: T0 + 3003, instrument: 'T06', price: 100, qty: 7 }]);
    const late = await conns[2].send(Array.from({ length: 5 }, (_, i) => ({ ts: T0 + i, instrument: INSTRUMENTS[i], price: 100, qty: 10 })));
    accepted += (spike.accepted ?? 0) + (bad.accepted ?? 0) + (late.accepted ?? 0);
    rejected += bad.rejected ?? 0;
    assert.is(rejected, 2);
    for (const c of conns) c.close();

    // Everything accepted is counted once it has gone through (its epoch released).
    const m = await until('the latency count to reach the accepted events', async () => {
      const s = await scrape(r!.http);
      return value(s, 'ganglion_latency_seconds_count') === accepted ? s : undefined;
    }, 10_000, () => r!.stderr.slice(-2000));

    // 7: one series per configured source, not one per connection.
    assert.equal(samples(m, 'ganglion_events_in_total'), [['ganglion_events_in_total{source="gateway"}', accepted]]);
    // 5: latency once per event (receive → its epoch released), so percentiles spread.
    assert.is(value(m, 'ganglion_latency_histogram_seconds_count'), accepted);
    const p50 = value(m, 'ganglion_latency_seconds{quantile="0.5"}')!, p99 = value(m, 'ganglion_latency_seconds{quantile="0.99"}')!;
    assert.ok(p50 > 0 && p50 < p99, `p50 ${p50} s, p99 ${p99} s`);

    // Dead letters: what the producer was told, what the file holds, what /metrics says.
    assert.is(sum(m, 'ganglion_dead_letters_total'), 2);
    await until('the dead letters on disk', async () => (jsonLines(join(dir.path, 'data', 'dead-letters.jsonl')).length === 2 ? true : undefined));

    // Late events and refused window state, against the late sink's own lines (once it has written them all).
    const lateTotal = sum(m, 'ganglion_late_events_total');
    let lateLines = 0;
    const lateOut = await until('the late sink to catch up', async () => {
      const lines = jsonLines(join(dir.path, 'late.jsonl')) as Array<{ op: string; reason: string }>;
      lateLines = lines.length;
      return lines.length === lateTotal ? lines : undefined;
    }, 10_000, () => `${lateLines} lines in late.jsonl, ${lateTotal} late events counted\n${r!.stderr.slice(-1500)}`);
    const lateBy = (op: string, reason?: string) => lateOut.filter((o) => o.op === op && (reason === undefined || o.reason === reason)).length;
    assert.is(value(m, 'ganglion_late_events_total{operator="vol_1s"}'), 5);
    assert.is(lateBy('vol_1s'), 5);
    assert.is(value(m, 'ganglion_late_events_total{operator="tight_1s"}'), lateBy('tight_1s'));
    const refused = lateBy('tight_1s', 'state_evicted');
    assert.ok(refused > 0, 'capacity 4 with 10 instruments a partition refuses state');
    assert.is(value(m, 'ganglion_state_evictions_total{operator="tight_1s"}'), refused);
    assert.is(value(m, 'ganglion_state_evictions_total{operator="vol_1s"}'), 0);
    assert.is(value(m, 'ganglion_late_events_total{operator="price_z"}'), 0);

    // Alerts: the spike, as the alert sink wrote it.
    const alerts = value(m, 'ganglion_alerts_total{operator="price_z"}')!;
    assert.ok(alerts >= 1);
    await until('the alert sink to catch up', async () => (jsonLines(join(dir.path, 'alerts.jsonl')).length === alerts ? true : undefined));
    assert.ok(value(m, 'ganglion_events_out_total{operator="vol_1s"}')! >= 40, 'two closed seconds × 20 instruments');

    // Operator state, summed over both partitions: every instrument has its z-score state.
    assert.is(value(m, 'ganglion_state_keys{operator="price_z"}'), 20);
    for (const op of ['vol_1s', 'tight_1s', 'price_z']) assert.ok(value(m, `ganglion_state_bytes{operator="${op}"}`)! > 0, op);

    // Rings: one series per partition; blocked time exists (0 here: this load never fills a ring).
    assert.equal(samples(m, 'ganglion_ring_fill_ratio').map(([k]) => k), ['ganglion_ring_fill_ratio{partition="0"}', 'ganglion_ring_fill_ratio{partition="1"}']);
    assert.equal(samples(m, 'ganglion_backpressure_paused'), [['ganglion_backpressure_paused{source="gateway"}', 0]]);

    // Checkpoints: taken, sized and timed; then the disk fills and they fail.
    const ok = await until('a checkpoint', async () => { const s = await scrape(r!.http); return value(s, 'ganglion_checkpoint_duration_seconds_count')! >= 1 ? s : undefined; });
    assert.ok(value(ok, 'ganglion_checkpoint_last_bytes')! > 0 && value(ok, 'ganglion_checkpoint_last_duration_seconds')! > 0);
    assert.is(value(ok, 'ganglion_checkpoint_failures_total'), 0);
    fillDisk(disk.path);
    await until('a failed checkpoint', async () => (value(await scrape(r!.http), 'ganglion_checkpoint_failures_total')! > 0 ? true : undefined));
    assert.equal(unfedFamilies(m), []);

    // One source of truth: the status line prints the snapshot, and the snapshot is /metrics.
    await sleep(1100); // a tick after the last event
    const snap = await snapshot(r.http);
    const final = await scrape(r.http);
    assert.is(snap.eventsInTotal, accepted);
    assert.is(snap.lateTotal, sum(final, 'ganglion_late_events_total'));
    assert.is(snap.alertsTotal, sum(final, 'ganglion_alerts_total'));
    assert.is(snap.deadLettersTotal, sum(final, 'ganglion_dead_letters_total'));
    const line = await until('a status line printed after the load', async () => {
      const lines = r!.stderr.split('\n').filter((l) => l.startsWith('ganglion  '));
      const last = lines[lines.length - 1];
      return last && new RegExp(`late ${snap.lateTotal} `).test(last) ? last : undefined;
    }, 8000);
    assert.match(line, `alerts ${snap.alertsTotal} `);
    assert.match(line, `dead ${snap.deadLettersTotal} `);
    assert.match(line, 'backpressure 0%');
    await stop(r);
  } finally {
    r?.kill();
    disk.remove();
    dir.remove();
  }
});

test('flat out into one partition: ring fill, backpressure, blocked time and CPU move, and agree', async () => {
  const dir = tempDir('ganglion-metrics-surge-');
  const [wsPort, httpPort] = [await freePort(), await freePort()];
  let r: Running | undefined;
  try {
    const startedAt = Date.now();
    r = await run(dir.path, `name: metrics_surge
sources:
  - { name: surge, type: synthetic, rate: 0, events: 1500000, seed: 5, instruments: 200, late: 0 }
  - { name: gateway, type: ws, host: 127.0.0.1, port: ${wsPort}, path: /ingest }
schema: { type: trades }
key: instrument
operators:
  - { name: vwap_1s, type: window, window: tumbling, size: 1s, field: price, weight: qty, aggregates: [count, vwap, min, max] }
  - { name: vwap_5s, type: window, window: sliding, size: 5s, slide: 500ms, field: price, weight: qty, aggregates: [count, vwap, min, max, stddev] }
  - { name: qty_1s, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum, mean, variance] }
  - { name: price_z, type: zscore, field: price, threshold: 6 }
  - { name: qty_z, type: zscore, field: qty, mode: window, window: 50, threshold: 6, capacity: 512 }
delivery: { mode: at_most_once }
partitions: 1
server: { host: 127.0.0.1, port: ${httpPort}, dashboard: false }
`);
    let sawPaused = false, sawFill = 0, sawUsed = 0, sawLag = 0;
    const m = await until('the feed to end', async () => {
      const s = await scrape(r!.http);
      if (value(s, 'ganglion_backpressure_paused{source="surge"}') === 1) sawPaused = true;
      sawFill = Math.max(sawFill, value(s, 'ganglion_ring_fill_ratio{partition="0"}') ?? 0);
      sawUsed = Math.max(sawUsed, value(s, 'ganglion_ring_used_records{partition="0"}') ?? 0);
      sawLag = Math.max(sawLag, value(s, 'ganglion_nodejs_eventloop_lag_max_seconds') ?? 0); // since the scrape before
      return r!.stderr.includes('source surge ended') && value(s, 'ganglion_latency_seconds_count') === 1_500_000 ? s : undefined;
    }, 120_000, () => r!.stderr.slice(-2000));
    const wall = (Date.now() - startedAt) / 1000;
    assert.is(value(m, 'ganglion_events_in_total{source="surge"}'), 1_500_000);
    assert.ok(sawPaused, 'a scrape saw the feed paused');
    assert.ok(sawFill > 0 && sawUsed > 0, `fullest ring seen ${sawFill}, ${sawUsed} records`);
    const paused = value(m, 'ganglion_backpressure_paused_seconds_total{source="surge"}')!;
    const blocked = value(m, 'ganglion_ring_blocked_seconds_total{partition="0"}')!;
    assert.ok(paused > 0 && blocked > 0, `paused ${paused} s, blocked ${blocked} s`);
    assert.ok(paused <= wall && blocked <= wall);
    // CPU since start, every thread: what the kernel counts for the process, read around a scrape.
    const kernelBefore = kernelCpuSeconds(r.child.pid!);
    const c = await scrape(r.http);
    const kernelAfter = kernelCpuSeconds(r.child.pid!);
    const cpu = value(c, 'ganglion_process_cpu_seconds_total')!;
    assert.ok(cpu > 0.3 && cpu >= kernelBefore - 0.02 && cpu <= kernelAfter + 0.02, `metric ${cpu} s, kernel ${kernelBefore}..${kernelAfter} s`);
    assert.ok(Math.abs(value(c, 'ganglion_process_cpu_user_seconds_total')! + value(c, 'ganglion_process_cpu_system_seconds_total')! - cpu) < 1e-3);
    // Memory, descriptors and start time, against the kernel's view of the same process.
    const pid = r.child.pid!;
    const rssKernel = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_SIZE;
    const rss = value(c, 'ganglion_process_resident_memory_bytes')!;
    assert.ok(Math.abs(rss - rssKernel) < 0.25 * rssKernel, `rss ${rss} against ${rssKernel} from /proc`);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    assert.ok(Math.abs(value(c, 'ganglion_process_open_fds')! - fds) <= 4, `open fds ${value(c, 'ganglion_process_open_fds')} against ${fds}`);
    assert.ok(Math.abs(value(c, 'ganglion_process_start_time_seconds')! - startedAt / 1000) < 3);
    // prom-client's own process and Node.js collectors, against the kernel and this Node.
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)![1]) * 1024;
    const near = (metric: string, actual: number, share: number) => {
      const v = value(c, metric)!;
      assert.ok(Math.abs(v - actual) <= share * actual, `${metric} ${v} against ${actual} from /proc`);
    };
    near('ganglion_process_virtual_memory_bytes', kB('VmSize'), 0.1);
    near('ganglion_process_heap_bytes', kB('VmData'), 0.25);
    const maxFds = Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))![1]);
    assert.is(value(c, 'ganglion_process_max_fds'), maxFds);
    assert.ok(sawLag > 0, 'a flat-out feed delays the event loop');
    assert.ok(value(c, 'ganglion_nodejs_active_handles_total')! >= 2, 'the HTTP server and the ws source listen');
    assert.ok(value(c, 'ganglion_nodejs_active_resources_total')! >= 2);
    const heapUsed = value(c, 'ganglion_nodejs_heap_size_used_bytes')!, heapTotal = value(c, 'ganglion_nodejs_heap_size_total_bytes')!;
    assert.ok(heapUsed > 1e6 && heapUsed <= heapTotal, `heap used ${heapUsed} of ${heapTotal}`);
    assert.ok(samples(c, 'ganglion_nodejs_heap_space_size_used_bytes').length >= 4);
    assert.is(value(c, `ganglion_nodejs_version_info{version="${process.version}",major="${process.versions.node.split('.')[0]}",minor="${process.versions.node.split('.')[1]}",patch="${process.versions.node.split('.')[2]}"}`), 1);
    assert.ok(sum(c, 'ganglion_nodejs_gc_duration_seconds_count') > 0, '1.5 M events collect garbage');
    assert.is(value(m, 'ganglion_ready'), 1);
    assert.ok(value(m, 'ganglion_state_keys{operator="price_z"}')! === 200);
    assert.equal(unfedFamilies(m), []);
    assert.equal(samples(m, 'ganglion_alerts_total').map(([k]) => k), ['ganglion_alerts_total{operator="price_z"}', 'ganglion_alerts_total{operator="qty_z"}'], 'alerting operators only');
    // The snapshot's paused total is the counter's.
    await sleep(1100);
    const snap = await snapshot(r.http);
    const after = await scrape(r.http);
    assert.ok(Math.abs(snap.backpressure.pausedSecondsTotal - value(after, 'ganglion_backpressure_paused_seconds_total{source="surge"}')!) < 1e-9);
    await stop(r);
  } finally {
    r?.kill();
    dir.remove();
  }
});

test.run();
