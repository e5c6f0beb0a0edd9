// WASM side of the SPSC ring owned by host/ring/ring.ts (the layout diagram and
// the wake-up protocol are explained there; offsets below must match it, and
// test/assembly/ring.test.ts checks they do), and ring_sum_drain, a consumer
// that empties a ring from WASM. Production never reads a ring from WASM (the
// partition runner hands operators pointers into the ring), so this is in the
// bench build only (assembly/bench.ts): the ring bench and the ring stress
// tests use it to drive the protocol from both languages.
import { IN_KEY, IN_SEQ, IN_FIELDS } from '../shared/records';

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
