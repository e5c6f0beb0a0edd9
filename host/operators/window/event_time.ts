// Host side of the window operators: configuration (validated, with precise
// errors), the region every window owns (layout diagram in
// assembly/shared/event_time.ts), the Operator lifecycle shared by all window types,
// the WASM engine (numbers across the boundary once per batch, never per
// event) and the JS engines' common pieces (input offsets, output emission,
// late side output, firing order, the watermark step and the idle rule)
// mirroring assembly/shared/event_time.ts.
import { OUT_BYTES, OUT_LATE, OUT_VALUES, IN_FIELDS, IN_HEADER_BYTES, readOutput, type OutputRecord } from '../../records.js';
import type { GanglionExports } from '../../wasm/module.js';
import type { Engine, Operator, OperatorRuntime } from '../operator.js';
import { aggFinish, aggValue, aggNeeds, ALL_AGGS, A_MAX_SEQ, type Mem, memViews } from './aggregates.js';

export const W_HEADER = 256;
export const W_OP = 0, W_VALUE_FIELD = 4, W_PRICE_FIELD = 8, W_QTY_FIELD = 12, W_OUT_CAP = 16, W_OUT_COUNT = 20;
export const W_TABLE_OFF = 24, W_SCRATCH_OFF = 28, W_OUT_OFF = 32, W_ACTIVITY = 36, W_SIZE = 40, W_SLIDE = 48;
export const W_PANE = 56, W_OFFSET = 64, W_OOO = 72, W_LATENESS = 80, W_IDLE = 88, W_MAX_TS = 96, W_WATERMARK = 104;
export const W_NEXT_FIRE = 112, W_NEXT_PURGE = 120, W_LAST_ACTIVITY = 128, W_LATE = 136, W_REFUSED = 144;
export const W_OVERFLOW = 152, W_PER_KEY = 160, W_CAPACITY = 164, W_SIDE_OFF = 168, W_AGG_MASK = 172;
/** Enrichment: count u32, then up to ENRICH_MAX words (aggregate << 16 | field). */
export const W_ENRICH_N = 184, W_ENRICH = 188, ENRICH_MAX = 8;
/** Version of the state layout (accumulator field order, tumbling split
 *  table), written into every window header: a snapshot from a build with
 *  another layout has the same size for some window kinds, so without it a
 *  restore would accept it and misread every accumulator. 0 = before the
 *  lean-prefix accumulator (its headers had zeros here). */
export const W_LAYOUT = 220, STATE_LAYOUT = 2;
/** Sliding engine: a cumulate window's max size (0 = hopping), see assembly/operators/sliding_window.ts. */
export const W_PERIOD = 224;

export const LATE_TOO_LATE = 1;
export const LATE_STATE_FULL = 2;
export const NEVER = 0x7fffffffffffffffn;
export const NO_TIME = -0x8000000000000000n;

/** What every window operator is configured with (Flink / eKuiper vocabulary). */
export interface WindowCommonConfig {
  /** Index of the aggregated field among the record's f64 fields. */
  valueField: number;
  /** Price and quantity field indices for VWAP; omit both for no VWAP (NaN). */
  priceField?: number;
  qtyField?: number;
  /** Most live (key, window) states; beyond it events go to the late side output (aux 2). */
  capacity: number;
  /** Largest `count` one process() call may carry; sizes the output buffer. Default 65536. */
  maxBatch?: number;
  /** Bounded out-of-orderness: watermark = max event time − this. Default 0. */
  outOfOrderNs?: bigint;
  /** Late events within this much after the window fired re-emit it as a revision. Default 0. */
  allowedLatenessNs?: bigint;
  /** Processing time without input after which the watermark follows the clock. 0 = never (default). */
  idleTimeoutNs?: bigint;
  /**
   * Feature enrichment (at most 8): after each event is applied, write aggregate
   * `aggregate` (index in host/records.ts AGG order) of the key's current window,
   * including the event, into the record's f64 field `field`, in place, for the
   * pipeline's later operators. Events sent to the late output get NaN there.
   */
  enrich?: ReadonlyArray<EnrichSpec>;
  /**
   * Which aggregates the window computes: bit i = aggregate i in host/records.ts
   * AGG order (count 1, sum 2, min 4, max 8, mean 16, variance 32, stddev 64,
   * first 128, last 256, vwap 512, var_samp 1024, stddev_samp 2048). Default all (0xfff). Aggregates outside the
   * mask are not maintained and are output as NaN; an enriched aggregate is
   * always included. `aggMaskOf(names)` builds it from names.
   */
  aggMask?: number;
}

