// Pipeline metrics: cheap counters on the hot path, everything else computed
// once per scrape or once per second.
//
// The hot path touches only plain numbers: `addEvents` / `addOutputs` add a
// batch count to a Map entry, `recordLatencyNs` records one value into an HDR
// histogram (the WASM engine of hdr-histogram-js) and bumps one bucket of a
// fixed Prometheus bucket array. Gauges (ring fill, state keys and bytes,
// backpressure) are not pushed at all: the runtime installs one collector
// callback, called at scrape time and by the one-second tick.
//
// Latency bookkeeping, all in nanoseconds (integers, as HDR wants them):
//
//   recordLatencyNs ─► second ──tick (1 s)──► ages[current] ─── every ageSeconds ──► rotate
//                        │                       ages[0..N-1]: the sliding window (N·age s)
//                        └► snapshot(): p50…p99.9 of the last completed second
//   /metrics: ganglion_latency_seconds{quantile} = percentiles of Σ ages  (like a
//             prom-client Summary with maxAgeSeconds / ageBuckets)
//             ganglion_latency_histogram_seconds_bucket{le} = cumulative since start
//
// The summary and the histogram carry different names because Prometheus forbids
// two families that would both expose `ganglion_latency_seconds_sum`.

// Deep imports: the package index also loads the log reader/writer and codecs
// we never use, paid in RSS and start-up time.
import { build as buildHistogram } from 'hdr-histogram-js/dist/HistogramBuilder.js';
import { initWebAssemblySync } from 'hdr-histogram-js/dist/wasm/index.js';
import type * as HistogramModule from 'hdr-histogram-js/dist/Histogram.js';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

// prom-client's index also loads the Pushgateway client and, through the
// default process collectors, @opentelemetry/api: start-up time and memory
// before the service is ready. The registry comes from its own module; the process
// collectors are loaded at the first scrape (see `exposition`), all but
// prom-client's CPU counter, which counts from its own registration and so
// would read ~0 at the first scrape of a busy process: the CPU counters here
// read process.cpuUsage() (every thread of the process, since it started).
const require_ = createRequire(import.meta.url);
const RegistryClass = require_('prom-client/lib/registry.js') as typeof Registry;

type Histogram = HistogramModule.default;

export type HistogramEngine = 'wasm' | 'js';

export interface RingState {
  partition: number;
  /** Capacity in records. */
  capacity: number;
  /** Records currently in the ring. */
  used: number;
  /** Cumulative nanoseconds the producer spent blocked on this full ring. */
  blockedNs: number;
}

export interface OperatorState {
  /** Operator name from the pipeline config. */
  name: string;
  keys: number;
  bytes: number;
  /** Cumulative, as reported by `Operator.stats()`. */
  evictions: number;
  /** Cumulative late events sent to the side output. */
  late: number;
  /** Cumulative events a filter operator dropped (dedup: repeats within its TTL). */
  dropped?: number;
}

export interface SourceState {
  name: string;
  /** Reading is paused because a ring is full. */
  paused: boolean;
  /** Cumulative seconds this source has spent paused. */
  pausedSeconds?: number;
}

export interface KeyDictionaryState {
  size: number;
  bytes: number;
  /** New strings refused, by the limit they hit. */
  refused: Record<string, number>;
}

/** What the collector callback returns; every part is optional. */
export interface CollectedState {
  rings?: RingState[];
  operators?: OperatorState[];
  sources?: SourceState[];
}

export interface LatencyPercentiles {
  /** Microseconds. */
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  /** Values recorded in the period. */
  count: number;
}

/** Plain JSON for the CLI status line and the dashboard feed. */
export interface MetricsSnapshot {
  /** Wall clock of the tick, ms since the epoch. */
  time: number;
  uptimeSeconds: number;
  /** Rates over the last completed tick. */
  eventsInPerSec: number;
  eventsOutPerSec: number;
  alertsPerSec: number;
  eventsInTotal: number;
  eventsOutTotal: number;
  alertsTotal: number;
  deadLettersTotal: number;
  /** Late outputs of every operator (an event late for two windows counts in each). */
  lateTotal: number;
  /** Latency (receive → the event's outputs at the sinks) of the events that completed in the last tick, one value per event. */
  latency: LatencyPercentiles;
  backpressure: {
    paused: boolean;
    pausedSources: string[];
    /** Share 0..1 of the last tick the sources spent paused (what the status line shows as %). */
    pausedRatio: number;
    /** Seconds the sources spent paused since start. */
    pausedSecondsTotal: number;
    /** Fill ratio 0..1 of the fullest ring. */
    maxRingFill: number;
  };
  ready: boolean;
}

