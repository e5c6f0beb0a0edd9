// OVER aggregation (Flink's bounded OVER window): per key, one output per
// event carrying COUNT/SUM/MIN/MAX/AVG of the field over the event's frame,
//   RANGE: the key's rows with ts in [ts - range, ts], peers (equal ts) included
//   ROWS:  the key's last n + 1 rows in (ts, arrival) order, the event's own last.
// As Flink does, rows wait for event time: a row is emitted once the frontier
// F = watermark - allowed lateness has passed its ts (ts < F), in ts order per
// key, so every frame is complete and exact (peers that arrive later are in
// it). An event with ts < F at arrival is late (OUT_LATE, reason 0): the rows
// its frame would change have been emitted, and OVER never revises. The
// watermark is the larger of the broadcast one (over_watermark) and the
// local max ts - out-of-orderness, advanced per event before the event is
// checked, so lateness depends only on the input order (never on batching).
// host/operators/over/over.ts owns the JS twin and the wrapper; both read and
// write exactly this layout, so a snapshot is a byte copy of the region.
//
// Region (offsets relative to `base`):
//
//   0        192            tableEnd↑64     rowsEnd      dirtyEnd↑64      end
//   ┌────────┬──────────────┬───────────────┬────────────┬────────────────┐
//   │ header │ state table  │ rows pool     │ dirty keys │ output records │
//   │        │ key → KeyVal │rows × 32/48 B │ keys × u32 │ outCap × 128 B │
//   └────────┴──────────────┴───────────────┴────────────┴────────────────┘
//
// Header, 192 bytes:
//
//    0 magic 'OVR1'     4 version         8 field u32       12 op u32
//   16 capacity (keys) 20 outCapacity    24 outCount       28 tableOffset
//   32 outOffset       36 mode (0 range, 1 rows)           40 ttl i64 (0)
//   48 watermark i64   56 nextDue i64 (least pending ts)   64 ooo i64
//   72 lateness i64    80 range ns / rows n i64            88 rowsCapacity u32
//   92 rowsOffset u32  96 freeHead u32  100 bump u32      104 dirtyOffset u32
//  108 dirtyCount u32 112 pending u32   116 maxPending u32 120 aggMask u32
//  124 reserved       128 events u64   136 late u64      144 refused u64
//  152 emitted u64    160 swept u64    168..192 reserved
//
// A key's value (64 B): head, tail, lastEmitted (row ids, 0 = none; the rows
// head..lastEmitted are the emitted frame, after it the pending rows in ts
// order, ties in arrival order), frameRows, sum and its Neumaier compensation
// (f64, over the frame's non-NaN values), the max and min monotonic deques
// (front, back: row ids), valueCount (non-NaN values in the frame), dirty
// (in the dirty list), pending (this key's rows waiting for the frontier).
//
// A row (id i at rowsOffset + (i-1)·rowBytes): ts i64, value f64, seq u64,
// next, prev (the key's list), then, only when min or max is asked for
// (rowBytes 48, else 32), maxNext, maxPrev, minNext, minPrev (deques).
// Free rows form a list through `next`; `bump` hands out never-used ones.
//
// State is bounded by what the frames hold: a RANGE row leaves when the
// key's next emitted row is more than `range` later, or, when the pool is
// full, in a sweep of every key (rows with ts < F - range can be in no future
// frame); a ROWS key keeps its last n + 1 rows. An event that finds no room
// (key table, rows pool, or maxPending rows already waiting) goes to the late
// output with reason 2 (state_evicted): never dropped silently.
import { stFind, stUpsert, stSlotValue, stNext, stRemoveSlot, SLOT_VALUE } from '../shared/state_table';
import { IN_TS, IN_SEQ, IN_KEY, IN_FLAGS, IN_FIELDS, FLAG_CONTROL, IN_HEADER_BYTES, OUT_BYTES, OUT_VALUES, OUT_LATE, OUT_OVER, writeOutHeader } from '../shared/records';
import { regionOutOffset } from '../shared/region_operator';
import { stInit } from '../shared/state_table';

