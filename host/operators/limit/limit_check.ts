// Limit check (threshold alerts), both engines behind one Operator
// (HdrHistogramJS style): `wasm` calls assembly/operators/limit_check.ts, `js` is a
// line-by-line port over the very same region bytes (layout diagram in
// assembly/operators/limit_check.ts), so a snapshot from either engine restores into
// either and parity tests compare output records byte for byte.
//
// Alerting-rule semantics (what a Flink CEP / eKuiper rule user expects):
//   - a key alerts when it CROSSES a bound: x > above, or x < below (a value
//     exactly at the limit is within it);
//   - it stays in breach, silently (emit 'crossing') or alerting on every
//     breaching event (emit 'every'), until it comes back within the limit —
//     with hysteresis h, until x ≤ above − h·|above| (or x ≥ below + h·|below|),
//     so a value hovering around the limit does not flap;
//   - jumping straight from above to below (or back) is a new crossing;
//   - NaN values are skipped and counted; ±Infinity are values like any other;
//     control records are ignored.
// Output: OUT_ANOMALY, aux LIMIT_ABOVE (0) / LIMIT_BELOW (1) below,
// values [value, limit crossed, crossing 1|0, run].
import { FLAG_CONTROL, IN_FIELDS, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS, OUT_ANOMALY, OUT_BYTES, OUT_VALUES } from '../../records.js';
import { type GanglionExports, type RegionAllocator } from '../../wasm/module.js';
import { ST_HEADER, SLOT_VALUE, stateTableBytes, stSlotBytes } from '../state_table.js';
import type { Engine, Operator, OperatorRuntime } from '../operator.js';
import { RegionOperator, RegionOutputFullError, regionEngine, regionOutOffset, type RegionHeader } from '../region_operator.js';
import { RegionOptions } from '../region_options.js';

export type LimitEmit = 'crossing' | 'every';

/** `aux` of a limit anomaly record: which bound was crossed. */
export const LIMIT_ABOVE = 0;
export const LIMIT_BELOW = 1;

/** What a pipeline config says: `field` and at least one of `above`/`below`. */
export interface LimitCheckOptions {
  /** Operator index within the pipeline, written into every output. Default 0. */
  op?: number;
  /** Index of the checked value among the input record's f64 fields. */
  field: number;
  /** When given, `field` is checked against it. */
  fieldCount?: number;
  /** Upper limit: a value strictly greater breaches it. */
  above?: number;
  /** Lower limit: a value strictly less breaches it. */
  below?: number;
  /** 'crossing' (default): one alert when a key enters a breach; 'every': also every breaching event after. */
  emit?: LimitEmit;
  /** Re-arm band as a fraction of the limit's magnitude, 0 ≤ h < 1. Default 0. */
  hysteresis?: number;
  /** Most keys IN BREACH held at once (keys within their limits take no room). Default 16384 (1 MiB). */
  capacity?: number;
  /** Breaching keys idle this long in event time may be evicted to make room; 0 = never. Default 0. */
  ttlNs?: bigint;
  /** Output records held until the caller drains them. Default 4096. */
  outputCapacity?: number;
}

/** The validated, complete configuration. Absent bounds are ±Infinity. */
export interface LimitCheckConfig {
  op: number;
  field: number;
  above: number;
  below: number;
  emit: LimitEmit;
  hysteresis: number;
  /** Levels at which a breaching key re-arms (computed once, shared by both engines). */
  rearmAbove: number;
  rearmBelow: number;
  capacity: number;
  ttlNs: bigint;
  outputCapacity: number;
}

export class LimitCheckConfigError extends Error {
  override name = 'LimitCheckConfigError';
}

/** Thrown by process() when the output area filled up; `consumed` records were processed. */
export class LimitCheckOutputFullError extends RegionOutputFullError {
  override name = 'LimitCheckOutputFullError';
  constructor(op: number, consumed: number, requested: number, capacity: number) {
    super('limit', op, consumed, requested, capacity);
  }
}

const KNOWN = new Set(['op', 'field', 'fieldCount', 'above', 'below', 'emit', 'hysteresis', 'capacity', 'ttlNs', 'outputCapacity']);