export interface MetricsOptions {
  /** HDR engine; 'wasm' falls back to 'js' if WebAssembly cannot start. Default 'wasm'. */
  engine?: HistogramEngine;
  /** Registry to register into; a fresh one by default. */
  registry?: Registry;
  /** Also export Node's process metrics (RSS, heap, event loop lag). Default true. */
  processMetrics?: boolean;
  /** Tick period in ms (rates, last-second percentiles); 0 = call `tick()` yourself. Default 1000. */
  tickMs?: number;
  /** Sliding window of the quantile gauges: ageBuckets × ageSeconds. Default 6 × 10 s. */
  ageBuckets?: number;
  ageSeconds?: number;
}

/** Upper bounds of the Prometheus latency histogram, seconds: 1 µs … 10 s. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
  1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BUCKET_BOUNDS_NS = Float64Array.from(LATENCY_BUCKETS_SECONDS, (s) => Math.round(s * 1e9));

/** Quantiles exported as `ganglion_latency_seconds{quantile=...}`. */
const LATENCY_QUANTILES: readonly number[] = [0.5, 0.95, 0.99, 0.999];

/** prom-client's process collectors we export (its processCpuTotal is replaced, see the top of this file). */
const PROCESS_COLLECTORS = [
  'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors', 'eventLoopLag',
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc',
];

const CHECKPOINT_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];

// 1 ns resolution, one hour range, 3 significant digits: 0.1 % error on any value.
const HDR_REQUEST = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000_000,
  numberOfSignificantValueDigits: 3 as const,
  autoResize: true,
  bitBucketSize: 32 as const,
};

let wasmReady: boolean | undefined;
function wasmAvailable(): boolean {
  if (wasmReady === undefined) {
    try { initWebAssemblySync(); wasmReady = true; } catch { wasmReady = false; }
  }
  return wasmReady;
}

type Labels = Record<string, string | number>;
interface MetricValue { labels?: Labels; value: number; metricName?: string }
type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * A metric family whose values are computed at scrape time. prom-client's own
 * Counter/Gauge would need every value pushed into them; this keeps the data
 * where the pipeline already has it and lets the registry format it.
 */
