// Tumbling event-time windows per key, both engines. assembly/operators/tumbling_window.ts
// owns the value layout; this JS engine is its line-by-line twin on the same
// bytes. Times in the hot loop are (signed hi, unsigned lo) u32 halves: exact
// nanoseconds without BigInt; BigInt only where a window boundary is computed
// (once per window change) or a window fires.
import { OUT_BYTES, OUT_REVISION, OUT_WINDOW } from '../../records.js';
import type { Engine, OperatorRuntime } from '../operator.js';
import { aggBytesFor, aggUpdate, lt64, NEED_VWAP } from './aggregates.js';
import { JsSplitTable, splitTableBytes, stHash, spTag, LINE_VALUE } from '../state_table.js';
import {
  W_HEADER, W_OUT_COUNT, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_OFFSET, W_OOO, W_LATENESS, W_MAX_TS, W_WATERMARK, W_NEXT_FIRE, W_NEXT_PURGE, W_CAPACITY, W_ENRICH_N, W_AGG_MASK, etEnrich, etNeeds,
  LATE_TOO_LATE, LATE_STATE_FULL, NEVER, WindowOperator, WindowConfigError, type WindowCommonConfig, 
  resolveCommon, positiveNs, wasmWindowEngine, etInit, floorDiv, emitWindow, emitLate, sortFire, i64, setI64,
  memViews, scratchBytes, type FireEntry, JsEventTimeEngine, etInputs,
} from './event_time.js';

// Split table: line = key + accumulator (sized by the mask), cold = window
// start i64 at 0, flags at 8 (bit 31 fired, revision below), key at 12: see
// assembly/operators/tumbling_window.ts, which owns the layout.
const FIRED = 0x80000000;
export const TW_COLD_BYTES = 16;
const C_START = 0, C_FLAGS = 8, C_KEY = 12;

export interface TumblingWindowConfig extends WindowCommonConfig {
  /** Window length in ns. */
  sizeNs: bigint;
  /** Windows start at offsetNs + i·sizeNs (e.g. a time-zone shift). Default 0. */
  offsetNs?: bigint;
}

export function tumblingBytes(capacity: number, outCap: number, aggMask: number): number {
  return W_HEADER + splitTableBytes(capacity, aggBytesFor(aggMask), TW_COLD_BYTES) + scratchBytes(capacity) + outCap * OUT_BYTES;
}

function sub64Hi(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return (aHi - bHi - (aLo < bLo ? 1 : 0)) | 0;
}
function sub64Lo(aLo: number, bLo: number): number {
  return (aLo - bLo) >>> 0;
}
function hiOf(v: bigint): number { return Number(BigInt.asIntN(32, v >> 32n)); }
function loOf(v: bigint): number { return Number(BigInt.asUintN(32, v)); }

/** The JS engine: a port of assembly/operators/tumbling_window.ts. */
export class JsTumblingEngine extends JsEventTimeEngine {

  private table(base: number): JsSplitTable {
    return new JsSplitTable(this.memory, base + this.m.u32[(base + W_TABLE_OFF) >>> 2]);
  }

  init(base: number): void {
    const u32 = this.m.u32;
    const capacity = u32[(base + W_CAPACITY) >>> 2];
    const accBytes = aggBytesFor(u32[(base + W_AGG_MASK) >>> 2]);
    const tableOff = W_HEADER;
    const scratchOff = tableOff + splitTableBytes(capacity, accBytes, TW_COLD_BYTES);
    u32[(base + W_TABLE_OFF) >>> 2] = tableOff;
    u32[(base + W_SCRATCH_OFF) >>> 2] = scratchOff;
    u32[(base + W_OUT_OFF) >>> 2] = scratchOff + scratchBytes(capacity);
    JsSplitTable.init(this.memory, base + tableOff, capacity, accBytes, TW_COLD_BYTES);
    etInit(this.m, base);
  }

  keys(base: number): number { return this.table(base).count(); }

