// Dedup (drop repeats of a (key, id) within an event-time TTL), both engines
// behind one Operator: `wasm` calls assembly/operators/dedup.ts, `js` is a line-by-line
// port over the very same region bytes (layout and semantics in
// assembly/operators/dedup.ts), so a snapshot from either engine restores into either.
//
// Dedup is a filter: process() compacts the batch in place and returns how
// many events remain; the partition runner hands only those to the operators
// after it. Nothing it drops is unaccounted for: every dropped event was
// proven a repeat of a remembered one and is counted (`duplicates`).
import { FLAG_CONTROL, IN_FIELDS, IN_FLAGS, IN_KEY, IN_TS } from '../../records.js';
import type { GanglionExports, RegionAllocator } from '../../wasm/module.js';
import { ST_HEADER, SLOT_VALUE, stateTableBytes, stSlotBytes } from '../state_table.js';
import type { Engine, Operator, OperatorRuntime } from '../operator.js';
import { RegionOperator, regionEngine, regionOutOffset, type RegionHeader } from '../region_operator.js';
import { RegionOptions } from '../region_options.js';

export interface DedupOptions {
  /** Operator index within the pipeline. Default 0. */
  op?: number;
  /** Index of the id field among the input record's f64 fields (an interned string id or a number). */
  field: number;
  fieldCount?: number;
  /** How long (event time) a first occurrence keeps later ones out. Required, > 0. */
  ttlNs: bigint;
  /** Most (key, id) identities remembered at once: size it for the TTL times the event rate. Default 262,144 (20 MiB). */
  capacity?: number;
}

export interface DedupConfig {
  op: number;
  field: number;
  ttlNs: bigint;
  capacity: number;
}

export class DedupConfigError extends Error {
  override name = 'DedupConfigError';
}

const KNOWN = new Set(['op', 'field', 'fieldCount', 'ttlNs', 'capacity']);

export function dedupConfig(options: DedupOptions): DedupConfig {
  const o = options as unknown as Record<string, unknown>;
  if (o === null || typeof o !== 'object') throw new DedupConfigError('dedup: options must be an object');
  const fail = (m: string): never => { throw new DedupConfigError(`dedup: ${m}`); };
  const r = new RegionOptions(o, KNOWN, fail);
  const { op, field } = r.opAndField();
  const ttlNs = r.ttlNs();
  if (ttlNs <= 0n) fail('ttlNs must be > 0: how long a first occurrence keeps its repeats out (e.g. 10 minutes)');
  const capacity = r.int('capacity', 1, 1 << 28, 1 << 18);
  return { op, field, ttlNs, capacity };
}

// Mirrors of assembly/operators/dedup.ts (which owns the layout diagram).
export const DD_MAGIC = 0x31504444;
export const DD_VERSION = 1;
export const DD_HEADER_BYTES = 128;
export const DD_VALUE_BYTES = 16;
const H_FIELD = 8, H_OP = 12, H_CAPACITY = 16, H_OUT_CAPACITY = 20, H_OUT_COUNT = 24, H_TABLE = 28, H_OUT = 32;
const H_TTL = 40, H_WATERMARK = 48;
const H_EVENTS = 56, H_DUPLICATES = 64, H_EXPIRED = 72, H_UNTRACKED = 80, H_COLLISIONS = 88, H_SKIPPED = 96;
const V_ID = 0, V_KEY = 8;
const HEADER: RegionHeader = {
  bytes: DD_HEADER_BYTES, magic: DD_MAGIC, version: DD_VERSION, capacityAt: H_CAPACITY, outCapacityAt: H_OUT_CAPACITY,
  ttlAt: H_TTL, tableAt: H_TABLE, outAt: H_OUT, outCountAt: H_OUT_COUNT,
};
const NO_WATERMARK = -(1n << 63n);

function outOffset(c: Pick<DedupConfig, 'capacity'>): number {
  return regionOutOffset(DD_HEADER_BYTES, stateTableBytes(c.capacity, DD_VALUE_BYTES));
}

export function dedupRegionBytes(c: Pick<DedupConfig, 'capacity'>): number {
  return outOffset(c);
}

export interface DedupCounters {
  /** Events with an id looked at (control records and missing ids excluded). */
  events: number;
  /** Events dropped as repeats of a remembered first occurrence. */
  duplicates: number;
  /** Repeats that came after their witness expired (kept, and the new first occurrence). */
  expired: number;
  /** New identities the full table had no room for (kept; their repeats would pass too). */
  untracked: number;
  /** Identities whose table key matched another identity's (kept). */
  collisions: number;
  /** Events whose id was missing (NaN; kept). */
  skipped: number;
}