export interface EnrichSpec { aggregate: number; field: number }

export class WindowConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'WindowConfigError'; }
}

function fieldIndex(name: string, v: number | undefined, optional: boolean): number {
  if (v === undefined && optional) return -1;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 4095) throw new WindowConfigError(`${name} must be a field index 0..4095, got ${v}`);
  return v as number;
}
export function nonNegativeNs(name: string, v: bigint | undefined, dflt = 0n): bigint {
  if (v === undefined) return dflt;
  if (typeof v !== 'bigint' || v < 0n || v > 1n << 62n) throw new WindowConfigError(`${name} must be a bigint number of nanoseconds in 0..2^62, got ${String(v)}`);
  return v;
}
export function positiveNs(name: string, v: bigint | undefined): bigint {
  if (typeof v !== 'bigint' || v <= 0n || v > 1n << 62n) throw new WindowConfigError(`${name} must be a positive bigint number of nanoseconds (≤ 2^62), got ${String(v)}`);
  return v;
}

export interface ResolvedCommon {
  valueField: number; priceField: number; qtyField: number; capacity: number; maxBatch: number;
  outOfOrderNs: bigint; allowedLatenessNs: bigint; idleTimeoutNs: bigint; maxField: number;
  enrich: EnrichSpec[];
  aggMask: number;
}

function resolveEnrich(list: unknown, inputs: number[]): EnrichSpec[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new WindowConfigError(`enrich must be an array of { aggregate, field }, got ${typeof list}`);
  if (list.length > ENRICH_MAX) throw new WindowConfigError(`enrich lists ${list.length} aggregates; a window operator writes at most ${ENRICH_MAX}`);
  const seen = new Set<number>();
  return list.map((e: unknown, i) => {
    const { aggregate, field } = (e ?? {}) as Partial<EnrichSpec>;
    if (!Number.isInteger(aggregate) || (aggregate as number) < 0 || (aggregate as number) >= AGG_NAMES.length) {
      throw new WindowConfigError(`enrich[${i}].aggregate must be an aggregate index 0..${AGG_NAMES.length - 1} (${AGG_NAMES.join(', ')}), got ${JSON.stringify(aggregate)}`);
    }
    if (!Number.isInteger(field) || (field as number) < 0 || (field as number) > 4095) throw new WindowConfigError(`enrich[${i}].field must be a field index 0..4095, got ${JSON.stringify(field)}`);
    if (inputs.includes(field as number)) throw new WindowConfigError(`enrich[${i}].field ${field} is one of this window's own input fields; enrichment would overwrite its input`);
    if (seen.has(field as number)) throw new WindowConfigError(`enrich[${i}].field ${field} is written twice`);
    seen.add(field as number);
    return { aggregate: aggregate as number, field: field as number };
  });
}

const AGG_NAMES = ['count', 'sum', 'min', 'max', 'mean', 'variance', 'stddev', 'first', 'last', 'vwap', 'var_samp', 'stddev_samp'] as const;

