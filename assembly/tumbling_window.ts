// Tumbling event-time windows per key: [offset + i·size, offset + (i+1)·size).
// Region: see event_time.ts. State table entries are keyed by
// key << 32 | u32(window index) (two windows of one key 2^32 windows apart can
// never be alive together), value:
//
//   0          8           12        16                16+AGG_BYTES
//   ┌──────────┬───────────┬─────────┬─────────────────┐
//   │ start i64│revision u32│fired u32│ accumulator     │
//   └──────────┴───────────┴─────────┴─────────────────┘
//
// Hot loop: one inline probe per event (skipped when key and window repeat),
// the accumulator updated in place, the watermark compared once; the table is
// only scanned when the watermark crosses the earliest pending window end or
// purge time, i.e. once per window period, not per batch.

import { stBytes, stNextUsed, stInit, stUpsert, stLastInserted, stRemoveSlot, stCount, stHash, ST_HEADER, SLOT_USED, SLOT_KEY, SLOT_VALUE, SLOT_TOUCHED, SLOT_SPARE } from './state_table';
import { AGG_BYTES, aggUpdate, NEED_VWAP } from './aggregates';
import { OUT_BYTES, OUT_WINDOW, OUT_REVISION, FLAG_CONTROL, IN_FIELDS } from './records';
import {
  W_HEADER, W_VALUE_FIELD, W_PRICE_FIELD, W_QTY_FIELD, W_OUT_COUNT, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_OFFSET, W_OOO, W_LATENESS, W_MAX_TS, W_WATERMARK, W_NEXT_FIRE, W_NEXT_PURGE, W_CAPACITY, W_ENRICH_N,
  LATE_TOO_LATE, LATE_STATE_FULL, NEVER, etInit, etEnrich, etNeeds, floorDiv, emitWindow, emitLate, sortEntries, etIdleWatermark, scratchBytes,
} from './event_time';


// Window start = the slot's "last update" time (the table has no TTL here),
// fired flag and revision = the slot's spare word: value = accumulator only,
// so a slot is exactly 128 bytes, two cache lines.
const TW_START_BACK: usize = SLOT_VALUE - SLOT_TOUCHED;
const TW_FLAGS_BACK: usize = SLOT_VALUE - SLOT_SPARE;
const FIRED: u32 = 0x80000000;
export const TW_ACC: usize = 0;
export const TW_VALUE_BYTES: u32 = <u32>AGG_BYTES;

export function tumbling_bytes(capacity: u32, outCap: u32): usize {
  return W_HEADER + stBytes(capacity, TW_VALUE_BYTES) + scratchBytes(capacity) + <usize>outCap * OUT_BYTES;
}

/** Lays out the region after the host wrote the config fields (capacity, outCap, ...). */
export function tumbling_init(base: usize): void {
  const capacity = load<u32>(base + W_CAPACITY);
  const tableOff = <u32>W_HEADER;
  const scratchOff = tableOff + <u32>stBytes(capacity, TW_VALUE_BYTES);
  store<u32>(base + W_TABLE_OFF, tableOff);
  store<u32>(base + W_SCRATCH_OFF, scratchOff);
  store<u32>(base + W_OUT_OFF, scratchOff + <u32>scratchBytes(capacity));
  stInit(base + tableOff, capacity, TW_VALUE_BYTES, 0);
  etInit(base);
}

/** Fires every window with end ≤ watermark (sorted by end, key), frees those
 *  past their lateness, and recomputes the next time anything is due. */
