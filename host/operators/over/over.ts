// OVER aggregation (bounded RANGE or ROWS frames per key, one output per
// event), both engines behind one Operator: `wasm` calls
// assembly/operators/over.ts, `js` is a line-by-line port over the very same
// region bytes (layout and semantics are documented there), so a snapshot from
// either engine restores into either.
import { IN_FIELDS, IN_FLAGS, IN_HEADER_BYTES, IN_KEY, IN_SEQ, IN_TS, FLAG_CONTROL, OUT_BYTES, OUT_LATE, OUT_OVER, OUT_VALUES, AGG } from '../../records.js';
import type { GanglionExports, RegionAllocator } from '../../wasm/module.js';
import { stateTableBytes } from '../state_table.js';
import type { Engine, Operator, OperatorRuntime } from '../operator.js';
import { RegionOperator, regionEngine, regionOutOffset, type RegionHeader } from '../region_operator.js';
import { RegionOptions } from '../region_options.js';

export type OverFrame = 'range' | 'rows';
export const OVER_AGGREGATES = ['count', 'sum', 'min', 'max', 'mean'] as const;
export type OverAggregate = (typeof OVER_AGGREGATES)[number];

export interface OverOptions {
  op?: number;
  /** Index of the aggregated field among the input record's f64 fields. */
  field: number;
  fieldCount?: number;
  /** 'range': rows with ts in [ts - rangeNs, ts]; 'rows': the last `rows` + 1 rows. */
  frame: OverFrame;
  /** RANGE: how far back the frame reaches, ns (≥ 0). */
  rangeNs?: bigint;
  /** ROWS: how many preceding rows (≥ 0). */
  rows?: number;
  /** Which aggregates the output carries (count, sum and mean always cost nothing; min and max keep deques). Default all. */
  aggregates?: readonly string[];
  /** The watermark's out-of-orderness (local watermark = max ts - it) and the allowed lateness, ns. */
  outOfOrderNs?: bigint;
  allowedLatenessNs?: bigint;
  /** Most keys per partition. Default 16,384. */
  capacity?: number;
  /** Most rows held per partition (frames plus rows waiting for the watermark). Default 262,144 (8 MiB; 12 MiB with min or max). */
  rowCapacity?: number;
  /** Most rows waiting for the watermark at once. Default max(16,384, 4 × maxBatch). */
  maxPending?: number;
  /** Most records one process() call gets (sizes the output area). Default 1024. */
  maxBatch?: number;
}

export interface OverConfig {
  op: number;
  field: number;
  frame: OverFrame;
  /** RANGE ns, or ROWS n. */
  extent: bigint;
  aggMask: number;
  outOfOrderNs: bigint;
  allowedLatenessNs: bigint;
  capacity: number;
  rowCapacity: number;
  maxPending: number;
  outputCapacity: number;
}

export class OverConfigError extends Error {
  override name = 'OverConfigError';
}

const KNOWN = new Set(['op', 'field', 'fieldCount', 'frame', 'rangeNs', 'rows', 'aggregates', 'outOfOrderNs', 'allowedLatenessNs',
  'capacity', 'rowCapacity', 'maxPending', 'maxBatch']);

function nonNegNs(name: string, v: unknown, fail: (m: string) => never): bigint {
  if (v === undefined) return 0n;
  const n = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : v;
  if (typeof n !== 'bigint' || n < 0n || n >= 1n << 62n) fail(`${name} must be a non-negative integer number of nanoseconds, got ${String(v)}`);
  return n as bigint;
}

