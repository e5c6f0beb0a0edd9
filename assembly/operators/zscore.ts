// Z-score anomaly check: per key, is the new value far from what this key
// usually does? host/operators/zscore.ts owns the JS twin and the wrapper; both
// read and write exactly this layout, so a snapshot is a byte copy of a region.
//
// Region (all offsets relative to `base`, so a region can be restored anywhere):
//
//   0                     128                       outOffset              end
//   ┌─────────────────────┬─────────────────────────┬─────────────────────┐
//   │ header (below)      │ state table             │ output records      │
//   │                     │ key → per-key stats     │ outCapacity × 128 B │
//   └─────────────────────┴─────────────────────────┴─────────────────────┘
//
// Header, 128 bytes:
//
//    0 magic u32 'ZSC1'   4 version u32     8 mode u32       12 direction u32
//   16 field u32         20 window u32     24 minSamples u32 28 flags u32 (bit 0 emitAll)
//   32 op u32            36 capacity u32   40 valueBytes u32 44 outCapacity u32
//   48 outCount u32      52 (zero)         56 threshold f64  64 alpha f64
//   72 epsilon f64       80 ttlNs i64      88 tableOffset u32 92 outOffset u32
//   96 events u64       104 anomalies u64 112 skipped u64   120 dropped u64
//
// Per-key value in the state table:
//
//   ewma    0 n u32 │ 4 (zero) │  8 mean f64 │ 16 variance f64                 (24 B)
//   window  0 n u32 │ 4 head u32 │ 8 mean f64 │ 16 m2 f64 │ 24 run u32 │ 28 (zero) │ 32 ring f64 × N
//           (32 + 8N B; head = next ring slot to write, run = how many of the
//           latest values are identical)
//
// n counts the samples the statistics describe (window: at most N). The event
// is scored against the statistics BEFORE it is folded in, so a spike cannot
// dampen its own z. Variance is the population variance (divide by n).
//
// Why `run`: Welford's removal step leaves rounding residue in m2 once the
// varied values have left the window (a quote stuck at 1000.0 after moving
// around shows stddev 6e-8, not 0, so a 0.5 move scores z ≈ 8e6 instead of
// +Infinity). Knowing the window is all one value makes stddev exactly 0; a
// full two-pass recompute every N updates bounds the drift otherwise, at O(1)
// amortised cost.
import { stUpsert } from '../shared/state_table';
import { IN_TS, IN_SEQ, IN_KEY, IN_FLAGS, IN_FIELDS, FLAG_CONTROL, OUT_BYTES, OUT_ANOMALY } from '../shared/records';
import { regionBytes, regionInit, writePointOutput } from '../shared/region_operator';

const ZS_MAGIC: u32 = 0x3143535a; // 'ZSC1' little-endian
const ZS_VERSION: u32 = 1;
const ZS_HEADER_BYTES: u32 = 128;

const ZS_MODE_EWMA: u32 = 0;
const ZS_MODE_WINDOW: u32 = 1;
const ZS_DIR_BOTH: u32 = 0;
const ZS_DIR_ABOVE: u32 = 1;
const ZS_DIR_BELOW: u32 = 2;
const ZS_FLAG_EMIT_ALL: u32 = 1;
/** aux of an output record: set when the event crossed the threshold. */
const ZS_AUX_ANOMALY: u32 = 1;

const H_MODE: usize = 8;
const H_DIRECTION: usize = 12;
const H_FIELD: usize = 16;
const H_WINDOW: usize = 20;
const H_MIN_SAMPLES: usize = 24;
const H_FLAGS: usize = 28;
const H_OP: usize = 32;
const H_CAPACITY: usize = 36;
const H_VALUE_BYTES: usize = 40;
const H_OUT_CAPACITY: usize = 44;
const H_OUT_COUNT: usize = 48;
const H_THRESHOLD: usize = 56;
const H_ALPHA: usize = 64;
const H_EPSILON: usize = 72;
const H_TTL: usize = 80;
const H_TABLE: usize = 88;
const H_OUT: usize = 92;
const H_EVENTS: usize = 96;
const H_ANOMALIES: usize = 104;
const H_SKIPPED: usize = 112;
const H_DROPPED: usize = 120;

