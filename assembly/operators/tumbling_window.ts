// Tumbling event-time windows per key: [offset + i·size, offset + (i+1)·size).
// Region: see event_time.ts. The state is a split table (state_table.ts)
// keyed by key << 32 | u32(window index) (two windows of one key 2^32 windows
// apart can never be alive together):
//
//   line (hot, 64-byte aligned; every event of the window reads and writes it):
//     0        8                                8 + accumulator bytes
//     ┌────────┬────────────────────────────────┬─────────┐
//     │ key    │ accumulator (aggregates.ts)    │ padding │   64 B lean, 128 B full
//     └────────┴────────────────────────────────┴─────────┘
//   cold (16 B; insert, firing and the late path only):
//     0          8           12
//     ┌──────────┬───────────┬─────────┐
//     │ start i64│ flags u32 │ key u32 │   flags: bit 31 fired, bits 0..30 revision
//     └──────────┴───────────┴─────────┘
//
// The accumulator is sized by the aggregate mask (aggBytesFor): the 56-byte
// lean prefix when neither Welford nor first/last is asked for, so key +
// accumulator is exactly one cache line, else the full 104 bytes (two lines).
// The window start, flags and key are needed only when a window is created,
// fires or is revised, so they stay out of the line (the key is copied there
// so that the firing scan sorts without loading lines); the used flag is the
// table's ctrl byte. At 10k keys the live lines are 640 KB instead of the
// 1.28 MB of 128-byte slots, closer to the 1 MB L2 the input stream also uses.
//
// Hot loop: an inner loop without calls takes the common event (current
// window, not late, no firing due, window exists): one inline probe (skipped
// when key and window repeat), the accumulator updated in place. Anything else
// leaves it for the full path, one event at a time. The table is only scanned
// when the watermark crosses the earliest pending window end or purge time,
// i.e. once per window period, not per batch.

import { spLineBytes, spBytes, spInit, spUpsert, spInsertAt, spLastInserted, spMarkRemoved, spRepair, spCount, spSlotOf, spTag, stHash, SP_CTRL, LINE_VALUE } from '../shared/state_table';
import { aggUpdate, aggBytesFor, ALL_AGGS, NEED_VWAP, NEED_TAIL } from '../shared/aggregates';
import { OUT_BYTES, OUT_WINDOW, OUT_REVISION, FLAG_CONTROL, IN_FIELDS } from '../shared/records';
import {
  W_HEADER, W_VALUE_FIELD, W_PRICE_FIELD, W_QTY_FIELD, W_OUT_COUNT, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_OFFSET, W_OOO, W_LATENESS, W_MAX_TS, W_WATERMARK, W_NEXT_FIRE, W_NEXT_PURGE, W_CAPACITY, W_ENRICH_N, W_AGG_MASK,
  LATE_TOO_LATE, LATE_STATE_FULL, NEVER, etInit, etEnrich, etNeeds, floorDiv, emitWindow, emitLate, sortEntries, etIdleWatermark, scratchBytes,
  scratchPut, etDue, etAdvance, etTable, etHasVwap,
} from '../shared/event_time';

const FIRED: u32 = 0x80000000;
const CTRL_USED: u64 = 0x8080808080808080; // the high bit of each ctrl byte of a group
const TW_COLD_BYTES: u32 = 16;
const C_START: usize = 0;
const C_FLAGS: usize = 8;
const C_KEY: usize = 12;
// Split table header words read by the loops below (see state_table.ts).
const T_MASK: usize = 4, T_LINE_BYTES: usize = 12, T_LAST_INSERTED: usize = 20, T_COLD_BYTES: usize = 24, T_LINES_OFF: usize = 28, T_COLD_OFF: usize = 32;

