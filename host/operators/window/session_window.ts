// Session windows per key (gap-based), both engines. assembly/operators/session_window.ts
// owns the layout and explains the merging and the per-key bound; this JS
// engine is its twin on the same bytes (times as BigInt: sessions do more
// work per event than a probe and an update, so the twin keeps it simple).
import { OUT_BYTES, OUT_REVISION, OUT_WINDOW } from '../../records.js';
import { MAX_SESSIONS_PER_KEY } from '../../config/window_sizing.js';
import type { Engine, OperatorRuntime } from '../operator.js';
import { aggUpdate, aggMerge } from './aggregates.js';
import { JsStateTable, stateTableBytes, ST_HEADER } from '../state_table.js';
import {
  W_HEADER, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_OOO, W_LATENESS, W_MAX_TS, W_WATERMARK, W_NEXT_FIRE, W_NEXT_PURGE, W_CAPACITY, W_PER_KEY, W_ENRICH_N, etEnrich,
  LATE_TOO_LATE, LATE_STATE_FULL, NEVER, WindowOperator, WindowConfigError, type WindowCommonConfig,
   resolveCommon, positiveNs, wasmWindowEngine, etInit, emitWindow, emitLate, sortFire,
  i64, setI64, memViews, scratchBytes, type FireEntry, JsEventTimeEngine, etInputs,
} from './event_time.js';

export const SS_BYTES = 128;
const SS_START = 0, SS_LAST = 8, SS_EMITS = 16, SS_DIRTY = 20, SS_ACC = 24;

export interface SessionWindowConfig extends WindowCommonConfig {
  /** A session closes after this much event time without an event of its key. */
  gapNs: bigint;
  /**
   * Room for open sessions per key. Default: the proven bound
   * (outOfOrderNs + allowedLatenessNs) / gapNs + 2. Set it when the watermark
   * comes from outside (broadcast), where outOfOrderNs does not describe how
   * far ahead events run; an event needing more room goes to the late output
   * (aux 2), never corrupting state.
   */
  maxSessionsPerKey?: number;
}

export function sessionValueBytes(perKey: number): number { return 8 + perKey * SS_BYTES; }
export function sessionBytes(capacity: number, perKey: number, outCap: number): number {
  return W_HEADER + stateTableBytes(capacity, sessionValueBytes(perKey)) + scratchBytes(capacity * perKey) + outCap * OUT_BYTES;
}

export class JsSessionEngine extends JsEventTimeEngine {
  private table(base: number): JsStateTable { return new JsStateTable(this.memory, base + this.m.u32[(base + W_TABLE_OFF) >>> 2]); }

  init(base: number): void {
    const u32 = this.m.u32;
    const capacity = u32[(base + W_CAPACITY) >>> 2], perKey = u32[(base + W_PER_KEY) >>> 2];
    const scratchOff = W_HEADER + stateTableBytes(capacity, sessionValueBytes(perKey));
    u32[(base + W_TABLE_OFF) >>> 2] = W_HEADER;
    u32[(base + W_SCRATCH_OFF) >>> 2] = scratchOff;
    u32[(base + W_OUT_OFF) >>> 2] = scratchOff + scratchBytes(capacity * perKey);
    new JsStateTable(this.memory, base + W_HEADER).init(capacity, sessionValueBytes(perKey), 0n);
    etInit(this.m, base);
  }

  keys(base: number): number { return this.table(base).count(); }

  private emit(base: number, key: number, s: number): void {
    const m = this.m, emits = m.u32[(s + SS_EMITS) >>> 2];
    emitWindow(m, base, emits === 0 ? OUT_WINDOW : OUT_REVISION, key, emits, i64(m, s + SS_START), i64(m, s + SS_LAST) + i64(m, base + W_SIZE), s + SS_ACC);
    m.u32[(s + SS_EMITS) >>> 2] = emits + 1;
    m.u32[(s + SS_DIRTY) >>> 2] = 0;
  }

