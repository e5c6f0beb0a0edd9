// Event time and the region every window operator owns. The window files
// (tumbling, sliding, session, count) keep only their window logic; the
// watermark, the output buffer, late side output and the deterministic firing
// order live here once.
//
// Window operator region (offsets from base; the host writes the config part,
// then calls <window>_init):
//
//   0   op u32          4  valueField u32   8  priceField i32   12 qtyField i32   (-1 = no VWAP)
//   16  outCap u32      20 outCount u32     24 tableOff u32     28 scratchOff u32
//   32  outOff u32      36 activity u32     40 size i64 (window / gap / N)
//   48  slide i64       56 pane i64         64 offset i64       72 outOfOrder i64
//   80  lateness i64    88 idleTimeout i64  96 maxTs i64        104 watermark i64
//   112 nextFire i64    120 nextPurge i64   128 lastActivity i64
//   136 late u64        144 refused u64     152 overflow u64    160 perKey u32
//   164 capacity u32    168 sideOff u32     172 aggMask u32 (bit i = AGG i)
//   176..184 reserved (sliding: 176 last round)
//   184 enrichCount u32 188 enrich[8] u32 (aggregate << 16 | field)   220 layout u32 (host:
//   STATE_LAYOUT, checked on restore)   224 period i64 (sliding: a cumulate
//   window's max size, 0 for hopping)   232..256 reserved
//   256 state table  │ firing scratch (scratchBytes) │ output (outCap × 128 B)
//
// Semantics (documented in docs/operators/windows.md):
//   watermark  = max(max event time − outOfOrder, host watermarks, idle advance)
//              advanced after every event (punctuated), so output never depends
//              on how the input was cut into batches.
//   a window [start, end) fires when watermark ≥ end;
//   an event whose window already fired updates it and re-emits it as
//              OUT_REVISION while watermark ≤ end + lateness; beyond that it goes
//              to OUT_LATE (aux = LATE_TOO_LATE); window state is freed once
//              watermark > end + lateness.
//   idle: the host calls <window>_advance_idle(nowProcessingNs) periodically;
//              after idleTimeout of processing time without input the watermark
//              follows processing time: maxTs − outOfOrder + (now − lastActivity).
//   firing order within one watermark step: by window end, then key.
//   enrichment: after an event is applied, each configured aggregate of the
//              key's current window (including the event) is written into the
//              record's f64 field, in place, for later operators of the
//              pipeline; an event sent to the late output gets NaN there.

import { OUT_BYTES, OUT_LATE, OUT_VALUES, writeOutHeader, IN_FIELDS } from './records';
import { aggFinish, aggValue, aggNeeds, A_MAX_SEQ } from './aggregates';

export const W_HEADER: usize = 256;
export const W_OP: usize = 0;
export const W_VALUE_FIELD: usize = 4;
export const W_PRICE_FIELD: usize = 8;
export const W_QTY_FIELD: usize = 12;
export const W_OUT_CAP: usize = 16;
export const W_OUT_COUNT: usize = 20;
export const W_TABLE_OFF: usize = 24;
export const W_SCRATCH_OFF: usize = 28;
export const W_OUT_OFF: usize = 32;
export const W_ACTIVITY: usize = 36;
export const W_SIZE: usize = 40;
export const W_SLIDE: usize = 48;
export const W_PANE: usize = 56;
export const W_OFFSET: usize = 64;
export const W_OOO: usize = 72;
export const W_LATENESS: usize = 80;
export const W_IDLE: usize = 88;
export const W_MAX_TS: usize = 96;
export const W_WATERMARK: usize = 104;
export const W_NEXT_FIRE: usize = 112;
export const W_NEXT_PURGE: usize = 120;
export const W_LAST_ACTIVITY: usize = 128;
export const W_LATE: usize = 136;
export const W_REFUSED: usize = 144;
export const W_OVERFLOW: usize = 152;
export const W_PER_KEY: usize = 160;
export const W_CAPACITY: usize = 164;
export const W_SIDE_OFF: usize = 168;
export const W_AGG_MASK: usize = 172;
export const W_ENRICH_N: usize = 184;
export const W_ENRICH: usize = 188;

export const LATE_TOO_LATE: u32 = 1;
export const LATE_STATE_FULL: u32 = 2;

export const NEVER: i64 = i64.MAX_VALUE;
export const NO_TIME: i64 = i64.MIN_VALUE;

