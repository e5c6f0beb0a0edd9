// Sliding (hopping) event-time windows per key, pane-based: windows of `size`
// start every `slide` (at offset + k·slide); time is cut into panes of
// g = gcd(size, slide), each event updates exactly ONE pane accumulator, and a
// window is the merge of its size/g panes when it fires. A slide never
// rescans events; min/max/first/last merge exactly, which subtract-on-evict
// could not do.
//
// Region: header (event_time.ts) │ pane table │ revision table │ scratch │ output.
// W_PER_KEY holds windows-per-pane = ceil(size / slide); W_SIDE_OFF the
// revision table's offset; header byte 176 the watermark of the last firing
// round (ends ≤ it have been handled).
//
// Pane table: key << 32 | u32(pane index) → value (same shape as tumbling's):
//   0 paneStart i64 │ 8 unused u32 │ 12 unused u32 │ 16 accumulator
// Revision table: key << 32 | u32(window index k) → 0 revision u32 │ 4 pad │ 8 end i64.
//   An entry exists once a window was emitted from the late path; its
//   presence also tells a firing round that the window is already out.
//
// Lifetimes: a pane is freed when watermark > (last end containing it) +
// lateness; a revision entry when watermark > its end + lateness.
//
// CUMULATE (Flink's cumulative windows) runs on the same panes: header word
// 224 (W_PERIOD) holds the max size M (0 = hopping). Then size = slide = pane
// = step, window k ends at offset + (k+1)·step like a hopping window of one
// step, but starts at the start of its period, offset + floor(k / n)·M
// (n = M / step windows per period, W_PER_KEY): a pane feeds the windows of
// its period from its own end to the period's end. Only where a window starts
// (startOf, hence which panes it merges) and the last window of a pane
// (lastK) differ; firing, revisions, lateness and purging are the hopping
// window's, as Flink's SliceAssigners.cumulative shares slices the same way.

import { stBytes, stNextUsed, stInit, stUpsert, stLastInserted, stGet, stRemoveSlot, stCount, ST_HEADER, SLOT_KEY, SLOT_VALUE } from '../shared/state_table';
import { AGG_BYTES, aggUpdate, aggMerge } from '../shared/aggregates';
import { OUT_BYTES, OUT_WINDOW, OUT_REVISION, FLAG_CONTROL } from '../shared/records';
import {
  W_HEADER, W_VALUE_FIELD, W_PRICE_FIELD, W_QTY_FIELD, W_OUT_COUNT, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_SLIDE, W_PANE, W_OFFSET, W_OOO, W_LATENESS, W_MAX_TS, W_WATERMARK, W_NEXT_FIRE, W_NEXT_PURGE, W_CAPACITY,
  W_PER_KEY, W_SIDE_OFF, W_REFUSED, W_ENRICH_N, LATE_TOO_LATE, LATE_STATE_FULL, NEVER, NO_TIME, etInit, etEnrich, floorDiv, emitWindow, emitLate, sortEntries,
  etIdleWatermark, scratchBytes, scratchPut, etDue, etAdvance, etTable, etFieldAt, etHasVwap,
} from '../shared/event_time';

const W_LAST_ROUND: usize = 176;
const W_PERIOD: usize = 224;
const SW_START: usize = 0;
const SW_ACC: usize = 16;
const SW_VALUE_BYTES: u32 = 16 + <u32>AGG_BYTES;
const REV_VALUE_BYTES: u32 = 16;

export function sliding_init(base: usize): void {
  const capacity = load<u32>(base + W_CAPACITY);
  const wpp = load<u32>(base + W_PER_KEY);
  const tableOff = <u32>W_HEADER;
  const revOff = tableOff + <u32>stBytes(capacity, SW_VALUE_BYTES);
  const scratchOff = revOff + <u32>stBytes(capacity, REV_VALUE_BYTES);
  store<u32>(base + W_TABLE_OFF, tableOff);
  store<u32>(base + W_SIDE_OFF, revOff);
  store<u32>(base + W_SCRATCH_OFF, scratchOff);
  store<u32>(base + W_OUT_OFF, scratchOff + <u32>scratchBytes(capacity * wpp) + <u32>AGG_BYTES);
  stInit(base + tableOff, capacity, SW_VALUE_BYTES, 0);
  stInit(base + revOff, capacity, REV_VALUE_BYTES, 0);
  etInit(base);
  store<i64>(base + W_LAST_ROUND, NO_TIME);
}