/** The aggMask for aggregate names (AGG order names of host/records.ts). */
export function aggMaskOf(names: Iterable<string>): number {
  let mask = 0;
  for (const n of names) {
    const i = (AGG_NAMES as readonly string[]).indexOf(n);
    if (i < 0) throw new WindowConfigError(`unknown aggregate "${n}"; known: ${AGG_NAMES.join(', ')}`);
    mask |= 1 << i;
  }
  return mask;
}

function resolveAggMask(v: number | undefined, enrich: EnrichSpec[]): number {
  if (v === undefined) return ALL_AGGS;
  if (!Number.isInteger(v) || v < 1 || v > ALL_AGGS) throw new WindowConfigError(`aggMask must be a non-empty bitmask of aggregates 1..${ALL_AGGS} (bit i = ${AGG_NAMES.map((n, i) => `${n} ${1 << i}`).join(', ')}), got ${JSON.stringify(v)}`);
  // An enriched aggregate must be maintained: include it rather than refuse.
  return enrich.reduce((m, e) => m | (1 << e.aggregate), v);
}

export function resolveCommon(c: WindowCommonConfig): ResolvedCommon {
  if (c === null || typeof c !== 'object') throw new WindowConfigError('window config must be an object');
  const valueField = fieldIndex('valueField', c.valueField, false);
  const priceField = fieldIndex('priceField', c.priceField, true);
  const qtyField = fieldIndex('qtyField', c.qtyField, true);
  if ((priceField < 0) !== (qtyField < 0)) throw new WindowConfigError('priceField and qtyField go together (VWAP needs both), got only one');
  if (!Number.isInteger(c.capacity) || c.capacity < 1 || c.capacity > 1 << 24) throw new WindowConfigError(`capacity must be an integer in 1..16777216, got ${c.capacity}`);
  const maxBatch = c.maxBatch ?? 65536;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 1 << 22) throw new WindowConfigError(`maxBatch must be an integer in 1..4194304, got ${c.maxBatch}`);
  const enrich = resolveEnrich(c.enrich, [valueField, priceField, qtyField]);
  return {
    valueField, priceField, qtyField, capacity: c.capacity, maxBatch, enrich, aggMask: resolveAggMask(c.aggMask, enrich),
    outOfOrderNs: nonNegativeNs('outOfOrderNs', c.outOfOrderNs),
    allowedLatenessNs: nonNegativeNs('allowedLatenessNs', c.allowedLatenessNs),
    idleTimeoutNs: nonNegativeNs('idleTimeoutNs', c.idleTimeoutNs),
    maxField: Math.max(valueField, priceField, qtyField, ...enrich.map((e) => e.field)),
  };
}

/** Writes the config part of the header (both engines then run their init). */
export function writeHeaderConfig(m: Mem, base: number, op: number, c: ResolvedCommon, outCap: number,
  size: bigint, slide: bigint, pane: bigint, offset: bigint, perKey = 0, period = 0n): void {
  m.u8.fill(0, base, base + W_HEADER);
  const dv = m.dv;
  dv.setUint32(base + W_OP, op, true);
  dv.setUint32(base + W_VALUE_FIELD, c.valueField, true);
  dv.setInt32(base + W_PRICE_FIELD, c.priceField, true);
  dv.setInt32(base + W_QTY_FIELD, c.qtyField, true);
  dv.setUint32(base + W_OUT_CAP, outCap, true);
  dv.setBigInt64(base + W_SIZE, size, true);
  dv.setBigInt64(base + W_SLIDE, slide, true);
  dv.setBigInt64(base + W_PANE, pane, true);
  dv.setBigInt64(base + W_OFFSET, offset, true);
  dv.setBigInt64(base + W_PERIOD, period, true);
  dv.setBigInt64(base + W_OOO, c.outOfOrderNs, true);
  dv.setBigInt64(base + W_LATENESS, c.allowedLatenessNs, true);
  dv.setBigInt64(base + W_IDLE, c.idleTimeoutNs, true);
  dv.setUint32(base + W_PER_KEY, perKey, true);
  dv.setUint32(base + W_CAPACITY, c.capacity, true);
  dv.setUint32(base + W_AGG_MASK, c.aggMask, true);
  dv.setUint32(base + W_LAYOUT, STATE_LAYOUT, true);
  dv.setUint32(base + W_ENRICH_N, c.enrich.length, true);
  c.enrich.forEach((e, i) => dv.setUint32(base + W_ENRICH + 4 * i, (e.aggregate << 16 | e.field) >>> 0, true));
}