const OV_MAGIC: u32 = 0x3152564f; // 'OVR1' little-endian
const OV_VERSION: u32 = 2;
const OV_HEADER_BYTES: u32 = 192;
const OV_VALUE_BYTES: u32 = 64;
// A row's size: the min/max deque links only when min or max is asked for,
// so a SUM/COUNT/AVG row is 32 bytes, half a cache line, never straddling two.
const ROW_BYTES_DEQUES: usize = 48;
const ROW_BYTES_PLAIN: usize = 32;

const H_FIELD: usize = 8;
const H_OP: usize = 12;
const H_CAPACITY: usize = 16;
const H_OUT_CAPACITY: usize = 20;
const H_OUT_COUNT: usize = 24;
const H_TABLE: usize = 28;
const H_OUT: usize = 32;
const H_MODE: usize = 36;
const H_TTL: usize = 40;
const H_WATERMARK: usize = 48;
const H_NEXT_DUE: usize = 56;
const H_OOO: usize = 64;
const H_LATENESS: usize = 72;
const H_RANGE: usize = 80;
const H_ROWS_CAPACITY: usize = 88;
const H_ROWS: usize = 92;
const H_FREE: usize = 96;
const H_BUMP: usize = 100;
const H_DIRTY: usize = 104;
const H_DIRTY_COUNT: usize = 108;
const H_PENDING: usize = 112;
const H_MAX_PENDING: usize = 116;
const H_AGG_MASK: usize = 120;
const H_EVENTS: usize = 128;
const H_LATE: usize = 136;
const H_REFUSED: usize = 144;
const H_EMITTED: usize = 152;
const H_SWEPT: usize = 160;

const K_HEAD: usize = 0;
const K_TAIL: usize = 4;
const K_LAST: usize = 8;
const K_FRAME_ROWS: usize = 12;
const K_SUM: usize = 16;
const K_COMP: usize = 24;
const K_MAX_FRONT: usize = 32;
const K_MAX_BACK: usize = 36;
const K_MIN_FRONT: usize = 40;
const K_MIN_BACK: usize = 44;
const K_VALUES: usize = 48;
const K_DIRTY: usize = 52;
const K_PENDING: usize = 56;

const R_TS: usize = 0;
const R_VALUE: usize = 8;
const R_SEQ: usize = 16;
const R_NEXT: usize = 24;
const R_PREV: usize = 28;
const R_MAX_NEXT: usize = 32;
const R_MAX_PREV: usize = 36;
const R_MIN_NEXT: usize = 40;
const R_MIN_PREV: usize = 44;

/** Aggregate mask bits (AGG indices of host/records.ts). */
const AGG_MIN: u32 = 1 << 2;
const AGG_MAX: u32 = 1 << 3;

const MODE_ROWS: u32 = 1;
const NO_TIME: i64 = i64.MIN_VALUE;
const NEVER: i64 = i64.MAX_VALUE;
const LATE_BEYOND: u32 = 0;
const LATE_NO_ROOM: u32 = 2;

// @ts-ignore: decorator
@inline
function align64(n: usize): usize {
  return (n + 63) & ~(<usize>63);
}

// @ts-ignore: decorator
@inline
function rowsOffset(capacity: u32): usize {
  return regionOutOffset(OV_HEADER_BYTES, capacity, OV_VALUE_BYTES);
}

// @ts-ignore: decorator
@inline
function rowBytesFor(aggMask: u32): usize {
  return (aggMask & (AGG_MIN | AGG_MAX)) != 0 ? ROW_BYTES_DEQUES : ROW_BYTES_PLAIN;
}

// @ts-ignore: decorator
@inline
function dirtyOffset(capacity: u32, rows: u32, aggMask: u32): usize {
  return rowsOffset(capacity) + <usize>rows * rowBytesFor(aggMask);
}

// @ts-ignore: decorator
@inline
function outOffset(capacity: u32, rows: u32, aggMask: u32): usize {
  return align64(dirtyOffset(capacity, rows, aggMask) + <usize>capacity * 4);
}

export function over_bytes(capacity: u32, rows: u32, outCapacity: u32, aggMask: u32): usize {
  return outOffset(capacity, rows, aggMask) + <usize>outCapacity * OUT_BYTES;
}