/** Lays out the region after the host wrote the config fields (capacity, outCap, aggMask, ...). */
export function tumbling_init(base: usize): void {
  const capacity = load<u32>(base + W_CAPACITY);
  const accBytes = aggBytesFor(load<u32>(base + W_AGG_MASK));
  const tableOff = <u32>W_HEADER;
  const scratchOff = tableOff + <u32>spBytes(capacity, accBytes, TW_COLD_BYTES);
  store<u32>(base + W_TABLE_OFF, tableOff);
  store<u32>(base + W_SCRATCH_OFF, scratchOff);
  store<u32>(base + W_OUT_OFF, scratchOff + <u32>scratchBytes(capacity));
  spInit(base + tableOff, capacity, accBytes, TW_COLD_BYTES);
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
  const ctrl = table + SP_CTRL, slotCount = load<u32>(table + T_MASK) + 1;
  const lines = table + <usize>load<u32>(table + T_LINES_OFF), lineBytes = <usize>load<u32>(table + T_LINE_BYTES);
  const colds = table + <usize>load<u32>(table + T_COLD_OFF), coldBytes = <usize>load<u32>(table + T_COLD_BYTES);
  // Both scans read the ctrl bytes 8 at a time (slot counts are powers of
  // two ≥ 8) and visit the used slots of a group by their set high bits: a
  // byte-per-slot loop mispredicted on about every third slot, which made a
  // scan of 32 K slots cost more than emitting the windows. Nothing can fire
  // before nextFire (a lower bound of every unfired end), so a round that only
  // purges skips the first scan.
  if (load<i64>(base + W_NEXT_FIRE) <= wm) {
    for (let g: u32 = 0; g < slotCount; g += 8) {
      let bits = load<u64>(ctrl + <usize>g) & CTRL_USED;
      while (bits != 0) {
        const s = g + (<u32>ctz(bits) >> 3);
        bits &= bits - 1;
        const c = colds + <usize>s * coldBytes;
        const end = load<i64>(c + C_START) + size;
        if ((load<u32>(c + C_FLAGS) & FIRED) == 0 && end <= wm) {
          scratchPut(scratch, n, end, load<u32>(c + C_KEY), s);
          n++;
        }
      }
    }
  }
  sortEntries(scratch, n, load<u32>(base + W_CAPACITY));
  for (let i: u32 = 0; i < n; i++) {
    const e = scratch + <usize>i * 16;
    const s = <usize>load<u32>(e + 12);
    const c = colds + s * coldBytes;
    store<u32>(c + C_FLAGS, load<u32>(c + C_FLAGS) | FIRED);
    emitWindow(base, OUT_WINDOW, load<u32>(e + 8), 0, load<i64>(c + C_START), load<i64>(e), lines + s * lineBytes + LINE_VALUE);
  }
  // Purge: mark what is past its lateness, then one repair pass (entries do
  // not move during the scan, so the scan needs no rewinding).
  let nextFire = NEVER, nextPurge = NEVER;
  let removed = false;
  for (let g: u32 = 0; g < slotCount; g += 8) {
    let bits = load<u64>(ctrl + <usize>g) & CTRL_USED;
    while (bits != 0) {
      const s = g + (<u32>ctz(bits) >> 3);
      const c = colds + <usize>s * coldBytes;
      const end = load<i64>(c + C_START) + size;
      bits &= bits - 1;
      if ((load<u32>(c + C_FLAGS) & FIRED) != 0) {
        if (wm > end + lateness) {
          spMarkRemoved(table, s);
          removed = true;
          continue;
        }
        if (end + lateness + 1 < nextPurge) nextPurge = end + lateness + 1;
      } else if (end < nextFire) nextFire = end;
    }
  }
  if (removed) spRepair(table);
  store<i64>(base + W_NEXT_FIRE, nextFire);
  store<i64>(base + W_NEXT_PURGE, nextPurge);
}

/** A new window's cold words: its start, and its key so that the firing scan
 *  sorts without loading the line. */
function twNewWindow(table: usize, slot: u32, combo: u64, start: i64): void {
  const c = table + <usize>load<u32>(table + T_COLD_OFF) + <usize>slot * <usize>load<u32>(table + T_COLD_BYTES);
  store<i64>(c + C_START, start);
  store<u32>(c + C_KEY, <u32>(combo >> 32));
}

/** Cold words of the entry whose accumulator is at `acc`. */
// @ts-ignore: decorator
@inline
function coldOf(table: usize, acc: usize): usize {
  return table + <usize>load<u32>(table + T_COLD_OFF) + <usize>spSlotOf(table, acc) * <usize>load<u32>(table + T_COLD_BYTES);
}

// The line holding `combo`, or, when the table has none, ~slot of the empty
// slot the probe ended on (where it goes). Inline in both paths: the common
// case (the window exists, mostly at its home slot, checked before the loop
// so that a hit there pays no loop entry) must cost no call.
// @ts-ignore: decorator
@inline
function probeLine(table: usize, lines: usize, lineBytes: usize, mask: u32, combo: u64): i64 {
  const hash = stHash(combo), tag = spTag(hash);
  let h = hash & mask;
  let c = load<u8>(table + <usize>h, SP_CTRL);
  const home = lines + <usize>h * lineBytes;
  if (c == tag && load<u64>(home) == combo) return <i64>home;
  while (c != 0) {
    h = (h + 1) & mask;
    c = load<u8>(table + <usize>h, SP_CTRL);
    const l = lines + <usize>h * lineBytes;
    if (c == tag && load<u64>(l) == combo) return <i64>l;
  }
  return ~<i64>h;
}

