// Sliding (hopping) event-time windows per key, pane-based, both engines.
// assembly/operators/sliding_window.ts owns the layout and explains the design; this JS
// engine is its twin on the same bytes: the per-event fast path (the event's
// pane only feeds windows still open) uses (hi, lo) u32 time halves, the rest
// (window boundaries, firing rounds, late events) uses BigInt.
import { OUT_BYTES, OUT_REVISION, OUT_WINDOW } from '../../records.js';
import type { Engine, OperatorRuntime } from '../operator.js';
import { AGG_BYTES, aggUpdate, aggMerge, lt64 } from './aggregates.js';
import { JsStateTable, stateTableBytes, ST_HEADER, SLOT_USED, SLOT_VALUE, SLOT_KEY } from '../state_table.js';
import {
  W_HEADER, W_OUT_COUNT, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_SLIDE, W_PANE, W_OFFSET, W_OOO, W_LATENESS, W_MAX_TS, W_WATERMARK, W_NEXT_FIRE, W_NEXT_PURGE, W_CAPACITY,
  W_PER_KEY, W_PERIOD, W_SIDE_OFF, W_REFUSED, W_ENRICH_N, etEnrich, LATE_TOO_LATE, LATE_STATE_FULL, NEVER, NO_TIME, WindowOperator, WindowConfigError,
  type WindowCommonConfig,  resolveCommon, positiveNs, wasmWindowEngine, etInit, floorDiv,
  emitWindow, emitLate, sortFire, i64, setI64, memViews, scratchBytes, type FireEntry, JsEventTimeEngine, etInputs,
} from './event_time.js';

const W_LAST_ROUND = 176;
export const SW_START = 0, SW_ACC = 16;
export const SW_VALUE_BYTES = 16 + AGG_BYTES;
const REV_VALUE_BYTES = 16;
const MAX_WINDOWS_PER_PANE = 256;
const MAX_PANES_PER_WINDOW = 4096;

export interface SlidingWindowConfig extends WindowCommonConfig {
  /** Window length in ns. */
  sizeNs: bigint;
  /** A window starts every slideNs (Flink: SlidingEventTimeWindows.of(size, slide, offset)). */
  slideNs: bigint;
  /** Windows start at offsetNs + k·slideNs. Default 0. */
  offsetNs?: bigint;
}

