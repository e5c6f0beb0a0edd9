// What a keyed operator living in one region of partition memory does the
// same way whatever it computes (z-score, limit check): allocating the region,
// checking process() input, handing out and clearing the pending-output area,
// the header fields every region has (laid out fresh by the JS engine, checked
// on restore), counters, stats, and snapshots as a byte copy of header + table
// + pending outputs. Each operator brings its header offsets, its own header
// fields and tunables, and processChunk(). assembly/shared/region_operator.ts is the
// WASM side of the same.
import { IN_FIELDS, OUT_BYTES } from '../records.js';
import type { GanglionExports, RegionAllocator } from '../wasm/module.js';
import type { Engine, OperatorRuntime } from './operator.js';
import { JsStateTable } from './state_table.js';


/**
 * Where an operator's header keeps what every region has (byte offsets). Every
 * header starts with magic u32 at 0 and version u32 at 4; the state table
 * follows the header, the output area follows the table.
 */
export interface RegionHeader {
  bytes: number;
  magic: number;
  version: number;
  capacityAt: number;
  outCapacityAt: number;
  ttlAt: number;
  tableAt: number;
  outAt: number;
  outCountAt: number;
}

export interface RegionLayout {
  /** Operator name in messages, e.g. "zscore". */
  name: string;
  /** The assembly/ file that owns the layout, named when the two disagree. */
  source: string;
  op: number;
  header: RegionHeader;
  /** Region bytes, and the output area's offset in them. */
  bytes: number;
  outOffset: number;
  /** The input field read (bounds the stride). */
  field: number;
  /** State table and output area sizes as configured. */
  capacity: number;
  valueBytes: number;
  outputCapacity: number;
  ttlNs: bigint;
  /** The error to throw when the region does not fit in the partition memory. */
  tooBig(cause: Error): Error;
}

const H_MAGIC = 0, H_VERSION = 4;
const TWO32 = 4294967296;

/** Bytes from the region's base to its output area: header, then the state table rounded up to a cache line. */
export function regionOutOffset(headerBytes: number, tableBytes: number): number {
  return headerBytes + ((tableBytes + 63) & ~63);
}

/**
 * The engine a region operator runs on: `wasm` (which needs the partition
 * instance's exports, from a module that has `<name>_process`) or `js`.
 * Errors name the operator and use its config error class.
 */
export function regionEngine<O>(engine: Engine, rt: OperatorRuntime, name: string, configError: new (message: string) => Error,
  make: { wasm(exports: GanglionExports): O; js(): O }): O {
  if (engine === 'wasm') {
    if (!rt.exports) throw new configError(`${name}: the wasm engine needs the partition instance exports`);
    if (typeof rt.exports[`${name}_process`] !== 'function') throw new Error(`${name}: build/ganglion.wasm has no ${name}_process: rebuild with \`npm run build:wasm\``);
    return make.wasm(rt.exports);
  }
  if (engine !== 'js') throw new configError(`${name}: engine must be "wasm" or "js", got ${JSON.stringify(engine)}`);
  return make.js();
}

/** Thrown by process() when the output area filled up; `consumed` records were processed. */
export class RegionOutputFullError extends Error {
  constructor(name: string, readonly op: number, readonly consumed: number, readonly requested: number, readonly capacity: number) {
    super(`${name} op ${op}: output area full (${capacity} records): processed ${consumed} of ${requested} events; ` +
      `drain output() and clearOutput(), then process the remaining ${requested - consumed} (or raise outputCapacity to cover a whole batch)`);
  }
}

export abstract class RegionOperator {
  readonly base: number;
  readonly op: number;
  protected readonly u8: Uint8Array;
  protected readonly u32: Uint32Array;
  protected readonly f64: Float64Array;
  protected readonly dv: DataView;
  /** The engine-neutral view of this region's state table (the bytes are the same in both engines). */
  protected readonly table: JsStateTable;
  protected closed = false;