/** The per-type engine: the WASM exports or a JS port, same region, same bytes. */
export interface WindowEngine {
  init(base: number): void;
  process(base: number, ptr: number, count: number, stride: number): void;
  watermark(base: number, wm: bigint): void;
  advanceIdle(base: number, nowProcessingNs: bigint): void;
  keys(base: number): number;
}

type Fn = (...a: any[]) => any;

/** Calls `<prefix>_init/_process/_watermark/_advance_idle/_keys` of the module. */
export function wasmWindowEngine(exports: GanglionExports, prefix: string): WindowEngine {
  const x = exports as unknown as Record<string, Fn>;
  const need = (n: string): Fn => {
    const f = x[`${prefix}_${n}`];
    if (typeof f !== 'function') throw new Error(`build/ganglion.wasm has no export ${prefix}_${n}: rebuild with npm run build:wasm`);
    return f;
  };
  const init = need('init'), process = need('process'), watermark = need('watermark'), idle = need('advance_idle'), keys = need('keys');
  return {
    init: (b) => { init(b); },
    process: (b, p, c, s) => { process(b, p, c, s); },
    watermark: (b, wm) => { watermark(b, BigInt.asIntN(64, wm)); },
    advanceIdle: (b, now) => { idle(b, BigInt.asIntN(64, now)); },
    keys: (b) => keys(b) >>> 0,
  };
}


/**
 * The Operator lifecycle for every window type. Subclasses only provide the
 * region size and the engine; the bytes of the region are the whole state.
 */
export abstract class WindowOperator implements Operator {
  readonly base: number;
  readonly bytes: number;
  protected readonly m: Mem;
  protected closed = false;
  /** Outputs one window state or one event can cause at most (sliding: windows per pane). */
  protected fanout = 1;

  constructor(readonly op: number, readonly engineName: Engine, protected readonly rt: OperatorRuntime,
    protected readonly common: ResolvedCommon, protected readonly engine: WindowEngine,
    bytes: number, readonly outCap: number, size: bigint, slide: bigint, pane: bigint, offset: bigint, perKey = 0, period = 0n) {
    if (!Number.isInteger(op) || op < 0 || op > 0xffffffff) throw new WindowConfigError(`operator index must be a u32, got ${op}`);
    this.m = memViews(rt.memory);
    this.bytes = bytes;
    this.base = rt.alloc.alloc(bytes, 64);
    writeHeaderConfig(this.m, this.base, op, common, outCap, size, slide, pane, offset, perKey, period);
    engine.init(this.base);
  }

  private live(): void {
    if (this.closed) throw new Error(`window operator ${this.op} is closed`);
  }

  /** Worst-case outputs one call can add: every live window firing plus one per event. */
  private ensureRoom(events: number, what: string): void {
    const pending = this.m.u32[(this.base + W_OUT_COUNT) >>> 2];
    const worst = pending + this.fanout * (this.engine.keys(this.base) + 2 * events);
    if (worst > this.outCap) {
      throw new RangeError(`window operator ${this.op}: ${what} could produce more outputs than the buffer holds (${pending} pending + ${this.fanout}×(${this.engine.keys(this.base)} live states + 2×${events} events) > ${this.outCap}); drain output()/clearOutput() first and keep batches ≤ maxBatch (${this.common.maxBatch})`);
    }
  }