  protected fire(base: number): void {
    const m = this.m, u32 = m.u32, table = this.table(base);
    const wm = i64(m, base + W_WATERMARK), gap = i64(m, base + W_SIZE), lateness = i64(m, base + W_LATENESS);
    const list: FireEntry[] = [];
    for (let s = table.next(-1); s >= 0; s = table.next(s)) {
      const val = table.slotValue(s), cnt = u32[val >>> 2];
      for (let j = 0; j < cnt; j++) {
        const ss = val + 8 + j * SS_BYTES;
        const end = i64(m, ss + SS_LAST) + gap;
        if (u32[(ss + SS_DIRTY) >>> 2] !== 0 && end <= wm) list.push({ end, key: table.slotKeyLo(s), ref: ss });
      }
    }
    sortFire(list);
    for (const e of list) this.emit(base, e.key, e.ref);
    let nextFire = NEVER, nextPurge = NEVER;
    const slotCount = u32[(table.base + 4) >>> 2] + 1;
    for (let s = 0; (s = table.nextUsed(s)) < slotCount;) {
      const val = table.slotValue(s);
      let cnt = u32[val >>> 2];
      for (let j = 0; j < cnt;) {
        const ss = val + 8 + j * SS_BYTES;
        const end = i64(m, ss + SS_LAST) + gap;
        if (wm > end + lateness) {
          m.u8.copyWithin(ss, ss + SS_BYTES, ss + SS_BYTES + (cnt - j - 1) * SS_BYTES);
          cnt--;
          continue;
        }
        if (end + lateness + 1n < nextPurge) nextPurge = end + lateness + 1n;
        if (u32[(ss + SS_DIRTY) >>> 2] !== 0 && end < nextFire) nextFire = end;
        j++;
      }
      u32[val >>> 2] = cnt;
      if (cnt === 0) { table.removeSlot(s); continue; }
      s++;
    }
    setI64(m, base + W_NEXT_FIRE, nextFire);
    setI64(m, base + W_NEXT_PURGE, nextPurge);
  }

  private add(base: number, val: number, r: number, stride: number, ts: bigint, key: number, v: number, p: number, q: number): void {
    const m = this.m, u32 = m.u32;
    const gap = i64(m, base + W_SIZE), lateness = i64(m, base + W_LATENESS), wm = i64(m, base + W_WATERMARK);
    const perKey = u32[(base + W_PER_KEY) >>> 2];
    const sess = (i: number) => val + 8 + i * SS_BYTES;
    let cnt = u32[val >>> 2];
    let a = 0;
    while (a < cnt && i64(m, sess(a) + SS_LAST) + gap <= ts) a++;
    let b = a;
    while (b < cnt && i64(m, sess(b) + SS_START) < ts + gap) b++;
    let mEnd = ts + gap;
    if (b > a) { const le = i64(m, sess(b - 1) + SS_LAST) + gap; if (le > mEnd) mEnd = le; }
    if (wm > mEnd + lateness) { emitLate(m, base, r, stride, LATE_TOO_LATE); return; }
    let target: number;
    if (b === a) {
      if (cnt >= perKey) { emitLate(m, base, r, stride, LATE_STATE_FULL); return; }
      target = sess(a);
      m.u8.copyWithin(target + SS_BYTES, target, target + (cnt - a) * SS_BYTES);
      m.u8.fill(0, target, target + SS_BYTES);
      setI64(m, target + SS_START, ts);
      setI64(m, target + SS_LAST, ts);
      cnt++;
    } else {
      target = sess(a);
      for (let j = a + 1; j < b; j++) {
        const o = sess(j);
        aggMerge(m, target + SS_ACC, o + SS_ACC);
        if (i64(m, o + SS_LAST) > i64(m, target + SS_LAST)) setI64(m, target + SS_LAST, i64(m, o + SS_LAST));
        if (u32[(o + SS_EMITS) >>> 2] > u32[(target + SS_EMITS) >>> 2]) u32[(target + SS_EMITS) >>> 2] = u32[(o + SS_EMITS) >>> 2];
      }
      if (b - a > 1) {
        m.u8.copyWithin(sess(a + 1), sess(b), sess(b) + (cnt - b) * SS_BYTES);
        cnt -= b - a - 1;
      }
      if (ts < i64(m, target + SS_START)) setI64(m, target + SS_START, ts);
      if (ts > i64(m, target + SS_LAST)) setI64(m, target + SS_LAST, ts);
    }
    u32[val >>> 2] = cnt;
    const w = r >>> 2;
    aggUpdate(m, target + SS_ACC, m.i32[w + 1], u32[w], u32[w + 3], u32[w + 2], v, p, q);
    if (u32[(base + W_ENRICH_N) >>> 2] !== 0) etEnrich(m, base, r, target + SS_ACC); // the merged session
    u32[(target + SS_DIRTY) >>> 2] = 1;
    const end = i64(m, target + SS_LAST) + gap;
    if (end <= wm) this.emit(base, key, target);
    else if (end < i64(m, base + W_NEXT_FIRE)) setI64(m, base + W_NEXT_FIRE, end);
    if (end + lateness + 1n < i64(m, base + W_NEXT_PURGE)) setI64(m, base + W_NEXT_PURGE, end + lateness + 1n);
  }