function twFire(base: usize): void {
  const table = base + <usize>load<u32>(base + W_TABLE_OFF);
  const scratch = base + <usize>load<u32>(base + W_SCRATCH_OFF);
  const wm = load<i64>(base + W_WATERMARK);
  const size = load<i64>(base + W_SIZE);
  const lateness = load<i64>(base + W_LATENESS);
  let n: u32 = 0;
  const slots = table + ST_HEADER, slotCount = load<u32>(table + 4) + 1, slotBytes = <usize>load<u32>(table + 12);
  for (let s = stNextUsed(table, 0); s < slotCount; s = stNextUsed(table, s + 1)) {
    const sl = slots + <usize>s * slotBytes;
    const v = sl + SLOT_VALUE;
    const end = load<i64>(v - TW_START_BACK) + size;
    if ((load<u32>(v - TW_FLAGS_BACK) & FIRED) == 0 && end <= wm) {
      const e = scratch + <usize>n * 16;
      store<i64>(e, end);
      store<u32>(e + 8, <u32>(load<u64>(sl + SLOT_KEY) >> 32));
      store<u32>(e + 12, s);
      n++;
    }
  }
  sortEntries(scratch, n, load<u32>(base + W_CAPACITY));
  for (let i: u32 = 0; i < n; i++) {
    const e = scratch + <usize>i * 16;
    const v = slots + <usize>load<u32>(e + 12) * slotBytes + SLOT_VALUE;
    store<u32>(v - TW_FLAGS_BACK, load<u32>(v - TW_FLAGS_BACK) | FIRED);
    emitWindow(base, OUT_WINDOW, load<u32>(e + 8), 0, load<i64>(v - TW_START_BACK), load<i64>(e), v + TW_ACC);
  }
  let nextFire = NEVER, nextPurge = NEVER;
  let s: u32 = 0;
  while ((s = stNextUsed(table, s)) < slotCount) {
    const sl = slots + <usize>s * slotBytes;
    const v = sl + SLOT_VALUE;
    const end = load<i64>(v - TW_START_BACK) + size;
    if ((load<u32>(v - TW_FLAGS_BACK) & FIRED) != 0) {
      if (wm > end + lateness) {
        stRemoveSlot(table, s);
        continue; // an entry may have shifted into slot s
      }
      if (end + lateness + 1 < nextPurge) nextPurge = end + lateness + 1;
    } else if (end < nextFire) nextFire = end;
    s++;
  }
  store<i64>(base + W_NEXT_FIRE, nextFire);
  store<i64>(base + W_NEXT_PURGE, nextPurge);
}

function twDue(base: usize): i64 {
  const f = load<i64>(base + W_NEXT_FIRE), p = load<i64>(base + W_NEXT_PURGE);
  return f < p ? f : p;
}