  private checkOverflow(): void {
    const o = this.m.dv.getBigUint64(this.base + W_OVERFLOW, true);
    if (o !== 0n) throw new Error(`window operator ${this.op}: output buffer overflowed (${o} records); this is a bug, the pre-check should have prevented it`);
  }

  process(ptr: number, count: number, stride: number): void {
    this.live();
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`process: count must be a non-negative integer, got ${count}`);
    if (count === 0) return;
    const need = IN_HEADER_BYTES + 8 * (this.common.maxField + 1);
    if (!Number.isInteger(stride) || stride % 8 !== 0 || stride < need) {
      throw new RangeError(`process: record stride ${stride} does not hold field ${this.common.maxField} (need a multiple of 8 ≥ ${need})`);
    }
    if (!Number.isInteger(ptr) || ptr < 0 || ptr % 8 !== 0 || ptr + count * stride > this.rt.memory.buffer.byteLength) {
      throw new RangeError(`process: records [${ptr}, ${ptr + count * stride}) are not an 8-aligned range of the partition memory`);
    }
    if (count > this.common.maxBatch) {
      throw new RangeError(`process: batch of ${count} records exceeds maxBatch ${this.common.maxBatch}; split it or raise maxBatch`);
    }
    this.ensureRoom(count, `a batch of ${count}`);
    this.engine.process(this.base, ptr, count, stride);
    this.checkOverflow();
  }

  onWatermark(watermarkNs: bigint): void {
    this.live();
    if (typeof watermarkNs !== 'bigint') throw new TypeError(`onWatermark: watermark must be a bigint of nanoseconds, got ${typeof watermarkNs}`);
    this.ensureRoom(0, 'a watermark');
    this.engine.watermark(this.base, BigInt.asIntN(64, watermarkNs));
    this.checkOverflow();
  }

  /**
   * Idle-partition rule: call periodically with the processing-time clock
   * (ns). Once no input arrived for idleTimeoutNs, the watermark advances with
   * the clock (max event time − out-of-orderness + idle time), so the last
   * windows of a quiet feed close.
   */
  advanceIdle(nowProcessingNs: bigint): void {
    this.live();
    if (typeof nowProcessingNs !== 'bigint') throw new TypeError('advanceIdle: time must be a bigint of nanoseconds');
    this.ensureRoom(0, 'an idle watermark');
    this.engine.advanceIdle(this.base, BigInt.asIntN(64, nowProcessingNs));
    this.checkOverflow();
  }

  watermark(): bigint { return this.m.dv.getBigInt64(this.base + W_WATERMARK, true); }

  output(): { ptr: number; count: number } {
    return { ptr: this.base + this.m.u32[(this.base + W_OUT_OFF) >>> 2], count: this.m.u32[(this.base + W_OUT_COUNT) >>> 2] };
  }

  clearOutput(): void { this.m.u32[(this.base + W_OUT_COUNT) >>> 2] = 0; }

  /** Decoded pending outputs (tests, sinks that want objects). */
  outputs(): OutputRecord[] {
    const { ptr, count } = this.output();
    const out: OutputRecord[] = [];
    for (let i = 0; i < count; i++) out.push(readOutput(this.m.dv, ptr + i * OUT_BYTES));
    return out;
  }

  /**
   * Header + state table + pending outputs (the firing scratch is not state).
   * Pending outputs are included so a checkpoint taken before the sink drained
   * them loses nothing; restore checks the configuration matches.
   */
  snapshot(): Uint8Array {
    const snap = new Uint8Array(this.snapshotSize());
    this.snapshotInto(snap);
    return snap;
  }

  snapshotSize(): number {
    this.live();
    const u32 = this.m.u32, b = this.base;
    return u32[(b + W_SCRATCH_OFF) >>> 2] + u32[(b + W_OUT_COUNT) >>> 2] * OUT_BYTES;
  }

  /** snapshot()'s bytes into a caller's (reused) buffer: two copies, no allocation. */
  snapshotInto(dst: Uint8Array): number {
    this.live();
    const u32 = this.m.u32, b = this.base;
    const stateEnd = u32[(b + W_SCRATCH_OFF) >>> 2];
    const outOff = u32[(b + W_OUT_OFF) >>> 2], outBytes = u32[(b + W_OUT_COUNT) >>> 2] * OUT_BYTES;
    if (dst.byteLength < stateEnd + outBytes) throw new RangeError(`window operator ${this.op}: snapshotInto needs ${stateEnd + outBytes} bytes, the buffer has ${dst.byteLength} (ask snapshotSize() first)`);
    dst.set(this.m.u8.subarray(b, b + stateEnd), 0);
    dst.set(this.m.u8.subarray(b + outOff, b + outOff + outBytes), stateEnd);
    return stateEnd + outBytes;
  }

  restore(bytes: Uint8Array): void {
    this.live();
    if (bytes.byteLength < W_HEADER) throw new Error(`window snapshot is ${bytes.byteLength} bytes, shorter than its ${W_HEADER}-byte header`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const layout = dv.getUint32(W_LAYOUT, true);
    if (layout !== STATE_LAYOUT) throw new Error(`window snapshot has state layout ${layout}, this build reads layout ${STATE_LAYOUT} (the snapshot was written by another ganglion version; its state cannot be restored)`);
    // Config words must match: a snapshot only fits a region laid out the same way.
    // The layout offsets come last: they follow from the config (the tumbling
    // window's table from the aggregate mask), so the error names the cause.
    const cfg = [W_OP, W_VALUE_FIELD, W_PRICE_FIELD, W_QTY_FIELD, W_OUT_CAP, W_PER_KEY, W_CAPACITY, W_AGG_MASK];
    const cfg64 = [W_SIZE, W_SLIDE, W_PANE, W_OFFSET, W_OOO, W_LATENESS, W_IDLE, W_PERIOD];
    for (let i = 0; i <= ENRICH_MAX; i++) cfg.push(W_ENRICH_N + 4 * i);
    cfg.push(W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF);
    for (const o of cfg) if (dv.getUint32(o, true) !== this.m.u32[(this.base + o) >>> 2]) throw new Error(`window snapshot does not match this operator's configuration (header word at byte ${o} differs)`);
    for (const o of cfg64) if (dv.getBigInt64(o, true) !== this.m.dv.getBigInt64(this.base + o, true)) throw new Error(`window snapshot does not match this operator's configuration (header field at byte ${o} differs)`);
    const stateEnd = dv.getUint32(W_SCRATCH_OFF, true), outOff = dv.getUint32(W_OUT_OFF, true);
    const outBytes = dv.getUint32(W_OUT_COUNT, true) * OUT_BYTES;
    if (bytes.byteLength !== stateEnd + outBytes) throw new Error(`window snapshot is ${bytes.byteLength} bytes but its header describes ${stateEnd + outBytes}`);
    this.m.u8.set(bytes.subarray(0, stateEnd), this.base);
    this.m.u8.set(bytes.subarray(stateEnd), this.base + outOff);
  }

  stats(): { keys: number; bytes: number; evictions: number; late: number } {
    const dv = this.m.dv;
    return {
      keys: this.engine.keys(this.base),
      bytes: this.bytes,
      evictions: Number(dv.getBigUint64(this.base + W_REFUSED, true)),
      late: Number(dv.getBigUint64(this.base + W_LATE, true)),
    };
  }

  close(): void { this.closed = true; }
}