export function overConfig(options: OverOptions): OverConfig {
  const o = options as unknown as Record<string, unknown>;
  if (o === null || typeof o !== 'object') throw new OverConfigError('over: options must be an object');
  const fail = (m: string): never => { throw new OverConfigError(`over: ${m}`); };
  const r = new RegionOptions(o, KNOWN, fail);
  const { op, field } = r.opAndField();
  if (o.frame !== 'range' && o.frame !== 'rows') fail(`frame must be "range" or "rows", got ${JSON.stringify(o.frame)}`);
  const frame = o.frame as OverFrame;
  let extent: bigint;
  if (frame === 'range') {
    if (o.rows !== undefined) fail('a range frame takes rangeNs, not rows');
    if (o.rangeNs === undefined) fail('a range frame needs rangeNs (how far back the frame reaches)');
    extent = nonNegNs('rangeNs', o.rangeNs, fail);
  } else {
    if (o.rangeNs !== undefined) fail('a rows frame takes rows, not rangeNs');
    extent = BigInt(r.int('rows', 0, 1 << 24));
  }
  const names = (o.aggregates ?? OVER_AGGREGATES) as unknown;
  if (!Array.isArray(names) || names.length === 0) fail('aggregates must be a non-empty list');
  let aggMask = 0;
  for (const a of names as unknown[]) {
    if (!(OVER_AGGREGATES as readonly unknown[]).includes(a)) fail(`unknown aggregate ${JSON.stringify(a)} (known: ${OVER_AGGREGATES.join(', ')})`);
    aggMask |= 1 << AGG[a as OverAggregate];
  }
  const capacity = r.int('capacity', 1, 1 << 24, 1 << 14);
  const rowCapacity = r.int('rowCapacity', 1, (1 << 30) - 1, 1 << 18);
  const maxBatch = r.int('maxBatch', 1, 1 << 20, 1024);
  // Room for a few batches on top of what waits for the watermark: a batch's
  // rows all wait until the flush at its end; below that, every event would
  // flush on its own (a scan of the keys with waiting rows each time).
  const maxPending = r.int('maxPending', 1, 1 << 24, Math.max(1 << 14, 4 * maxBatch));
  if (frame === 'rows' && extent + 1n > BigInt(rowCapacity)) fail(`rowCapacity ${rowCapacity} cannot hold one key's ${extent + 1n} rows`);
  return {
    op, field, frame, extent, aggMask, capacity, rowCapacity, maxPending,
    outOfOrderNs: nonNegNs('outOfOrderNs', o.outOfOrderNs, fail),
    allowedLatenessNs: nonNegNs('allowedLatenessNs', o.allowedLatenessNs, fail),
    // Worst case of one call: every waiting row emitted, plus one late record per event.
    outputCapacity: maxPending + maxBatch,
  };
}

// Mirrors of assembly/operators/over.ts (which owns the layout diagram).
export const OV_MAGIC = 0x3152564f;
export const OV_VERSION = 2;
export const OV_HEADER_BYTES = 192;
export const OV_VALUE_BYTES = 64;
const H_FIELD = 8, H_OP = 12, H_CAPACITY = 16, H_OUT_CAPACITY = 20, H_OUT_COUNT = 24, H_TABLE = 28, H_OUT = 32, H_MODE = 36;
const H_TTL = 40, H_WATERMARK = 48, H_NEXT_DUE = 56, H_OOO = 64, H_LATENESS = 72, H_RANGE = 80;
const H_ROWS_CAPACITY = 88, H_ROWS = 92, H_FREE = 96, H_BUMP = 100, H_DIRTY = 104, H_DIRTY_COUNT = 108;
const H_PENDING = 112, H_MAX_PENDING = 116, H_AGG_MASK = 120;
const H_EVENTS = 128, H_LATE = 136, H_REFUSED = 144, H_EMITTED = 152, H_SWEPT = 160;
const K_HEAD = 0, K_TAIL = 4, K_LAST = 8, K_FRAME_ROWS = 12, K_SUM = 16, K_COMP = 24;
const K_MAX_FRONT = 32, K_MAX_BACK = 36, K_MIN_FRONT = 40, K_MIN_BACK = 44, K_VALUES = 48, K_DIRTY = 52, K_PENDING = 56;
const R_TS = 0, R_VALUE = 8, R_SEQ = 16, R_NEXT = 24, R_PREV = 28, R_MAX_NEXT = 32, R_MAX_PREV = 36, R_MIN_NEXT = 40, R_MIN_PREV = 44;
const AGG_MIN = 1 << AGG.min, AGG_MAX = 1 << AGG.max;
const MODE_ROWS = 1;
const NO_TIME = -(1n << 63n), NEVER = (1n << 63n) - 1n;
const LATE_BEYOND = 0, LATE_NO_ROOM = 2;

/** A row's bytes: 48 with the min/max deque links (min or max asked for), else 32. */
export function overRowBytes(aggMask: number): number {
  return (aggMask & (AGG_MIN | AGG_MAX)) !== 0 ? 48 : 32;
}