export function over_init(base: usize, field: u32, op: u32, capacity: u32, rows: u32, outCapacity: u32, maxPending: u32,
  mode: u32, range: i64, ooo: i64, lateness: i64, aggMask: u32): void {
  memory.fill(base, 0, OV_HEADER_BYTES);
  store<u32>(base, OV_MAGIC);
  store<u32>(base + 4, OV_VERSION);
  store<u32>(base + H_FIELD, field);
  store<u32>(base + H_OP, op);
  store<u32>(base + H_CAPACITY, capacity);
  store<u32>(base + H_OUT_CAPACITY, outCapacity);
  store<u32>(base + H_TABLE, OV_HEADER_BYTES);
  store<u32>(base + H_OUT, <u32>outOffset(capacity, rows, aggMask));
  store<u32>(base + H_MODE, mode);
  store<i64>(base + H_WATERMARK, NO_TIME);
  store<i64>(base + H_NEXT_DUE, NEVER);
  store<i64>(base + H_OOO, ooo);
  store<i64>(base + H_LATENESS, lateness);
  store<i64>(base + H_RANGE, range);
  store<u32>(base + H_ROWS_CAPACITY, rows);
  store<u32>(base + H_ROWS, <u32>rowsOffset(capacity));
  store<u32>(base + H_BUMP, 1);
  store<u32>(base + H_DIRTY, <u32>dirtyOffset(capacity, rows, aggMask));
  store<u32>(base + H_MAX_PENDING, maxPending);
  store<u32>(base + H_AGG_MASK, aggMask);
  stInit(base + OV_HEADER_BYTES, capacity, OV_VALUE_BYTES, 0);
}

/** The frontier: rows with ts below it are complete; events below it are late. */
// @ts-ignore: decorator
@inline
function frontier(base: usize): i64 {
  const wm = load<i64>(base + H_WATERMARK);
  return wm == NO_TIME ? NO_TIME : wm - load<i64>(base + H_LATENESS);
}

// @ts-ignore: decorator
@inline
function row(rows: usize, rb: usize, id: u32): usize {
  return rows + <usize>(id - 1) * rb;
}

// @ts-ignore: decorator
@inline
function rowBytes(base: usize): usize {
  return rowBytesFor(load<u32>(base + H_AGG_MASK));
}

/** Neumaier-compensated add into the key's sum (subtraction adds -x), the same operations as the twin. */
// @ts-ignore: decorator
@inline
function sumAdd(v: usize, x: f64): void {
  const s = load<f64>(v + K_SUM);
  const t = s + x;
  let c = load<f64>(v + K_COMP);
  if (Math.abs(s) >= Math.abs(x)) c += (s - t) + x;
  else c += (x - t) + s;
  store<f64>(v + K_SUM, t);
  store<f64>(v + K_COMP, c);
}

/** The key's oldest row leaves the frame and returns to the free list. */
function evictHead(base: usize, v: usize, rows: usize): void {
  const rb = rowBytes(base);
  const id = load<u32>(v + K_HEAD);
  const r = row(rows, rb, id);
  const next = load<u32>(r + R_NEXT);
  store<u32>(v + K_HEAD, next);
  if (next != 0) store<u32>(row(rows, rb, next) + R_PREV, 0);
  else store<u32>(v + K_TAIL, 0);
  if (load<u32>(v + K_LAST) == id) store<u32>(v + K_LAST, 0);
  store<u32>(v + K_FRAME_ROWS, load<u32>(v + K_FRAME_ROWS) - 1);
  const x = load<f64>(r + R_VALUE);
  if (!isNaN<f64>(x)) {
    const n = load<u32>(v + K_VALUES) - 1;
    store<u32>(v + K_VALUES, n);
    // An empty frame starts its sum afresh: no rounding residue carries over.
    if (n == 0) { store<f64>(v + K_SUM, 0); store<f64>(v + K_COMP, 0); } else sumAdd(v, -x);
    dequeEvict(v, rows, rb, id, r);
  }
  store<u32>(r + R_NEXT, load<u32>(base + H_FREE));
  store<u32>(base + H_FREE, id);
}