// ---- pieces of the JS engines (mirror assembly/shared/event_time.ts) ----

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

export function i64(m: Mem, at: number): bigint { return m.dv.getBigInt64(at, true); }
export function setI64(m: Mem, at: number, v: bigint): void { m.dv.setBigInt64(at, BigInt.asIntN(64, v), true); }

export function etInit(m: Mem, base: number): void {
  const u32 = m.u32;
  u32[(base + W_OUT_COUNT) >>> 2] = 0;
  u32[(base + W_ACTIVITY) >>> 2] = 1;
  setI64(m, base + W_MAX_TS, NO_TIME);
  setI64(m, base + W_WATERMARK, NO_TIME);
  setI64(m, base + W_NEXT_FIRE, NEVER);
  setI64(m, base + W_NEXT_PURGE, NEVER);
  setI64(m, base + W_LAST_ACTIVITY, NO_TIME);
  setI64(m, base + W_LATE, 0n);
  setI64(m, base + W_REFUSED, 0n);
  setI64(m, base + W_OVERFLOW, 0n);
}

export function outNext(m: Mem, base: number): number {
  const u32 = m.u32, n = u32[(base + W_OUT_COUNT) >>> 2];
  if (n >= u32[(base + W_OUT_CAP) >>> 2]) {
    m.dv.setBigUint64(base + W_OVERFLOW, m.dv.getBigUint64(base + W_OVERFLOW, true) + 1n, true);
    return 0;
  }
  u32[(base + W_OUT_COUNT) >>> 2] = n + 1;
  return base + u32[(base + W_OUT_OFF) >>> 2] + n * OUT_BYTES;
}