const HEADER: RegionHeader = {
  bytes: OV_HEADER_BYTES, magic: OV_MAGIC, version: OV_VERSION, capacityAt: H_CAPACITY, outCapacityAt: H_OUT_CAPACITY,
  ttlAt: H_TTL, tableAt: H_TABLE, outAt: H_OUT, outCountAt: H_OUT_COUNT,
};

const align64 = (n: number) => (n + 63) & ~63;
function rowsOffset(c: Pick<OverConfig, 'capacity'>): number {
  return regionOutOffset(OV_HEADER_BYTES, stateTableBytes(c.capacity, OV_VALUE_BYTES));
}
function dirtyOffset(c: Pick<OverConfig, 'capacity' | 'rowCapacity' | 'aggMask'>): number {
  return rowsOffset(c) + c.rowCapacity * overRowBytes(c.aggMask);
}
function outOffset(c: Pick<OverConfig, 'capacity' | 'rowCapacity' | 'aggMask'>): number {
  return align64(dirtyOffset(c) + c.capacity * 4);
}

export function overRegionBytes(c: Pick<OverConfig, 'capacity' | 'rowCapacity' | 'outputCapacity' | 'aggMask'>): number {
  return outOffset(c) + c.outputCapacity * OUT_BYTES;
}

export interface OverCounters {
  events: number;
  /** Events behind the frontier at arrival (late output, reason beyond_allowed_lateness). */
  late: number;
  /** Events there was no room for (late output, reason state_evicted). */
  refused: number;
  /** Rows emitted with their frame's aggregates. */
  emitted: number;
  /** RANGE rows dropped by a sweep (out of every future frame) to make room. */
  swept: number;
  /** Rows waiting for the watermark now. */
  pending: number;
}

export interface OverOperator extends Operator {
  readonly engine: Engine;
  readonly config: OverConfig;
  readonly base: number;
  counters(): OverCounters;
}

/** One OVER operator in its own region of `rt.memory`. */
export function createOver(engine: Engine, rt: OperatorRuntime, options: OverOptions): OverOperator {
  const config = overConfig(options);
  return regionEngine<OverOperator>(engine, rt, 'over', OverConfigError, {
    wasm: (exports) => new WasmOver(rt.memory, rt.alloc, exports, config),
    js: () => new JsOver(rt.memory, rt.alloc, config),
  });
}

