// Z-score anomaly check, both engines behind one Operator (HdrHistogramJS
// style): `wasm` calls assembly/operators/zscore.ts, `js` is a line-by-line port over the
// very same region bytes (layout diagram in assembly/operators/zscore.ts). Same bytes
// means a snapshot from either engine restores into either, and parity tests
// can compare output records byte for byte.
//
// Per key, the new value is scored against the statistics of the values BEFORE
// it (a spike must not dampen its own z), then folded in:
//   ewma    exponentially weighted mean/variance, alpha or half-life in events
//   window  the previous N values of the key (ring + Welford with removal,
//           recomputed exactly every N updates so rounding cannot accumulate)
// An OUT_ANOMALY record (values: value, mean, stddev, z, count; aux bit 0 =
// crossed the threshold) goes out when the key has ≥ minSamples, the value
// moved more than epsilon from the mean and z crosses the threshold in the
// configured direction — or for every scored event with emitAll.
// stddev 0: z is ±Infinity when |value − mean| > epsilon, else 0.
import { FLAG_CONTROL, IN_FIELDS, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS, OUT_ANOMALY, OUT_BYTES, OUT_VALUES } from '../../records.js';
import { type GanglionExports, type RegionAllocator } from '../../wasm/module.js';
import { stateTableBytes } from '../state_table.js';
import type { Engine, Operator, OperatorRuntime } from '../operator.js';
import { RegionOperator, RegionOutputFullError, regionEngine, regionOutOffset, type RegionHeader } from '../region_operator.js';
import { RegionOptions } from '../region_options.js';

export type ZScoreMode = 'ewma' | 'window';
export type ZScoreDirection = 'both' | 'above' | 'below';

/** What a pipeline config says; everything but `field` and the mode's parameter has a default. */
export interface ZScoreOptions {
  /** Operator index within the pipeline, written into every output. Default 0. */
  op?: number;
  /** Index of the scored value among the input record's f64 fields. */
  field: number;
  /** When given, `field` is checked against it. */
  fieldCount?: number;
  /** Default 'ewma'. */
  mode?: ZScoreMode;
  /** ewma: smoothing factor, 0 < alpha ≤ 1 (1: the mean is the last value). Give this or halfLife. */
  alpha?: number;
  /** ewma: events after which an observation's weight halves (alpha = 1 − 2^(−1/halfLife)). */
  halfLife?: number;
  /** window: how many previous values per key, 2..1024. Ignored in ewma mode (and alpha/halfLife in window mode). */
  window?: number;
  /** |z| (or z, −z with a direction) at or above this is an anomaly. Default 3. */
  threshold?: number;
  /** A key is scored only once its statistics cover this many values (≥ 1; with 1 the stddev is 0). Default: zscoreMinSamples(). */
  minSamples?: number;
  /** Default 'both'. */
  direction?: ZScoreDirection;
  /** Emit every scored event (aux 0 when not anomalous), for dashboards. Default false. */
  emitAll?: boolean;
  /**
   * A value within epsilon of the mean is never an anomaly, whatever its z; with
   * stddev 0 any larger move scores z = ±Infinity. Default 0.
   */
  epsilon?: number;
  /** Most keys held at once. Default 65536 (ewma), 12288 (window). */
  capacity?: number;
  /** Keys idle this long in event time may be evicted to make room; 0 = never. Default 0. */
  ttlNs?: bigint;
  /** Output records held until the caller drains them. Default 4096. */
  outputCapacity?: number;
}

/** The validated, complete configuration. */
export interface ZScoreConfig {
  op: number;
  field: number;
  mode: ZScoreMode;
  alpha: number;
  window: number;
  threshold: number;
  minSamples: number;
  direction: ZScoreDirection;
  emitAll: boolean;
  epsilon: number;
  capacity: number;
  ttlNs: bigint;
  outputCapacity: number;
}

/**
 * The one default of `minSamples` (`min_samples` in a pipeline file, whose
 * schema uses this function too): 30 values, the usual rule of thumb before a
 * sample mean and stddev mean much, and never more than a window-mode
 * operator's window (it cannot hold more).
 */
export const ZSCORE_MIN_SAMPLES = 30;
export function zscoreMinSamples(mode: ZScoreMode, window: number): number {
  return mode === 'window' ? Math.min(ZSCORE_MIN_SAMPLES, window) : ZSCORE_MIN_SAMPLES;
}

