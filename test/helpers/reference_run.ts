// The single-threaded reference the partition tests compare N partitions
// with: one operator on this thread, fed one event at a time, its outputs
// taken after every event and watermark and kept in order as canonical
// strings (each test decides what canonical means).
import { OUT_BYTES, writeInput } from '../../host/records.js';
import type { Operator } from '../../host/operators/operator.js';
import type { RegionAllocator } from '../../host/wasm/module.js';

export class ReferenceRun {
  readonly out: string[] = [];
  private readonly rec: number;
  private readonly view: DataView;

  constructor(private readonly op: Operator, private readonly rt: { memory: WebAssembly.Memory; alloc: RegionAllocator },
    private readonly stride: number, private readonly canon: (bytes: Uint8Array, count: number) => string[]) {
    this.rec = rt.alloc.alloc(stride);
    this.view = new DataView(rt.memory.buffer);
  }

  event(ts: bigint, seq: bigint, key: number, fields: ArrayLike<number>): void {
    writeInput(this.view, this.rec, ts, seq, key, fields);
    this.op.process(this.rec, 1, this.stride);
    this.take();
  }

  watermark(wm: bigint): void {
    this.op.onWatermark(wm);
    this.take();
  }

  private take(): void {
    const { ptr, count } = this.op.output();
    this.out.push(...this.canon(new Uint8Array(this.rt.memory.buffer, ptr, count * OUT_BYTES).slice(), count));
    this.op.clearOutput();
  }
}