abstract class OverBase extends RegionOperator implements OverOperator {
  abstract readonly engine: Engine;
  protected readonly i64: BigInt64Array;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, readonly config: OverConfig) {
    const bytes = overRegionBytes(config);
    super(memory, alloc, {
      name: 'over', source: 'over.ts', op: config.op, header: HEADER, bytes, outOffset: outOffset(config), field: config.field,
      capacity: config.capacity, valueBytes: OV_VALUE_BYTES, outputCapacity: config.outputCapacity, ttlNs: 0n,
      tooBig: (e) => new Error(`over op ${config.op}: its state (${(bytes / 2 ** 20).toFixed(1)} MiB for ${config.capacity} keys and ${config.rowCapacity} rows) ` +
        `does not fit: ${e.message}; lower capacity / rowCapacity or raise the pipeline's memory`),
    });
    this.i64 = new BigInt64Array(memory.buffer);
  }

  /** Room check, then the engine (the base class checks the arguments). */
  override process(ptr: number, count: number, stride: number): void {
    const b = this.base, u32 = this.u32;
    const worst = u32[(b + H_OUT_COUNT) >>> 2] + u32[(b + H_PENDING) >>> 2] + count;
    if (worst > this.config.outputCapacity) {
      throw new RangeError(`over op ${this.op}: ${count} events could produce more outputs than the buffer holds (${u32[(b + H_OUT_COUNT) >>> 2]} undrained + ` +
        `${u32[(b + H_PENDING) >>> 2]} waiting + ${count} > ${this.config.outputCapacity}); drain output()/clearOutput() first and keep batches ≤ maxBatch`);
    }
    super.process(ptr, count, stride);
  }

  protected processChunk(ptr: number, count: number, stride: number): number {
    this.run(ptr, count, stride);
    return count;
  }

  protected abstract run(ptr: number, count: number, stride: number): void;

  protected outputFull(): Error {
    return new Error('over: output area full (the room check should have prevented it)');
  }

  protected writeTunables(): void {
    const b = this.base;
    this.u32[(b + H_FIELD) >>> 2] = this.config.field;
    this.u32[(b + H_OP) >>> 2] = this.config.op;
  }

  protected override layoutMismatch(u: (at: number) => number): string[] {
    const c = this.config, out: string[] = [];
    if (u(H_ROWS_CAPACITY) !== c.rowCapacity) out.push(`rowCapacity ${u(H_ROWS_CAPACITY)} ≠ ${c.rowCapacity}`);
    if (u(H_MODE) !== (c.frame === 'rows' ? MODE_ROWS : 0)) out.push('frame');
    if (u(H_MAX_PENDING) !== c.maxPending) out.push(`maxPending ${u(H_MAX_PENDING)} ≠ ${c.maxPending}`);
    if (u(H_AGG_MASK) !== c.aggMask) out.push('aggregates');
    return out;
  }

  override restore(bytes: Uint8Array): void {
    super.restore(bytes);
    // Frame extent, out-of-orderness and lateness are part of what the rows mean: they must match too.
    const b = this.base, dv = this.dv, c = this.config;
    const diff: string[] = [];
    if (dv.getBigInt64(b + H_RANGE, true) !== c.extent) diff.push(`${c.frame} ${dv.getBigInt64(b + H_RANGE, true)} ≠ ${c.extent}`);
    if (dv.getBigInt64(b + H_OOO, true) !== c.outOfOrderNs) diff.push('out-of-orderness');
    if (dv.getBigInt64(b + H_LATENESS, true) !== c.allowedLatenessNs) diff.push('allowed lateness');
    if (diff.length) throw new Error(`over op ${this.op}: snapshot was taken with a different frame (${diff.join(', ')}); state cannot be carried over`);
  }

  override stats(): { keys: number; bytes: number; evictions: number; late: number } {
    const c = this.counters();
    return { ...super.stats(), evictions: c.swept, late: c.late + c.refused };
  }

  counters(): OverCounters {
    const b = this.base, dv = this.dv;
    const n = (at: number) => Number(dv.getBigUint64(b + at, true));
    return { events: n(H_EVENTS), late: n(H_LATE), refused: n(H_REFUSED), emitted: n(H_EMITTED), swept: n(H_SWEPT), pending: this.u32[(b + H_PENDING) >>> 2] };
  }
}

type Fn = (...a: any[]) => any;

class WasmOver extends OverBase {
  readonly engine = 'wasm' as const;
  private readonly x: Record<string, Fn>;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, exports: GanglionExports, config: OverConfig) {
    super(memory, alloc, config);
    this.x = exports as unknown as Record<string, Fn>;
    const c = config;
    this.x.over_init(this.base, c.field, c.op, c.capacity, c.rowCapacity, c.outputCapacity, c.maxPending,
      c.frame === 'rows' ? MODE_ROWS : 0, c.extent, c.outOfOrderNs, c.allowedLatenessNs, c.aggMask);
    this.checkWasmLayout(Number(this.x.over_bytes(c.capacity, c.rowCapacity, c.outputCapacity, c.aggMask)) >>> 0);
  }

  protected override run(ptr: number, count: number, stride: number): void {
    this.x.over_process(this.base, ptr, count, stride);
  }

  override onWatermark(watermarkNs: bigint): void {
    this.x.over_watermark(this.base, BigInt.asIntN(64, watermarkNs));
  }
}

/**
 * The JS twin: over_process and friends, statement for statement, on the
 * same bytes (u32/f64/i64 views of the partition memory; byte addresses, as
 * in the assembly, divided per access).
 */
