import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Metrics, LATENCY_BUCKETS_SECONDS, type MetricsOptions } from '../../../host/metrics/metrics.js';

const make = (o: MetricsOptions = {}) => new Metrics({ tickMs: 0, processMetrics: false, ...o });

/** `name{labels} value` lines of the exposition as a map. */
async function scrape(m: Metrics): Promise<Map<string, number>> {
  const { body } = await m.exposition();
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

for (const engine of ['wasm', 'js'] as const) {
  test(`${engine}: last-second percentiles match the recorded distribution within HDR precision`, () => {
    const m = make({ engine });
    assert.is(m.engine, engine);
    for (let i = 1; i <= 10_000; i++) m.recordLatencyNs(i * 100); // 0.1 µs … 1 ms uniform
    const s = m.tick();
    assert.is(s.latency.count, 10_000);
    const near = (got: number, want: number) => assert.ok(Math.abs(got - want) / want < 0.002, `${got} vs ${want}`);
    near(s.latency.p50, 500);
    near(s.latency.p95, 950);
    near(s.latency.p99, 990);
    near(s.latency.p999, 999);
    near(s.latency.max, 1000);
    // The next second saw nothing: its percentiles are empty, not the previous ones.
    assert.is(m.tick().latency.count, 0);
    m.close();
  });
}

test('counters are batched per source/operator/reason and exported', async () => {
  const m = make();
  m.addEvents('ws', 100); m.addEvents('mqtt', 5); m.addEvents('ws', 20);
  m.addOutputs('vwap_1s', 7);
  m.addAlerts('price_z', 2);
  m.addDeadLetters('schema', 3); m.addDeadLetters('range', 1);
  const x = await scrape(m);
  assert.is(x.get('ganglion_events_in_total{source="ws"}'), 120);
  assert.is(x.get('ganglion_events_in_total{source="mqtt"}'), 5);
  assert.is(x.get('ganglion_events_out_total{operator="vwap_1s"}'), 7);
  assert.is(x.get('ganglion_alerts_total{operator="price_z"}'), 2);
  assert.is(x.get('ganglion_dead_letters_total{reason="schema"}'), 3);
  assert.is(x.get('ganglion_dead_letters_total{reason="range"}'), 1);
  const s = m.tick();
  assert.is(s.eventsInTotal, 125);
  assert.is(s.deadLettersTotal, 4);
  assert.ok(s.eventsInPerSec > 0);
  m.close();
});

test('latency summary quantiles and histogram buckets are consistent', async () => {
  const m = make();
  m.recordLatencyNs(3_000, 900);      // 3 µs ×900
  m.recordLatencyNs(2_000_000, 100);  // 2 ms ×100
  let x = await scrape(m);
  // Not ticked yet: the current second is part of the window.
  assert.ok(Math.abs(x.get('ganglion_latency_seconds{quantile="0.5"}')! - 3e-6) < 1e-8);
  assert.ok(Math.abs(x.get('ganglion_latency_seconds{quantile="0.99"}')! - 2e-3) < 3e-6);
  assert.is(x.get('ganglion_latency_seconds_count'), 1000);
  assert.ok(Math.abs(x.get('ganglion_latency_seconds_sum')! - (900 * 3e-6 + 100 * 2e-3)) < 1e-9);
  assert.is(x.get('ganglion_latency_histogram_seconds_bucket{le="0.0000025"}'), 0);
  assert.is(x.get('ganglion_latency_histogram_seconds_bucket{le="0.000005"}'), 900);
  assert.is(x.get('ganglion_latency_histogram_seconds_bucket{le="0.001"}'), 900);
  assert.is(x.get('ganglion_latency_histogram_seconds_bucket{le="0.0025"}'), 1000);
  assert.is(x.get('ganglion_latency_histogram_seconds_bucket{le="+Inf"}'), 1000);
  // A bound is inclusive (le): exactly 1 µs falls in the first bucket.
  m.recordLatencyNs(1_000);
  x = await scrape(m);
  assert.is(x.get(`ganglion_latency_histogram_seconds_bucket{le="${LATENCY_BUCKETS_SECONDS[0]}"}`), 1); // String(1e-6) is "0.000001"
  m.close();
});

test('the quantile window slides: old latencies age out after ageBuckets × ageSeconds', async () => {
  const m = make({ ageBuckets: 3, ageSeconds: 1 }); // with tickMs 0 a tick counts as 1 s
  m.recordLatencyNs(50_000_000, 10); // 50 ms
  m.tick();
  assert.ok((await scrape(m)).get('ganglion_latency_seconds{quantile="0.5"}')! > 0.049);
  m.recordLatencyNs(1_000, 10);
  m.tick(); m.tick(); m.tick();
  const x = await scrape(m);
  assert.is(x.get('ganglion_latency_seconds{quantile="0.999"}'), 0); // both aged out
  assert.is(x.get('ganglion_latency_seconds_count'), 20); // the count is cumulative, as Prometheus expects
  m.close();
});

test('gauges come from the collector: rings, operator state, backpressure', async () => {
  const m = make();
  let paused = false, pausedSeconds = 0;
  m.setCollector(() => ({
    rings: [{ partition: 0, capacity: 1024, used: 256, blockedNs: 1.5e9 }, { partition: 1, capacity: 1024, used: 1000, blockedNs: 0 }],
    operators: [{ name: 'vwap_1s', keys: 40, bytes: 8192, evictions: 3, late: 9 }],
    sources: [{ name: 'ws', paused, pausedSeconds }, { name: 'mqtt', paused: false }],
  }));
  const x = await scrape(m);
  assert.is(x.get('ganglion_ring_fill_ratio{partition="0"}'), 0.25);
  assert.is(x.get('ganglion_ring_used_records{partition="1"}'), 1000);
  assert.is(x.get('ganglion_ring_blocked_seconds_total{partition="0"}'), 1.5);
  assert.is(x.get('ganglion_state_keys{operator="vwap_1s"}'), 40);
  assert.is(x.get('ganglion_state_bytes{operator="vwap_1s"}'), 8192);
  assert.is(x.get('ganglion_state_evictions_total{operator="vwap_1s"}'), 3);
  assert.is(x.get('ganglion_late_events_total{operator="vwap_1s"}'), 9);
  assert.is(x.get('ganglion_backpressure_paused{source="ws"}'), 0);
  m.tick();
  paused = true;
  pausedSeconds = 2.5;
  const s = m.tick();
  assert.equal({ ...s.backpressure, pausedRatio: undefined }, { paused: true, pausedSources: ['ws'], pausedRatio: undefined, pausedSecondsTotal: 2.5, maxRingFill: 1000 / 1024 });
  // 2.5 s paused within a tick of a few ms: the share is capped at the whole tick.
  assert.is(s.backpressure.pausedRatio, 1);
  assert.is((await scrape(m)).get('ganglion_backpressure_paused_seconds_total{source="ws"}'), 2.5);
  assert.is(s.lateTotal, 9);
  m.close();
});

test('a throwing collector does not break the scrape or the tick', async () => {
  const m = make();
  m.setCollector(() => { throw new Error('boom'); });
  m.addEvents('ws', 1);
  assert.is((await scrape(m)).get('ganglion_events_in_total{source="ws"}'), 1);
  assert.is(m.tick().backpressure.paused, false);
  m.close();
});

test('checkpoints: duration histogram, last size, failures', async () => {
  const m = make();
  m.recordCheckpoint({ durationMs: 3, bytes: 65536, ok: true });
  m.recordCheckpoint({ durationMs: 80, bytes: 70000, ok: true });
  m.recordCheckpoint({ durationMs: 5000, bytes: 0, ok: false });
  const x = await scrape(m);
  assert.is(x.get('ganglion_checkpoint_duration_seconds_bucket{le="0.005"}'), 1);
  assert.is(x.get('ganglion_checkpoint_duration_seconds_bucket{le="0.1"}'), 2);
  assert.is(x.get('ganglion_checkpoint_duration_seconds_count'), 2);
  assert.is(x.get('ganglion_checkpoint_last_bytes'), 70000);
  assert.is(x.get('ganglion_checkpoint_last_duration_seconds'), 0.08);
  assert.is(x.get('ganglion_checkpoint_failures_total'), 1);
  m.close();
});

test('readiness flag, snapshot listeners, and the automatic tick', async () => {
  const m = new Metrics({ tickMs: 30, processMetrics: false });
  assert.is(m.snapshot().ready, false);
  m.setReady(true);
  const keepAlive = setTimeout(() => {}, 5000); // the metrics timer is unref'd by design
  const seen = await new Promise<boolean>((resolve) => { const off = m.onSnapshot((s) => { off(); resolve(s.ready); }); });
  clearTimeout(keepAlive);
  assert.is(seen, true);
  assert.is((await scrape(m)).get('ganglion_ready'), 1);
  m.close();
  m.close(); // idempotent
});

test('process metrics are exported under the ganglion_ prefix', async () => {
  const m = new Metrics({ tickMs: 0 });
  const { body, contentType } = await m.exposition();
  assert.match(contentType, 'text/plain');
  assert.match(body, /^ganglion_process_resident_memory_bytes \d+/m);
  // CPU counts from the process start (prom-client's own counter would start at this first scrape, near 0).
  const cpu = Number(/^ganglion_process_cpu_seconds_total (\S+)$/m.exec(body)?.[1]);
  const used = process.cpuUsage();
  assert.ok(cpu > 0 && cpu <= (used.user + used.system) / 1e6 && cpu > 0.5 * (used.user + used.system) / 1e6, `cpu ${cpu} s against ${(used.user + used.system) / 1e6} s used`);
  m.close();
});

test.run();
