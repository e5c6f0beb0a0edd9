// WASM side of the SPSC ring owned by host/ring/ring.ts (the layout diagram and
// the wake-up protocol are explained there; offsets below must match it, and
// test/assembly/ring.test.ts checks they do). Also holds `keysum`, a small
// real operator (per-key running count and sum) that consumes the ring in
// place: the partition worker's default test operator and the bench consumer.
import { IN_KEY, IN_SEQ, IN_TS, IN_FIELDS, IN_FLAGS, FLAG_CONTROL, OUT_BYTES, OUT_VALUES, OUT_WINDOW, OUT_LATE, writeOutHeader } from './records';

const RING_HEAD: usize = 0;
const RING_PRODUCER_WAITS: usize = 4;
const RING_CLOSED: usize = 8;
const RING_TAIL: usize = 64;
const RING_CONSUMER_SLEEPS: usize = 68;
const RING_MAGIC: usize = 128;
const RING_CAPACITY: usize = 132;
const RING_STRIDE: usize = 136;
const RING_HEADER_BYTES: usize = 192;
const RING_MAGIC_VALUE: u32 = 0x31474e52;

/** Packed offsets, read by the layout test. */
export function ring_layout_check(): u32 {
  return <u32>(RING_TAIL << 24) | <u32>(RING_MAGIC << 16) | <u32>(RING_HEADER_BYTES << 8) | <u32>(RING_CONSUMER_SLEEPS);
}

export function ring_is_ring(ring: usize): u32 {
  return load<u32>(ring + RING_MAGIC) == RING_MAGIC_VALUE ? 1 : 0;
}

// @ts-ignore: decorator
@inline function capacityOf(ring: usize): u32 { return load<u32>(ring + RING_CAPACITY); }
// @ts-ignore: decorator
@inline function strideOf(ring: usize): u32 { return load<u32>(ring + RING_STRIDE); }
// @ts-ignore: decorator
@inline function slotPtr(ring: usize, n: u32): usize {
  return ring + RING_HEADER_BYTES + <usize>(n & (capacityOf(ring) - 1)) * <usize>strideOf(ring);
}

// ---- consumer ----

/** Records published and not yet released. */
export function ring_available(ring: usize): u32 {
  return atomic.load<u32>(ring + RING_HEAD) - load<u32>(ring + RING_TAIL);
}

/** Pointer to the first unreleased record. */
export function ring_read_ptr(ring: usize): usize {
  return slotPtr(ring, load<u32>(ring + RING_TAIL));
}

/** How many of `n` records are contiguous from ring_read_ptr (records never straddle the end). */
export function ring_contiguous(ring: usize, n: u32): u32 {
  const left = capacityOf(ring) - (load<u32>(ring + RING_TAIL) & (capacityOf(ring) - 1));
  return n < left ? n : left;
}

export function ring_release(ring: usize, n: u32): void {
  atomic.store<u32>(ring + RING_TAIL, load<u32>(ring + RING_TAIL) + n);
  if (atomic.load<u32>(ring + RING_PRODUCER_WAITS) != 0) atomic.notify(ring + RING_TAIL, 1);
}

export function ring_closed(ring: usize): u32 {
  return atomic.load<u32>(ring + RING_CLOSED);
}

/**
 * Spins `spins` polls, then sleeps on head for at most `timeoutNs` (sleeping
 * flag set first, head re-checked: no lost wake-up). Returns ring_available.
 */
export function ring_wait(ring: usize, spins: u32, timeoutNs: i64): u32 {
  let n = ring_available(ring);
  for (let i: u32 = 0; i < spins && n == 0; i++) n = ring_available(ring);
  if (n != 0 || ring_closed(ring) != 0) return n;
  atomic.store<u32>(ring + RING_CONSUMER_SLEEPS, 1);
  const seen = atomic.load<u32>(ring + RING_HEAD);
  if (seen == load<u32>(ring + RING_TAIL) && ring_closed(ring) == 0) {
    atomic.wait<i32>(ring + RING_HEAD, <i32>seen, timeoutNs);
  }
  atomic.store<u32>(ring + RING_CONSUMER_SLEEPS, 0);
  return ring_available(ring);
}

// ---- producer ----

/** Free slots. */
export function ring_room(ring: usize): u32 {
  return capacityOf(ring) - (load<u32>(ring + RING_HEAD) - atomic.load<u32>(ring + RING_TAIL));
}

/**
 * Copies up to `count` records of the ring's stride from `src` and publishes
 * them with one atomic store; returns how many fitted.
 */