export function slidingBytes(capacity: number, windowsPerPane: number, outCap: number): number {
  return W_HEADER + stateTableBytes(capacity, SW_VALUE_BYTES) + stateTableBytes(capacity, REV_VALUE_BYTES)
    + scratchBytes(capacity * windowsPerPane) + AGG_BYTES + outCap * OUT_BYTES;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
interface Grid { offset: bigint; slide: bigint; size: bigint; g: bigint; lateness: bigint; period: bigint; n: bigint }
function hiOf(v: bigint): number { return Number(BigInt.asIntN(32, v >> 32n)); }
function loOf(v: bigint): number { return Number(BigInt.asUintN(32, v)); }

export class JsSlidingEngine extends JsEventTimeEngine {
  private table(base: number): JsStateTable { return new JsStateTable(this.memory, base + this.m.u32[(base + W_TABLE_OFF) >>> 2]); }
  private rev(base: number): JsStateTable { return new JsStateTable(this.memory, base + this.m.u32[(base + W_SIDE_OFF) >>> 2]); }

  init(base: number): void {
    const u32 = this.m.u32;
    const capacity = u32[(base + W_CAPACITY) >>> 2], wpp = u32[(base + W_PER_KEY) >>> 2];
    const tableOff = W_HEADER;
    const revOff = tableOff + stateTableBytes(capacity, SW_VALUE_BYTES);
    const scratchOff = revOff + stateTableBytes(capacity, REV_VALUE_BYTES);
    u32[(base + W_TABLE_OFF) >>> 2] = tableOff;
    u32[(base + W_SIDE_OFF) >>> 2] = revOff;
    u32[(base + W_SCRATCH_OFF) >>> 2] = scratchOff;
    u32[(base + W_OUT_OFF) >>> 2] = scratchOff + scratchBytes(capacity * wpp) + AGG_BYTES;
    new JsStateTable(this.memory, base + tableOff).init(capacity, SW_VALUE_BYTES, 0n);
    new JsStateTable(this.memory, base + revOff).init(capacity, REV_VALUE_BYTES, 0n);
    etInit(this.m, base);
    setI64(this.m, base + W_LAST_ROUND, NO_TIME);
  }

  keys(base: number): number { return this.table(base).count(); }

  // Window k covers [offset + k·slide, offset + k·slide + size). The config is
  // read once per call (BigInt reads allocate), then the grid math is local.
  private cfg(base: number): Grid {
    const m = this.m;
    return {
      offset: i64(m, base + W_OFFSET), slide: i64(m, base + W_SLIDE), size: i64(m, base + W_SIZE), g: i64(m, base + W_PANE), lateness: i64(m, base + W_LATENESS),
      period: i64(m, base + W_PERIOD), n: BigInt(m.u32[(base + W_PER_KEY) >>> 2]),
    };
  }
  private endOf(base: number, k: bigint, c = this.cfg(base)): bigint { return c.offset + k * c.slide + c.size; }
  /** Start of window k: end − size (hopping), its period's start (cumulate). */
  private startOf(base: number, k: bigint, c = this.cfg(base)): bigint { return c.period !== 0n ? c.offset + floorDiv(k, c.n) * c.period : this.endOf(base, k, c) - c.size; }
  private lastK(base: number, ps: bigint, c = this.cfg(base)): bigint { return c.period !== 0n ? floorDiv(ps - c.offset, c.period) * c.n + c.n - 1n : floorDiv(ps - c.offset, c.slide); }
  private firstK(base: number, pe: bigint, c = this.cfg(base)): bigint { return -floorDiv(c.offset + c.size - pe, c.slide); }
  private kAfter(base: number, t: bigint, c = this.cfg(base)): bigint { return floorDiv(t - c.offset - c.size, c.slide) + 1n; }

  private mergeWindow(base: number, key: number, k: bigint): number {
    const c = this.cfg(base);
    const start = this.startOf(base, k, c);
    return this.mergePanes(base, key, loOf(floorDiv(start - c.offset, c.g)), Number((this.endOf(base, k, c) - start) / c.g));
  }

  /** Merges `panes` panes from index p0 (low 32 bits, as the table keys them) into the scratch accumulator. */
  private mergePanes(base: number, key: number, p0Lo: number, panes: number, table = this.table(base)): number {
    const m = this.m;
    const acc = base + m.u32[(base + W_OUT_OFF) >>> 2] - AGG_BYTES;
    m.u8.fill(0, acc, acc + AGG_BYTES);
    for (let j = 0; j < panes; j++) {
      const v = table.getHL(key, (p0Lo + j) >>> 0);
      if (v !== 0) aggMerge(m, acc, v + SW_ACC);
    }
    return acc;
  }

  protected fire(base: number): void {
    const m = this.m, table = this.table(base), rev = this.rev(base);
    const wm = i64(m, base + W_WATERMARK), lastRound = i64(m, base + W_LAST_ROUND);
    const c = this.cfg(base);
    const { g, size, lateness, slide, offset } = c;
    const list: FireEntry[] = [];
    const anyRev = rev.count() !== 0;
    for (let s = table.next(-1); s >= 0; s = table.next(s)) {
      const ps = i64(m, table.slotValue(s) + SW_START);
      const key = table.slotKeyHi(s);
      let k = this.firstK(base, ps + g, c);
      if (lastRound !== NO_TIME) { const ka = this.kAfter(base, lastRound, c); if (ka > k) k = ka; }
      const kl = this.lastK(base, ps, c);
      for (; k <= kl; k++) {
        const e = this.endOf(base, k, c);
        if (e > wm) break;
        if (anyRev && rev.getHL(key, loOf(k)) !== 0) continue;
        list.push({ end: e, key, ref: 0 });
      }
    }
    sortFire(list);
    for (let i = 0; i < list.length; i++) {
      const { end: e, key } = list[i];
      if (i > 0 && list[i - 1].end === e && list[i - 1].key === key) continue;
      const k = floorDiv(e - offset - size, slide);
      const acc = this.mergeWindow(base, key, k);
      emitWindow(m, base, OUT_WINDOW, key, 0, this.startOf(base, k, c), e, acc);
    }
    setI64(m, base + W_LAST_ROUND, wm);
    let nextFire = NEVER, nextPurge = NEVER;
    const kNext = this.kAfter(base, wm, c);
    const purge = (t: JsStateTable, endOfSlot: (s: number) => bigint, pending: ((s: number) => void) | null) => {
      const slots = m.u32[(t.base + 4) >>> 2] + 1;
      for (let s = 0; (s = t.nextUsed(s)) < slots;) {
        const lastEnd = endOfSlot(s);
        if (wm > lastEnd + lateness) { t.removeSlot(s); continue; }
        if (lastEnd + lateness + 1n < nextPurge) nextPurge = lastEnd + lateness + 1n;
        if (pending) pending(s);
        s++;
      }
    };
    purge(table, (s) => this.endOf(base, this.lastK(base, i64(m, table.slotValue(s) + SW_START), c), c), (s) => {
      const ps = i64(m, table.slotValue(s) + SW_START);
      const kl = this.lastK(base, ps, c);
      let kf = this.firstK(base, ps + g, c);
      if (kNext > kf) kf = kNext;
      if (kf <= kl) { const e = this.endOf(base, kf, c); if (e < nextFire) nextFire = e; }
    });
    purge(rev, (s) => i64(m, rev.slotValue(s) + 8), null);
    setI64(m, base + W_NEXT_FIRE, nextFire);
    setI64(m, base + W_NEXT_PURGE, nextPurge);
  }

  private track(base: number, ps: bigint, wm: bigint): void {
    const m = this.m, g = i64(m, base + W_PANE), lateness = i64(m, base + W_LATENESS);
    const kl = this.lastK(base, ps);
    let kf = this.firstK(base, ps + g);
    const ka = this.kAfter(base, wm);
    if (ka > kf) kf = ka;
    if (kf <= kl) {
      const e = this.endOf(base, kf);
      if (e < i64(m, base + W_NEXT_FIRE)) setI64(m, base + W_NEXT_FIRE, e);
    }
    const purgeAt = this.endOf(base, kl) + lateness + 1n;
    if (purgeAt < i64(m, base + W_NEXT_PURGE)) setI64(m, base + W_NEXT_PURGE, purgeAt);
  }

  private late(base: number, r: number, stride: number, tsHi: number, tsLo: number, ps: bigint, key: number, idxLo: number, v: number, p: number, q: number): void {
    const m = this.m;
    const wm = i64(m, base + W_WATERMARK), lateness = i64(m, base + W_LATENESS), g = i64(m, base + W_PANE);
    const kl = this.lastK(base, ps);
    if (wm > this.endOf(base, kl) + lateness) { emitLate(m, base, r, stride, LATE_TOO_LATE); return; }
    // As assembly/operators/sliding_window.ts swLate: windows of this pane past their
    // lateness that no firing round reached fire before the event joins it.
    const lastRound = i64(m, base + W_LAST_ROUND);
    let kLo = this.firstK(base, ps + g);
    if (lastRound !== NO_TIME) { const ka = this.kAfter(base, lastRound); if (ka > kLo) kLo = ka; }
    let kHi = this.kAfter(base, wm - lateness - 1n) - 1n;
    if (kl < kHi) kHi = kl;
    if (kLo <= kHi) this.fire(base);
    const table = this.table(base), rev = this.rev(base);
    const val = table.upsertHL(key, idxLo, tsHi, tsLo);
    if (val === 0) { emitLate(m, base, r, stride, LATE_STATE_FULL); return; }
    const inserted = table.lastInserted();
    if (inserted) setI64(m, val + SW_START, ps);
    const w = r >>> 2;
    aggUpdate(m, val + SW_ACC, tsHi, tsLo, m.u32[w + 3], m.u32[w + 2], v, p, q);
    for (let k = this.firstK(base, ps + g); k <= kl; k++) {
      const e = this.endOf(base, k);
      if (e > wm) break;
      if (wm > e + lateness) continue;
      const acc = this.mergeWindow(base, key, k);
      let rv = rev.getHL(key, loOf(k));
      let kind = OUT_REVISION, aux = 0;
      if (rv !== 0) {
        aux = m.u32[rv >>> 2] + 1;
      } else {
        rv = rev.upsertHL(key, loOf(k), tsHi, tsLo);
        if (rv === 0) {
          m.dv.setBigUint64(base + W_REFUSED, m.dv.getBigUint64(base + W_REFUSED, true) + 1n, true);
          emitWindow(m, base, OUT_REVISION, key, 0, this.startOf(base, k), e, acc);
          continue;
        }
        setI64(m, rv + 8, e);
        if (m.f64[acc >>> 3] > 1) aux = 1; else kind = OUT_WINDOW;
        const purgeAt = e + lateness + 1n;
        if (purgeAt < i64(m, base + W_NEXT_PURGE)) setI64(m, base + W_NEXT_PURGE, purgeAt);
      }
      m.u32[rv >>> 2] = aux;
      emitWindow(m, base, kind, key, aux, this.startOf(base, k), e, acc);
    }
    // Enrichment: the earliest-ending window holding the event that still takes
    // it (end + lateness ≥ watermark), revised; older ones are final and freed.
    if (m.u32[(base + W_ENRICH_N) >>> 2] !== 0) {
      let kf = this.firstK(base, ps + g);
      const ka = this.kAfter(base, wm - lateness - 1n);
      if (ka > kf) kf = ka;
      etEnrich(m, base, r, this.mergeWindow(base, key, kf));
    }
    if (inserted) this.track(base, ps, wm);
  }

  process(base: number, ptr: number, count: number, stride: number): void {
    const m = this.m, u32 = m.u32, i32 = m.i32, f64 = m.f64;
    const table = this.table(base);
    const { vOff, pOff, qOff, hasVwap } = etInputs(m, base);
    const g = i64(m, base + W_PANE), offset = i64(m, base + W_OFFSET);
    const ooo = i64(m, base + W_OOO), oooHi = hiOf(ooo), oooLo = loOf(ooo);
    const wMax = (base + W_MAX_TS) >>> 2, wWm = (base + W_WATERMARK) >>> 2;
    let maxHi = i32[wMax + 1], maxLo = u32[wMax];
    let wmHi = i32[wWm + 1], wmLo = u32[wWm];
    let due = this.due(base), dueHi = hiOf(due), dueLo = loOf(due);
    let csHi = 0, csLo = 1, ceHi = 0, ceLo = 0, cfHi = 0, cfLo = 0, curIdxLo = 0, curStart = 0n;
    let lastKey = 0, lastIdx = 0, lastAcc = 0;
    // Enrichment reads the most recent window containing the event (the one
    // ending at the next slide boundary, firstEnd): its first pane.
    const enrich = u32[(base + W_ENRICH_N) >>> 2] !== 0;
    let curRollP0Lo = 0, curRollN = 0;
    const sync = () => { u32[wMax] = maxLo; i32[wMax + 1] = maxHi; u32[wWm] = wmLo; i32[wWm + 1] = wmHi; };
    for (let i = 0; i < count; i++) {
      const r = ptr + i * stride, w = r >>> 2;
      if ((u32[w + 5] & 1) !== 0) continue;
      const tsLo = u32[w], tsHi = i32[w + 1];
      if (lt64(maxHi, maxLo, tsHi, tsLo)) {
        maxHi = tsHi; maxLo = tsLo;
        const cHi = (tsHi - oooHi - (tsLo < oooLo ? 1 : 0)) | 0, cLo = (tsLo - oooLo) >>> 0;
        if (lt64(wmHi, wmLo, cHi, cLo)) {
          wmHi = cHi; wmLo = cLo;
          if (!lt64(wmHi, wmLo, dueHi, dueLo)) {
            sync();
            this.fire(base);
            due = this.due(base); dueHi = hiOf(due); dueLo = loOf(due);
            lastAcc = 0;
          }
        }
      }
      if (lt64(tsHi, tsLo, csHi, csLo) || !lt64(tsHi, tsLo, ceHi, ceLo)) {
        const ts = (BigInt(tsHi) << 32n) | BigInt(tsLo);
        const idx = floorDiv(ts - offset, g);
        curStart = BigInt.asIntN(64, offset + idx * g);
        const curEnd = BigInt.asIntN(64, curStart + g);
        const kFirst = this.firstK(base, curEnd);
        const firstEnd = this.endOf(base, kFirst);
        csHi = hiOf(curStart); csLo = loOf(curStart); ceHi = hiOf(curEnd); ceLo = loOf(curEnd);
        cfHi = hiOf(firstEnd); cfLo = loOf(firstEnd);
        curIdxLo = loOf(idx);
        if (enrich) {
          const rollStart = this.startOf(base, kFirst);
          curRollP0Lo = loOf(floorDiv(rollStart - offset, g));
          curRollN = Number((firstEnd - rollStart) / g);
        }
      }
      const key = u32[w + 4];
      const v = f64[(r + vOff) >>> 3];
      const p = hasVwap ? f64[(r + pOff) >>> 3] : 0;
      const q = hasVwap ? f64[(r + qOff) >>> 3] : 0;
      if (lt64(wmHi, wmLo, cfHi, cfLo)) {
        let acc = lastAcc;
        if (key !== lastKey || curIdxLo !== lastIdx || acc === 0) {
          const val = table.upsertHL(key, curIdxLo, tsHi, tsLo);
          if (val === 0) { emitLate(m, base, r, stride, LATE_STATE_FULL); lastAcc = 0; continue; }
          if (table.lastInserted()) {
            setI64(m, val + SW_START, curStart);
            u32[wWm] = wmLo; i32[wWm + 1] = wmHi;
            this.track(base, curStart, (BigInt(wmHi) << 32n) | BigInt(wmLo));
            due = this.due(base); dueHi = hiOf(due); dueLo = loOf(due);
          }
          acc = val + SW_ACC;
          lastKey = key; lastIdx = curIdxLo; lastAcc = acc;
        }
        aggUpdate(m, acc, tsHi, tsLo, u32[w + 3], u32[w + 2], v, p, q);
        if (enrich) etEnrich(m, base, r, this.mergePanes(base, key, curRollP0Lo, curRollN, table));
      } else {
        sync();
        this.late(base, r, stride, tsHi, tsLo, curStart, key, curIdxLo, v, p, q);
        due = this.due(base); dueHi = hiOf(due); dueLo = loOf(due);
        lastAcc = 0; // a firing round in late() may have moved entries
      }
    }
    sync();
    if (count > 0) u32[(base + W_ACTIVITY) >>> 2] = 1;
  }
}

/** Keyed sliding window operator (Flink: SlidingEventTimeWindows.of(size, slide, offset)). */
export class SlidingWindow extends WindowOperator {
  constructor(engine: Engine, rt: OperatorRuntime, op: number, config: SlidingWindowConfig) {
    const c = resolveCommon(config);
    const size = positiveNs('sizeNs', config.sizeNs);
    const slide = positiveNs('slideNs', config.slideNs);
    if (slide > size) throw new WindowConfigError(`slideNs (${slide}) must not exceed sizeNs (${size}): gaps between windows would drop events`);
    const offset = config.offsetNs ?? 0n;
    if (typeof offset !== 'bigint' || offset < 0n || offset >= slide) throw new WindowConfigError(`offsetNs must be a bigint in [0, slideNs), got ${String(config.offsetNs)}`);
    const pane = gcd(size, slide);
    const wpp = Number((size + slide - 1n) / slide);
    if (wpp > MAX_WINDOWS_PER_PANE) throw new WindowConfigError(`sizeNs / slideNs = ${wpp} overlapping windows per event; at most ${MAX_WINDOWS_PER_PANE} are supported`);
    if (size / pane > BigInt(MAX_PANES_PER_WINDOW)) throw new WindowConfigError(`sizeNs and slideNs give panes of ${pane} ns, ${size / pane} per window; at most ${MAX_PANES_PER_WINDOW} (choose a slide that divides the size more evenly)`);
    const outCap = c.capacity * wpp + 2 * c.maxBatch * wpp;
    const impl = engine === 'wasm' ? wasmWindowEngine(rt.exports, 'sliding') : new JsSlidingEngine(memViews(rt.memory), rt.memory);
    super(op, engine, rt, c, impl, slidingBytes(c.capacity, wpp, outCap), outCap, size, slide, pane, offset, wpp);
    this.fanout = wpp;
  }
}

export interface CumulateWindowConfig extends WindowCommonConfig {
  /** The window end advances by stepNs (Flink CUMULATE's step). */
  stepNs: bigint;
  /** Windows start every maxSizeNs and grow to it (Flink CUMULATE's max size); a multiple of stepNs. */
  maxSizeNs: bigint;
  /** Periods start at offsetNs + k·maxSizeNs. Default 0. */
  offsetNs?: bigint;
}

/**
 * Keyed cumulative windows (Flink: CUMULATE(TABLE t, DESCRIPTOR(ts), step,
 * maxSize)): [period start, period start + j·step) for j = 1..maxSize/step, on
 * the sliding window's engine with panes of one step (header word W_PERIOD).
 */
export class CumulateWindow extends WindowOperator {
  constructor(engine: Engine, rt: OperatorRuntime, op: number, config: CumulateWindowConfig) {
    const c = resolveCommon(config);
    const step = positiveNs('stepNs', config.stepNs);
    const max = positiveNs('maxSizeNs', config.maxSizeNs);
    if (max % step !== 0n) throw new WindowConfigError(`maxSizeNs (${max}) must be a multiple of stepNs (${step}): a period is cut into whole steps`);
    const offset = config.offsetNs ?? 0n;
    if (typeof offset !== 'bigint' || offset < 0n || offset >= max) throw new WindowConfigError(`offsetNs must be a bigint in [0, maxSizeNs), got ${String(config.offsetNs)}`);
    const n = max / step;
    if (n > BigInt(MAX_WINDOWS_PER_PANE)) throw new WindowConfigError(`maxSizeNs / stepNs = ${n} windows per period; at most ${MAX_WINDOWS_PER_PANE} are supported`);
    const wpp = Number(n);
    const outCap = c.capacity * wpp + 2 * c.maxBatch * wpp;
    const impl = engine === 'wasm' ? wasmWindowEngine(rt.exports, 'sliding') : new JsSlidingEngine(memViews(rt.memory), rt.memory);
    super(op, engine, rt, c, impl, slidingBytes(c.capacity, wpp, outCap), outCap, step, step, step, offset, wpp, max);
    this.fanout = wpp;
  }
}
