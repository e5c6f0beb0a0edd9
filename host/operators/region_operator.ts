// What a keyed operator living in one region of partition memory does the
// same way whatever it computes (z-score, limit check): allocating the region,
// checking process() input, handing out and clearing the pending-output area,
// and snapshots as a byte copy of header + table + pending outputs. Each
// operator brings its header layout, its restore checks and processChunk().
import { IN_FIELDS, OUT_BYTES } from '../records.js';
import type { GanglionExports, RegionAllocator } from '../wasm/module.js';

/** Where a region operator lives: the partition memory, its allocator, and (wasm engine) the instance. */
export interface RegionRuntime {
  memory: WebAssembly.Memory;
  alloc: RegionAllocator;
  /** Required for the wasm engine. */
  exports?: GanglionExports;
}

export interface RegionLayout {
  /** Operator name in messages, e.g. "zscore". */
  name: string;
  op: number;
  bytes: number;
  /** The input field read (bounds the stride). */
  field: number;
  /** Header offsets of the output area's offset and of the pending-output count. */
  outAt: number;
  outCountAt: number;
  /** The error to throw when the region does not fit in the partition memory. */
  tooBig(cause: Error): Error;
}

export abstract class RegionOperator {
  readonly base: number;
  readonly op: number;
  protected readonly u8: Uint8Array;
  protected readonly u32: Uint32Array;
  protected readonly f64: Float64Array;
  protected readonly dv: DataView;
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
  }

  /** Processes records until done or the output area is full; returns how many. */
  protected abstract processChunk(ptr: number, count: number, stride: number): number;
  /** The operator's own error for a full output area (`done` of `count` records consumed). */
  protected abstract outputFull(done: number, count: number): Error;

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
    const b = this.base;
    return { ptr: b + this.u32[(b + this.layout.outAt) >>> 2], count: this.u32[(b + this.layout.outCountAt) >>> 2] };
  }

  clearOutput(): void {
    this.u32[(this.base + this.layout.outCountAt) >>> 2] = 0;
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

  close(): void {
    this.closed = true;
  }
}