/** Resets the event-time state (the config part was written by the host). */
export function etInit(base: usize): void {
  store<u32>(base + W_OUT_COUNT, 0);
  store<u32>(base + W_ACTIVITY, 1);
  store<i64>(base + W_MAX_TS, NO_TIME);
  store<i64>(base + W_WATERMARK, NO_TIME);
  store<i64>(base + W_NEXT_FIRE, NEVER);
  store<i64>(base + W_NEXT_PURGE, NEVER);
  store<i64>(base + W_LAST_ACTIVITY, NO_TIME);
  store<u64>(base + W_LATE, 0);
  store<u64>(base + W_REFUSED, 0);
  store<u64>(base + W_OVERFLOW, 0);
}

/** The window's state table (split table for tumbling, state_table.ts for the others). */
// @ts-ignore: decorator
@inline
export function etTable(base: usize): usize {
  return base + <usize>load<u32>(base + W_TABLE_OFF);
}

/** Byte offset in an input record of the f64 field whose index the header holds at `at` (no field, −1: field 0). */
// @ts-ignore: decorator
@inline
export function etFieldAt(base: usize, at: usize): usize {
  return IN_FIELDS + (<usize>max<i32>(load<i32>(base + at), 0) << 3);
}

/** Whether the window has VWAP inputs (price and quantity fields). */
// @ts-ignore: decorator
@inline
export function etHasVwap(base: usize): bool {
  return load<i32>(base + W_PRICE_FIELD) >= 0 && load<i32>(base + W_QTY_FIELD) >= 0;
}

/** When anything is next due: the earlier of the next firing and the next purge. */
// @ts-ignore: decorator
@inline
export function etDue(base: usize): i64 {
  const f = load<i64>(base + W_NEXT_FIRE), p = load<i64>(base + W_NEXT_PURGE);
  return f < p ? f : p;
}

/**
 * Moves the watermark to `watermark` if that is later; true when something is
 * then due (the caller fires). NO_TIME, what etIdleWatermark returns for a
 * feed that is not idle, never moves it.
 */
// @ts-ignore: decorator
@inline
export function etAdvance(base: usize, watermark: i64): bool {
  if (watermark <= load<i64>(base + W_WATERMARK)) return false;
  store<i64>(base + W_WATERMARK, watermark);
  return watermark >= etDue(base);
}