/** A row joins the min/max deques (a value pops the ones it dominates). */
function dequePush(v: usize, rows: usize, rb: usize, id: u32, x: f64, mask: u32): void {
  const r = row(rows, rb, id);
  if (mask & AGG_MAX) {
    let back = load<u32>(v + K_MAX_BACK);
    while (back != 0 && load<f64>(row(rows, rb, back) + R_VALUE) <= x) back = load<u32>(row(rows, rb, back) + R_MAX_PREV);
    store<u32>(r + R_MAX_PREV, back);
    store<u32>(r + R_MAX_NEXT, 0);
    if (back != 0) store<u32>(row(rows, rb, back) + R_MAX_NEXT, id);
    else store<u32>(v + K_MAX_FRONT, id);
    store<u32>(v + K_MAX_BACK, id);
  }
  if (mask & AGG_MIN) {
    let back = load<u32>(v + K_MIN_BACK);
    while (back != 0 && load<f64>(row(rows, rb, back) + R_VALUE) >= x) back = load<u32>(row(rows, rb, back) + R_MIN_PREV);
    store<u32>(r + R_MIN_PREV, back);
    store<u32>(r + R_MIN_NEXT, 0);
    if (back != 0) store<u32>(row(rows, rb, back) + R_MIN_NEXT, id);
    else store<u32>(v + K_MIN_FRONT, id);
    store<u32>(v + K_MIN_BACK, id);
  }
}

/** The oldest row `id` leaves the min/max deques if it fronts them. */
function dequeEvict(v: usize, rows: usize, rb: usize, id: u32, r: usize): void {
  if (load<u32>(v + K_MAX_FRONT) == id) {
    const f = load<u32>(r + R_MAX_NEXT);
    store<u32>(v + K_MAX_FRONT, f);
    if (f == 0) store<u32>(v + K_MAX_BACK, 0);
    else store<u32>(row(rows, rb, f) + R_MAX_PREV, 0); // pops must stop at the new front
  }
  if (load<u32>(v + K_MIN_FRONT) == id) {
    const f = load<u32>(r + R_MIN_NEXT);
    store<u32>(v + K_MIN_FRONT, f);
    if (f == 0) store<u32>(v + K_MIN_BACK, 0);
    else store<u32>(row(rows, rb, f) + R_MIN_PREV, 0);
  }
}

/**
 * Emits the key's pending rows with ts < f in ts order; returns how many
 * remain pending. The hot loop of the operator: the key's frame (head, sum,
 * counts) and the free list live in locals and go back to memory once at the
 * end; the operations, and so the bytes, are those of frameAdd, evictHead and
 * emit (and of the JS twin's).
 */