  constructor(readonly memory: WebAssembly.Memory, alloc: RegionAllocator, private readonly layout: RegionLayout) {
    try {
      this.base = alloc.alloc(layout.bytes, 64);
    } catch (e) {
      throw layout.tooBig(e as Error);
    }
    this.op = layout.op;
    this.u8 = new Uint8Array(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
    this.table = new JsStateTable(memory, this.base + layout.header.bytes);
  }

  /** Processes records until done or the output area is full; returns how many. */
  protected abstract processChunk(ptr: number, count: number, stride: number): number;
  /** The operator's own error for a full output area (`done` of `count` records consumed). */
  protected abstract outputFull(done: number, count: number): Error;
  /** Writes the header fields the current config may change (after init and after restore). */
  protected abstract writeTunables(): void;
  /** Differences between a snapshot's operator-specific layout fields and the config (`u` reads a snapshot u32). */
  protected layoutMismatch(_u: (at: number) => number): string[] {
    return [];
  }

  /**
   * The JS engine's init: a zeroed header with the fields every region has,
   * the tunables and a fresh state table; the operator then writes the rest
   * of its layout fields.
   */
  protected initRegion(): void {
    const l = this.layout, h = l.header, b = this.base, u32 = this.u32;
    this.u8.fill(0, b, b + h.bytes);
    u32[(b + H_MAGIC) >>> 2] = h.magic;
    u32[(b + H_VERSION) >>> 2] = h.version;
    u32[(b + h.capacityAt) >>> 2] = l.capacity;
    u32[(b + h.outCapacityAt) >>> 2] = l.outputCapacity;
    this.dv.setBigInt64(b + h.ttlAt, l.ttlNs, true);
    u32[(b + h.tableAt) >>> 2] = h.bytes;
    u32[(b + h.outAt) >>> 2] = l.outOffset;
    this.writeTunables();
    this.table.init(l.capacity, l.valueBytes, l.ttlNs);
  }

  /** The wasm engine's check after its init: the module lays the region out as the host does. */
  protected checkWasmLayout(wasmBytes: number): void {
    const l = this.layout;
    if (wasmBytes !== l.bytes || this.u32[(this.base + l.header.outAt) >>> 2] !== l.outOffset) {
      throw new Error(`${l.name}: host and assembly/${l.source} disagree on the region layout: rebuild with \`npm run build:wasm\``);
    }
  }

  process(ptr: number, count: number, stride: number): void {
    const { name, field } = this.layout;
    if (this.closed) throw new Error(`${name} op ${this.op}: process() after close()`);
    if (count === 0) return;
    if (!Number.isInteger(ptr) || ptr < 0 || ptr % 8 !== 0) throw new RangeError(`${name} op ${this.op}: input pointer must be 8-byte aligned, got ${ptr}`);
    const minStride = IN_FIELDS + 8 * (field + 1);
    if (!Number.isInteger(stride) || stride % 8 !== 0 || stride < minStride) {
      throw new RangeError(`${name} op ${this.op}: stride ${stride} cannot hold field ${field} (need a multiple of 8 ≥ ${minStride})`);
    }
    if (!Number.isInteger(count) || count < 0 || ptr + count * stride > this.memory.buffer.byteLength) {
      throw new RangeError(`${name} op ${this.op}: ${count} records of ${stride} bytes at ${ptr} run past the partition memory`);
    }
    const done = this.processChunk(ptr, count, stride);
    if (done < count) throw this.outputFull(done, count);
  }

  onWatermark(_watermarkNs: bigint): void {
    // Every event is handled on arrival; nothing waits for event time (idle
    // keys leave through the state table's TTL when it needs room).
  }

  output(): { ptr: number; count: number } {
    const b = this.base, h = this.layout.header;
    return { ptr: b + this.u32[(b + h.outAt) >>> 2], count: this.u32[(b + h.outCountAt) >>> 2] };
  }

  clearOutput(): void {
    this.u32[(this.base + this.layout.header.outCountAt) >>> 2] = 0;
  }

  /** Header + table + the pending outputs (not yet drained), restorable in either engine. */
  snapshot(): Uint8Array {
    const out = new Uint8Array(this.snapshotSize());
    this.snapshotInto(out);
    return out;
  }

  snapshotSize(): number {
    const { ptr, count } = this.output();
    return ptr + count * OUT_BYTES - this.base;
  }

  /** snapshot()'s bytes into a caller's reused buffer (cheap barriers: one copy, no allocation). */
  snapshotInto(dst: Uint8Array): number {
    const n = this.snapshotSize();
    if (dst.byteLength < n) throw new RangeError(`${this.layout.name} op ${this.op}: snapshotInto needs ${n} bytes, the buffer has ${dst.byteLength} (ask snapshotSize() first)`);
    dst.set(this.u8.subarray(this.base, this.base + n), 0);
    return n;
  }

  restore(bytes: Uint8Array): void {
    const l = this.layout, h = l.header, name = l.name;
    if (bytes.byteLength < h.bytes) throw new Error(`${name} op ${this.op}: snapshot of ${bytes.byteLength} bytes is too short to be a ${name} region`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const u = (at: number) => dv.getUint32(at, true);
    if (u(H_MAGIC) !== h.magic) throw new Error(`${name} op ${this.op}: snapshot is not a ${name} region (magic ${u(H_MAGIC).toString(16)})`);
    if (u(H_VERSION) !== h.version) throw new Error(`${name} op ${this.op}: snapshot layout version ${u(H_VERSION)}, this build reads ${h.version}`);
    const mismatch = this.layoutMismatch(u);
    if (u(h.capacityAt) !== l.capacity) mismatch.push(`capacity ${u(h.capacityAt)} ≠ ${l.capacity}`);
    if (u(h.outCapacityAt) !== l.outputCapacity) mismatch.push(`outputCapacity ${u(h.outCapacityAt)} ≠ ${l.outputCapacity}`);
    if (dv.getBigInt64(h.ttlAt, true) !== l.ttlNs) mismatch.push(`ttlNs ${dv.getBigInt64(h.ttlAt, true)} ≠ ${l.ttlNs}`);
    if (mismatch.length) throw new Error(`${name} op ${this.op}: snapshot was taken with a different layout (${mismatch.join(', ')}); state cannot be carried over`);
    const pending = u(h.outCountAt);
    if (u(h.tableAt) !== h.bytes || u(h.outAt) !== l.outOffset || bytes.byteLength !== l.outOffset + pending * OUT_BYTES) {
      throw new Error(`${name} op ${this.op}: snapshot is ${bytes.byteLength} bytes, expected ${l.outOffset + pending * OUT_BYTES}: truncated or corrupt`);
    }
    this.u8.set(bytes, this.base);
    // Tunables follow the current config (a restart may move a threshold or a
    // limit); the layout-bearing fields were checked equal above.
    this.writeTunables();
  }

  stats(): { keys: number; bytes: number; evictions: number; late: number } {
    return { keys: this.table.count(), bytes: this.layout.bytes, evictions: Number(this.table.evictions()), late: 0 };
  }

  /** A u64 counter of the header at `at`, as a number (exact below 2^53). */
  protected readCounter(at: number): number {
    const w = (this.base + at) >>> 2;
    return this.u32[w] + this.u32[w + 1] * TWO32;
  }

  protected writeCounter(at: number, n: number): void {
    const w = (this.base + at) >>> 2;
    this.u32[w] = n >>> 0;
    this.u32[w + 1] = Math.floor(n / TWO32);
  }

  close(): void {
    this.closed = true;
  }
}