// @ts-ignore: decorator
@inline
export function floorDiv(a: i64, b: i64): i64 {
  const q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/** Next output record, or 0 when the buffer is full (counted; the host's
 *  pre-checks make that unreachable, the counter proves it). */
// @ts-ignore: decorator
@inline
export function outNext(base: usize): usize {
  const n = load<u32>(base + W_OUT_COUNT);
  if (n >= load<u32>(base + W_OUT_CAP)) {
    store<u64>(base + W_OVERFLOW, load<u64>(base + W_OVERFLOW) + 1);
    return 0;
  }
  store<u32>(base + W_OUT_COUNT, n + 1);
  return base + <usize>load<u32>(base + W_OUT_OFF) + <usize>n * OUT_BYTES;
}

export function emitWindow(base: usize, kind: u32, key: u32, aux: u32, start: i64, end: i64, acc: usize): void {
  const o = outNext(base);
  if (o == 0) return;
  writeOutHeader(o, kind, load<u32>(base + W_OP), key, aux, start, end, load<u64>(acc + A_MAX_SEQ));
  aggFinish(acc, o, load<u32>(base + W_AGG_MASK));
}

/** NEED_* bits of the operator's aggregate mask (read once per batch). */
export function etNeeds(base: usize): u32 {
  return aggNeeds(load<u32>(base + W_AGG_MASK));
}

/**
 * Feature enrichment: writes each configured aggregate of `acc` into the
 * record's fields (acc = 0: NaN, the event is not part of any window). The
 * caller checks W_ENRICH_N first, so operators without enrichment pay one
 * branch per event.
 */
export function etEnrich(base: usize, rec: usize, acc: usize): void {
  const n = load<u32>(base + W_ENRICH_N);
  for (let i: u32 = 0; i < n; i++) {
    const e = load<u32>(base + W_ENRICH + (<usize>i << 2));
    store<f64>(rec + IN_FIELDS + (<usize>(e & 0xffff) << 3), acc == 0 ? NaN : aggValue(acc, e >>> 16));
  }
}

/** The event itself to the late side output: values = its first fields
 *  (enrichment fields already NaN: the event is in no window). */
export function emitLate(base: usize, rec: usize, stride: u32, reason: u32): void {
  if (load<u32>(base + W_ENRICH_N) != 0) etEnrich(base, rec, 0);
  if (reason == LATE_TOO_LATE) store<u64>(base + W_LATE, load<u64>(base + W_LATE) + 1);
  else store<u64>(base + W_REFUSED, load<u64>(base + W_REFUSED) + 1);
  const o = outNext(base);
  if (o == 0) return;
  const ts = load<i64>(rec);
  writeOutHeader(o, OUT_LATE, load<u32>(base + W_OP), load<u32>(rec + 16), reason, ts, ts, load<u64>(rec + 8));
  const fields = (stride - <u32>IN_FIELDS) >> 3;
  for (let i: u32 = 0; i < 11; i++) {
    store<f64>(o + OUT_VALUES + <usize>i * 8, i < fields ? load<f64>(rec + IN_FIELDS + <usize>i * 8) : 0);
  }
}

// Firing scratch: 16-byte entries (end i64, key u32, ref u32) sorted by
// (end, key): an LSD radix sort over the 12 key bytes that are not the same in
// every entry (a firing round usually shares one end and keys are small
// interned ids, so 2 of 12 bytes vary). One AND/OR pass finds them, so only
// their histograms are built: counting all 12 bytes of every entry would cost
// more than the rest of a firing round, and a comparison sort more than
// emitting the windows.
//
//   scratch: entries A (capacity × 16) │ entries B (capacity × 16) │ 12 × 256 u32 counts
export function scratchBytes(capacity: u32): usize {
  return <usize>capacity * 32 + 12 * 256 * 4;
}

/** Writes firing entry `n` of the scratch at `s`. */
// @ts-ignore: decorator
@inline
export function scratchPut(s: usize, n: u32, end: i64, key: u32, ref: u32): void {
  const e = s + <usize>n * 16;
  store<i64>(e, end);
  store<u32>(e + 8, key);
  store<u32>(e + 12, ref);
}

// @ts-ignore: decorator
@inline
function sortByte(e: usize, d: u32): u32 {
  if (d < 4) return load<u8>(e + 8 + d);
  const b = <u32>load<u8>(e + d - 4);
  return d == 11 ? b ^ 0x80 : b; // i64 sign bit: negative ends first
}

export function sortEntries(s: usize, n: u32, capacity: u32): void {
  if (n < 2) return;
  const other = s + <usize>capacity * 16;
  const hist = other + <usize>capacity * 16;
  let andEnd: u64 = ~(<u64>0), orEnd: u64 = 0, andKey: u32 = ~(<u32>0), orKey: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const e = s + <usize>i * 16;
    const end = load<u64>(e), key = load<u32>(e + 8);
    andEnd &= end; orEnd |= end; andKey &= key; orKey |= key;
  }
  const diffEnd = andEnd ^ orEnd, diffKey = andKey ^ orKey;
  let src = s, dst = other;
  for (let d: u32 = 0; d < 12; d++) {
    const varies = d < 4 ? ((diffKey >>> (d << 3)) & 0xff) != 0 : ((diffEnd >>> (<u64>(d - 4) << 3)) & 0xff) != 0;
    if (!varies) continue;
    const hd = hist + <usize>d * 1024;
    memory.fill(hd, 0, 1024);
    for (let i: u32 = 0; i < n; i++) {
      const h = hd + <usize>sortByte(src + <usize>i * 16, d) * 4;
      store<u32>(h, load<u32>(h) + 1);
    }
    let sum: u32 = 0;
    for (let b: u32 = 0; b < 256; b++) {
      const c = load<u32>(hd + <usize>b * 4);
      store<u32>(hd + <usize>b * 4, sum);
      sum += c;
    }
    for (let i: u32 = 0; i < n; i++) {
      const e = src + <usize>i * 16;
      const h = hd + <usize>sortByte(e, d) * 4;
      const at = load<u32>(h);
      store<u32>(h, at + 1);
      v128.store(dst + <usize>at * 16, v128.load(e));
    }
    const t = src; src = dst; dst = t;
  }
  if (src != s) memory.copy(s, src, <usize>n * 16);
}

/** Watermark after the idle rule, or NO_TIME if the feed is not idle. */
export function etIdleWatermark(base: usize, nowProc: i64): i64 {
  if (load<u32>(base + W_ACTIVITY) != 0 || load<i64>(base + W_LAST_ACTIVITY) == NO_TIME) {
    store<i64>(base + W_LAST_ACTIVITY, nowProc);
    store<u32>(base + W_ACTIVITY, 0);
    return NO_TIME;
  }
  const idle = load<i64>(base + W_IDLE);
  const quiet = nowProc - load<i64>(base + W_LAST_ACTIVITY);
  const maxTs = load<i64>(base + W_MAX_TS);
  if (idle <= 0 || quiet < idle || maxTs == NO_TIME) return NO_TIME;
  return maxTs - load<i64>(base + W_OOO) + quiet;
}