// Window k covers [offset + k·slide, offset + k·slide + size).
// @ts-ignore: decorator
@inline function endOf(base: usize, k: i64): i64 {
  return load<i64>(base + W_OFFSET) + k * load<i64>(base + W_SLIDE) + load<i64>(base + W_SIZE);
}
/** Start of window k: end − size (hopping), its period's start (cumulate). */
// @ts-ignore: decorator
@inline function startOf(base: usize, k: i64): i64 {
  const period = load<i64>(base + W_PERIOD);
  if (period != 0) return load<i64>(base + W_OFFSET) + floorDiv(k, <i64>load<u32>(base + W_PER_KEY)) * period;
  return endOf(base, k) - load<i64>(base + W_SIZE);
}
/** Index of window k from its end (ends are distinct: one window per slide). */
// @ts-ignore: decorator
@inline function kOfEnd(base: usize, e: i64): i64 {
  return floorDiv(e - load<i64>(base + W_OFFSET) - load<i64>(base + W_SIZE), load<i64>(base + W_SLIDE));
}
/** Index of the last window containing the pane starting at ps. */
// @ts-ignore: decorator
@inline function lastK(base: usize, ps: i64): i64 {
  const period = load<i64>(base + W_PERIOD);
  if (period != 0) {
    const n = <i64>load<u32>(base + W_PER_KEY);
    return floorDiv(ps - load<i64>(base + W_OFFSET), period) * n + n - 1;
  }
  return floorDiv(ps - load<i64>(base + W_OFFSET), load<i64>(base + W_SLIDE));
}
/** Index of the first window containing the pane ending at pe (end ≥ pe). */
// @ts-ignore: decorator
@inline function firstK(base: usize, pe: i64): i64 {
  const slide = load<i64>(base + W_SLIDE);
  return -floorDiv(load<i64>(base + W_OFFSET) + load<i64>(base + W_SIZE) - pe, slide);
}
/** Index of the first window ending after t. */
// @ts-ignore: decorator
@inline function kAfter(base: usize, t: i64): i64 {
  return floorDiv(t - load<i64>(base + W_OFFSET) - load<i64>(base + W_SIZE), load<i64>(base + W_SLIDE)) + 1;
}

/** Merges the panes of window k of `key` into the scratch accumulator. */
function mergeWindow(base: usize, key: u32, k: i64): usize {
  const g = load<i64>(base + W_PANE);
  const start = startOf(base, k);
  return mergePanes(base, key, floorDiv(start - load<i64>(base + W_OFFSET), g), (endOf(base, k) - start) / g);
}

/** Merges `panes` panes from pane index p0 on (in time order) into the scratch accumulator. */
function mergePanes(base: usize, key: u32, p0: i64, panes: i64): usize {
  const table = base + <usize>load<u32>(base + W_TABLE_OFF);
  const acc = base + <usize>load<u32>(base + W_OUT_OFF) - AGG_BYTES;
  memory.fill(acc, 0, AGG_BYTES);
  for (let p = p0; p < p0 + panes; p++) {
    const v = stGet(table, (<u64>key << 32) | <u64>(<u32>p));
    if (v != 0) aggMerge(acc, v + SW_ACC);
  }
  return acc;
}