// The per-event loop, compiled once per per-event work (NEED_* combination,
// enrichment on or off) by constant arguments: with `need` and `enrich` known
// the aggregate update has no branches left and the loop keeps more of its
// state in registers than one loop testing them per event would.
// @ts-ignore: decorator
@inline
function twRun(base: usize, ptr: usize, count: u32, stride: u32, need: u32, enrich: bool): void {
  // Fewer values live across the loop (TurboFan had about twenty on the
  // stack, reloaded per event): window size, offset and lateness are reloaded
  // where a window changes or an event is late; the line size follows from
  // `need` (lean accumulator: 64 B), so a slot's line is a shift, not a
  // multiply by a loaded word.
  const table = base + <usize>load<u32>(base + W_TABLE_OFF);
  const vOff = IN_FIELDS + (<usize>load<u32>(base + W_VALUE_FIELD) << 3);
  // The caller clears NEED_VWAP when there are no price/quantity fields.
  const vwap = (need & NEED_VWAP) != 0;
  const pOff = vwap ? IN_FIELDS + (<usize>load<u32>(base + W_PRICE_FIELD) << 3) : 0;
  const qOff = vwap ? IN_FIELDS + (<usize>load<u32>(base + W_QTY_FIELD) << 3) : 0;
  const ooo = load<i64>(base + W_OOO);
  let maxTs = load<i64>(base + W_MAX_TS), wm = load<i64>(base + W_WATERMARK);
  let due = etDue(base);
  // Current window bounds and the last (key, window) → accumulator, so runs of
  // one window and repeats of one key cost no division and no probe.
  let curStart: i64 = 1, curEnd: i64 = 0, idxBits: u64 = 0;
  let lastCombo: u64 = 0, lastAcc: usize = 0;
  const mask = load<u32>(table + T_MASK);
  const lineBytes: usize = <usize>spLineBytes(aggBytesFor(need & NEED_TAIL ? ALL_AGGS : 0));
  const lines = table + <usize>load<u32>(table + T_LINES_OFF);
  const end = ptr + <usize>count * <usize>stride;
  let r = ptr;
  while (r < end) {
    // Fast loop: an event of the current window that is not late and whose
    // window exists. It makes no calls (V8's wasm calls save no registers:
    // with the firing, insert and late calls in the one loop, every value
    // live across them went to the stack and came back per event) and has
    // fewer branches. Anything else leaves it untouched and takes the full
    // path below, once.
    while (r < end) {
      if ((load<u32>(r + 20) & FLAG_CONTROL) != 0) break;
      const ts = load<i64>(r);
      if (ts < curStart || ts >= curEnd) break;
      let m = maxTs, w = wm;
      if (ts > m) {
        m = ts;
        if (ts - ooo > w) {
          w = ts - ooo;
          if (w >= due) break;
        }
      }
      if (curEnd <= w) break;
      const combo = (<u64>load<u32>(r + 16) << 32) | idxBits;
      let acc = lastAcc;
      if (combo != lastCombo || acc == 0) {
        const found = probeLine(table, lines, lineBytes, mask, combo);
        if (found < 0) break; // a new window: inserted below
        acc = <usize>found + LINE_VALUE;
        lastCombo = combo;
        lastAcc = acc;
      }
      maxTs = m;
      wm = w;
      aggUpdate(acc, ts, load<u64>(r + 8), load<f64>(r + vOff), vwap ? load<f64>(r + pOff) : 0, vwap ? load<f64>(r + qOff) : 0, need);
      if (enrich) etEnrich(base, r, acc);
      r += <usize>stride;
    }
    if (r >= end) break;
    // Full path, one event: control record, watermark reaching a firing,
    // another window, a new window, a late event.
    const here = r;
    r += <usize>stride;
    if ((load<u32>(here + 20) & FLAG_CONTROL) != 0) continue;
    const ts = load<i64>(here);
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
          due = etDue(base);
          lastAcc = 0; // firing may have moved entries
        }
      }
    }
    if (ts < curStart || ts >= curEnd) {
      const size = load<i64>(base + W_SIZE), offset = load<i64>(base + W_OFFSET);
      const idx = floorDiv(ts - offset, size);
      curStart = offset + idx * size;
      curEnd = curStart + size;
      idxBits = <u64>(<u32>idx);
    }
    const key = load<u32>(here + 16);
    const v = load<f64>(here + vOff);
    const p = vwap ? load<f64>(here + pOff) : 0;
    const q = vwap ? load<f64>(here + qOff) : 0;
    const combo = (<u64>key << 32) | idxBits;
    if (curEnd > wm) {
      let acc = lastAcc;
      if (combo != lastCombo || acc == 0) {
        // Insert out of line at the empty slot the probe ended on.
        const found = probeLine(table, lines, lineBytes, mask, combo);
        if (found >= 0) acc = <usize>found + LINE_VALUE;
        else {
          const h = <u32>~found;
          acc = spInsertAt(table, h, combo, spTag(stHash(combo)));
          if (acc == 0) { emitLate(base, here, stride, LATE_STATE_FULL); lastAcc = 0; continue; }
          twNewWindow(table, h, combo, curStart);
          if (curEnd < load<i64>(base + W_NEXT_FIRE)) store<i64>(base + W_NEXT_FIRE, curEnd);
          if (curEnd < due) due = curEnd;
        }
        lastCombo = combo;
        lastAcc = acc;
      }
      aggUpdate(acc, ts, load<u64>(here + 8), v, p, q, need);
      if (enrich) etEnrich(base, here, acc);
    } else {
      const lateness = load<i64>(base + W_LATENESS);
      if (wm > curEnd + lateness) {
        emitLate(base, here, stride, LATE_TOO_LATE);
        continue;
      }
      // Late but within the allowed lateness: update and re-emit at once.
      const val = spUpsert(table, combo);
      if (val == 0) { emitLate(base, here, stride, LATE_STATE_FULL); continue; }
      const c = coldOf(table, val);
      aggUpdate(val, ts, load<u64>(here + 8), v, p, q, need);
      if (enrich) etEnrich(base, here, val);
      if (spLastInserted(table)) {
        store<i64>(c + C_START, curStart);
        store<u32>(c + C_KEY, key);
        store<u32>(c + C_FLAGS, FIRED);
        emitWindow(base, OUT_WINDOW, key, 0, curStart, curEnd, val);
        const purgeAt = curEnd + lateness + 1;
        if (purgeAt < load<i64>(base + W_NEXT_PURGE)) store<i64>(base + W_NEXT_PURGE, purgeAt);
        if (purgeAt < due) due = purgeAt;
      } else {
        const rev = (load<u32>(c + C_FLAGS) & ~FIRED) + 1;
        store<u32>(c + C_FLAGS, rev | FIRED);
        emitWindow(base, OUT_REVISION, key, rev, curStart, curEnd, val);
      }
    }
  }
  store<i64>(base + W_MAX_TS, maxTs);
  store<i64>(base + W_WATERMARK, wm);
}