class ComputedMetric {
  readonly aggregator = 'sum';
  constructor(readonly name: string, readonly help: string, readonly type: MetricType, private readonly values: () => MetricValue[]) {}
  get(): { name: string; help: string; type: MetricType; values: MetricValue[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function counterValues(map: Map<string, number>, label: string): MetricValue[] {
  return [...map].map(([k, v]) => ({ labels: { [label]: k }, value: v }));
}

export class Metrics {
  readonly registry: Registry;

  private readonly eventsIn = new Map<string, number>();
  private readonly eventsOut = new Map<string, number>();
  private readonly alerts = new Map<string, number>();
  private readonly deadLetters = new Map<string, number>();
  private totalIn = 0;
  private totalOut = 0;
  private totalAlerts = 0;
  private totalDead = 0;
  private duplicateFrames = 0;

  // The HDR histograms are built on first use or right after the service is
  // ready (setImmediate after setReady(true)), whichever comes first: starting
  // hdr-histogram-js's WASM engine takes long enough to matter on the path
  // to ready (partitions that run inline leave nothing to overlap).
  private hdr: { engine: HistogramEngine; second: Histogram; scratch: Histogram; ages: Histogram[] } | undefined;
  private readonly wantEngine: HistogramEngine;
  private readonly ageBuckets: number;
  private get second(): Histogram { return (this.hdr ??= this.buildHdr()).second; }
  private get scratch(): Histogram { return (this.hdr ??= this.buildHdr()).scratch; }
  private get ages(): Histogram[] { return (this.hdr ??= this.buildHdr()).ages; }
  /** 'wasm', or 'js' when asked for or when WebAssembly cannot start. */
  get engine(): HistogramEngine { return (this.hdr ??= this.buildHdr()).engine; }
  private ageIndex = 0;
  private ticksInAge = 0;
  private readonly ageTicks: number;
  private readonly bucketCounts = new Float64Array(BUCKET_BOUNDS_NS.length + 1);
  private latencySumNs = 0;
  private latencyCount = 0;

  private checkpointCount = 0;
  private checkpointFailures = 0;
  private checkpointSumSeconds = 0;
  private readonly checkpointBuckets = new Float64Array(CHECKPOINT_BUCKETS_SECONDS.length + 1);
  private lastCheckpointSeconds = 0;
  private lastCheckpointBytes = 0;

  /** Process collectors still to install (at the first scrape). */
  private processMetrics: boolean;
  private collector: () => CollectedState = () => ({});
  private keyDictionary: (() => KeyDictionaryState) | null = null;
  /** Forgets the readings a scrape shares between families (set by register()). */
  private freshScrape: () => void = () => undefined;
  private ready = false;
  private readonly startedAt = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;
  private last: MetricsSnapshot;
  private prev = { time: performance.now(), in: 0, out: 0, alerts: 0, pausedSeconds: 0 };
  private readonly listeners = new Set<(s: MetricsSnapshot) => void>();

  constructor(options: MetricsOptions = {}) {
    this.wantEngine = options.engine ?? 'wasm';
    this.ageBuckets = Math.max(1, options.ageBuckets ?? 6);
    const tickMs = options.tickMs ?? 1000;
    this.ageTicks = Math.max(1, Math.round(((options.ageSeconds ?? 10) * 1000) / (tickMs || 1000)));
    this.registry = options.registry ?? new RegistryClass();
    this.processMetrics = options.processMetrics ?? true;
    this.register();
    this.last = this.emptySnapshot();
    if (tickMs > 0) {
      this.timer = setInterval(() => this.tick(), tickMs);
      this.timer.unref(); // metrics never keep the process alive
    }
  }

  // ── hot path ────────────────────────────────────────────────────────────

  /** `n` events accepted from `source` (after decoding and validation). */
  addEvents(source: string, n: number): void {
    add(this.eventsIn, source, n);
    this.totalIn += n;
  }

  /** `n` outputs emitted by `operator`. */
  addOutputs(operator: string, n: number): void {
    add(this.eventsOut, operator, n);
    this.totalOut += n;
  }

  /** `n` alerts (anomalies, scores over threshold) raised by `operator`. */
  addAlerts(operator: string, n: number): void {
    add(this.alerts, operator, n);
    this.totalAlerts += n;
  }

  /** `n` frames or events sent to the dead-letter sink for `reason`. */
  addDeadLetters(reason: string, n: number): void {
    add(this.deadLetters, reason, n);
    this.totalDead += n;
  }

  /** `n` producer frames resent after they were logged: acked again, not ingested. */
  addDuplicateFrames(n: number): void {
    this.duplicateFrames += n;
  }

  /**
   * End-to-end latency of one event (or `count` events of the same batch):
   * receive until its outputs were emitted to the sinks, in ns. Pass a JS
   * number: the difference of two bigint ns timestamps fits exactly.
   */
  recordLatencyNs(ns: number, count = 1): void {
    const v = ns > 0 ? Math.round(ns) : 0;
    if (count === 1) this.second.recordValue(v);
    else this.second.recordValueWithCount(v, count);
    const b = BUCKET_BOUNDS_NS;
    // Binary search over 22 bounds: 5 comparisons.
    let lo = 0, hi = b.length;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (v <= b[mid]) hi = mid; else lo = mid + 1; }
    this.bucketCounts[lo] += count;
    this.latencySumNs += v * count;
    this.latencyCount += count;
  }

  // ── everything else ─────────────────────────────────────────────────────

  /** Ring fill, operator state and backpressure come from here (called per scrape and per tick). */
  setCollector(fn: () => CollectedState): void {
    this.collector = fn;
  }

  /** The key dictionary's size and refusals (read at scrape time). */
  setKeyDictionary(fn: () => KeyDictionaryState): void {
    this.keyDictionary = fn;
  }

  /** Readiness for `/ready`: the pipeline is running and its sources are listening. */
  setReady(ready: boolean): void {
    this.ready = ready;
    if (ready && !this.hdr) setImmediate(() => { if (!this.closed) this.hdr ??= this.buildHdr(); }).unref();
  }

  isReady(): boolean {
    return this.ready;
  }

  recordCheckpoint(c: { durationMs: number; bytes: number; ok: boolean }): void {
    if (!c.ok) { this.checkpointFailures++; return; }
    const s = c.durationMs / 1000;
    this.checkpointCount++;
    this.checkpointSumSeconds += s;
    let i = 0;
    while (i < CHECKPOINT_BUCKETS_SECONDS.length && s > CHECKPOINT_BUCKETS_SECONDS[i]) i++;
    this.checkpointBuckets[i]++;
    this.lastCheckpointSeconds = s;
    this.lastCheckpointBytes = c.bytes;
  }

  /** The snapshot of the last tick (before the first tick: zeros). */
  snapshot(): MetricsSnapshot {
    return this.last;
  }

  /** Called with every new snapshot (the dashboard feed). Returns the unsubscribe function. */
  onSnapshot(fn: (s: MetricsSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Closes the current one-second period: computes rates and last-second
   * percentiles, folds the second into the sliding window, notifies listeners.
   * Runs by itself every `tickMs`; tests with `tickMs: 0` call it directly.
   */
  tick(): MetricsSnapshot {
    if (this.closed) return this.last;
    const now = performance.now();
    const dt = Math.max(1e-3, (now - this.prev.time) / 1000);
    const h = this.second;
    const us = (p: number) => h.getValueAtPercentile(p) / 1000;
    const latency: LatencyPercentiles = h.totalCount === 0
      ? { p50: 0, p95: 0, p99: 0, p999: 0, max: 0, count: 0 }
      : { p50: us(50), p95: us(95), p99: us(99), p999: us(99.9), max: h.maxValue / 1000, count: h.totalCount };
    if (h.totalCount > 0) this.ages[this.ageIndex].add(h);
    h.reset();
    if (++this.ticksInAge >= this.ageTicks) {
      this.ticksInAge = 0;
      this.ageIndex = (this.ageIndex + 1) % this.ages.length;
      this.ages[this.ageIndex].reset();
    }
    const state = this.collect();
    const rings = state.rings ?? [];
    const sources = state.sources ?? [];
    const pausedSources = sources.filter((s) => s.paused).map((s) => s.name);
    // Sources pause together (any full ring pauses all): the longest-paused one is the pipeline's figure.
    const pausedSeconds = sources.reduce((m, s) => Math.max(m, s.pausedSeconds ?? 0), 0);
    this.last = {
      time: Date.now(),
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      eventsInPerSec: (this.totalIn - this.prev.in) / dt,
      eventsOutPerSec: (this.totalOut - this.prev.out) / dt,
      alertsPerSec: (this.totalAlerts - this.prev.alerts) / dt,
      eventsInTotal: this.totalIn,
      eventsOutTotal: this.totalOut,
      alertsTotal: this.totalAlerts,
      deadLettersTotal: this.totalDead,
      lateTotal: (state.operators ?? []).reduce((a, o) => a + o.late, 0),
      latency,
      backpressure: {
        paused: pausedSources.length > 0,
        pausedSources,
        pausedRatio: Math.min(1, Math.max(0, (pausedSeconds - this.prev.pausedSeconds) / dt)),
        pausedSecondsTotal: pausedSeconds,
        maxRingFill: rings.reduce((m, r) => Math.max(m, r.capacity > 0 ? r.used / r.capacity : 0), 0),
      },
      ready: this.ready,
    };
    this.prev = { time: now, in: this.totalIn, out: this.totalOut, alerts: this.totalAlerts, pausedSeconds };
    for (const fn of this.listeners) {
      try { fn(this.last); } catch { /* a broken listener must not stop the tick */ }
    }
    return this.last;
  }

  /** Prometheus text exposition of every metric. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    if (this.processMetrics) {
      this.processMetrics = false;
      // GC and event-loop-lag histograms therefore start at the first scrape:
      // what they would have seen before is the startup, not the service.
      const config = { prefix: 'ganglion_', eventLoopMonitoringPrecision: 10 };
      for (const name of PROCESS_COLLECTORS) {
        (require_(`prom-client/lib/metrics/${name}.js`) as (r: Registry, c: typeof config) => void)(this.registry, config);
      }
    }
    this.freshScrape();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stops the tick and frees the WASM histograms. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    if (this.hdr) for (const h of [this.hdr.second, this.hdr.scratch, ...this.hdr.ages]) h.destroy();
  }

  private buildHdr(): NonNullable<Metrics['hdr']> {
    const engine: HistogramEngine = this.wantEngine === 'wasm' && wasmAvailable() ? 'wasm' : 'js';
    const build = () => buildHistogram({ ...HDR_REQUEST, useWebAssembly: engine === 'wasm' });
    return { engine, second: build(), scratch: build(), ages: Array.from({ length: this.ageBuckets }, build) };
  }

  private collect(): CollectedState {
    try { return this.collector(); } catch { return {}; }
  }

  private emptySnapshot(): MetricsSnapshot {
    return {
      time: Date.now(), uptimeSeconds: 0, eventsInPerSec: 0, eventsOutPerSec: 0, alertsPerSec: 0,
      eventsInTotal: 0, eventsOutTotal: 0, alertsTotal: 0, deadLettersTotal: 0, lateTotal: 0,
      latency: { p50: 0, p95: 0, p99: 0, p999: 0, max: 0, count: 0 },
      backpressure: { paused: false, pausedSources: [], pausedRatio: 0, pausedSecondsTotal: 0, maxRingFill: 0 },
      ready: false,
    };
  }

  private register(): void {
    // One collector call per scrape, shared by every state-derived family: a
    // reading younger than 100 ms is reused (a scrape formats all families at once).
    let scrape: CollectedState = {};
    let scrapedAt = -Infinity;
    // exposition() starts every scrape with fresh readings (a scrape 50 ms after another must not see its state).
    this.freshScrape = () => { scrapedAt = -Infinity; cpuReadAt = -Infinity; };
    let cpuReadAt = -Infinity;
    const state = () => {
      const now = performance.now();
      if (now - scrapedAt > 100) { scrape = this.collect(); scrapedAt = now; }
      return scrape;
    };
    const m = (name: string, help: string, type: MetricType, values: () => MetricValue[]) =>
      this.registry.registerMetric(new ComputedMetric(name, help, type, values) as never);

    m('ganglion_events_in_total', 'Events accepted per source', 'counter', () => counterValues(this.eventsIn, 'source'));
    m('ganglion_events_out_total', 'Outputs emitted per operator', 'counter', () => counterValues(this.eventsOut, 'operator'));
    m('ganglion_alerts_total', 'Alerts (anomalies, scores over threshold) per operator', 'counter', () => counterValues(this.alerts, 'operator'));
    m('ganglion_dead_letters_total', 'Frames or events sent to the dead-letter sink, per reason', 'counter', () => counterValues(this.deadLetters, 'reason'));
    m('ganglion_duplicate_frames_total', 'Producer frames resent after they were logged (same producer id and seq): acknowledged again, not ingested', 'counter', () => [{ value: this.duplicateFrames }]);

    m('ganglion_latency_seconds', 'End-to-end latency, socket receive to sink emit (HDR percentiles over the sliding window)', 'summary', () => {
      const w = this.scratch;
      w.reset();
      for (const a of this.ages) if (a.totalCount > 0) w.add(a);
      if (this.second.totalCount > 0) w.add(this.second);
      const values: MetricValue[] = LATENCY_QUANTILES.map((q) => ({
        labels: { quantile: q }, value: w.totalCount === 0 ? 0 : w.getValueAtPercentile(q * 100) / 1e9,
      }));
      values.push({ metricName: 'ganglion_latency_seconds_sum', value: this.latencySumNs / 1e9 });
      values.push({ metricName: 'ganglion_latency_seconds_count', value: this.latencyCount });
      return values;
    });
    m('ganglion_latency_histogram_seconds', 'End-to-end latency, socket receive to sink emit (since start)', 'histogram', () => {
      const values: MetricValue[] = [];
      let cumulative = 0;
      for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) {
        cumulative += this.bucketCounts[i];
        values.push({ metricName: 'ganglion_latency_histogram_seconds_bucket', labels: { le: LATENCY_BUCKETS_SECONDS[i] }, value: cumulative });
      }
      values.push({ metricName: 'ganglion_latency_histogram_seconds_bucket', labels: { le: '+Inf' }, value: this.latencyCount });
      values.push({ metricName: 'ganglion_latency_histogram_seconds_sum', value: this.latencySumNs / 1e9 });
      values.push({ metricName: 'ganglion_latency_histogram_seconds_count', value: this.latencyCount });
      return values;
    });

    const rings = () => state().rings ?? [];
    m('ganglion_ring_fill_ratio', 'Input ring fill (used / capacity) per partition', 'gauge', () =>
      rings().map((r) => ({ labels: { partition: r.partition }, value: r.capacity > 0 ? r.used / r.capacity : 0 })));
    m('ganglion_ring_used_records', 'Records waiting in the input ring per partition', 'gauge', () =>
      rings().map((r) => ({ labels: { partition: r.partition }, value: r.used })));
    m('ganglion_ring_blocked_seconds_total', 'Time the producer spent blocked on a full ring, per partition', 'counter', () =>
      rings().map((r) => ({ labels: { partition: r.partition }, value: r.blockedNs / 1e9 })));

    const ops = () => state().operators ?? [];
    m('ganglion_state_keys', 'Live keys (for windows: live key-window states) in operator state, all partitions', 'gauge', () => ops().map((o) => ({ labels: { operator: o.name }, value: o.keys })));
    m('ganglion_state_bytes', 'Bytes of partition memory reserved for operator state (fixed-capacity tables: set at start)', 'gauge', () => ops().map((o) => ({ labels: { operator: o.name }, value: o.bytes })));
    m('ganglion_state_evictions_total', 'State entries evicted (TTL) or refused (window state at capacity: the event goes to the late output, reason state_evicted)', 'counter', () => ops().map((o) => ({ labels: { operator: o.name }, value: o.evictions })));
    m('ganglion_dropped_events_total', 'Events a filter operator dropped on purpose (dedup: repeats of a (key, id) within its TTL)', 'counter', () => ops().map((o) => ({ labels: { operator: o.name }, value: o.dropped ?? 0 })));
    m('ganglion_late_events_total', 'Events sent to the late side output', 'counter', () => ops().map((o) => ({ labels: { operator: o.name }, value: o.late })));

    m('ganglion_backpressure_paused', '1 while a source is paused because a ring is full', 'gauge', () =>
      (state().sources ?? []).map((s) => ({ labels: { source: s.name }, value: s.paused ? 1 : 0 })));
    m('ganglion_backpressure_paused_seconds_total', 'Time a source spent paused because a ring was full', 'counter', () =>
      (state().sources ?? []).map((s) => ({ labels: { source: s.name }, value: s.pausedSeconds ?? 0 })));
    m('ganglion_ready', '1 once the pipeline is running', 'gauge', () => [{ value: this.ready ? 1 : 0 }]);

    const dict = () => this.keyDictionary?.();
    m('ganglion_key_dictionary_keys', 'Distinct keys and string ids in the key dictionary (bounded by key_dictionary.max_keys)', 'gauge', () => { const d = dict(); return d ? [{ value: d.size }] : []; });
    m('ganglion_key_dictionary_bytes', 'UTF-8 bytes of the key dictionary\'s strings (bounded by key_dictionary.max_bytes)', 'gauge', () => { const d = dict(); return d ? [{ value: d.bytes }] : []; });
    m('ganglion_key_dictionary_refused_total', 'New keys refused into the dead-letter queue, per limit (key_too_long, max_keys, max_bytes)', 'counter', () => {
      const d = dict();
      return d ? Object.entries(d.refused).map(([limit, value]) => ({ labels: { limit }, value })) : [];
    });

    m('ganglion_checkpoint_duration_seconds', 'Checkpoint duration', 'histogram', () => {
      const values: MetricValue[] = [];
      let cumulative = 0;
      for (let i = 0; i < CHECKPOINT_BUCKETS_SECONDS.length; i++) {
        cumulative += this.checkpointBuckets[i];
        values.push({ metricName: 'ganglion_checkpoint_duration_seconds_bucket', labels: { le: CHECKPOINT_BUCKETS_SECONDS[i] }, value: cumulative });
      }
      values.push({ metricName: 'ganglion_checkpoint_duration_seconds_bucket', labels: { le: '+Inf' }, value: this.checkpointCount });
      values.push({ metricName: 'ganglion_checkpoint_duration_seconds_sum', value: this.checkpointSumSeconds });
      values.push({ metricName: 'ganglion_checkpoint_duration_seconds_count', value: this.checkpointCount });
      return values;
    });
    m('ganglion_checkpoint_last_duration_seconds', 'Duration of the last successful checkpoint', 'gauge', () => [{ value: this.lastCheckpointSeconds }]);
    m('ganglion_checkpoint_last_bytes', 'Size of the last successful checkpoint', 'gauge', () => [{ value: this.lastCheckpointBytes }]);
    m('ganglion_checkpoint_failures_total', 'Checkpoints that failed', 'counter', () => [{ value: this.checkpointFailures }]);

    if (this.processMetrics) {
      // Since the process started, all threads (the partition workers included);
      // one reading per scrape, so user + system = total.
      let usage = process.cpuUsage();
      const cpu = (pick: (u: NodeJS.CpuUsage) => number) => () => {
        const now = performance.now();
        if (now - cpuReadAt > 100) { usage = process.cpuUsage(); cpuReadAt = now; }
        return [{ value: pick(usage) / 1e6 }];
      };
      m('ganglion_process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', 'counter', cpu((u) => u.user));
      m('ganglion_process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', 'counter', cpu((u) => u.system));
      m('ganglion_process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', cpu((u) => u.user + u.system));
    }
  }
}