export class ZScoreConfigError extends Error {
  override name = 'ZScoreConfigError';
}

/** Thrown by process() when the output area filled up; `consumed` records were processed. */
export class ZScoreOutputFullError extends RegionOutputFullError {
  override name = 'ZScoreOutputFullError';
  constructor(op: number, consumed: number, requested: number, capacity: number) {
    super('zscore', op, consumed, requested, capacity);
  }
}

const KNOWN = new Set(['op', 'field', 'fieldCount', 'mode', 'alpha', 'halfLife', 'window', 'threshold', 'minSamples',
  'direction', 'emitAll', 'epsilon', 'capacity', 'ttlNs', 'outputCapacity']);

export const ZSCORE_MAX_WINDOW = 1024;

export function zscoreConfig(options: ZScoreOptions): ZScoreConfig {
  const o = options as unknown as Record<string, unknown>;
  if (o === null || typeof o !== 'object') throw new ZScoreConfigError('zscore: options must be an object');
  const fail = (m: string): never => { throw new ZScoreConfigError(`zscore: ${m}`); };
  const r = new RegionOptions(o, KNOWN, fail);
  const num = (name: string, ok: (x: number) => boolean, rule: string, dflt: number): number => {
    const v = o[name] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(`${name} must be ${rule}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], dflt: T): T => {
    const v = o[name] ?? dflt;
    if (!allowed.includes(v as T)) fail(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  };

  const { op, field } = r.opAndField();
  const mode = oneOf('mode', ['ewma', 'window'] as const, 'ewma');
  let alpha = 0;
  let window = 0;
  // The other mode's parameter is ignored, not refused: config layers fill in
  // defaults for both (host/config/schema.ts does).
  if (mode === 'ewma') {
    if (o.alpha !== undefined && o.halfLife !== undefined) fail('give alpha or halfLife, not both');
    if (o.alpha !== undefined) alpha = num('alpha', (x) => x > 0 && x <= 1, 'a number with 0 < alpha ≤ 1', 0);
    else if (o.halfLife !== undefined) {
      const h = num('halfLife', (x) => x > 0, 'a positive number of events', 0);
      alpha = 1 - Math.pow(2, -1 / h);
      if (!(alpha > 0 && alpha <= 1)) fail(`halfLife ${h} gives alpha ${alpha}, outside 0 < alpha ≤ 1`);
    } else fail('mode "ewma" needs alpha (0 < alpha ≤ 1) or halfLife (events)');
  } else {
    window = r.int('window', 2, ZSCORE_MAX_WINDOW);
  }
  const minSamples = r.int('minSamples', 1, mode === 'window' ? window : 0xffffffff, zscoreMinSamples(mode, window));
  const threshold = num('threshold', (x) => x > 0, 'a positive number', 3);
  const direction = oneOf('direction', ['both', 'above', 'below'] as const, 'both');
  const emitAll = o.emitAll ?? false;
  if (typeof emitAll !== 'boolean') fail(`emitAll must be true or false, got ${JSON.stringify(emitAll)}`);
  const epsilon = num('epsilon', (x) => x >= 0, 'a number ≥ 0', 0);
  // Window keys carry their ring: 12288 keys fill 16384 slots at load 0.75
  // (14 MiB with window 100), where ewma keys are small enough for 65536.
  const capacity = r.int('capacity', 1, 1 << 28, mode === 'window' ? 12288 : 65536);
  const ttlNs = r.ttlNs();
  const outputCapacity = r.outputCapacity();
  return { op, field, mode, alpha, window, threshold, minSamples, direction, emitAll: emitAll as boolean, epsilon, capacity, ttlNs, outputCapacity };
}

// Mirrors of assembly/operators/zscore.ts (which owns the layout diagram).
export const ZS_MAGIC = 0x3143535a;
export const ZS_VERSION = 1;
export const ZS_HEADER_BYTES = 128;
/** aux bit of an output record: the event crossed the threshold (unset only with emitAll). */
export const ZS_AUX_ANOMALY = 1;
const H_MODE = 8, H_DIRECTION = 12, H_FIELD = 16, H_WINDOW = 20, H_MIN_SAMPLES = 24;
const H_FLAGS = 28, H_OP = 32, H_CAPACITY = 36, H_VALUE_BYTES = 40, H_OUT_CAPACITY = 44, H_OUT_COUNT = 48;
const H_THRESHOLD = 56, H_ALPHA = 64, H_EPSILON = 72, H_TTL = 80, H_TABLE = 88, H_OUT = 92;
const H_EVENTS = 96, H_ANOMALIES = 104, H_SKIPPED = 112, H_DROPPED = 120;
const MODE_CODE = { ewma: 0, window: 1 } as const;
const DIRECTION_CODE = { both: 0, above: 1, below: 2 } as const;
const FLAG_EMIT_ALL = 1;
const HEADER: RegionHeader = {
  bytes: ZS_HEADER_BYTES, magic: ZS_MAGIC, version: ZS_VERSION, capacityAt: H_CAPACITY, outCapacityAt: H_OUT_CAPACITY,
  ttlAt: H_TTL, tableAt: H_TABLE, outAt: H_OUT, outCountAt: H_OUT_COUNT,
};

export function zscoreValueBytes(c: Pick<ZScoreConfig, 'mode' | 'window'>): number {
  return c.mode === 'window' ? 32 + 8 * c.window : 24;
}
function outOffset(c: ZScoreConfig): number {
  return regionOutOffset(ZS_HEADER_BYTES, stateTableBytes(c.capacity, zscoreValueBytes(c)));
}
/** Bytes of one operator's region: header + state table + output area. */
export function zscoreRegionBytes(c: ZScoreConfig): number {
  return outOffset(c) + c.outputCapacity * OUT_BYTES;
}

export interface ZScoreCounters {
  /** Events scored or folded in (control records, skipped and dropped ones excluded). */
  events: number;
  /** Events that crossed the threshold. */
  anomalies: number;
  /** Events whose value was NaN or ±Infinity: not folded in, so a key's statistics stay usable. */
  skipped: number;
  /** Events of a new key refused because the table was full even after TTL eviction. */
  dropped: number;
}

export interface ZScoreOperator extends Operator {
  readonly engine: Engine;
  readonly config: ZScoreConfig;
  /** Byte offset of the operator's region in the partition memory. */
  readonly base: number;
  counters(): ZScoreCounters;
}


/** One z-score operator in its own region of `rt.memory`. */
export function createZScore(engine: Engine, rt: OperatorRuntime, options: ZScoreOptions): ZScoreOperator {
  const config = zscoreConfig(options);
  return regionEngine<ZScoreOperator>(engine, rt, 'zscore', ZScoreConfigError, {
    wasm: (exports) => new WasmZScore(rt.memory, rt.alloc, exports, config),
    js: () => new JsZScore(rt.memory, rt.alloc, config),
  });
}

abstract class ZScoreBase extends RegionOperator implements ZScoreOperator {
  abstract readonly engine: Engine;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, readonly config: ZScoreConfig) {
    const bytes = zscoreRegionBytes(config);
    super(memory, alloc, {
      name: 'zscore', source: 'zscore.ts', op: config.op, header: HEADER, bytes, outOffset: outOffset(config), field: config.field,
      capacity: config.capacity, valueBytes: zscoreValueBytes(config), outputCapacity: config.outputCapacity, ttlNs: config.ttlNs,
      tooBig: (e) => new Error(`zscore op ${config.op}: its state (${(bytes / 2 ** 20).toFixed(1)} MiB for ${config.capacity} keys` +
        `${config.mode === 'window' ? ` × ${config.window} values` : ''}) does not fit: ${e.message}; or lower capacity`),
    });
  }

  protected outputFull(done: number, count: number): Error {
    return new ZScoreOutputFullError(this.op, done, count, this.config.outputCapacity);
  }

  protected override layoutMismatch(u: (at: number) => number): string[] {
    const c = this.config, mismatch: string[] = [];
    if (u(H_MODE) !== MODE_CODE[c.mode]) mismatch.push(`mode ${u(H_MODE) === 1 ? 'window' : 'ewma'} ≠ ${c.mode}`);
    if (u(H_WINDOW) !== c.window) mismatch.push(`window ${u(H_WINDOW)} ≠ ${c.window}`);
    return mismatch;
  }

  protected writeTunables(): void {
    const c = this.config, b = this.base, u32 = this.u32, f64 = this.f64;
    u32[(b + H_DIRECTION) >>> 2] = DIRECTION_CODE[c.direction];
    u32[(b + H_FIELD) >>> 2] = c.field;
    u32[(b + H_MIN_SAMPLES) >>> 2] = c.minSamples;
    u32[(b + H_FLAGS) >>> 2] = c.emitAll ? FLAG_EMIT_ALL : 0;
    u32[(b + H_OP) >>> 2] = c.op;
    f64[(b + H_THRESHOLD) >>> 3] = c.threshold;
    f64[(b + H_ALPHA) >>> 3] = c.alpha;
    f64[(b + H_EPSILON) >>> 3] = c.epsilon;
  }

  counters(): ZScoreCounters {
    const b = this.base, dv = this.dv;
    return {
      events: Number(dv.getBigUint64(b + H_EVENTS, true)),
      anomalies: Number(dv.getBigUint64(b + H_ANOMALIES, true)),
      skipped: Number(dv.getBigUint64(b + H_SKIPPED, true)),
      dropped: Number(dv.getBigUint64(b + H_DROPPED, true)),
    };
  }

}

class WasmZScore extends ZScoreBase {
  readonly engine = 'wasm' as const;
  private readonly x: Record<string, (...a: any[]) => any>;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, exports: GanglionExports, config: ZScoreConfig) {
    super(memory, alloc, config);
    this.x = exports as unknown as Record<string, (...a: any[]) => any>;
    const c = config;
    this.x.zscore_init(this.base, MODE_CODE[c.mode], DIRECTION_CODE[c.direction], c.field, c.window, c.minSamples,
      c.emitAll ? FLAG_EMIT_ALL : 0, c.op, c.capacity, c.outputCapacity, c.threshold, c.alpha, c.epsilon, c.ttlNs);
    this.checkWasmLayout(this.x.zscore_bytes(MODE_CODE[c.mode], c.window, c.capacity, c.outputCapacity) >>> 0);
  }

  protected processChunk(ptr: number, count: number, stride: number): number {
    return this.x.zscore_process(this.base, ptr, count, stride) >>> 0;
  }
}

class JsZScore extends ZScoreBase {
  readonly engine = 'js' as const;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, config: ZScoreConfig) {
    super(memory, alloc, config);
    const c = config, b = this.base, u32 = this.u32;
    this.initRegion();
    u32[(b + H_MODE) >>> 2] = MODE_CODE[c.mode];
    u32[(b + H_WINDOW) >>> 2] = c.window;
    u32[(b + H_VALUE_BYTES) >>> 2] = zscoreValueBytes(c);
  }

  // Kept in step with zscore_process: same operations in the same order, so
  // the doubles come out bit-identical.
  protected processChunk(ptr: number, count: number, stride: number): number {
    const u32 = this.u32, f64 = this.f64, b = this.base, table = this.table;
    const mode = u32[(b + H_MODE) >>> 2];
    const direction = u32[(b + H_DIRECTION) >>> 2];
    const fieldAt = IN_FIELDS + 8 * u32[(b + H_FIELD) >>> 2];
    const window = u32[(b + H_WINDOW) >>> 2];
    const minSamples = u32[(b + H_MIN_SAMPLES) >>> 2];
    const emitAll = (u32[(b + H_FLAGS) >>> 2] & FLAG_EMIT_ALL) !== 0;
    const op = u32[(b + H_OP) >>> 2];
    const outCapacity = u32[(b + H_OUT_CAPACITY) >>> 2];
    const threshold = f64[(b + H_THRESHOLD) >>> 3];
    const alpha = f64[(b + H_ALPHA) >>> 3];
    const epsilon = f64[(b + H_EPSILON) >>> 3];
    const outBase = b + u32[(b + H_OUT) >>> 2];
    let outCount = u32[(b + H_OUT_COUNT) >>> 2];
    let events = this.readCounter(H_EVENTS), anomalies = this.readCounter(H_ANOMALIES);
    let skipped = this.readCounter(H_SKIPPED), dropped = this.readCounter(H_DROPPED);

    let i = 0;
    for (; i < count; i++) {
      if (outCount >= outCapacity) break;
      const rec = ptr + i * stride, rw = rec >>> 2;
      if ((u32[rw + (IN_FLAGS >>> 2)] & FLAG_CONTROL) !== 0) continue;
      const x = f64[(rec + fieldAt) >>> 3];
      if (!Number.isFinite(x)) { skipped++; continue; }
      const tsLo = u32[rw + (IN_TS >>> 2)], tsHi = u32[rw + (IN_TS >>> 2) + 1];
      const key = u32[rw + (IN_KEY >>> 2)];
      const v = table.upsertHL(0, key, tsHi, tsLo);
      if (v === 0) { dropped++; continue; }
      events++;

      const vw = v >>> 2, vf = v >>> 3;
      const n = u32[vw];
      const mean = f64[vf + 1];
      if (n >= minSamples) {
        const variance = mode === 1 ? f64[vf + 2] / n : f64[vf + 2];
        const std = Math.sqrt(variance);
        const d = x - mean;
        const moved = Math.abs(d) > epsilon;
        let z = 0;
        if (std > 0) z = d / std;
        else if (moved) z = d > 0 ? Infinity : -Infinity;
        const hit = moved && (direction === 0 ? Math.abs(z) >= threshold : direction === 1 ? z >= threshold : z <= -threshold);
        if (hit) anomalies++;
        if (hit || emitAll) {
          // Written here, not by a shared helper: a call in this loop, even
          // one rarely taken, slows it in V8 (docs/perf/).
          const at = outBase + outCount * OUT_BYTES, ow = at >>> 2, of = (at + OUT_VALUES) >>> 3;
          u32[ow] = OUT_ANOMALY; u32[ow + 1] = op; u32[ow + 2] = key; u32[ow + 3] = hit ? ZS_AUX_ANOMALY : 0;
          u32[ow + 4] = tsLo; u32[ow + 5] = tsHi; u32[ow + 6] = tsLo; u32[ow + 7] = tsHi;
          u32[ow + 8] = u32[rw + (IN_SEQ >>> 2)]; u32[ow + 9] = u32[rw + (IN_SEQ >>> 2) + 1];
          f64[of] = x; f64[of + 1] = mean; f64[of + 2] = std; f64[of + 3] = z; f64[of + 4] = n;
          f64.fill(0, of + 5, of + 11);
          outCount++;
        }
      }

      if (mode === 1) {
        this.windowAdd(v, window, n, mean, x);
      } else if (n === 0) {
        u32[vw] = 1; f64[vf + 1] = x; f64[vf + 2] = 0;
      } else {
        const d = x - mean;
        const incr = alpha * d;
        f64[vf + 1] = mean + incr;
        f64[vf + 2] = (1 - alpha) * (f64[vf + 2] + d * incr);
        if (n !== 0xffffffff) u32[vw] = n + 1;
      }
    }

    u32[(b + H_OUT_COUNT) >>> 2] = outCount;
    this.writeCounter(H_EVENTS, events); this.writeCounter(H_ANOMALIES, anomalies);
    this.writeCounter(H_SKIPPED, skipped); this.writeCounter(H_DROPPED, dropped);
    return i;
  }

  private windowAdd(v: number, window: number, n: number, mean: number, x: number): void {
    const u32 = this.u32, f64 = this.f64, vw = v >>> 2, vf = v >>> 3;
    let head = u32[vw + 1];
    let m2 = f64[vf + 2];
    const slot = vf + 4 + head;
    let run = n > 0 && f64[vf + 4 + (head === 0 ? window - 1 : head - 1)] === x ? u32[vw + 6] + 1 : 1;
    if (run > window) run = window;
    if (n < window) {
      n++;
      const d = x - mean;
      mean += d / n;
      m2 += d * (x - mean);
    } else {
      const y = f64[slot];
      const newMean = mean + (x - y) / n;
      m2 += (x - y) * (x - newMean + y - mean);
      mean = newMean;
    }
    f64[slot] = x;
    if (m2 < 0) m2 = 0;
    head++;
    if (head === window) head = 0;
    u32[vw] = n;
    u32[vw + 1] = head;
    u32[vw + 6] = run;
    if (run >= n) {
      f64[vf + 1] = x;
      f64[vf + 2] = 0;
    } else if (head === 0) {
      this.recompute(vf, n);
    } else {
      f64[vf + 1] = mean;
      f64[vf + 2] = m2;
    }
  }

  private recompute(vf: number, n: number): void {
    const f64 = this.f64, ring = vf + 4;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += f64[ring + i];
    const mean = sum / n;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      const d = f64[ring + i] - mean;
      m2 += d * d;
    }
    f64[vf + 1] = mean;
    f64[vf + 2] = m2;
  }

}