function swFire(base: usize): void {
  const table = base + <usize>load<u32>(base + W_TABLE_OFF);
  const rev = base + <usize>load<u32>(base + W_SIDE_OFF);
  const scratch = base + <usize>load<u32>(base + W_SCRATCH_OFF);
  const wm = load<i64>(base + W_WATERMARK);
  const lastRound = load<i64>(base + W_LAST_ROUND);
  const g = load<i64>(base + W_PANE), lateness = load<i64>(base + W_LATENESS);
  const slots = table + ST_HEADER, slotCount = load<u32>(table + 4) + 1, slotBytes = <usize>load<u32>(table + 12);
  // 1. Every (window end, key) with data whose end passed since the last round.
  const anyRev = stCount(rev) != 0;
  let n: u32 = 0;
  for (let s = stNextUsed(table, 0); s < slotCount; s = stNextUsed(table, s + 1)) {
    const sl = slots + <usize>s * slotBytes;
    const ps = load<i64>(sl + SLOT_VALUE + SW_START);
    const key = <u32>(load<u64>(sl + SLOT_KEY) >> 32);
    let k = firstK(base, ps + g);
    if (lastRound != NO_TIME) { const ka = kAfter(base, lastRound); if (ka > k) k = ka; }
    const kl = lastK(base, ps);
    for (; k <= kl; k++) {
      const e = endOf(base, k);
      if (e > wm) break;
      if (anyRev && stGet(rev, (<u64>key << 32) | <u64>(<u32>k)) != 0) continue; // emitted from the late path
      scratchPut(scratch, n, e, key, <u32>k);
      n++;
    }
  }
  sortEntries(scratch, n, load<u32>(base + W_CAPACITY) * load<u32>(base + W_PER_KEY));
  // 2. Emit each once (panes of one window all listed it), in (end, key) order.
  for (let i: u32 = 0; i < n; i++) {
    const en = scratch + <usize>i * 16;
    const e = load<i64>(en), key = load<u32>(en + 8);
    if (i > 0 && load<i64>(en - 16) == e && load<u32>(en - 8) == key) continue;
    const k = kOfEnd(base, e);
    const acc = mergeWindow(base, key, k);
    emitWindow(base, OUT_WINDOW, key, 0, startOf(base, k), e, acc);
  }
  store<i64>(base + W_LAST_ROUND, wm);
  // 3. Free what is past its lateness; find when something is next due.
  let nextFire = NEVER, nextPurge = NEVER;
  const kNext = kAfter(base, wm);
  let s: u32 = 0;
  while ((s = stNextUsed(table, s)) < slotCount) {
    const sl = slots + <usize>s * slotBytes;
    const ps = load<i64>(sl + SLOT_VALUE + SW_START);
    const kl = lastK(base, ps);
    const lastEnd = endOf(base, kl);
    if (wm > lastEnd + lateness) { stRemoveSlot(table, s); continue; }
    if (lastEnd + lateness + 1 < nextPurge) nextPurge = lastEnd + lateness + 1;
    const kf = max<i64>(firstK(base, ps + g), kNext);
    if (kf <= kl) { const e = endOf(base, kf); if (e < nextFire) nextFire = e; }
    s++;
  }
  const rslots = rev + ST_HEADER, rCount = load<u32>(rev + 4) + 1, rBytes = <usize>load<u32>(rev + 12);
  s = 0;
  while ((s = stNextUsed(rev, s)) < rCount) {
    const sl = rslots + <usize>s * rBytes;
    const e = load<i64>(sl + SLOT_VALUE + 8);
    if (wm > e + lateness) { stRemoveSlot(rev, s); continue; }
    if (e + lateness + 1 < nextPurge) nextPurge = e + lateness + 1;
    s++;
  }
  store<i64>(base + W_NEXT_FIRE, nextFire);
  store<i64>(base + W_NEXT_PURGE, nextPurge);
}