function flushKey(base: usize, v: usize, rows: usize, key: u32, f: i64): u32 {
  const mask = load<u32>(base + H_AGG_MASK);
  const deques = (mask & (AGG_MIN | AGG_MAX)) != 0;
  const rb = rowBytesFor(mask);
  const rowsMode = load<u32>(base + H_MODE) == MODE_ROWS;
  const range = load<i64>(base + H_RANGE);
  const op = load<u32>(base + H_OP);
  const out = base + <usize>load<u32>(base + H_OUT);
  let outN = load<u32>(base + H_OUT_COUNT);
  let head = load<u32>(v + K_HEAD);
  let last = load<u32>(v + K_LAST);
  let frameRows = load<u32>(v + K_FRAME_ROWS);
  let values = load<u32>(v + K_VALUES);
  let sum = load<f64>(v + K_SUM);
  let comp = load<f64>(v + K_COMP);
  let free = load<u32>(base + H_FREE);
  let id = last != 0 ? load<u32>(row(rows, rb, last) + R_NEXT) : head;
  let emitted: u32 = 0;
  while (id != 0) {
    const t = load<i64>(row(rows, rb, id) + R_TS);
    if (t >= f) break;
    // The rows that join the frame: this one (ROWS) or all its peers (RANGE).
    const first = id;
    let lastPeer = id;
    while (true) {
      const r = row(rows, rb, id);
      frameRows++;
      const x = load<f64>(r + R_VALUE);
      if (!isNaN<f64>(x)) {
        values++;
        const tt = sum + x;
        if (Math.abs(sum) >= Math.abs(x)) comp += (sum - tt) + x;
        else comp += (x - tt) + sum;
        sum = tt;
        if (deques) dequePush(v, rows, rb, id, x, mask);
      }
      lastPeer = id;
      id = load<u32>(r + R_NEXT);
      if (rowsMode || id == 0 || load<i64>(row(rows, rb, id) + R_TS) != t) break;
    }
    // The rows that leave it: beyond the range (RANGE), or beyond n + 1 rows (ROWS).
    const lo = t - range;
    while (rowsMode ? <i64>frameRows > range + 1 : load<i64>(row(rows, rb, head) + R_TS) < lo) {
      const h = head;
      const r = row(rows, rb, h);
      const nx = load<u32>(r + R_NEXT);
      head = nx;
      if (nx != 0) store<u32>(row(rows, rb, nx) + R_PREV, 0);
      else store<u32>(v + K_TAIL, 0);
      if (last == h) last = 0;
      frameRows--;
      const x = load<f64>(r + R_VALUE);
      if (!isNaN<f64>(x)) {
        values--;
        // An empty frame starts its sum afresh: no rounding residue carries over.
        if (values == 0) { sum = 0; comp = 0; } else {
          const y = -x;
          const tt = sum + y;
          if (Math.abs(sum) >= Math.abs(y)) comp += (sum - tt) + y;
          else comp += (y - tt) + sum;
          sum = tt;
        }
        if (deques) dequeEvict(v, rows, rb, h, r);
      }
      store<u32>(r + R_NEXT, free);
      free = h;
    }
    const start = rowsMode ? load<i64>(row(rows, rb, head) + R_TS) : lo;
    const total = values == 0 ? NaN : sum + comp;
    const mn = (mask & AGG_MIN) != 0 && values != 0 ? load<f64>(row(rows, rb, load<u32>(v + K_MIN_FRONT)) + R_VALUE) : NaN;
    const mx = (mask & AGG_MAX) != 0 && values != 0 ? load<f64>(row(rows, rb, load<u32>(v + K_MAX_FRONT)) + R_VALUE) : NaN;
    let e = first;
    while (true) {
      const at = out + <usize>outN * OUT_BYTES;
      const r = row(rows, rb, e);
      writeOutHeader(at, OUT_OVER, op, key, 0, start, load<i64>(r + R_TS), load<u64>(r + R_SEQ));
      store<f64>(at + OUT_VALUES, <f64>values);
      store<f64>(at + OUT_VALUES + 8, total);
      store<f64>(at + OUT_VALUES + 16, mn);
      store<f64>(at + OUT_VALUES + 24, mx);
      store<f64>(at + OUT_VALUES + 32, total / <f64>values);
      // Plain stores: memory.fill leaves the WASM code for a call, which costs more than 48 bytes.
      store<u64>(at + OUT_VALUES + 40, 0);
      store<u64>(at + OUT_VALUES + 48, 0);
      store<u64>(at + OUT_VALUES + 56, 0);
      store<u64>(at + OUT_VALUES + 64, 0);
      store<u64>(at + OUT_VALUES + 72, 0);
      store<u64>(at + OUT_VALUES + 80, 0);
      outN++;
      emitted++;
      if (e == lastPeer) break;
      e = load<u32>(r + R_NEXT);
    }
    last = lastPeer;
  }
  store<u32>(v + K_HEAD, head);
  store<u32>(v + K_LAST, last);
  store<u32>(v + K_FRAME_ROWS, frameRows);
  store<u32>(v + K_VALUES, values);
  store<f64>(v + K_SUM, sum);
  store<f64>(v + K_COMP, comp);
  store<u32>(base + H_FREE, free);
  store<u32>(base + H_OUT_COUNT, outN);
  const pending = load<u32>(v + K_PENDING) - emitted;
  store<u32>(v + K_PENDING, pending);
  store<u32>(base + H_PENDING, load<u32>(base + H_PENDING) - emitted);
  store<u64>(base + H_EMITTED, load<u64>(base + H_EMITTED) + <u64>emitted);
  return pending;
}