export function ring_push(ring: usize, src: usize, count: u32): u32 {
  const room = ring_room(ring);
  const n = count < room ? count : room;
  if (n == 0) return 0;
  const head = load<u32>(ring + RING_HEAD);
  const cap = capacityOf(ring);
  const stride = <usize>strideOf(ring);
  const slot = head & (cap - 1);
  const first = n < cap - slot ? n : cap - slot;
  memory.copy(slotPtr(ring, head), src, <usize>first * stride);
  if (n > first) memory.copy(ring + RING_HEADER_BYTES, src + <usize>first * stride, <usize>(n - first) * stride);
  atomic.store<u32>(ring + RING_HEAD, head + n);
  if (atomic.load<u32>(ring + RING_CONSUMER_SLEEPS) != 0) atomic.notify(ring + RING_HEAD, 1);
  return n;
}

// ---- keysum: per-key running count and sum of one field ----
//
// Region layout (allocated by the host, 64-byte aligned):
//
//   0        4       8         12        16        20       24       28
//   ┌────────┬───────┬─────────┬─────────┬─────────┬────────┬────────┬──────────┐
//   │slots u32│op u32│field u32│outCap u32│outCount│live u32│late u32│overflow  │
//   ├────────┴───────┴─────────┴─────────┴─────────┴────────┴────────┴──────────┤
//   32 watermark i64 (starts at i64.MIN)   40 .. 64 reserved
//   64            table: slots × 32 B  { key+1 u32 | dirty u32 | lastSeq u64 | count f64 | sum f64 }
//   64+32·slots   output area: outCap × 128 B output records
//
// Semantics (the JS twin in host/partition/keysum.ts does the same):
//   data record, ts > watermark → the key's count += 1, sum += f[field], marked dirty
//   data record, ts ≤ watermark → OUT_LATE (v0 = the field), never silently dropped
//   watermark W (monotonic)     → one OUT_WINDOW per dirty key: end = W, seq = last
//                                 seq seen, v0 = count, v1 = sum (running totals)
// A full table or output area is counted in `overflow` (the host wrapper then
// throws): slots must exceed the distinct keys and outCap ≥ slots + batch.

const KS_SLOTS: usize = 0;
const KS_OP: usize = 4;
const KS_FIELD: usize = 8;
const KS_OUT_CAP: usize = 12;
const KS_OUT_COUNT: usize = 16;
const KS_LIVE: usize = 20;
const KS_LATE: usize = 24;
const KS_OVERFLOW: usize = 28;
const KS_WATERMARK: usize = 32;
const KS_TABLE: usize = 64;
const KS_ENTRY: usize = 32;

export function ring_keysum_bytes(slots: u32, outCap: u32): usize {
  return KS_TABLE + <usize>slots * KS_ENTRY + <usize>outCap * <usize>OUT_BYTES;
}

/** `slots` must be a power of two. */
export function ring_keysum_init(region: usize, slots: u32, op: u32, field: u32, outCap: u32): void {
  memory.fill(region, 0, ring_keysum_bytes(slots, outCap));
  store<u32>(region + KS_SLOTS, slots);
  store<u32>(region + KS_OP, op);
  store<u32>(region + KS_FIELD, field);
  store<u32>(region + KS_OUT_CAP, outCap);
  store<i64>(region + KS_WATERMARK, i64.MIN_VALUE);
}

// @ts-ignore: decorator
@inline function fmix32(h: u32): u32 {
  h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16;
  return h;
}

// @ts-ignore: decorator
@inline function outPtr(region: usize): usize {
  return region + KS_TABLE + <usize>load<u32>(region + KS_SLOTS) * KS_ENTRY;
}

function emit(region: usize): usize {
  const n = load<u32>(region + KS_OUT_COUNT);
  if (n >= load<u32>(region + KS_OUT_CAP)) {
    store<u32>(region + KS_OVERFLOW, load<u32>(region + KS_OVERFLOW) + 1);
    return 0;
  }
  store<u32>(region + KS_OUT_COUNT, n + 1);
  const at = outPtr(region) + <usize>n * <usize>OUT_BYTES;
  memory.fill(at, 0, OUT_BYTES);
  return at;
}