export function tumbling_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  const table = base + <usize>load<u32>(base + W_TABLE_OFF);
  const vOff = IN_FIELDS + (<usize>load<u32>(base + W_VALUE_FIELD) << 3);
  const pField = load<i32>(base + W_PRICE_FIELD), qField = load<i32>(base + W_QTY_FIELD);
  // Only the aggregate mask's per-event work (see aggregates.ts).
  const need = etNeeds(base);
  const hasVwap = pField >= 0 && qField >= 0 && (need & NEED_VWAP) != 0;
  const pOff = IN_FIELDS + (<usize>max<i32>(pField, 0) << 3);
  const qOff = IN_FIELDS + (<usize>max<i32>(qField, 0) << 3);
  const size = load<i64>(base + W_SIZE), offset = load<i64>(base + W_OFFSET);
  const ooo = load<i64>(base + W_OOO), lateness = load<i64>(base + W_LATENESS);
  let maxTs = load<i64>(base + W_MAX_TS), wm = load<i64>(base + W_WATERMARK);
  let due = twDue(base);
  const enrich = load<u32>(base + W_ENRICH_N) != 0;
  // Current window bounds and the last (key, window) → accumulator, so runs of
  // one window and repeats of one key cost no division and no probe.
  let curStart: i64 = 1, curEnd: i64 = 0, curIdx: i64 = 0;
  let lastCombo: u64 = 0, lastAcc: usize = 0;
  const mask = load<u32>(table + 4), slotBytes = <usize>load<u32>(table + 12), slots = table + ST_HEADER;
  for (let i: u32 = 0; i < count; i++) {
    const r = ptr + <usize>i * <usize>stride;
    if ((load<u32>(r + 20) & FLAG_CONTROL) != 0) continue;
    const ts = load<i64>(r);
    // The watermark includes this event: it can never make the event's own
    // window due (ts − outOfOrder < end), so other windows fire first.
    if (ts > maxTs) {
      maxTs = ts;
      if (ts - ooo > wm) {
        wm = ts - ooo;
        if (wm >= due) {
          store<i64>(base + W_MAX_TS, maxTs);
          store<i64>(base + W_WATERMARK, wm);
          twFire(base);
          due = twDue(base);
          lastAcc = 0; // firing may have moved entries
        }
      }
    }
    if (ts < curStart || ts >= curEnd) {
      curIdx = floorDiv(ts - offset, size);
      curStart = offset + curIdx * size;
      curEnd = curStart + size;
    }
    const key = load<u32>(r + 16);
    const v = load<f64>(r + vOff);
    const p = hasVwap ? load<f64>(r + pOff) : 0;
    const q = hasVwap ? load<f64>(r + qOff) : 0;
    const combo = (<u64>key << 32) | <u64>(<u32>curIdx);
    if (curEnd > wm) {
      let acc = lastAcc;
      if (combo != lastCombo || acc == 0) {
        // Probe inline (the common case: the window exists); insert out of line.
        let h = stHash(combo) & mask;
        let val: usize = 0;
        while (true) {
          const sl = slots + <usize>h * slotBytes;
          if (load<u32>(sl + SLOT_USED) == 0) break;
          if (load<u64>(sl + SLOT_KEY) == combo) { val = sl + SLOT_VALUE; break; } // touched is already curStart
          h = (h + 1) & mask;
        }
        if (val != 0) store<u32>(table + 20, 0); // stLastInserted() = false, as stUpsert would leave it
        else {
          val = stUpsert(table, combo, curStart);
          if (val == 0) { emitLate(base, r, stride, LATE_STATE_FULL); lastAcc = 0; continue; }
          if (curEnd < load<i64>(base + W_NEXT_FIRE)) store<i64>(base + W_NEXT_FIRE, curEnd);
          if (curEnd < due) due = curEnd;
        }
        acc = val + TW_ACC;
        lastCombo = combo;
        lastAcc = acc;
      }
      aggUpdate(acc, ts, load<u64>(r + 8), v, p, q, need);
      if (enrich) etEnrich(base, r, acc);
    } else if (wm > curEnd + lateness) {
      emitLate(base, r, stride, LATE_TOO_LATE);
    } else {
      // Late but within the allowed lateness: update and re-emit at once.
      const val = stUpsert(table, combo, curStart);
      if (val == 0) { emitLate(base, r, stride, LATE_STATE_FULL); continue; }
      aggUpdate(val + TW_ACC, ts, load<u64>(r + 8), v, p, q, need);
      if (enrich) etEnrich(base, r, val + TW_ACC);
      if (stLastInserted(table)) {
        store<u32>(val - TW_FLAGS_BACK, FIRED);
        emitWindow(base, OUT_WINDOW, key, 0, curStart, curEnd, val + TW_ACC);
        const purgeAt = curEnd + lateness + 1;
        if (purgeAt < load<i64>(base + W_NEXT_PURGE)) store<i64>(base + W_NEXT_PURGE, purgeAt);
        if (purgeAt < due) due = purgeAt;
      } else {
        const rev = (load<u32>(val - TW_FLAGS_BACK) & ~FIRED) + 1;
        store<u32>(val - TW_FLAGS_BACK, rev | FIRED);
        emitWindow(base, OUT_REVISION, key, rev, curStart, curEnd, val + TW_ACC);
      }
    }
  }
  store<i64>(base + W_MAX_TS, maxTs);
  store<i64>(base + W_WATERMARK, wm);
  if (count > 0) store<u32>(base + W_ACTIVITY, 1);
  return load<u32>(base + W_OUT_COUNT);
}

export function tumbling_watermark(base: usize, watermark: i64): u32 {
  if (watermark > load<i64>(base + W_WATERMARK)) {
    store<i64>(base + W_WATERMARK, watermark);
    if (watermark >= twDue(base)) twFire(base);
  }
  return load<u32>(base + W_OUT_COUNT);
}

export function tumbling_advance_idle(base: usize, nowProc: i64): u32 {
  const wm = etIdleWatermark(base, nowProc);
  if (wm != i64.MIN_VALUE) tumbling_watermark(base, wm);
  return load<u32>(base + W_OUT_COUNT);
}

export function tumbling_keys(base: usize): u32 {
  return stCount(base + <usize>load<u32>(base + W_TABLE_OFF));
}
