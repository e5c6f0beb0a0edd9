// keysum: per-key running count and sum of one field, emitted for every key
// that changed when the watermark advances; events at or behind the watermark
// go to the late side output. The WASM engine is in the bench build
// (assembly/bench/keysum.ts draws its region); KeySumJs is its hand-written twin.
// A test operator: small, exact, and sensitive to watermark placement, which
// is what the partition and N-partition equivalence tests need. No pipeline
// can name it. Importing this module registers the kind 'keysum'; a worker
// imports it through PartitionProgram.modules (KEYSUM_MODULE), and its WASM
// engine needs the bench module (bench/wasm.ts compileBenchModule).
import type { Operator } from '../../host/operators/operator.js';
import { registerOperator, type OperatorConfig, type OperatorContext } from '../../host/operators/registry.js';
import { FLAG_CONTROL, IN_FIELDS, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS, OUT_BYTES, OUT_LATE, OUT_WINDOW, writeOutput } from '../../host/records.js';

/** For PartitionProgram.modules: registers 'keysum' in a partition worker. */
export const KEYSUM_MODULE = import.meta.url;

export interface KeySumConfig {
  /** Index of the summed field. */
  field: number;
  /** Key table size (power of two, more than the distinct keys of the partition). Default 4096. */
  slots?: number;
}

function parseConfig(config: OperatorConfig, ctx: OperatorContext): { field: number; slots: number } {
  const field = config.field ?? 0;
  const slots = config.slots ?? 4096;
  if (typeof field !== 'number' || !Number.isInteger(field) || field < 0 || field >= ctx.fieldCount) {
    throw new Error(`keysum: field must be an integer in 0..${ctx.fieldCount - 1}, got ${JSON.stringify(field)}`);
  }
  if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 2 || (slots & (slots - 1)) !== 0) {
    throw new Error(`keysum: slots must be a power of two ≥ 2, got ${JSON.stringify(slots)}`);
  }
  return { field, slots };
}

export function createKeySum(config: OperatorConfig, ctx: OperatorContext): Operator {
  const { field, slots } = parseConfig(config, ctx);
  return ctx.engine === 'wasm' ? new KeySumWasm(ctx, field, slots) : new KeySumJs(ctx, field, slots);
}

export class KeySumWasm implements Operator {
  readonly op: number;
  private readonly region: number;
  private readonly bytes: number;
  private readonly x: OperatorContext['exports'];
  private readonly mem: WebAssembly.Memory;
  private readonly slots: number;

  constructor(ctx: OperatorContext, field: number, slots: number) {
    this.op = ctx.op;
    this.x = ctx.exports;
    this.mem = ctx.memory;
    this.slots = slots;
    if (typeof this.x.keysum_bytes !== 'function') throw new Error('keysum: this module has no keysum_* exports: load the bench module (bench/wasm.ts compileBenchModule)');
    const outCap = slots + ctx.maxBatch;
    this.bytes = this.x.keysum_bytes(slots, outCap);
    this.region = ctx.alloc.alloc(this.bytes);
    this.x.keysum_init(this.region, slots, ctx.op, field, outCap);
  }
  process(ptr: number, count: number, stride: number): void {
    this.x.keysum_process(this.region, ptr, count, stride);
    this.check();
  }
  onWatermark(watermarkNs: bigint): void {
    (this.x.keysum_watermark as unknown as (r: number, w: bigint) => void)(this.region, watermarkNs);
    this.check();
  }
  private check(): void {
    if (this.x.keysum_overflow(this.region) !== 0) {
      throw new Error(`keysum (op ${this.op}): key table full (slots=${this.slots}); raise 'slots'`);
    }
  }
  output(): { ptr: number; count: number } {
    return { ptr: this.x.keysum_out_ptr(this.region), count: this.x.keysum_out_count(this.region) };
  }
  clearOutput(): void { this.x.keysum_clear(this.region); }
  snapshot(): Uint8Array {
    return new Uint8Array(this.mem.buffer, this.region, this.bytes).slice();
  }
  restore(bytes: Uint8Array): void {
    if (bytes.length !== this.bytes) throw new Error(`keysum: snapshot is ${bytes.length} bytes, region is ${this.bytes}`);
    new Uint8Array(this.mem.buffer, this.region, this.bytes).set(bytes);
  }
  stats() {
    return { keys: this.x.keysum_live(this.region), bytes: this.bytes, evictions: 0, late: this.x.keysum_late(this.region) };
  }
  close(): void {}
}