/** The slow path: the event's pane feeds windows that already fired. */
function swLate(base: usize, r: usize, stride: u32, ts: i64, ps: i64, combo: u64, v: f64, p: f64, q: f64): void {
  const wm = load<i64>(base + W_WATERMARK);
  const lateness = load<i64>(base + W_LATENESS);
  const g = load<i64>(base + W_PANE);
  const kl = lastK(base, ps);
  if (wm > endOf(base, kl) + lateness) { emitLate(base, r, stride, LATE_TOO_LATE); return; }
  // Windows of this pane already past their lateness that no firing round
  // reached (nothing else was due since their end) fire now, before this
  // event joins the pane: it must not reach them, as it would not have had a
  // round run in time. Rare (a round runs whenever anything is due).
  const lastRound = load<i64>(base + W_LAST_ROUND);
  let kLo = firstK(base, ps + g);
  if (lastRound != NO_TIME) { const ka = kAfter(base, lastRound); if (ka > kLo) kLo = ka; }
  const kHi = min<i64>(kl, kAfter(base, wm - lateness - 1) - 1);
  if (kLo <= kHi) swFire(base);
  const table = base + <usize>load<u32>(base + W_TABLE_OFF);
  const rev = base + <usize>load<u32>(base + W_SIDE_OFF);
  const val = stUpsert(table, combo, ts);
  if (val == 0) { emitLate(base, r, stride, LATE_STATE_FULL); return; }
  const inserted = stLastInserted(table);
  if (inserted) store<i64>(val + SW_START, ps);
  aggUpdate(val + SW_ACC, ts, load<u64>(r + 8), v, p, q);
  const key = <u32>(combo >> 32);
  // Re-emit every fired window of this pane still within its lateness.
  for (let k = firstK(base, ps + g); k <= kl; k++) {
    const e = endOf(base, k);
    if (e > wm) break;
    if (wm > e + lateness) continue;
    const acc = mergeWindow(base, key, k);
    let rv = stGet(rev, (<u64>key << 32) | <u64>(<u32>k));
    let kind = OUT_REVISION;
    let aux: u32 = 0;
    if (rv != 0) {
      aux = load<u32>(rv) + 1;
    } else {
      rv = stUpsert(rev, (<u64>key << 32) | <u64>(<u32>k), ts);
      if (rv == 0) {
        // No room to number revisions: still re-emit (aux 0), count it as refused.
        store<u64>(base + W_REFUSED, load<u64>(base + W_REFUSED) + 1);
        emitWindow(base, OUT_REVISION, key, 0, startOf(base, k), e, acc);
        continue;
      }
      store<i64>(rv + 8, e);
      // Had the window data before this event, the round emitted it already.
      if (load<f64>(acc) > 1) aux = 1; else kind = OUT_WINDOW;
      const purgeAt = e + lateness + 1;
      if (purgeAt < load<i64>(base + W_NEXT_PURGE)) store<i64>(base + W_NEXT_PURGE, purgeAt);
    }
    store<u32>(rv, aux);
    emitWindow(base, kind, key, aux, startOf(base, k), e, acc);
  }
  // Enrichment: the earliest-ending window holding the event that still takes
  // it (end + lateness ≥ watermark), revised; older ones are final and freed.
  if (load<u32>(base + W_ENRICH_N) != 0) {
    const kf = max<i64>(firstK(base, ps + g), kAfter(base, wm - lateness - 1));
    etEnrich(base, r, mergeWindow(base, key, kf));
  }
  if (inserted) swTrack(base, ps, wm);
}

/** A new pane: when will its first pending window and its purge be due? */
function swTrack(base: usize, ps: i64, wm: i64): void {
  const g = load<i64>(base + W_PANE), lateness = load<i64>(base + W_LATENESS);
  const kl = lastK(base, ps);
  const kf = max<i64>(firstK(base, ps + g), kAfter(base, wm));
  if (kf <= kl) {
    const e = endOf(base, kf);
    if (e < load<i64>(base + W_NEXT_FIRE)) store<i64>(base + W_NEXT_FIRE, e);
  }
  const purgeAt = endOf(base, kl) + lateness + 1;
  if (purgeAt < load<i64>(base + W_NEXT_PURGE)) store<i64>(base + W_NEXT_PURGE, purgeAt);
}