export function limitCheckConfig(options: LimitCheckOptions): LimitCheckConfig {
  const o = options as unknown as Record<string, unknown>;
  if (o === null || typeof o !== 'object') throw new LimitCheckConfigError('limit: options must be an object');
  const fail = (m: string): never => { throw new LimitCheckConfigError(`limit: ${m}`); };
  const r = new RegionOptions(o, KNOWN, fail);
  const bound = (name: string): number | undefined => {
    const v = o[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${name} must be a finite number (the limit), got ${JSON.stringify(v) ?? String(v)}`);
    return v as number;
  };

  const { op, field } = r.opAndField();
  const above = bound('above');
  const below = bound('below');
  if (above === undefined && below === undefined) fail('give above and/or below (the limit to alert on)');
  if (above !== undefined && below !== undefined && !(below < above)) {
    fail(`below (${below}) must be less than above (${above}): otherwise a value can breach both at once`);
  }
  const emit = o.emit ?? 'crossing';
  if (emit !== 'crossing' && emit !== 'every') fail(`emit must be one of crossing, every, got ${JSON.stringify(emit)}`);
  const h = o.hysteresis ?? 0;
  if (typeof h !== 'number' || !Number.isFinite(h) || h < 0 || h >= 1) {
    fail(`hysteresis must be a fraction of the limit with 0 ≤ h < 1 (0.02 = re-arm 2% inside the limit), got ${JSON.stringify(h)}`);
  }
  const hy = h as number;
  const rearmAbove = above === undefined ? Infinity : above - hy * Math.abs(above);
  const rearmBelow = below === undefined ? -Infinity : below + hy * Math.abs(below);
  if (rearmBelow > rearmAbove) {
    fail(`hysteresis ${hy} makes the re-arm levels cross (below re-arms at ≥ ${rearmBelow}, above at ≤ ${rearmAbove}): ` +
      'a key could never come back within its limits; lower it');
  }
  const capacity = r.int('capacity', 1, 1 << 28, 16384);
  const ttlNs = r.ttlNs();
  const outputCapacity = r.outputCapacity();
  return {
    op, field, above: above ?? Infinity, below: below ?? -Infinity, emit: emit as LimitEmit, hysteresis: hy,
    rearmAbove, rearmBelow, capacity, ttlNs, outputCapacity,
  };
}

// Mirrors of assembly/operators/limit_check.ts (which owns the layout diagram).
export const LC_MAGIC = 0x314d494c;
export const LC_VERSION = 1;
export const LC_HEADER_BYTES = 128;
export const LC_VALUE_BYTES = 8;
const H_FIELD = 8, H_FLAGS = 12, H_OP = 16, H_CAPACITY = 20, H_OUT_CAPACITY = 24, H_OUT_COUNT = 28;
const H_ABOVE = 32, H_BELOW = 40, H_REARM_ABOVE = 48, H_REARM_BELOW = 56, H_TTL = 64, H_TABLE = 72, H_OUT = 76;
const H_EVENTS = 80, H_CROSSINGS = 88, H_ALERTS = 96, H_SKIPPED = 104, H_UNTRACKED = 112, H_REARMS = 120;
const FLAG_EVERY = 1;
const ABOVE = 1, BELOW = 2;
const HEADER: RegionHeader = {
  bytes: LC_HEADER_BYTES, magic: LC_MAGIC, version: LC_VERSION, capacityAt: H_CAPACITY, outCapacityAt: H_OUT_CAPACITY,
  ttlAt: H_TTL, tableAt: H_TABLE, outAt: H_OUT, outCountAt: H_OUT_COUNT,
};

function outOffset(c: Pick<LimitCheckConfig, 'capacity'>): number {
  return regionOutOffset(LC_HEADER_BYTES, stateTableBytes(c.capacity, LC_VALUE_BYTES));
}
/** Bytes of one operator's region: header + state table + output area. */
export function limitCheckRegionBytes(c: Pick<LimitCheckConfig, 'capacity' | 'outputCapacity'>): number {
  return outOffset(c) + c.outputCapacity * OUT_BYTES;
}

export interface LimitCheckCounters {
  /** Events checked (control records and NaN values excluded). */
  events: number;
  /** Times a key entered a breach (one alert each). */
  crossings: number;
  /** Output records emitted: crossings, plus every later breaching event with emit 'every'. */
  alerts: number;
  /** Events whose value was NaN. */
  skipped: number;
  /** Breaches alerted but not remembered because the table was full (the key alerts again on its next breaching event). */
  untracked: number;
  /** Times a breaching key came back within its limit (past the hysteresis band). */
  rearms: number;
}

export interface LimitCheckOperator extends Operator {
  readonly engine: Engine;
  readonly config: LimitCheckConfig;
  /** Byte offset of the operator's region in the partition memory. */
  readonly base: number;
  counters(): LimitCheckCounters;
  /** Keys currently in breach (by key id), with the bound they are beyond. */
  breaches(): Map<number, 'above' | 'below'>;
}


/** One limit-check operator in its own region of `rt.memory`. */
export function createLimitCheck(engine: Engine, rt: OperatorRuntime, options: LimitCheckOptions): LimitCheckOperator {
  const config = limitCheckConfig(options);
  return regionEngine<LimitCheckOperator>(engine, rt, 'limit', LimitCheckConfigError, {
    wasm: (exports) => new WasmLimitCheck(rt.memory, rt.alloc, exports, config),
    js: () => new JsLimitCheck(rt.memory, rt.alloc, config),
  });
}

abstract class LimitCheckBase extends RegionOperator implements LimitCheckOperator {
  abstract readonly engine: Engine;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, readonly config: LimitCheckConfig) {
    const bytes = limitCheckRegionBytes(config);
    super(memory, alloc, {
      name: 'limit', source: 'limit_check.ts', op: config.op, header: HEADER, bytes, outOffset: outOffset(config), field: config.field,
      capacity: config.capacity, valueBytes: LC_VALUE_BYTES, outputCapacity: config.outputCapacity, ttlNs: config.ttlNs,
      tooBig: (e) => new Error(`limit op ${config.op}: its state (${(bytes / 2 ** 20).toFixed(1)} MiB for ${config.capacity} breaching keys) ` +
        `does not fit: ${e.message}; or lower capacity`),
    });
  }

  protected outputFull(done: number, count: number): Error {
    return new LimitCheckOutputFullError(this.op, done, count, this.config.outputCapacity);
  }

  protected writeTunables(): void {
    const c = this.config, b = this.base, u32 = this.u32, f64 = this.f64;
    u32[(b + H_FIELD) >>> 2] = c.field;
    u32[(b + H_FLAGS) >>> 2] = c.emit === 'every' ? FLAG_EVERY : 0;
    u32[(b + H_OP) >>> 2] = c.op;
    f64[(b + H_ABOVE) >>> 3] = c.above;
    f64[(b + H_BELOW) >>> 3] = c.below;
    f64[(b + H_REARM_ABOVE) >>> 3] = c.rearmAbove;
    f64[(b + H_REARM_BELOW) >>> 3] = c.rearmBelow;
  }

  counters(): LimitCheckCounters {
    const b = this.base, dv = this.dv;
    const n = (at: number) => Number(dv.getBigUint64(b + at, true));
    return {
      events: n(H_EVENTS), crossings: n(H_CROSSINGS), alerts: n(H_ALERTS),
      skipped: n(H_SKIPPED), untracked: n(H_UNTRACKED), rearms: n(H_REARMS),
    };
  }

  /** Keys currently in breach, with the bound they are beyond (for dashboards and tests). */
  breaches(): Map<number, 'above' | 'below'> {
    const out = new Map<number, 'above' | 'below'>();
    for (let s = this.table.next(-1); s >= 0; s = this.table.next(s)) {
      out.set(this.table.slotKeyLo(s), this.u32[this.table.slotValue(s) >>> 2] === BELOW ? 'below' : 'above');
    }
    return out;
  }

}

class WasmLimitCheck extends LimitCheckBase {
  readonly engine = 'wasm' as const;
  private readonly x: Record<string, (...a: any[]) => any>;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, exports: GanglionExports, config: LimitCheckConfig) {
    super(memory, alloc, config);
    this.x = exports as unknown as Record<string, (...a: any[]) => any>;
    const c = config;
    this.x.limit_init(this.base, c.field, c.emit === 'every' ? FLAG_EVERY : 0, c.op, c.capacity, c.outputCapacity,
      c.above, c.below, c.rearmAbove, c.rearmBelow, c.ttlNs);
    this.checkWasmLayout(this.x.limit_bytes(c.capacity, c.outputCapacity) >>> 0);
  }

  protected processChunk(ptr: number, count: number, stride: number): number {
    return this.x.limit_process(this.base, ptr, count, stride) >>> 0;
  }
}

function emitAlert(u32: Uint32Array, f64: Float64Array, at: number, rw: number, op: number, key: number, side: number,
  x: number, limit: number, crossing: number, run: number): void {
  const ow = at >>> 2, of = (at + OUT_VALUES) >>> 3;
  const tsLo = u32[rw + (IN_TS >>> 2)], tsHi = u32[rw + (IN_TS >>> 2) + 1];
  u32[ow] = OUT_ANOMALY; u32[ow + 1] = op; u32[ow + 2] = key; u32[ow + 3] = side === ABOVE ? 0 : 1;
  u32[ow + 4] = tsLo; u32[ow + 5] = tsHi; u32[ow + 6] = tsLo; u32[ow + 7] = tsHi;
  u32[ow + 8] = u32[rw + (IN_SEQ >>> 2)]; u32[ow + 9] = u32[rw + (IN_SEQ >>> 2) + 1];
  f64[of] = x; f64[of + 1] = limit; f64[of + 2] = crossing; f64[of + 3] = run;
  f64.fill(0, of + 4, of + 11);
}

class JsLimitCheck extends LimitCheckBase {
  readonly engine = 'js' as const;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, config: LimitCheckConfig) {
    super(memory, alloc, config);
    this.initRegion();
  }

  // Kept in step with limit_process: same decisions in the same order, so the
  // output records and the table bytes come out identical.
  protected processChunk(ptr: number, count: number, stride: number): number {
    const u32 = this.u32, f64 = this.f64, b = this.base, table = this.table;
    const fieldAt = IN_FIELDS + 8 * u32[(b + H_FIELD) >>> 2];
    const every = (u32[(b + H_FLAGS) >>> 2] & FLAG_EVERY) !== 0;
    const op = u32[(b + H_OP) >>> 2];
    const outCapacity = u32[(b + H_OUT_CAPACITY) >>> 2];
    const above = f64[(b + H_ABOVE) >>> 3], below = f64[(b + H_BELOW) >>> 3];
    const rearmAbove = f64[(b + H_REARM_ABOVE) >>> 3], rearmBelow = f64[(b + H_REARM_BELOW) >>> 3];
    const slots = b + LC_HEADER_BYTES + ST_HEADER;
    const slotBytes = stSlotBytes(LC_VALUE_BYTES);
    const outBase = b + u32[(b + H_OUT) >>> 2];
    let outCount = u32[(b + H_OUT_COUNT) >>> 2];
    let events = this.readCounter(H_EVENTS), crossings = this.readCounter(H_CROSSINGS), alerts = this.readCounter(H_ALERTS);
    let skipped = this.readCounter(H_SKIPPED), untracked = this.readCounter(H_UNTRACKED), rearms = this.readCounter(H_REARMS);

    let i = 0;
    for (; i < count; i++) {
      if (outCount >= outCapacity) break;
      const rec = ptr + i * stride, rw = rec >>> 2;
      if ((u32[rw + (IN_FLAGS >>> 2)] & FLAG_CONTROL) !== 0) continue;
      const x = f64[(rec + fieldAt) >>> 3];
      if (x !== x) { skipped++; continue; }
      events++;
      const key = u32[rw + (IN_KEY >>> 2)];
      const side = x > above ? ABOVE : x < below ? BELOW : 0;
      const slot = table.find(0, key);
      if (slot < 0) {
        if (side === 0) continue;
        const v = table.upsertHL(0, key, u32[rw + (IN_TS >>> 2) + 1], u32[rw + (IN_TS >>> 2)]);
        if (v === 0) untracked++;
        else { u32[v >>> 2] = side; u32[(v >>> 2) + 1] = 1; }
        crossings++;
        alerts++;
        emitAlert(u32, f64, outBase + outCount++ * OUT_BYTES, rw, op, key, side, x, side === ABOVE ? above : below, 1, 1);
        continue;
      }
      const s = slots + slot * slotBytes, sw = s >>> 2, vw = (s + SLOT_VALUE) >>> 2;
      // touched = the event's ts (SLOT_TOUCHED = 8: words 2, 3 of the slot).
      u32[sw + 2] = u32[rw + (IN_TS >>> 2)]; u32[sw + 3] = u32[rw + (IN_TS >>> 2) + 1];
      const state = u32[vw];
      if (side === state) {
        const run = u32[vw + 1];
        const next = run === 0xffffffff ? run : run + 1;
        u32[vw + 1] = next;
        if (every) { alerts++; emitAlert(u32, f64, outBase + outCount++ * OUT_BYTES, rw, op, key, side, x, side === ABOVE ? above : below, 0, next); }
      } else if (side !== 0) {
        u32[vw] = side; u32[vw + 1] = 1;
        crossings++;
        alerts++;
        emitAlert(u32, f64, outBase + outCount++ * OUT_BYTES, rw, op, key, side, x, side === ABOVE ? above : below, 1, 1);
      } else if (state === ABOVE ? x <= rearmAbove : x >= rearmBelow) {
        table.removeSlot(slot);
        rearms++;
      }
    }

    u32[(b + H_OUT_COUNT) >>> 2] = outCount;
    this.writeCounter(H_EVENTS, events); this.writeCounter(H_CROSSINGS, crossings); this.writeCounter(H_ALERTS, alerts);
    this.writeCounter(H_SKIPPED, skipped); this.writeCounter(H_UNTRACKED, untracked); this.writeCounter(H_REARMS, rearms);
    return i;
  }
}