const V_N: usize = 0;
const V_HEAD: usize = 4;
const V_MEAN: usize = 8;
const V_VAR: usize = 16; // ewma: variance; window: m2 (sum of squared deviations)
const V_RUN: usize = 24;
const V_RING: usize = 32;

/** Bytes of one key's statistics in the state table. */
function zscore_value_bytes(mode: u32, window: u32): u32 {
  return mode == ZS_MODE_WINDOW ? 32 + 8 * window : 24;
}

/** Bytes a region needs: header + state table + output area. */
export function zscore_bytes(mode: u32, window: u32, capacity: u32, outCapacity: u32): usize {
  return regionBytes(ZS_HEADER_BYTES, capacity, zscore_value_bytes(mode, window), outCapacity);
}

/** Lays out a fresh region at `base` (which must be 64-byte aligned). */
export function zscore_init(
  base: usize, mode: u32, direction: u32, field: u32, window: u32, minSamples: u32, flags: u32, op: u32,
  capacity: u32, outCapacity: u32, threshold: f64, alpha: f64, epsilon: f64, ttlNs: i64,
): void {
  const valueBytes = zscore_value_bytes(mode, window);
  regionInit(base, ZS_HEADER_BYTES, ZS_MAGIC, ZS_VERSION, H_TABLE, H_OUT, capacity, valueBytes, ttlNs);
  store<u32>(base + H_MODE, mode);
  store<u32>(base + H_DIRECTION, direction);
  store<u32>(base + H_FIELD, field);
  store<u32>(base + H_WINDOW, window);
  store<u32>(base + H_MIN_SAMPLES, minSamples);
  store<u32>(base + H_FLAGS, flags);
  store<u32>(base + H_OP, op);
  store<u32>(base + H_CAPACITY, capacity);
  store<u32>(base + H_VALUE_BYTES, valueBytes);
  store<u32>(base + H_OUT_CAPACITY, outCapacity);
  store<f64>(base + H_THRESHOLD, threshold);
  store<f64>(base + H_ALPHA, alpha);
  store<f64>(base + H_EPSILON, epsilon);
  store<i64>(base + H_TTL, ttlNs);
}

/** Exact two-pass mean and m2 of the `n` ring samples: resets rounding drift. */
function recompute(v: usize, n: u32): void {
  let sum: f64 = 0;
  for (let i: u32 = 0; i < n; i++) sum += load<f64>(v + V_RING + (<usize>i << 3));
  const mean = sum / <f64>n;
  let m2: f64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = load<f64>(v + V_RING + (<usize>i << 3)) - mean;
    m2 += d * d;
  }
  store<f64>(v + V_MEAN, mean);
  store<f64>(v + V_VAR, m2);
}

// Folds x into a window key's statistics (Welford, with removal once full).
// @ts-ignore: decorator
@inline
function windowAdd(v: usize, window: u32, n: u32, mean: f64, x: f64): void {
  let head = load<u32>(v + V_HEAD);
  let m2 = load<f64>(v + V_VAR);
  const slot = v + V_RING + (<usize>head << 3);
  const previous = v + V_RING + (<usize>(head == 0 ? window - 1 : head - 1) << 3);
  let run: u32 = n > 0 && load<f64>(previous) == x ? load<u32>(v + V_RUN) + 1 : 1;
  if (run > window) run = window;
  if (n < window) {
    n++;
    const d = x - mean;
    mean += d / <f64>n;
    m2 += d * (x - mean);
  } else {
    const y = load<f64>(slot);
    const newMean = mean + (x - y) / <f64>n;
    m2 += (x - y) * (x - newMean + y - mean);
    mean = newMean;
  }
  store<f64>(slot, x);
  if (m2 < 0) m2 = 0;
  head++;
  if (head == window) head = 0;
  store<u32>(v + V_N, n);
  store<u32>(v + V_HEAD, head);
  store<u32>(v + V_RUN, run);
  if (run >= n) {
    store<f64>(v + V_MEAN, x);
    store<f64>(v + V_VAR, 0);
  } else if (head == 0) {
    recompute(v, n);
  } else {
    store<f64>(v + V_MEAN, mean);
    store<f64>(v + V_VAR, m2);
  }
}