function twRun0(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 0, false); }
function twRun1(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 1, false); }
function twRun2(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 2, false); }
function twRun3(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 3, false); }
function twRun4(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 4, false); }
function twRun5(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 5, false); }
function twRun6(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 6, false); }
function twRun7(b: usize, p: usize, c: u32, s: u32): void { twRun(b, p, c, s, 7, false); }
function twRunEnrich(b: usize, p: usize, c: u32, s: u32, need: u32): void { twRun(b, p, c, s, need, true); }

export function tumbling_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  // Only the aggregate mask's per-event work (see aggregates.ts). Without
  // price and quantity fields VWAP adds 0·0 and 0 to zero sums: leaving it
  // out writes the same bytes and lets the loop skip two loads and adds.
  let need = etNeeds(base);
  if (!etHasVwap(base)) need &= ~NEED_VWAP;
  if (load<u32>(base + W_ENRICH_N) != 0) twRunEnrich(base, ptr, count, stride, need);
  else {
    switch (need) {
      case 0: twRun0(base, ptr, count, stride); break;
      case 1: twRun1(base, ptr, count, stride); break;
      case 2: twRun2(base, ptr, count, stride); break;
      case 3: twRun3(base, ptr, count, stride); break;
      case 4: twRun4(base, ptr, count, stride); break;
      case 5: twRun5(base, ptr, count, stride); break;
      case 6: twRun6(base, ptr, count, stride); break;
      default: twRun7(base, ptr, count, stride);
    }
  }
  if (count > 0) store<u32>(base + W_ACTIVITY, 1);
  return load<u32>(base + W_OUT_COUNT);
}

export function tumbling_watermark(base: usize, watermark: i64): u32 {
  if (etAdvance(base, watermark)) twFire(base);
  return load<u32>(base + W_OUT_COUNT);
}

export function tumbling_advance_idle(base: usize, nowProc: i64): u32 {
  return tumbling_watermark(base, etIdleWatermark(base, nowProc));
}

export function tumbling_keys(base: usize): u32 {
  return spCount(etTable(base));
}