function header(m: Mem, o: number, kind: number, op: number, key: number, aux: number, start: bigint, end: bigint): void {
  const u32 = m.u32, w = o >>> 2;
  u32[w] = kind; u32[w + 1] = op; u32[w + 2] = key; u32[w + 3] = aux;
  m.dv.setBigInt64(o + 16, start, true);
  m.dv.setBigInt64(o + 24, end, true);
}

export function emitWindow(m: Mem, base: number, kind: number, key: number, aux: number, start: bigint, end: bigint, acc: number): void {
  const o = outNext(m, base);
  if (o === 0) return;
  header(m, o, kind, m.u32[(base + W_OP) >>> 2], key, aux, start, end);
  m.u32[(o + 32) >>> 2] = m.u32[(acc + A_MAX_SEQ) >>> 2];
  m.u32[(o + 36) >>> 2] = m.u32[(acc + A_MAX_SEQ + 4) >>> 2];
  aggFinish(m, acc, o, m.u32[(base + W_AGG_MASK) >>> 2]);
}

/** NEED_* bits of the operator's aggregate mask (read once per batch). */
export function etNeeds(m: Mem, base: number): number {
  return aggNeeds(m.u32[(base + W_AGG_MASK) >>> 2]);
}

/** Feature enrichment (see assembly/shared/event_time.ts etEnrich): acc = 0 writes NaN. */
export function etEnrich(m: Mem, base: number, rec: number, acc: number): void {
  const u32 = m.u32, f64 = m.f64, n = u32[(base + W_ENRICH_N) >>> 2];
  for (let i = 0; i < n; i++) {
    const e = u32[((base + W_ENRICH) >>> 2) + i];
    f64[((rec + IN_FIELDS) >>> 3) + (e & 0xffff)] = acc === 0 ? NaN : aggValue(m, acc, e >>> 16);
  }
}

export function emitLate(m: Mem, base: number, rec: number, stride: number, reason: number): void {
  if (m.u32[(base + W_ENRICH_N) >>> 2] !== 0) etEnrich(m, base, rec, 0);
  const at = base + (reason === LATE_TOO_LATE ? W_LATE : W_REFUSED);
  m.dv.setBigUint64(at, m.dv.getBigUint64(at, true) + 1n, true);
  const o = outNext(m, base);
  if (o === 0) return;
  const ts = m.dv.getBigInt64(rec, true);
  header(m, o, OUT_LATE, m.u32[(base + W_OP) >>> 2], m.u32[(rec + 16) >>> 2], reason, ts, ts);
  m.u32[(o + 32) >>> 2] = m.u32[(rec + 8) >>> 2];
  m.u32[(o + 36) >>> 2] = m.u32[(rec + 12) >>> 2];
  const fields = (stride - IN_FIELDS) >>> 3;
  for (let i = 0; i < 11; i++) m.f64[((o + OUT_VALUES) >>> 3) + i] = i < fields ? m.f64[((rec + IN_FIELDS) >>> 3) + i] : 0;
}

