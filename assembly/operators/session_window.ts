// Session windows per key (Flink: EventTimeSessionWindows.withGap(gap)):
// every event opens [ts, ts + gap); overlapping ones merge, so a session is
// [first event, last event + gap). Out-of-order events can bridge two sessions
// into one, so a key holds a few sessions at once, sorted by start.
//
// How many at most: live sessions have last + gap + lateness ≥ watermark and
// all events are ≤ watermark + outOfOrder, and consecutive sessions' last
// times are ≥ gap apart, hence ≤ (outOfOrder + lateness) / gap + 2 of them.
// The host sizes per-key room (W_PER_KEY = K) with exactly that bound, so the
// fixed-size entry never overflows (a guard still sends the event to the late
// output, aux 2, rather than corrupt anything).
//
// State table: key → value (8 + K × 128 bytes):
//   0 sessions u32 │ 4 pad │ 8 session[0] │ ... session[K-1]
// session (128 bytes):
//   0 start i64 │ 8 last i64 │ 16 emits u32 │ 20 dirty u32 │ 24 accumulator (104)
//   emits  times the session was output (0: next output is OUT_WINDOW,
//          n: next is OUT_REVISION with aux n)
//   dirty  holds data not yet output
// A session fires when watermark ≥ last + gap; a late event (within the
// allowed lateness of the merged session) re-emits it at once; a session is
// freed when watermark > end + lateness, a key when it has no session left.

import { stBytes, stNextUsed, stInit, stUpsert, stRemoveSlot, stCount, ST_HEADER, SLOT_KEY, SLOT_VALUE } from '../shared/state_table';
import { AGG_BYTES, aggUpdate, aggMerge } from '../shared/aggregates';
import { OUT_BYTES, OUT_WINDOW, OUT_REVISION, FLAG_CONTROL } from '../shared/records';
import {
  W_HEADER, W_VALUE_FIELD, W_PRICE_FIELD, W_QTY_FIELD, W_OUT_COUNT, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_OOO, W_LATENESS, W_MAX_TS, W_WATERMARK, W_NEXT_FIRE, W_NEXT_PURGE, W_CAPACITY, W_PER_KEY, W_ENRICH_N,
  LATE_TOO_LATE, LATE_STATE_FULL, NEVER, etInit, etEnrich, emitWindow, emitLate, sortEntries, etIdleWatermark, scratchBytes,
  scratchPut, etDue, etAdvance, etTable, etFieldAt, etHasVwap,
} from '../shared/event_time';

const SS_BYTES: usize = 128;
const SS_START: usize = 0;
const SS_LAST: usize = 8;
const SS_EMITS: usize = 16;
const SS_DIRTY: usize = 20;
const SS_ACC: usize = 24;

function session_value_bytes(perKey: u32): u32 {
  return 8 + perKey * <u32>SS_BYTES;
}

export function session_init(base: usize): void {
  const capacity = load<u32>(base + W_CAPACITY), perKey = load<u32>(base + W_PER_KEY);
  const tableOff = <u32>W_HEADER;
  const scratchOff = tableOff + <u32>stBytes(capacity, session_value_bytes(perKey));
  store<u32>(base + W_TABLE_OFF, tableOff);
  store<u32>(base + W_SCRATCH_OFF, scratchOff);
  store<u32>(base + W_OUT_OFF, scratchOff + <u32>scratchBytes(capacity * perKey));
  stInit(base + tableOff, capacity, session_value_bytes(perKey), 0);
  etInit(base);
}

// @ts-ignore: decorator
@inline function sess(val: usize, i: u32): usize { return val + 8 + <usize>i * SS_BYTES; }

function ssEmit(base: usize, key: u32, s: usize): void {
  const emits = load<u32>(s + SS_EMITS);
  const gap = load<i64>(base + W_SIZE);
  emitWindow(base, emits == 0 ? OUT_WINDOW : OUT_REVISION, key, emits, load<i64>(s + SS_START), load<i64>(s + SS_LAST) + gap, s + SS_ACC);
  store<u32>(s + SS_EMITS, emits + 1);
  store<u32>(s + SS_DIRTY, 0);
}

