// Count windows per key (Flink: countWindow(n)), both engines. The layout and
// semantics are explained in assembly/operators/count_window.ts; this JS engine is its
// twin on the same bytes. Start/end of an output are the earliest and latest
// event times among its n events; watermarks do not apply.
import { OUT_BYTES, OUT_WINDOW } from '../../records.js';
import type { Engine, OperatorRuntime } from '../operator.js';
import { AGG_BYTES, A_FIRST_TS, A_LAST_TS, aggUpdate, type Mem } from './aggregates.js';
import { JsStateTable, stateTableBytes } from '../state_table.js';
import {
  W_HEADER, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY, W_SIZE, W_CAPACITY,
  W_ENRICH_N, etEnrich, LATE_STATE_FULL, WindowOperator, WindowConfigError, type WindowCommonConfig, type WindowEngine,  resolveCommon,
  wasmWindowEngine, etInit, emitWindow, emitLate, i64, memViews, etInputs,
} from './event_time.js';

export interface CountWindowConfig extends WindowCommonConfig {
  /** Events per window, per key. */
  size: number;
}

export function countBytes(capacity: number, outCap: number): number {
  return W_HEADER + stateTableBytes(capacity, AGG_BYTES) + outCap * OUT_BYTES;
}

export class JsCountEngine implements WindowEngine {
  constructor(private readonly m: Mem, private readonly memory: WebAssembly.Memory) {}
  private table(base: number): JsStateTable { return new JsStateTable(this.memory, base + this.m.u32[(base + W_TABLE_OFF) >>> 2]); }

  init(base: number): void {
    const u32 = this.m.u32, capacity = u32[(base + W_CAPACITY) >>> 2];
    const outOff = W_HEADER + stateTableBytes(capacity, AGG_BYTES);
    u32[(base + W_TABLE_OFF) >>> 2] = W_HEADER;
    u32[(base + W_SCRATCH_OFF) >>> 2] = outOff;
    u32[(base + W_OUT_OFF) >>> 2] = outOff;
    new JsStateTable(this.memory, base + W_HEADER).init(capacity, AGG_BYTES, 0n);
    etInit(this.m, base);
  }

  keys(base: number): number { return this.table(base).count(); }

  process(base: number, ptr: number, count: number, stride: number): void {
    const m = this.m, u32 = m.u32, i32 = m.i32, f64 = m.f64;
    const table = this.table(base);
    const { vOff, pOff, qOff, hasVwap } = etInputs(m, base);
    const n = Number(i64(m, base + W_SIZE));
    let lastKey = 0, lastAcc = 0;
    const enrich = u32[(base + W_ENRICH_N) >>> 2] !== 0;
    for (let i = 0; i < count; i++) {
      const r = ptr + i * stride, w = r >>> 2;
      if ((u32[w + 5] & 1) !== 0) continue;
      const tsLo = u32[w], tsHi = i32[w + 1], key = u32[w + 4];
      let acc = lastAcc;
      if (key !== lastKey || acc === 0) {
        acc = table.upsertHL(0, key, tsHi, tsLo);
        if (acc === 0) { emitLate(m, base, r, stride, LATE_STATE_FULL); lastAcc = 0; continue; }
        lastKey = key; lastAcc = acc;
      }
      aggUpdate(m, acc, tsHi, tsLo, u32[w + 3], u32[w + 2], f64[(r + vOff) >>> 3], hasVwap ? f64[(r + pOff) >>> 3] : 0, hasVwap ? f64[(r + qOff) >>> 3] : 0);
      if (enrich) etEnrich(m, base, r, acc); // before a completed window starts over
      if (f64[acc >>> 3] >= n) {
        emitWindow(m, base, OUT_WINDOW, key, 0, i64(m, acc + A_FIRST_TS), i64(m, acc + A_LAST_TS), acc);
        m.u8.fill(0, acc, acc + AGG_BYTES);
      }
    }
    if (count > 0) u32[(base + W_ACTIVITY) >>> 2] = 1;
  }

  watermark(): void { /* count windows ignore event time */ }
  advanceIdle(): void { /* nothing waits for time */ }
}

/** Keyed count window operator: one output per `size` events of a key. */
export class CountWindow extends WindowOperator {
  constructor(engine: Engine, rt: OperatorRuntime, op: number, config: CountWindowConfig) {
    const c = resolveCommon(config);
    if (!Number.isInteger(config.size) || config.size < 1 || config.size > 2 ** 50) throw new WindowConfigError(`size must be a positive integer number of events, got ${config.size}`);
    const outCap = c.capacity + 2 * c.maxBatch;
    const impl = engine === 'wasm' ? wasmWindowEngine(rt.exports, 'count') : new JsCountEngine(memViews(rt.memory), rt.memory);
    super(op, engine, rt, c, impl, countBytes(c.capacity, outCap), outCap, BigInt(config.size), 0n, 0n, 0n);
  }
}