export function ring_keysum_process(region: usize, ptr: usize, count: u32, stride: u32): void {
  const mask = load<u32>(region + KS_SLOTS) - 1;
  const fieldAt = IN_FIELDS + (<usize>load<u32>(region + KS_FIELD) << 3);
  const wm = load<i64>(region + KS_WATERMARK);
  const op = load<u32>(region + KS_OP);
  for (let i: u32 = 0; i < count; i++) {
    const rec = ptr + <usize>i * <usize>stride;
    if ((load<u32>(rec + IN_FLAGS) & FLAG_CONTROL) != 0) continue;
    const ts = load<i64>(rec + IN_TS);
    const key = load<u32>(rec + IN_KEY);
    const seq = load<u64>(rec + IN_SEQ);
    const v = load<f64>(rec + fieldAt);
    if (ts <= wm) {
      store<u32>(region + KS_LATE, load<u32>(region + KS_LATE) + 1);
      const o = emit(region);
      if (o != 0) {
        writeOutHeader(o, OUT_LATE, op, key, 0, ts, ts, seq);
        store<f64>(o + OUT_VALUES, v);
      }
      continue;
    }
    let s = fmix32(key) & mask;
    let found: usize = 0;
    for (let probe: u32 = 0; probe <= mask; probe++) {
      const e = region + KS_TABLE + <usize>s * KS_ENTRY;
      const k = load<u32>(e);
      if (k == key + 1) { found = e; break; }
      if (k == 0) {
        store<u32>(e, key + 1);
        store<u32>(region + KS_LIVE, load<u32>(region + KS_LIVE) + 1);
        found = e;
        break;
      }
      s = (s + 1) & mask;
    }
    if (found == 0) {
      store<u32>(region + KS_OVERFLOW, load<u32>(region + KS_OVERFLOW) + 1);
      continue;
    }
    store<u32>(found + 4, 1);
    if (seq > load<u64>(found + 8)) store<u64>(found + 8, seq);
    store<f64>(found + 16, load<f64>(found + 16) + 1.0);
    store<f64>(found + 24, load<f64>(found + 24) + v);
  }
}

export function ring_keysum_watermark(region: usize, wm: i64): void {
  if (wm <= load<i64>(region + KS_WATERMARK)) return;
  store<i64>(region + KS_WATERMARK, wm);
  const slots = load<u32>(region + KS_SLOTS);
  const op = load<u32>(region + KS_OP);
  for (let s: u32 = 0; s < slots; s++) {
    const e = region + KS_TABLE + <usize>s * KS_ENTRY;
    if (load<u32>(e + 4) == 0) continue;
    store<u32>(e + 4, 0);
    const o = emit(region);
    if (o == 0) continue;
    writeOutHeader(o, OUT_WINDOW, op, load<u32>(e) - 1, 0, 0, wm, load<u64>(e + 8));
    store<f64>(o + OUT_VALUES, load<f64>(e + 16));
    store<f64>(o + OUT_VALUES + 8, load<f64>(e + 24));
  }
}

export function ring_keysum_out_ptr(region: usize): usize { return outPtr(region); }
export function ring_keysum_out_count(region: usize): u32 { return load<u32>(region + KS_OUT_COUNT); }
export function ring_keysum_clear(region: usize): void { store<u32>(region + KS_OUT_COUNT, 0); }
export function ring_keysum_live(region: usize): u32 { return load<u32>(region + KS_LIVE); }
export function ring_keysum_late(region: usize): u32 { return load<u32>(region + KS_LATE); }
export function ring_keysum_overflow(region: usize): u32 { return load<u32>(region + KS_OVERFLOW); }

// ---- the bench / stress consumer: drain a ring until it is closed ----

/**
 * Consumes records until the ring is closed and empty, adding f0 into
 * table[key & mask] (f64 per slot) and checking that seq increases by one per
 * record (the stress test's loss/duplication detector: returns the number of
 * gaps + duplicates in the high half). Returns records consumed + 2^32·errors
 * as f64 (exact below 2^53).
 */
export function ring_sum_drain(ring: usize, table: usize, mask: u32, spins: u32, timeoutNs: i64): f64 {
  const stride = <usize>strideOf(ring);
  let total: u64 = 0;
  let errors: u64 = 0;
  let expect: u64 = 0;
  while (true) {
    let n = ring_available(ring);
    if (n == 0) {
      n = ring_wait(ring, spins, timeoutNs);
      if (n == 0) {
        if (ring_closed(ring) != 0 && ring_available(ring) == 0) break;
        continue;
      }
    }
    while (n > 0) {
      const run = ring_contiguous(ring, n);
      let p = ring_read_ptr(ring);
      for (let i: u32 = 0; i < run; i++) {
        const seq = load<u64>(p + IN_SEQ);
        if (seq != expect) errors++;
        expect = seq + 1;
        const slot = table + (<usize>(load<u32>(p + IN_KEY) & mask) << 3);
        store<f64>(slot, load<f64>(slot) + load<f64>(p + IN_FIELDS));
        p += stride;
      }
      ring_release(ring, run);
      total += run;
      n -= run;
    }
  }
  return <f64>(total + (errors << 32));
}