/**
 * Scores and folds in `count` input records of `stride` bytes at `ptr`.
 * Returns how many were consumed: fewer than `count` only when the output area
 * is full (each event emits at most one record, so it stops before an event
 * it might not have room for); the caller drains and resumes from there.
 */
export function zscore_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  const mode = load<u32>(base + H_MODE);
  const direction = load<u32>(base + H_DIRECTION);
  const fieldAt = IN_FIELDS + (<usize>load<u32>(base + H_FIELD) << 3);
  const window = load<u32>(base + H_WINDOW);
  const minSamples = load<u32>(base + H_MIN_SAMPLES);
  const emitAll = (load<u32>(base + H_FLAGS) & ZS_FLAG_EMIT_ALL) != 0;
  const op = load<u32>(base + H_OP);
  const outCapacity = load<u32>(base + H_OUT_CAPACITY);
  const threshold = load<f64>(base + H_THRESHOLD);
  const alpha = load<f64>(base + H_ALPHA);
  const epsilon = load<f64>(base + H_EPSILON);
  const table = base + load<u32>(base + H_TABLE);
  const outBase = base + load<u32>(base + H_OUT);
  let outCount = load<u32>(base + H_OUT_COUNT);
  let events = load<u64>(base + H_EVENTS);
  let anomalies = load<u64>(base + H_ANOMALIES);
  let skipped = load<u64>(base + H_SKIPPED);
  let dropped = load<u64>(base + H_DROPPED);

  let i: u32 = 0;
  for (; i < count; i++) {
    if (outCount >= outCapacity) break;
    const rec = ptr + <usize>i * stride;
    if ((load<u32>(rec + IN_FLAGS) & FLAG_CONTROL) != 0) continue;
    const x = load<f64>(rec + fieldAt);
    // NaN/±Inf would poison the key's statistics forever: count and skip.
    if (!isFinite<f64>(x)) { skipped++; continue; }
    const ts = load<i64>(rec + IN_TS);
    const key = load<u32>(rec + IN_KEY);
    const v = stUpsert(table, <u64>key, ts);
    if (v == 0) { dropped++; continue; }
    events++;

    const n = load<u32>(v + V_N);
    const mean = load<f64>(v + V_MEAN);
    if (n >= minSamples) {
      const variance = mode == ZS_MODE_WINDOW ? load<f64>(v + V_VAR) / <f64>n : load<f64>(v + V_VAR);
      const std = Math.sqrt(variance);
      const d = x - mean;
      // A move of at most epsilon is never an anomaly, whatever its z: with
      // stddev 0 every move would otherwise be one (z = ±Infinity).
      const moved = Math.abs(d) > epsilon;
      let z: f64 = 0;
      if (std > 0) z = d / std;
      else if (moved) z = d > 0 ? Infinity : -Infinity;
      const hit = moved && (direction == ZS_DIR_BOTH ? Math.abs(z) >= threshold
        : direction == ZS_DIR_ABOVE ? z >= threshold
        : z <= -threshold);
      if (hit) anomalies++;
      if (hit || emitAll) {
        writePointOutput(outBase + <usize>outCount * OUT_BYTES, OUT_ANOMALY, op, key, hit ? ZS_AUX_ANOMALY : 0,
          ts, load<u64>(rec + IN_SEQ), x, mean, std, z, <f64>n);
        outCount++;
      }
    }

    if (mode == ZS_MODE_WINDOW) {
      windowAdd(v, window, n, mean, x);
    } else if (n == 0) {
      store<u32>(v + V_N, 1);
      store<f64>(v + V_MEAN, x);
      store<f64>(v + V_VAR, 0);
    } else {
      // West/Finch incremental EWMA variance: one pass, no stored history.
      const d = x - mean;
      const incr = alpha * d;
      store<f64>(v + V_MEAN, mean + incr);
      store<f64>(v + V_VAR, (1 - alpha) * (load<f64>(v + V_VAR) + d * incr));
      if (n != u32.MAX_VALUE) store<u32>(v + V_N, n + 1);
    }
  }

  store<u32>(base + H_OUT_COUNT, outCount);
  store<u64>(base + H_EVENTS, events);
  store<u64>(base + H_ANOMALIES, anomalies);
  store<u64>(base + H_SKIPPED, skipped);
  store<u64>(base + H_DROPPED, dropped);
  return i;
}
