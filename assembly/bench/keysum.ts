// keysum: a small, exact operator (per-key running count and sum of one
// field, emitted for every changed key when the watermark advances; events at
// or behind the watermark go to the late side output). It is sensitive to
// watermark placement, which is what the N-partition equivalence tests need.
// Tests only: in the bench build (assembly/bench.ts), not reachable from a
// pipeline; its host side and JS twin are test/helpers/keysum.ts.
import { IN_KEY, IN_SEQ, IN_TS, IN_FIELDS, IN_FLAGS, FLAG_CONTROL, OUT_BYTES, OUT_VALUES, OUT_WINDOW, OUT_LATE, writeOutHeader } from '../shared/records';

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
// Semantics (the JS twin in test/helpers/keysum.ts does the same):
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

export function keysum_bytes(slots: u32, outCap: u32): usize {
  return KS_TABLE + <usize>slots * KS_ENTRY + <usize>outCap * <usize>OUT_BYTES;
}

/** `slots` must be a power of two. */
export function keysum_init(region: usize, slots: u32, op: u32, field: u32, outCap: u32): void {
  memory.fill(region, 0, keysum_bytes(slots, outCap));
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

export function keysum_process(region: usize, ptr: usize, count: u32, stride: u32): void {
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

export function keysum_watermark(region: usize, wm: i64): void {
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

export function keysum_out_ptr(region: usize): usize { return outPtr(region); }
export function keysum_out_count(region: usize): u32 { return load<u32>(region + KS_OUT_COUNT); }
export function keysum_clear(region: usize): void { store<u32>(region + KS_OUT_COUNT, 0); }
export function keysum_live(region: usize): u32 { return load<u32>(region + KS_LIVE); }
export function keysum_late(region: usize): u32 { return load<u32>(region + KS_LATE); }
export function keysum_overflow(region: usize): u32 { return load<u32>(region + KS_OVERFLOW); }