/** Emits every row the frontier has passed (the dirty keys only); keeps the rest pending. */
function flush(base: usize): void {
  const f = frontier(base);
  if (f <= load<i64>(base + H_NEXT_DUE)) return;
  const table = base + OV_HEADER_BYTES;
  const rows = base + <usize>load<u32>(base + H_ROWS);
  const dirty = base + <usize>load<u32>(base + H_DIRTY);
  const rb = rowBytes(base);
  const n = load<u32>(base + H_DIRTY_COUNT);
  let kept: u32 = 0;
  let due = NEVER;
  for (let i: u32 = 0; i < n; i++) {
    const key = load<u32>(dirty + (<usize>i << 2));
    const v = stSlotValue(table, stFind(table, <u64>key));
    if (flushKey(base, v, rows, key, f) == 0) {
      store<u32>(v + K_DIRTY, 0);
      continue;
    }
    store<u32>(dirty + (<usize>kept << 2), key);
    kept++;
    const last = load<u32>(v + K_LAST);
    const next = last != 0 ? load<u32>(row(rows, rb, last) + R_NEXT) : load<u32>(v + K_HEAD);
    const t = load<i64>(row(rows, rb, next) + R_TS);
    if (t < due) due = t;
  }
  store<u32>(base + H_DIRTY_COUNT, kept);
  store<i64>(base + H_NEXT_DUE, due);
}

/**
 * Room for a new row or key (pool or table full): flush, then drop every RANGE
 * row no future frame can hold (ts < F - range) and every key left empty.
 */
function sweep(base: usize): void {
  flush(base);
  if (load<u32>(base + H_MODE) == MODE_ROWS) return;
  const f = frontier(base);
  if (f == NO_TIME) return;
  const lo = f - load<i64>(base + H_RANGE);
  const table = base + OV_HEADER_BYTES;
  const rows = base + <usize>load<u32>(base + H_ROWS);
  const rb = rowBytes(base);
  let swept: u64 = 0;
  let slot = stNext(table, -1);
  while (slot >= 0) {
    const v = stSlotValue(table, slot);
    while (load<u32>(v + K_HEAD) != 0 && load<u32>(v + K_LAST) != 0 && load<i64>(row(rows, rb, load<u32>(v + K_HEAD)) + R_TS) < lo) {
      evictHead(base, v, rows);
      swept++;
    }
    if (load<u32>(v + K_HEAD) == 0) {
      stRemoveSlot(table, <u32>slot);
      slot = stNext(table, slot - 1); // a later entry may have shifted into this slot
      continue;
    }
    slot = stNext(table, slot);
  }
  store<u64>(base + H_SWEPT, load<u64>(base + H_SWEPT) + swept);
}

/** A row id from the free list or the never-used tail of the pool; 0 when the pool is full. */
// @ts-ignore: decorator
@inline
function allocRow(base: usize, rows: usize, rb: usize): u32 {
  const free = load<u32>(base + H_FREE);
  if (free != 0) {
    store<u32>(base + H_FREE, load<u32>(row(rows, rb, free) + R_NEXT));
    return free;
  }
  const bump = load<u32>(base + H_BUMP);
  if (bump > load<u32>(base + H_ROWS_CAPACITY)) return 0;
  store<u32>(base + H_BUMP, bump + 1);
  return bump;
}

function late(base: usize, rec: usize, stride: u32, aux: u32): void {
  const n = load<u32>(base + H_OUT_COUNT);
  const at = base + <usize>load<u32>(base + H_OUT) + <usize>n * OUT_BYTES;
  const ts = load<i64>(rec + IN_TS);
  writeOutHeader(at, OUT_LATE, load<u32>(base + H_OP), load<u32>(rec + IN_KEY), aux, ts, ts, load<u64>(rec + IN_SEQ));
  const fields = (stride - IN_HEADER_BYTES) >>> 3;
  for (let i: u32 = 0; i < 11; i++) {
    store<f64>(at + OUT_VALUES + (<usize>i << 3), i < fields ? load<f64>(rec + IN_FIELDS + (<usize>i << 3)) : 0);
  }
  store<u32>(base + H_OUT_COUNT, n + 1);
  if (aux == LATE_BEYOND) store<u64>(base + H_LATE, load<u64>(base + H_LATE) + 1);
  else store<u64>(base + H_REFUSED, load<u64>(base + H_REFUSED) + 1);
}