class JsOver extends OverBase {
  readonly engine = 'js' as const;
  private readonly b: number;
  private readonly rb: number;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, config: OverConfig) {
    super(memory, alloc, config);
    const c = config, b = this.base;
    this.b = b;
    this.rb = overRowBytes(c.aggMask);
    this.initRegion();
    const u32 = this.u32, dv = this.dv;
    u32[(b + H_MODE) >>> 2] = c.frame === 'rows' ? MODE_ROWS : 0;
    dv.setBigInt64(b + H_WATERMARK, NO_TIME, true);
    dv.setBigInt64(b + H_NEXT_DUE, NEVER, true);
    dv.setBigInt64(b + H_OOO, c.outOfOrderNs, true);
    dv.setBigInt64(b + H_LATENESS, c.allowedLatenessNs, true);
    dv.setBigInt64(b + H_RANGE, c.extent, true);
    u32[(b + H_ROWS_CAPACITY) >>> 2] = c.rowCapacity;
    u32[(b + H_ROWS) >>> 2] = rowsOffset(c);
    u32[(b + H_BUMP) >>> 2] = 1;
    u32[(b + H_DIRTY) >>> 2] = dirtyOffset(c);
    u32[(b + H_MAX_PENDING) >>> 2] = c.maxPending;
    u32[(b + H_AGG_MASK) >>> 2] = c.aggMask;
  }

  // ── memory access in the assembly's terms (byte addresses) ──
  private ld32(a: number): number { return this.u32[a >>> 2]; }
  private st32(a: number, v: number): void { this.u32[a >>> 2] = v; }
  private ldf(a: number): number { return this.f64[a >>> 3]; }
  private stf(a: number, v: number): void { this.f64[a >>> 3] = v; }
  private ld64(a: number): bigint { return this.i64[a >>> 3]; }
  private st64(a: number, v: bigint): void { this.i64[a >>> 3] = v; }
  private inc64(a: number, by: number): void { this.i64[a >>> 3] += BigInt(by); }
  private row(rows: number, id: number): number { return rows + (id - 1) * this.rb; }
  private rowsBase(): number { return this.b + this.ld32(this.b + H_ROWS); }

  private frontier(): bigint {
    const wm = this.ld64(this.b + H_WATERMARK);
    return wm === NO_TIME ? NO_TIME : wm - this.ld64(this.b + H_LATENESS);
  }

  /** The key's value address (inserting a zeroed one), 0 when the table is full. */
  private upsert(key: number): number {
    return this.table.upsertHL(0, key >>> 0, 0, 0);
  }

  private keyValue(key: number): number {
    const slot = this.table.find(0, key >>> 0);
    return this.table.slotValue(slot);
  }

  private sumAdd(v: number, x: number): void {
    const s = this.ldf(v + K_SUM);
    const t = s + x;
    let c = this.ldf(v + K_COMP);
    if (Math.abs(s) >= Math.abs(x)) c += (s - t) + x;
    else c += (x - t) + s;
    this.stf(v + K_SUM, t);
    this.stf(v + K_COMP, c);
  }

  private frameAdd(v: number, rows: number, id: number, mask: number): void {
    this.st32(v + K_FRAME_ROWS, this.ld32(v + K_FRAME_ROWS) + 1);
    const r = this.row(rows, id);
    const x = this.ldf(r + R_VALUE);
    if (x !== x) return;
    this.st32(v + K_VALUES, this.ld32(v + K_VALUES) + 1);
    this.sumAdd(v, x);
    if (mask & AGG_MAX) {
      let back = this.ld32(v + K_MAX_BACK);
      while (back !== 0 && this.ldf(this.row(rows, back) + R_VALUE) <= x) back = this.ld32(this.row(rows, back) + R_MAX_PREV);
      this.st32(r + R_MAX_PREV, back);
      this.st32(r + R_MAX_NEXT, 0);
      if (back !== 0) this.st32(this.row(rows, back) + R_MAX_NEXT, id);
      else this.st32(v + K_MAX_FRONT, id);
      this.st32(v + K_MAX_BACK, id);
    }
    if (mask & AGG_MIN) {
      let back = this.ld32(v + K_MIN_BACK);
      while (back !== 0 && this.ldf(this.row(rows, back) + R_VALUE) >= x) back = this.ld32(this.row(rows, back) + R_MIN_PREV);
      this.st32(r + R_MIN_PREV, back);
      this.st32(r + R_MIN_NEXT, 0);
      if (back !== 0) this.st32(this.row(rows, back) + R_MIN_NEXT, id);
      else this.st32(v + K_MIN_FRONT, id);
      this.st32(v + K_MIN_BACK, id);
    }
  }

  private evictHead(v: number, rows: number): void {
    const b = this.b;
    const id = this.ld32(v + K_HEAD);
    const r = this.row(rows, id);
    const next = this.ld32(r + R_NEXT);
    this.st32(v + K_HEAD, next);
    if (next !== 0) this.st32(this.row(rows, next) + R_PREV, 0);
    else this.st32(v + K_TAIL, 0);
    if (this.ld32(v + K_LAST) === id) this.st32(v + K_LAST, 0);
    this.st32(v + K_FRAME_ROWS, this.ld32(v + K_FRAME_ROWS) - 1);
    const x = this.ldf(r + R_VALUE);
    if (x === x) {
      const n = this.ld32(v + K_VALUES) - 1;
      this.st32(v + K_VALUES, n);
      if (n === 0) { this.stf(v + K_SUM, 0); this.stf(v + K_COMP, 0); } else this.sumAdd(v, -x);
      if (this.ld32(v + K_MAX_FRONT) === id) {
        const f = this.ld32(r + R_MAX_NEXT);
        this.st32(v + K_MAX_FRONT, f);
        if (f === 0) this.st32(v + K_MAX_BACK, 0);
        else this.st32(this.row(rows, f) + R_MAX_PREV, 0);
      }
      if (this.ld32(v + K_MIN_FRONT) === id) {
        const f = this.ld32(r + R_MIN_NEXT);
        this.st32(v + K_MIN_FRONT, f);
        if (f === 0) this.st32(v + K_MIN_BACK, 0);
        else this.st32(this.row(rows, f) + R_MIN_PREV, 0);
      }
    }
    this.st32(r + R_NEXT, this.ld32(b + H_FREE));
    this.st32(b + H_FREE, id);
  }

  private emit(v: number, rows: number, id: number, key: number, start: bigint, mask: number): void {
    const b = this.b;
    const n = this.ld32(b + H_OUT_COUNT);
    const at = b + this.ld32(b + H_OUT) + n * OUT_BYTES;
    const r = this.row(rows, id);
    this.st32(at, OUT_OVER); this.st32(at + 4, this.ld32(b + H_OP)); this.st32(at + 8, key); this.st32(at + 12, 0);
    this.st64(at + 16, start); this.st64(at + 24, this.ld64(r + R_TS)); this.st64(at + 32, this.ld64(r + R_SEQ));
    const count = this.ld32(v + K_VALUES);
    const sum = count === 0 ? NaN : this.ldf(v + K_SUM) + this.ldf(v + K_COMP);
    this.stf(at + OUT_VALUES, count);
    this.stf(at + OUT_VALUES + 8, sum);
    this.stf(at + OUT_VALUES + 16, (mask & AGG_MIN) !== 0 && count !== 0 ? this.ldf(this.row(rows, this.ld32(v + K_MIN_FRONT)) + R_VALUE) : NaN);
    this.stf(at + OUT_VALUES + 24, (mask & AGG_MAX) !== 0 && count !== 0 ? this.ldf(this.row(rows, this.ld32(v + K_MAX_FRONT)) + R_VALUE) : NaN);
    this.stf(at + OUT_VALUES + 32, sum / count);
    for (let o = OUT_VALUES + 40; o < OUT_VALUES + 88; o += 8) this.stf(at + o, 0);
    this.st32(b + H_OUT_COUNT, n + 1);
  }

  private flushKey(v: number, rows: number, key: number, f: bigint): number {
    const b = this.b;
    const mask = this.ld32(b + H_AGG_MASK);
    const rowsMode = this.ld32(b + H_MODE) === MODE_ROWS;
    const range = this.ld64(b + H_RANGE);
    const last = this.ld32(v + K_LAST);
    let id = last !== 0 ? this.ld32(this.row(rows, last) + R_NEXT) : this.ld32(v + K_HEAD);
    let emitted = 0;
    while (id !== 0) {
      const t = this.ld64(this.row(rows, id) + R_TS);
      if (t >= f) break;
      if (rowsMode) {
        this.frameAdd(v, rows, id, mask);
        while (BigInt(this.ld32(v + K_FRAME_ROWS)) > range + 1n) this.evictHead(v, rows);
        this.emit(v, rows, id, key, this.ld64(this.row(rows, this.ld32(v + K_HEAD)) + R_TS), mask);
        this.st32(v + K_LAST, id);
        id = this.ld32(this.row(rows, id) + R_NEXT);
        emitted++;
        continue;
      }
      const first = id;
      let lastPeer = id;
      while (id !== 0 && this.ld64(this.row(rows, id) + R_TS) === t) {
        this.frameAdd(v, rows, id, mask);
        lastPeer = id;
        id = this.ld32(this.row(rows, id) + R_NEXT);
      }
      const lo = t - range;
      while (this.ld64(this.row(rows, this.ld32(v + K_HEAD)) + R_TS) < lo) this.evictHead(v, rows);
      let e = first;
      for (;;) {
        this.emit(v, rows, e, key, lo, mask);
        emitted++;
        if (e === lastPeer) break;
        e = this.ld32(this.row(rows, e) + R_NEXT);
      }
      this.st32(v + K_LAST, lastPeer);
    }
    const pending = this.ld32(v + K_PENDING) - emitted;
    this.st32(v + K_PENDING, pending);
    this.st32(b + H_PENDING, this.ld32(b + H_PENDING) - emitted);
    this.inc64(b + H_EMITTED, emitted);
    return pending;
  }

  private flush(): void {
    const b = this.b;
    const f = this.frontier();
    if (f <= this.ld64(b + H_NEXT_DUE)) return;
    const rows = this.rowsBase();
    const dirty = b + this.ld32(b + H_DIRTY);
    const n = this.ld32(b + H_DIRTY_COUNT);
    let kept = 0;
    let due = NEVER;
    for (let i = 0; i < n; i++) {
      const key = this.ld32(dirty + 4 * i);
      const v = this.keyValue(key);
      if (this.flushKey(v, rows, key, f) === 0) {
        this.st32(v + K_DIRTY, 0);
        continue;
      }
      this.st32(dirty + 4 * kept, key);
      kept++;
      const last = this.ld32(v + K_LAST);
      const next = last !== 0 ? this.ld32(this.row(rows, last) + R_NEXT) : this.ld32(v + K_HEAD);
      const t = this.ld64(this.row(rows, next) + R_TS);
      if (t < due) due = t;
    }
    this.st32(b + H_DIRTY_COUNT, kept);
    this.st64(b + H_NEXT_DUE, due);
  }

  private sweep(): void {
    const b = this.b;
    this.flush();
    if (this.ld32(b + H_MODE) === MODE_ROWS) return;
    const f = this.frontier();
    if (f === NO_TIME) return;
    const lo = f - this.ld64(b + H_RANGE);
    const rows = this.rowsBase();
    const table = this.table;
    let swept = 0;
    let slot = table.next(-1);
    while (slot >= 0) {
      const v = table.slotValue(slot);
      while (this.ld32(v + K_HEAD) !== 0 && this.ld32(v + K_LAST) !== 0 && this.ld64(this.row(rows, this.ld32(v + K_HEAD)) + R_TS) < lo) {
        this.evictHead(v, rows);
        swept++;
      }
      if (this.ld32(v + K_HEAD) === 0) {
        table.removeSlot(slot);
        slot = table.next(slot - 1);
        continue;
      }
      slot = table.next(slot);
    }
    this.inc64(b + H_SWEPT, swept);
  }

  private allocRow(rows: number): number {
    const b = this.b;
    const free = this.ld32(b + H_FREE);
    if (free !== 0) {
      this.st32(b + H_FREE, this.ld32(this.row(rows, free) + R_NEXT));
      return free;
    }
    const bump = this.ld32(b + H_BUMP);
    if (bump > this.ld32(b + H_ROWS_CAPACITY)) return 0;
    this.st32(b + H_BUMP, bump + 1);
    return bump;
  }

  private late(rec: number, stride: number, aux: number): void {
    const b = this.b;
    const n = this.ld32(b + H_OUT_COUNT);
    const at = b + this.ld32(b + H_OUT) + n * OUT_BYTES;
    const ts = this.ld64(rec + IN_TS);
    this.st32(at, OUT_LATE); this.st32(at + 4, this.ld32(b + H_OP)); this.st32(at + 8, this.ld32(rec + IN_KEY)); this.st32(at + 12, aux);
    this.st64(at + 16, ts); this.st64(at + 24, ts); this.st64(at + 32, this.ld64(rec + IN_SEQ));
    const fields = (stride - IN_HEADER_BYTES) >>> 3;
    for (let i = 0; i < 11; i++) this.stf(at + OUT_VALUES + 8 * i, i < fields ? this.ldf(rec + IN_FIELDS + 8 * i) : 0);
    this.st32(b + H_OUT_COUNT, n + 1);
    this.inc64(b + (aux === LATE_BEYOND ? H_LATE : H_REFUSED), 1);
  }

  protected override run(ptr: number, count: number, stride: number): void {
    const b = this.b;
    const fieldAt = IN_FIELDS + 8 * this.ld32(b + H_FIELD);
    const ooo = this.ld64(b + H_OOO);
    const table = this.table;
    const rows = this.rowsBase();
    const dirty = b + this.ld32(b + H_DIRTY);
    let events = 0;
    for (let i = 0; i < count; i++) {
      const rec = ptr + i * stride;
      if ((this.ld32(rec + IN_FLAGS) & FLAG_CONTROL) !== 0) continue;
      events++;
      const ts = this.ld64(rec + IN_TS);
      if (ts - ooo > this.ld64(b + H_WATERMARK)) this.st64(b + H_WATERMARK, ts - ooo);
      if (ts < this.frontier()) { this.late(rec, stride, LATE_BEYOND); continue; }
      if (this.ld32(b + H_PENDING) >= this.ld32(b + H_MAX_PENDING)) {
        this.flush();
        if (this.ld32(b + H_PENDING) >= this.ld32(b + H_MAX_PENDING)) { this.late(rec, stride, LATE_NO_ROOM); continue; }
      }
      const key = this.ld32(rec + IN_KEY);
      let v = this.upsert(key);
      if (v === 0) {
        this.sweep();
        v = this.upsert(key);
        if (v === 0) { this.late(rec, stride, LATE_NO_ROOM); continue; }
      }
      let id = this.allocRow(rows);
      if (id === 0) {
        this.sweep();
        v = this.upsert(key);
        id = this.allocRow(rows);
        if (id === 0) {
          if (this.ld32(v + K_HEAD) === 0) table.removeSlot(table.find(0, key >>> 0));
          this.late(rec, stride, LATE_NO_ROOM);
          continue;
        }
      }
      const r = this.row(rows, id);
      this.st64(r + R_TS, ts);
      this.stf(r + R_VALUE, this.ldf(rec + fieldAt));
      this.st64(r + R_SEQ, this.ld64(rec + IN_SEQ));
      let p = this.ld32(v + K_TAIL);
      while (p !== 0 && this.ld64(this.row(rows, p) + R_TS) > ts) p = this.ld32(this.row(rows, p) + R_PREV);
      this.st32(r + R_PREV, p);
      if (p === 0) {
        const h = this.ld32(v + K_HEAD);
        this.st32(r + R_NEXT, h);
        if (h !== 0) this.st32(this.row(rows, h) + R_PREV, id);
        else this.st32(v + K_TAIL, id);
        this.st32(v + K_HEAD, id);
      } else {
        const nx = this.ld32(this.row(rows, p) + R_NEXT);
        this.st32(r + R_NEXT, nx);
        this.st32(this.row(rows, p) + R_NEXT, id);
        if (nx !== 0) this.st32(this.row(rows, nx) + R_PREV, id);
        else this.st32(v + K_TAIL, id);
      }
      this.st32(v + K_PENDING, this.ld32(v + K_PENDING) + 1);
      this.st32(b + H_PENDING, this.ld32(b + H_PENDING) + 1);
      if (this.ld32(v + K_DIRTY) === 0) {
        this.st32(v + K_DIRTY, 1);
        const n = this.ld32(b + H_DIRTY_COUNT);
        this.st32(dirty + 4 * n, key);
        this.st32(b + H_DIRTY_COUNT, n + 1);
      }
      if (ts < this.ld64(b + H_NEXT_DUE)) this.st64(b + H_NEXT_DUE, ts);
    }
    this.inc64(b + H_EVENTS, events);
    this.flush();
  }

  override onWatermark(watermarkNs: bigint): void {
    const b = this.b;
    const wm = BigInt.asIntN(64, watermarkNs);
    if (wm > this.ld64(b + H_WATERMARK)) this.st64(b + H_WATERMARK, wm);
    this.flush();
  }
}