export interface DedupOperator extends Operator {
  readonly engine: Engine;
  readonly config: DedupConfig;
  readonly base: number;
  /** Filters in place; returns how many of the `count` records remain (at `ptr`, in order). */
  process(ptr: number, count: number, stride: number): number;
  counters(): DedupCounters;
}

/** One dedup operator in its own region of `rt.memory`. */
export function createDedup(engine: Engine, rt: OperatorRuntime, options: DedupOptions): DedupOperator {
  const config = dedupConfig(options);
  return regionEngine<DedupOperator>(engine, rt, 'dedup', DedupConfigError, {
    wasm: (exports) => new WasmDedup(rt.memory, rt.alloc, exports, config),
    js: () => new JsDedup(rt.memory, rt.alloc, config),
  });
}

abstract class DedupBase extends RegionOperator implements DedupOperator {
  abstract readonly engine: Engine;
  private kept = 0;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, readonly config: DedupConfig) {
    const bytes = dedupRegionBytes(config);
    super(memory, alloc, {
      name: 'dedup', source: 'dedup.ts', op: config.op, header: HEADER, bytes, outOffset: outOffset(config), field: config.field,
      capacity: config.capacity, valueBytes: DD_VALUE_BYTES, outputCapacity: 0, ttlNs: config.ttlNs,
      tooBig: (e) => new Error(`dedup op ${config.op}: its state (${(bytes / 2 ** 20).toFixed(1)} MiB for ${config.capacity} identities) ` +
        `does not fit: ${e.message}; lower capacity or raise the pipeline's memory`),
    });
  }

  /** Filters in place, returns the survivors (the base class checks the arguments). */
  override process(ptr: number, count: number, stride: number): number {
    this.kept = 0;
    super.process(ptr, count, stride);
    return this.kept;
  }

  protected processChunk(ptr: number, count: number, stride: number): number {
    this.kept = this.filter(ptr, count, stride);
    return count;
  }

  protected abstract filter(ptr: number, count: number, stride: number): number;

  protected outputFull(): Error {
    return new Error('dedup: emits no outputs');
  }

  protected writeTunables(): void {
    const b = this.base;
    this.u32[(b + H_FIELD) >>> 2] = this.config.field;
    this.u32[(b + H_OP) >>> 2] = this.config.op;
  }

  override onWatermark(watermarkNs: bigint): void {
    const at = this.base + H_WATERMARK;
    if (watermarkNs > this.dv.getBigInt64(at, true)) this.dv.setBigInt64(at, BigInt.asIntN(64, watermarkNs), true);
  }

  /** The drops are the metrics' `ganglion_dropped_events_total` for this operator. */
  override stats(): { keys: number; bytes: number; evictions: number; late: number; dropped: number } {
    return { ...super.stats(), dropped: this.counters().duplicates };
  }

  counters(): DedupCounters {
    const b = this.base, dv = this.dv;
    const n = (at: number) => Number(dv.getBigUint64(b + at, true));
    return {
      events: n(H_EVENTS), duplicates: n(H_DUPLICATES), expired: n(H_EXPIRED),
      untracked: n(H_UNTRACKED), collisions: n(H_COLLISIONS), skipped: n(H_SKIPPED),
    };
  }
}

class WasmDedup extends DedupBase {
  readonly engine = 'wasm' as const;
  private readonly x: Record<string, (...a: any[]) => any>;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, exports: GanglionExports, config: DedupConfig) {
    super(memory, alloc, config);
    this.x = exports as unknown as Record<string, (...a: any[]) => any>;
    this.x.dedup_init(this.base, config.field, config.op, config.capacity, config.ttlNs);
    this.checkWasmLayout(this.x.dedup_bytes(config.capacity) >>> 0);
  }

  protected filter(ptr: number, count: number, stride: number): number {
    return this.x.dedup_process(this.base, ptr, count, stride) >>> 0;
  }

  override onWatermark(watermarkNs: bigint): void {
    this.x.dedup_watermark(this.base, BigInt.asIntN(64, watermarkNs));
  }
}

// 0x9E3779B97F4A7C15 (φ·2^64), the multiplier that spreads the key id.
const PHI_HI = 0x9e3779b9, PHI_LO = 0x7f4a7c15;

class JsDedup extends DedupBase {
  readonly engine = 'js' as const;

  constructor(memory: WebAssembly.Memory, alloc: RegionAllocator, config: DedupConfig) {
    super(memory, alloc, config);
    this.initRegion();
    this.dv.setBigInt64(this.base + H_WATERMARK, NO_WATERMARK, true);
  }