/** Buffers `count` records of `stride` bytes at `ptr` (late ones to the late output), then emits what the frontier passed. */
export function over_process(base: usize, ptr: usize, count: u32, stride: u32): void {
  const fieldAt = IN_FIELDS + (<usize>load<u32>(base + H_FIELD) << 3);
  const ooo = load<i64>(base + H_OOO);
  const table = base + OV_HEADER_BYTES;
  const rows = base + <usize>load<u32>(base + H_ROWS);
  const dirty = base + <usize>load<u32>(base + H_DIRTY);
  const rb = rowBytes(base);
  let events: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const rec = ptr + <usize>i * stride;
    if ((load<u32>(rec + IN_FLAGS) & FLAG_CONTROL) != 0) continue;
    events++;
    const ts = load<i64>(rec + IN_TS);
    if (ts - ooo > load<i64>(base + H_WATERMARK)) store<i64>(base + H_WATERMARK, ts - ooo);
    if (ts < frontier(base)) { late(base, rec, stride, LATE_BEYOND); continue; }
    if (load<u32>(base + H_PENDING) >= load<u32>(base + H_MAX_PENDING)) {
      flush(base);
      if (load<u32>(base + H_PENDING) >= load<u32>(base + H_MAX_PENDING)) { late(base, rec, stride, LATE_NO_ROOM); continue; }
    }
    const key = load<u32>(rec + IN_KEY);
    let v = stUpsert(table, <u64>key, 0);
    if (v == 0) {
      sweep(base);
      v = stUpsert(table, <u64>key, 0);
      if (v == 0) { late(base, rec, stride, LATE_NO_ROOM); continue; }
    }
    let id = allocRow(base, rows, rb);
    if (id == 0) {
      sweep(base);
      // The sweep may have removed keys (and moved this one): look it up again.
      v = stUpsert(table, <u64>key, 0);
      id = allocRow(base, rows, rb);
      if (id == 0) {
        if (load<u32>(v + K_HEAD) == 0) stRemoveSlot(table, <u32>stFind(table, <u64>key));
        late(base, rec, stride, LATE_NO_ROOM);
        continue;
      }
    }
    const r = row(rows, rb, id);
    store<i64>(r + R_TS, ts);
    store<f64>(r + R_VALUE, load<f64>(rec + fieldAt));
    store<u64>(r + R_SEQ, load<u64>(rec + IN_SEQ));
    // Sorted insert from the tail: in-order events append; equal ts go after
    // their peers (arrival order); the walk never passes the emitted rows
    // (their ts < F <= ts).
    let p = load<u32>(v + K_TAIL);
    while (p != 0 && load<i64>(row(rows, rb, p) + R_TS) > ts) p = load<u32>(row(rows, rb, p) + R_PREV);
    store<u32>(r + R_PREV, p);
    if (p == 0) {
      const h = load<u32>(v + K_HEAD);
      store<u32>(r + R_NEXT, h);
      if (h != 0) store<u32>(row(rows, rb, h) + R_PREV, id);
      else store<u32>(v + K_TAIL, id);
      store<u32>(v + K_HEAD, id);
    } else {
      const nx = load<u32>(row(rows, rb, p) + R_NEXT);
      store<u32>(r + R_NEXT, nx);
      store<u32>(row(rows, rb, p) + R_NEXT, id);
      if (nx != 0) store<u32>(row(rows, rb, nx) + R_PREV, id);
      else store<u32>(v + K_TAIL, id);
    }
    store<u32>(v + K_PENDING, load<u32>(v + K_PENDING) + 1);
    store<u32>(base + H_PENDING, load<u32>(base + H_PENDING) + 1);
    if (load<u32>(v + K_DIRTY) == 0) {
      store<u32>(v + K_DIRTY, 1);
      const n = load<u32>(base + H_DIRTY_COUNT);
      store<u32>(dirty + (<usize>n << 2), key);
      store<u32>(base + H_DIRTY_COUNT, n + 1);
    }
    if (ts < load<i64>(base + H_NEXT_DUE)) store<i64>(base + H_NEXT_DUE, ts);
  }
  store<u64>(base + H_EVENTS, load<u64>(base + H_EVENTS) + events);
  flush(base);
}

/** The broadcast watermark: emits every row it lets through. */
export function over_watermark(base: usize, watermarkNs: i64): void {
  if (watermarkNs > load<i64>(base + H_WATERMARK)) store<i64>(base + H_WATERMARK, watermarkNs);
  flush(base);
}

export function over_keys(base: usize): u32 {
  return load<u32>(base + OV_HEADER_BYTES + 16);
}