export function sliding_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  const table = etTable(base);
  const vOff = etFieldAt(base, W_VALUE_FIELD), pOff = etFieldAt(base, W_PRICE_FIELD), qOff = etFieldAt(base, W_QTY_FIELD);
  const hasVwap = etHasVwap(base);
  const g = load<i64>(base + W_PANE), offset = load<i64>(base + W_OFFSET);
  const ooo = load<i64>(base + W_OOO);
  let maxTs = load<i64>(base + W_MAX_TS), wm = load<i64>(base + W_WATERMARK);
  let due = etDue(base);
  // Current pane bounds and its first window end: events of a pane whose
  // first window is still open take the fast path (one probe, one update).
  let curStart: i64 = 1, curEnd: i64 = 0, curIdx: i64 = 0, curFirstEnd: i64 = 0;
  // Enrichment reads the most recent window containing the event (the one
  // ending at the next slide boundary, curFirstEnd): its first pane.
  const enrich = load<u32>(base + W_ENRICH_N) != 0;
  let curRollP0: i64 = 0, curRollN: i64 = 0;
  let lastCombo: u64 = 0, lastAcc: usize = 0;
  for (let i: u32 = 0; i < count; i++) {
    const r = ptr + <usize>i * <usize>stride;
    if ((load<u32>(r + 20) & FLAG_CONTROL) != 0) continue;
    const ts = load<i64>(r);
    if (ts > maxTs) {
      maxTs = ts;
      if (ts - ooo > wm) {
        wm = ts - ooo;
        if (wm >= due) {
          store<i64>(base + W_MAX_TS, maxTs);
          store<i64>(base + W_WATERMARK, wm);
          swFire(base);
          due = etDue(base);
          lastAcc = 0;
        }
      }
    }
    if (ts < curStart || ts >= curEnd) {
      curIdx = floorDiv(ts - offset, g);
      curStart = offset + curIdx * g;
      curEnd = curStart + g;
      const kFirst = firstK(base, curEnd);
      curFirstEnd = endOf(base, kFirst);
      const rollStart = startOf(base, kFirst);
      curRollP0 = floorDiv(rollStart - offset, g);
      curRollN = (curFirstEnd - rollStart) / g;
    }
    const key = load<u32>(r + 16);
    const v = load<f64>(r + vOff);
    const p = hasVwap ? load<f64>(r + pOff) : 0;
    const q = hasVwap ? load<f64>(r + qOff) : 0;
    const combo = (<u64>key << 32) | <u64>(<u32>curIdx);
    if (curFirstEnd > wm) {
      let acc = lastAcc;
      if (combo != lastCombo || acc == 0) {
        const val = stUpsert(table, combo, ts);
        if (val == 0) { emitLate(base, r, stride, LATE_STATE_FULL); lastAcc = 0; continue; }
        if (stLastInserted(table)) {
          store<i64>(val + SW_START, curStart);
          store<i64>(base + W_WATERMARK, wm);
          swTrack(base, curStart, wm);
          due = etDue(base);
        }
        acc = val + SW_ACC;
        lastCombo = combo;
        lastAcc = acc;
      }
      aggUpdate(acc, ts, load<u64>(r + 8), v, p, q);
      if (enrich) etEnrich(base, r, mergePanes(base, key, curRollP0, curRollN));
    } else {
      store<i64>(base + W_MAX_TS, maxTs);
      store<i64>(base + W_WATERMARK, wm);
      swLate(base, r, stride, ts, curStart, combo, v, p, q);
      due = etDue(base);
      lastAcc = 0; // a firing round in swLate may have moved entries
    }
  }
  store<i64>(base + W_MAX_TS, maxTs);
  store<i64>(base + W_WATERMARK, wm);
  if (count > 0) store<u32>(base + W_ACTIVITY, 1);
  return load<u32>(base + W_OUT_COUNT);
}

export function sliding_watermark(base: usize, watermark: i64): u32 {
  if (etAdvance(base, watermark)) swFire(base);
  return load<u32>(base + W_OUT_COUNT);
}

export function sliding_advance_idle(base: usize, nowProc: i64): u32 {
  return sliding_watermark(base, etIdleWatermark(base, nowProc));
}

export function sliding_keys(base: usize): u32 {
  return stCount(etTable(base));
}