/** Bytes of the firing scratch (assembly/shared/event_time.ts: two entry arrays + radix counts). */
export function scratchBytes(capacity: number): number {
  return capacity * 32 + 12 * 256 * 4;
}

/** Firing entries: (end, key, ref), ordered by end then key like the heapsort in WASM. */
export interface FireEntry { end: bigint; key: number; ref: number }
export function sortFire(list: FireEntry[]): void {
  list.sort((a, b) => (a.end < b.end ? -1 : a.end > b.end ? 1 : a.key - b.key));
}

export function etIdleWatermark(m: Mem, base: number, nowProc: bigint): bigint | null {
  if (m.u32[(base + W_ACTIVITY) >>> 2] !== 0 || i64(m, base + W_LAST_ACTIVITY) === NO_TIME) {
    setI64(m, base + W_LAST_ACTIVITY, nowProc);
    m.u32[(base + W_ACTIVITY) >>> 2] = 0;
    return null;
  }
  const idle = i64(m, base + W_IDLE);
  const quiet = BigInt.asIntN(64, nowProc - i64(m, base + W_LAST_ACTIVITY));
  const maxTs = i64(m, base + W_MAX_TS);
  if (idle <= 0n || quiet < idle || maxTs === NO_TIME) return null;
  return BigInt.asIntN(64, maxTs - i64(m, base + W_OOO) + quiet);
}

/** Where a window reads its inputs in a record (byte offsets), and whether it has VWAP inputs (assembly: etFieldAt, etHasVwap). */
export function etInputs(m: Mem, base: number): { vOff: number; pOff: number; qOff: number; hasVwap: boolean } {
  const i32 = m.i32, pField = i32[(base + W_PRICE_FIELD) >>> 2], qField = i32[(base + W_QTY_FIELD) >>> 2];
  return {
    vOff: IN_FIELDS + 8 * m.u32[(base + W_VALUE_FIELD) >>> 2],
    pOff: IN_FIELDS + 8 * Math.max(pField, 0),
    qOff: IN_FIELDS + 8 * Math.max(qField, 0),
    hasVwap: pField >= 0 && qField >= 0,
  };
}

/**
 * What the JS engines of the event-time windows (tumbling, sliding, session)
 * share around their own fire(): when anything is next due, the watermark
 * step and the idle rule (assembly: etDue, etAdvance, <window>_advance_idle).
 */
export abstract class JsEventTimeEngine implements WindowEngine {
  constructor(protected readonly m: Mem, protected readonly memory: WebAssembly.Memory) {}

  abstract init(base: number): void;
  abstract process(base: number, ptr: number, count: number, stride: number): void;
  abstract keys(base: number): number;
  /** Fires the windows the watermark completed, frees what is past its lateness, and sets when anything is next due. */
  protected abstract fire(base: number): void;

  /** The earlier of the next firing and the next purge. */
  protected due(base: number): bigint {
    const f = i64(this.m, base + W_NEXT_FIRE), p = i64(this.m, base + W_NEXT_PURGE);
    return f < p ? f : p;
  }

  watermark(base: number, wm: bigint): void {
    if (wm > i64(this.m, base + W_WATERMARK)) {
      setI64(this.m, base + W_WATERMARK, wm);
      if (wm >= this.due(base)) this.fire(base);
    }
  }

  advanceIdle(base: number, nowProc: bigint): void {
    const wm = etIdleWatermark(this.m, base, nowProc);
    if (wm !== null) this.watermark(base, wm);
  }
}

export { memViews, type Mem };