interface Entry { count: number; sum: number; seq: bigint; dirty: boolean }

export class KeySumJs implements Operator {
  readonly op: number;
  private readonly view: DataView;
  private readonly out: number;
  private readonly outCap: number;
  private outCount = 0;
  private readonly keys = new Map<number, Entry>();
  private watermark = -(1n << 63n);
  private late = 0;

  constructor(ctx: OperatorContext, private readonly field: number, private readonly slots: number) {
    this.op = ctx.op;
    this.view = new DataView(ctx.memory.buffer);
    this.outCap = slots + ctx.maxBatch;
    this.out = ctx.alloc.alloc(this.outCap * OUT_BYTES);
  }
  private emit(kind: number, key: number, start: bigint, end: bigint, seq: bigint, v0: number, v1: number): void {
    if (this.outCount >= this.outCap) throw new Error(`keysum (op ${this.op}): output area full`);
    const values = new Float64Array(11);
    values[0] = v0; values[1] = v1;
    writeOutput(this.view, this.out + this.outCount++ * OUT_BYTES, { kind, op: this.op, key, aux: 0, start, end, seq, values });
  }
  process(ptr: number, count: number, stride: number): void {
    const v = this.view;
    for (let i = 0; i < count; i++) {
      const rec = ptr + i * stride;
      if ((v.getUint32(rec + IN_FLAGS, true) & FLAG_CONTROL) !== 0) continue;
      const ts = v.getBigInt64(rec + IN_TS, true);
      const key = v.getUint32(rec + IN_KEY, true);
      const seq = v.getBigUint64(rec + IN_SEQ, true);
      const x = v.getFloat64(rec + IN_FIELDS + 8 * this.field, true);
      if (ts <= this.watermark) { this.late++; this.emit(OUT_LATE, key, ts, ts, seq, x, 0); continue; }
      let e = this.keys.get(key);
      if (!e) {
        if (this.keys.size >= this.slots) throw new Error(`keysum (op ${this.op}): key table full (slots=${this.slots}); raise 'slots'`);
        e = { count: 0, sum: 0, seq: 0n, dirty: false };
        this.keys.set(key, e);
      }
      e.count += 1; e.sum += x; e.dirty = true;
      if (seq > e.seq) e.seq = seq;
    }
  }
  onWatermark(watermarkNs: bigint): void {
    if (watermarkNs <= this.watermark) return;
    this.watermark = watermarkNs;
    for (const [key, e] of this.keys) {
      if (!e.dirty) continue;
      e.dirty = false;
      this.emit(OUT_WINDOW, key, 0n, watermarkNs, e.seq, e.count, e.sum);
    }
  }
  output(): { ptr: number; count: number } { return { ptr: this.out, count: this.outCount }; }
  clearOutput(): void { this.outCount = 0; }
  snapshot(): Uint8Array {
    // [watermark i64, late u32, n u32] then n × [key u32, dirty u32, seq u64, count f64, sum f64]
    const buf = new DataView(new ArrayBuffer(16 + 32 * this.keys.size));
    buf.setBigInt64(0, this.watermark, true);
    buf.setUint32(8, this.late, true);
    buf.setUint32(12, this.keys.size, true);
    let at = 16;
    for (const [key, e] of this.keys) {
      buf.setUint32(at, key, true); buf.setUint32(at + 4, e.dirty ? 1 : 0, true);
      buf.setBigUint64(at + 8, e.seq, true); buf.setFloat64(at + 16, e.count, true); buf.setFloat64(at + 24, e.sum, true);
      at += 32;
    }
    return new Uint8Array(buf.buffer);
  }
  restore(bytes: Uint8Array): void {
    const buf = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.watermark = buf.getBigInt64(0, true);
    this.late = buf.getUint32(8, true);
    const n = buf.getUint32(12, true);
    this.keys.clear();
    for (let i = 0, at = 16; i < n; i++, at += 32) {
      this.keys.set(buf.getUint32(at, true), {
        dirty: buf.getUint32(at + 4, true) !== 0, seq: buf.getBigUint64(at + 8, true),
        count: buf.getFloat64(at + 16, true), sum: buf.getFloat64(at + 24, true),
      });
    }
  }
  stats() { return { keys: this.keys.size, bytes: 32 * this.keys.size, evictions: 0, late: this.late }; }
  close(): void {}
}

registerOperator('keysum', createKeySum);