  // Kept in step with dedup_process: the same decisions in the same order, so
  // the survivors and the table bytes come out identical.
  protected filter(ptr: number, count: number, stride: number): number {
    const u32 = this.u32, f64 = this.f64, dv = this.dv, b = this.base, table = this.table;
    const fieldAt = IN_FIELDS + 8 * u32[(b + H_FIELD) >>> 2];
    const ttl = dv.getBigInt64(b + H_TTL, true);
    const wm = dv.getBigInt64(b + H_WATERMARK, true);
    const wmHi = Number(BigInt.asIntN(64, wm) >> 32n) >>> 0, wmLo = Number(BigInt.asUintN(64, wm) & 0xffffffffn);
    const slots = b + DD_HEADER_BYTES + ST_HEADER;
    const slotBytes = stSlotBytes(DD_VALUE_BYTES);
    const scratch = new Float64Array(1), bits = new Uint32Array(scratch.buffer);
    let events = this.readCounter(H_EVENTS), duplicates = this.readCounter(H_DUPLICATES), expired = this.readCounter(H_EXPIRED);
    let untracked = this.readCounter(H_UNTRACKED), collisions = this.readCounter(H_COLLISIONS), skipped = this.readCounter(H_SKIPPED);
    const u8 = this.u8;

    let kept = 0;
    for (let i = 0; i < count; i++) {
      const rec = ptr + i * stride, rw = rec >>> 2;
      let drop = false;
      if ((u32[rw + (IN_FLAGS >>> 2)] & FLAG_CONTROL) === 0) {
        const x = f64[(rec + fieldAt) >>> 3];
        if (x !== x) {
          skipped++;
        } else {
          events++;
          scratch[0] = x === 0 ? 0 : x;
          const idLo = bits[0], idHi = bits[1];
          const key = u32[rw + (IN_KEY >>> 2)];
          const kLo = (idLo ^ mulKeyLo(key)) >>> 0, kHi = (idHi ^ mulKeyHi(key)) >>> 0;
          const slot = table.find(kHi, kLo);
          if (slot >= 0) {
            const s = slots + slot * slotBytes, v = s + SLOT_VALUE;
            if (u32[(v + V_ID) >>> 2] !== idLo || u32[((v + V_ID) >>> 2) + 1] !== idHi || u32[(v + V_KEY) >>> 2] !== key) {
              collisions++;
            } else {
              const first = dv.getBigInt64(s + 8, true);
              if (wm !== NO_WATERMARK && wm > first && wm - first >= ttl) {
                u32[(s + 8) >>> 2] = u32[rw + (IN_TS >>> 2)]; u32[((s + 8) >>> 2) + 1] = u32[rw + (IN_TS >>> 2) + 1];
                expired++;
              } else {
                duplicates++;
                drop = true;
              }
            }
          } else {
            const v = table.upsertHL(kHi, kLo, wmHi, wmLo);
            if (v === 0) {
              untracked++;
            } else {
              const vw = v >>> 2, sw = (v - SLOT_VALUE) >>> 2;
              u32[vw] = idLo; u32[vw + 1] = idHi; u32[vw + 2] = key;
              u32[sw + 2] = u32[rw + (IN_TS >>> 2)]; u32[sw + 3] = u32[rw + (IN_TS >>> 2) + 1];
            }
          }
        }
      }
      if (drop) continue;
      if (kept !== i) u8.copyWithin(ptr + kept * stride, rec, rec + stride);
      kept++;
    }

    this.writeCounter(H_EVENTS, events); this.writeCounter(H_DUPLICATES, duplicates); this.writeCounter(H_EXPIRED, expired);
    this.writeCounter(H_UNTRACKED, untracked); this.writeCounter(H_COLLISIONS, collisions); this.writeCounter(H_SKIPPED, skipped);
    return kept;
  }
}

/**
 * key · 0x9E3779B97F4A7C15 mod 2^64, as its low and high u32 words (exact:
 * 16-bit limbs keep every partial product below 2^53 in a double). Two plain
 * functions rather than one returning a pair: no allocation per event.
 */
function mulKeyLo(key: number): number {
  const a0 = key & 0xffff, a1 = key >>> 16;
  return (a0 * (PHI_LO & 0xffff) + ((a0 * (PHI_LO >>> 16) + a1 * (PHI_LO & 0xffff)) % 65536) * 65536) >>> 0;
}

function mulKeyHi(key: number): number {
  const a0 = key & 0xffff, a1 = key >>> 16, b0 = PHI_LO & 0xffff, b1 = PHI_LO >>> 16;
  const mid = a0 * b1 + a1 * b0;
  const low = a0 * b0 + (mid % 65536) * 65536;
  return (Math.imul(key, PHI_HI) + a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / 4294967296)) >>> 0;
}