function ssFire(base: usize): void {
  const table = base + <usize>load<u32>(base + W_TABLE_OFF);
  const scratch = base + <usize>load<u32>(base + W_SCRATCH_OFF);
  const wm = load<i64>(base + W_WATERMARK);
  const gap = load<i64>(base + W_SIZE), lateness = load<i64>(base + W_LATENESS);
  const slots = table + ST_HEADER, slotCount = load<u32>(table + 4) + 1, slotBytes = <usize>load<u32>(table + 12);
  let n: u32 = 0;
  for (let s = stNextUsed(table, 0); s < slotCount; s = stNextUsed(table, s + 1)) {
    const sl = slots + <usize>s * slotBytes;
    const val = sl + SLOT_VALUE;
    const cnt = load<u32>(val);
    for (let j: u32 = 0; j < cnt; j++) {
      const ss = sess(val, j);
      const end = load<i64>(ss + SS_LAST) + gap;
      if (load<u32>(ss + SS_DIRTY) != 0 && end <= wm) {
        scratchPut(scratch, n, end, <u32>load<u64>(sl + SLOT_KEY), (s << 8) | j);
        n++;
      }
    }
  }
  sortEntries(scratch, n, load<u32>(base + W_CAPACITY) * load<u32>(base + W_PER_KEY));
  for (let i: u32 = 0; i < n; i++) {
    const e = scratch + <usize>i * 16;
    const ref = load<u32>(e + 12);
    ssEmit(base, load<u32>(e + 8), sess(slots + <usize>(ref >> 8) * slotBytes + SLOT_VALUE, ref & 0xff));
  }
  let nextFire = NEVER, nextPurge = NEVER;
  let s: u32 = 0;
  while ((s = stNextUsed(table, s)) < slotCount) {
    const sl = slots + <usize>s * slotBytes;
    const val = sl + SLOT_VALUE;
    let cnt = load<u32>(val);
    let j: u32 = 0;
    while (j < cnt) {
      const ss = sess(val, j);
      const end = load<i64>(ss + SS_LAST) + gap;
      if (wm > end + lateness) {
        memory.copy(ss, ss + SS_BYTES, <usize>(cnt - j - 1) * SS_BYTES);
        cnt--;
        continue;
      }
      if (end + lateness + 1 < nextPurge) nextPurge = end + lateness + 1;
      if (load<u32>(ss + SS_DIRTY) != 0 && end < nextFire) nextFire = end;
      j++;
    }
    store<u32>(val, cnt);
    if (cnt == 0) { stRemoveSlot(table, s); continue; }
    s++;
  }
  store<i64>(base + W_NEXT_FIRE, nextFire);
  store<i64>(base + W_NEXT_PURGE, nextPurge);
}