  protected fire(base: number): void {
    const m = this.m, table = this.table(base);
    const wm = i64(m, base + W_WATERMARK), size = i64(m, base + W_SIZE), lateness = i64(m, base + W_LATENESS);
    const list: FireEntry[] = [];
    // Nothing fires before nextFire (a lower bound of every unfired end): a
    // round that only purges skips this scan.
    if (i64(m, base + W_NEXT_FIRE) <= wm) {
      for (let s = table.next(-1); s >= 0; s = table.next(s)) {
        const c = table.slotCold(s);
        const end = i64(m, c + C_START) + size;
        if ((m.u32[(c + C_FLAGS) >>> 2] & FIRED) === 0 && end <= wm) list.push({ end, key: m.u32[(c + C_KEY) >>> 2], ref: s });
      }
    }
    sortFire(list);
    for (const e of list) {
      const c = table.slotCold(e.ref);
      m.u32[(c + C_FLAGS) >>> 2] = (m.u32[(c + C_FLAGS) >>> 2] | FIRED) >>> 0;
      emitWindow(m, base, OUT_WINDOW, e.key, 0, i64(m, c + C_START), e.end, table.slotValue(e.ref));
    }
    // Purge: mark, then one repair pass (assembly/operators/tumbling_window.ts).
    let nextFire = NEVER, nextPurge = NEVER, removed = false;
    for (let s = table.next(-1); s >= 0; s = table.next(s)) {
      const c = table.slotCold(s);
      const end = i64(m, c + C_START) + size;
      if ((m.u32[(c + C_FLAGS) >>> 2] & FIRED) !== 0) {
        if (wm > end + lateness) {
          table.markRemoved(s);
          removed = true;
          continue;
        }
        if (end + lateness + 1n < nextPurge) nextPurge = end + lateness + 1n;
      } else if (end < nextFire) nextFire = end;
    }
    if (removed) table.repair();
    setI64(m, base + W_NEXT_FIRE, nextFire);
    setI64(m, base + W_NEXT_PURGE, nextPurge);
  }