  process(base: number, ptr: number, count: number, stride: number): void {
    const m = this.m, u32 = m.u32, i32 = m.i32, f64 = m.f64;
    const table = this.table(base);
    const { vOff, pOff, qOff, hasVwap } = etInputs(m, base);
    const ooo = i64(m, base + W_OOO);
    for (let i = 0; i < count; i++) {
      const r = ptr + i * stride, w = r >>> 2;
      if ((u32[w + 5] & 1) !== 0) continue;
      const ts = m.dv.getBigInt64(r, true);
      if (ts > i64(m, base + W_MAX_TS)) {
        setI64(m, base + W_MAX_TS, ts);
        this.watermark(base, ts - ooo);
      }
      const key = u32[w + 4];
      const val = table.upsertHL(0, key, i32[w + 1], u32[w]);
      if (val === 0) { emitLate(m, base, r, stride, LATE_STATE_FULL); continue; }
      this.add(base, val, r, stride, ts, key, f64[(r + vOff) >>> 3], hasVwap ? f64[(r + pOff) >>> 3] : 0, hasVwap ? f64[(r + qOff) >>> 3] : 0);
      if (u32[val >>> 2] === 0) table.removeHL(0, key);
    }
    if (count > 0) u32[(base + W_ACTIVITY) >>> 2] = 1;
  }
}

/** Keyed session window operator (Flink: EventTimeSessionWindows.withGap(gap)). */
export class SessionWindow extends WindowOperator {
  constructor(engine: Engine, rt: OperatorRuntime, op: number, config: SessionWindowConfig) {
    const c = resolveCommon(config);
    const gap = positiveNs('gapNs', config.gapNs);
    if (c.capacity > 1 << 22) throw new WindowConfigError(`session windows support capacity ≤ ${1 << 22} keys, got ${c.capacity}`);
    // Live sessions per key are bounded by (outOfOrder + lateness) / gap + 2 (see assembly/operators/session_window.ts).
    let perKey = (c.outOfOrderNs + c.allowedLatenessNs) / gap + 2n;
    if (config.maxSessionsPerKey !== undefined) {
      const k = config.maxSessionsPerKey;
      if (!Number.isInteger(k) || k < 1 || k > MAX_SESSIONS_PER_KEY) throw new WindowConfigError(`maxSessionsPerKey must be an integer in 1..${MAX_SESSIONS_PER_KEY}, got ${k}`);
      perKey = BigInt(k);
    } else if (perKey > BigInt(MAX_SESSIONS_PER_KEY)) {
      throw new WindowConfigError(`gapNs ${gap} is small against outOfOrderNs + allowedLatenessNs (${c.outOfOrderNs + c.allowedLatenessNs}): up to ${perKey} open sessions per key, at most ${MAX_SESSIONS_PER_KEY} supported`);
    }
    const outCap = Number(perKey) * (c.capacity + 2 * c.maxBatch);
    const impl = engine === 'wasm' ? wasmWindowEngine(rt.exports, 'session') : new JsSessionEngine(memViews(rt.memory), rt.memory);
    super(op, engine, rt, c, impl, sessionBytes(c.capacity, Number(perKey), outCap), outCap, gap, 0n, 0n, 0n, Number(perKey));
    this.fanout = Number(perKey);
  }
}