/** Adds one event to its key's sessions (merging what it bridges). */
function ssAdd(base: usize, val: usize, r: usize, stride: u32, ts: i64, key: u32, v: f64, p: f64, q: f64): void {
  const gap = load<i64>(base + W_SIZE), lateness = load<i64>(base + W_LATENESS), wm = load<i64>(base + W_WATERMARK);
  const perKey = load<u32>(base + W_PER_KEY);
  let cnt = load<u32>(val);
  // Sessions overlapping [ts, ts + gap) form a contiguous run a..b (sorted, disjoint).
  let a: u32 = 0;
  while (a < cnt && load<i64>(sess(val, a) + SS_LAST) + gap <= ts) a++;
  let b = a;
  while (b < cnt && load<i64>(sess(val, b) + SS_START) < ts + gap) b++;
  // merged run = a .. b-1 (may be empty)
  let mEnd = ts + gap;
  if (b > a) { const le = load<i64>(sess(val, b - 1) + SS_LAST) + gap; if (le > mEnd) mEnd = le; }
  if (wm > mEnd + lateness) { emitLate(base, r, stride, LATE_TOO_LATE); return; }
  let target: usize;
  if (b == a) {
    if (cnt >= perKey) { emitLate(base, r, stride, LATE_STATE_FULL); return; }
    target = sess(val, a);
    memory.copy(target + SS_BYTES, target, <usize>(cnt - a) * SS_BYTES);
    memory.fill(target, 0, SS_BYTES);
    store<i64>(target + SS_START, ts);
    store<i64>(target + SS_LAST, ts);
    cnt++;
  } else {
    target = sess(val, a);
    for (let j = a + 1; j < b; j++) {
      const o = sess(val, j);
      aggMerge(target + SS_ACC, o + SS_ACC);
      if (load<i64>(o + SS_LAST) > load<i64>(target + SS_LAST)) store<i64>(target + SS_LAST, load<i64>(o + SS_LAST));
      if (load<u32>(o + SS_EMITS) > load<u32>(target + SS_EMITS)) store<u32>(target + SS_EMITS, load<u32>(o + SS_EMITS));
    }
    if (b - a > 1) {
      memory.copy(sess(val, a + 1), sess(val, b), <usize>(cnt - b) * SS_BYTES);
      cnt -= b - a - 1;
    }
    if (ts < load<i64>(target + SS_START)) store<i64>(target + SS_START, ts);
    if (ts > load<i64>(target + SS_LAST)) store<i64>(target + SS_LAST, ts);
  }
  store<u32>(val, cnt);
  aggUpdate(target + SS_ACC, ts, load<u64>(r + 8), v, p, q);
  if (load<u32>(base + W_ENRICH_N) != 0) etEnrich(base, r, target + SS_ACC); // the merged session
  store<u32>(target + SS_DIRTY, 1);
  const end = load<i64>(target + SS_LAST) + gap;
  if (end <= wm) ssEmit(base, key, target); // late within lateness: out at once
  else if (end < load<i64>(base + W_NEXT_FIRE)) store<i64>(base + W_NEXT_FIRE, end);
  if (end + lateness + 1 < load<i64>(base + W_NEXT_PURGE)) store<i64>(base + W_NEXT_PURGE, end + lateness + 1);
}

export function session_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  const table = etTable(base);
  const vOff = etFieldAt(base, W_VALUE_FIELD), pOff = etFieldAt(base, W_PRICE_FIELD), qOff = etFieldAt(base, W_QTY_FIELD);
  const hasVwap = etHasVwap(base);
  const ooo = load<i64>(base + W_OOO);
  for (let i: u32 = 0; i < count; i++) {
    const r = ptr + <usize>i * <usize>stride;
    if ((load<u32>(r + 20) & FLAG_CONTROL) != 0) continue;
    const ts = load<i64>(r);
    if (ts > load<i64>(base + W_MAX_TS)) {
      store<i64>(base + W_MAX_TS, ts);
      if (etAdvance(base, ts - ooo)) ssFire(base);
    }
    const key = load<u32>(r + 16);
    const val = stUpsert(table, <u64>key, ts);
    if (val == 0) { emitLate(base, r, stride, LATE_STATE_FULL); continue; }
    ssAdd(base, val, r, stride, ts, key, load<f64>(r + vOff), hasVwap ? load<f64>(r + pOff) : 0, hasVwap ? load<f64>(r + qOff) : 0);
    if (load<u32>(val) == 0) stRemoveSlot(table, <u32>((val - SLOT_VALUE - table - ST_HEADER) / <usize>load<u32>(table + 12)));
  }
  if (count > 0) store<u32>(base + W_ACTIVITY, 1);
  return load<u32>(base + W_OUT_COUNT);
}

export function session_watermark(base: usize, watermark: i64): u32 {
  if (etAdvance(base, watermark)) ssFire(base);
  return load<u32>(base + W_OUT_COUNT);
}

export function session_advance_idle(base: usize, nowProc: i64): u32 {
  return session_watermark(base, etIdleWatermark(base, nowProc));
}

export function session_keys(base: usize): u32 {
  return stCount(etTable(base));
}