  process(base: number, ptr: number, count: number, stride: number): void {
    const m = this.m, u32 = m.u32, i32 = m.i32, f64 = m.f64;
    const table = this.table(base), u8 = m.u8;
    const tMask = table.mask, lines = table.lines, lineBytes = table.lineBytes, ctrl = table.ctrl;
    const { vOff, pOff, qOff, hasVwap: vwapFields } = etInputs(m, base);
    const need = etNeeds(m, base);
    const hasVwap = vwapFields && (need & NEED_VWAP) !== 0;
    const size = i64(m, base + W_SIZE), offset = i64(m, base + W_OFFSET), lateness = i64(m, base + W_LATENESS);
    const ooo = i64(m, base + W_OOO), oooHi = hiOf(ooo), oooLo = loOf(ooo);
    const wMax = (base + W_MAX_TS) >>> 2, wWm = (base + W_WATERMARK) >>> 2;
    let maxHi = i32[wMax + 1], maxLo = u32[wMax];
    let wmHi = i32[wWm + 1], wmLo = u32[wWm];
    let due = this.due(base), dueHi = hiOf(due), dueLo = loOf(due);
    let csHi = 0, csLo = 1, ceHi = 0, ceLo = 0, curIdxLo = 0;
    let curStart = 0n, curEnd = 0n;
    let lastKey = 0, lastIdx = 0, lastAcc = 0;
    const enrich = u32[(base + W_ENRICH_N) >>> 2] !== 0;
    for (let i = 0; i < count; i++) {
      const r = ptr + i * stride, w = r >>> 2;
      if ((u32[w + 5] & 1) !== 0) continue;
      const tsLo = u32[w], tsHi = i32[w + 1];
      if (lt64(maxHi, maxLo, tsHi, tsLo)) {
        maxHi = tsHi; maxLo = tsLo;
        const cHi = sub64Hi(tsHi, tsLo, oooHi, oooLo), cLo = sub64Lo(tsLo, oooLo);
        if (lt64(wmHi, wmLo, cHi, cLo)) {
          wmHi = cHi; wmLo = cLo;
          if (!lt64(wmHi, wmLo, dueHi, dueLo)) {
            u32[wMax] = maxLo; i32[wMax + 1] = maxHi; u32[wWm] = wmLo; i32[wWm + 1] = wmHi;
            this.fire(base);
            due = this.due(base); dueHi = hiOf(due); dueLo = loOf(due);
            lastAcc = 0;
          }
        }
      }
      if (lt64(tsHi, tsLo, csHi, csLo) || !lt64(tsHi, tsLo, ceHi, ceLo)) {
        const ts = (BigInt(tsHi) << 32n) | BigInt(tsLo);
        const idx = floorDiv(ts - offset, size);
        curStart = BigInt.asIntN(64, offset + idx * size);
        curEnd = BigInt.asIntN(64, curStart + size);
        csHi = hiOf(curStart); csLo = loOf(curStart); ceHi = hiOf(curEnd); ceLo = loOf(curEnd);
        curIdxLo = loOf(idx);
      }
      const key = u32[w + 4];
      const v = f64[(r + vOff) >>> 3];
      const p = hasVwap ? f64[(r + pOff) >>> 3] : 0;
      const q = hasVwap ? f64[(r + qOff) >>> 3] : 0;
      if (lt64(wmHi, wmLo, ceHi, ceLo)) {
        let acc = lastAcc;
        if (key !== lastKey || curIdxLo !== lastIdx || acc === 0) {
          // Probe inline (the common case: the window exists); insert out of
          // line at the empty slot the probe ended on.
          const hash = stHash(curIdxLo, key), tag = spTag(hash);
          let h = hash & tMask, val = 0;
          for (;;) {
            const c = u8[ctrl + h];
            if (c === 0) break;
            const l = lines + h * lineBytes, lw = l >>> 2;
            if (c === tag && u32[lw] === curIdxLo && u32[lw + 1] === key) { val = l + LINE_VALUE; break; }
            h = (h + 1) & tMask;
          }
          if (val === 0) {
            val = table.insertAt(h, key, curIdxLo, tag);
            if (val === 0) { emitLate(m, base, r, stride, LATE_STATE_FULL); lastAcc = 0; continue; }
            const cw = table.slotCold(h) >>> 2;
            u32[cw] = csLo; i32[cw + 1] = csHi; u32[cw + 3] = key;
            const wf = (base + W_NEXT_FIRE) >>> 2;
            if (lt64(ceHi, ceLo, i32[wf + 1], u32[wf])) { u32[wf] = ceLo; i32[wf + 1] = ceHi; }
            if (lt64(ceHi, ceLo, dueHi, dueLo)) { dueHi = ceHi; dueLo = ceLo; }
          }
          acc = val;
          lastKey = key; lastIdx = curIdxLo; lastAcc = acc;
        }
        aggUpdate(m, acc, tsHi, tsLo, u32[w + 3], u32[w + 2], v, p, q, need);
        if (enrich) etEnrich(m, base, r, acc);
      } else {
        const wm = (BigInt(wmHi) << 32n) | BigInt(wmLo);
        if (wm > curEnd + lateness) {
          emitLate(m, base, r, stride, LATE_TOO_LATE);
        } else {
          const val = table.upsertHL(key, curIdxLo);
          if (val === 0) { emitLate(m, base, r, stride, LATE_STATE_FULL); continue; }
          const c = table.slotCold(table.slotOf(val));
          aggUpdate(m, val, tsHi, tsLo, u32[w + 3], u32[w + 2], v, p, q, need);
          if (enrich) etEnrich(m, base, r, val);
          if (table.lastInserted()) {
            setI64(m, c + C_START, curStart);
            u32[(c + C_KEY) >>> 2] = key;
            u32[(c + C_FLAGS) >>> 2] = FIRED;
            emitWindow(m, base, OUT_WINDOW, key, 0, curStart, curEnd, val);
            const purgeAt = curEnd + lateness + 1n;
            if (purgeAt < i64(m, base + W_NEXT_PURGE)) setI64(m, base + W_NEXT_PURGE, purgeAt);
            if (lt64(hiOf(purgeAt), loOf(purgeAt), dueHi, dueLo)) { dueHi = hiOf(purgeAt); dueLo = loOf(purgeAt); }
          } else {
            const rev = ((u32[(c + C_FLAGS) >>> 2] & ~FIRED) >>> 0) + 1;
            u32[(c + C_FLAGS) >>> 2] = (rev | FIRED) >>> 0;
            emitWindow(m, base, OUT_REVISION, key, rev, curStart, curEnd, val);
          }
        }
      }
    }
    u32[wMax] = maxLo; i32[wMax + 1] = maxHi; u32[wWm] = wmLo; i32[wWm + 1] = wmHi;
    if (count > 0) u32[(base + W_ACTIVITY) >>> 2] = 1;
  }
}

/** Keyed tumbling window operator (Flink: TumblingEventTimeWindows.of(size, offset)). */
export class TumblingWindow extends WindowOperator {
  constructor(engine: Engine, rt: OperatorRuntime, op: number, config: TumblingWindowConfig) {
    const c = resolveCommon(config);
    const size = positiveNs('sizeNs', config.sizeNs);
    const offset = config.offsetNs ?? 0n;
    if (typeof offset !== 'bigint' || offset < 0n || offset >= size) throw new WindowConfigError(`offsetNs must be a bigint in [0, sizeNs), got ${String(config.offsetNs)}`);
    const outCap = c.capacity + 2 * c.maxBatch;
    const impl = engine === 'wasm' ? wasmWindowEngine(rt.exports, 'tumbling') : new JsTumblingEngine(memViews(rt.memory), rt.memory);
    super(op, engine, rt, c, impl, tumblingBytes(c.capacity, outCap, c.aggMask), outCap, size, 0n, 0n, offset);
  }
}
