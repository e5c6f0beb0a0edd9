// The partition program: what one partition does with its input ring, on
// whatever thread owns the partition memory (its worker in production; the
// calling thread in single-threaded references and tests).
//
//   read a batch from the input ring (≤ maxBatch, split at the ring's end so
//   every run is contiguous) → cut it at control records and where the stream
//   changes → the operators that read the run's stream, in pipeline order:
//   process(ptr, count, stride) (a two-input operator's second input:
//   process2) → copy every operator's pending outputs into the output ring →
//   clearOutput → release the input.
//   watermark control → every operator onWatermark(ts), outputs copied; with
//                       several streams, the watermark is its stream's, and an
//                       operator gets onWatermark(the minimum over the inputs
//                       it reads, see input_watermarks.ts) when that advances.
//   barrier control   → outputs copied first, then every operator snapshot(),
//                       handed to onBarrier with the output position.
import { isTwoInput, type Operator } from '../operators/operator.js';
import { createOperator } from '../operators/registry.js';
import { FLAG_CONTROL, FLAG_IDLE, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS, OUT_BYTES, OUT_KIND, OUT_MARKER, OUT_SEQ, streamOfFlags } from '../records.js';
import { InputWatermarks } from './input_watermarks.js';
import { RingReader, RingWriter } from '../ring/ring.js';
import { instantiate, RegionAllocator } from '../wasm/module.js';
import { CONTROL_BARRIER, CONTROL_WATERMARK } from './control.js';
import { layoutPartition, OPERATOR_STATS_FIELDS, type PartitionLayout, type PartitionProgram } from './layout.js';

export interface BarrierSnapshot {
  partition: number;
  /** Checkpoint id carried by the barrier record. */
  id: number;
  /** Watermark in force at the barrier (ns). */
  watermark: bigint;
  /** Output records this partition had produced before the barrier (the sink position). */
  outputPosition: number;
  /** Input records consumed before the barrier (control records included). */
  inputPosition: number;
  /** One snapshot() per operator, in pipeline order. */
  states: Uint8Array[];
  /** How long this partition stopped processing to copy its state (ms). */
  pauseMs: number;
}

/** The shared buffer barriers copy operator states into, and how much of it a snapshot uses now. */
export interface SnapshotSlab {
  buffer: SharedArrayBuffer;
  bytes: number;
}

export class PartitionRunner {
  readonly layout: PartitionLayout;
  readonly operators: Operator[];
  readonly input: RingReader;
  readonly output: RingWriter;
  /** Output records written so far. */
  produced = 0;
  /** Input records consumed so far. */
  consumed = 0;
  private watermark = -(1n << 63n);
  private readonly i32: Int32Array;
  private readonly view: DataView;

  constructor(
    readonly partition: number,
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    readonly program: PartitionProgram,
    /** Called when the output ring is full; must make room (block) or throw. */
    private readonly waitForOutputRoom: (out: RingWriter, want: number) => void,
    private readonly onBarrier: (snap: BarrierSnapshot) => void,
    /**
     * Where this partition publishes its operators' stats (keys, bytes,
     * evictions: OPERATOR_STATS_FIELDS numbers per operator), shared with the
     * host: a worker's loop takes no messages, so the metrics read them here.
     */
    private readonly statsOut?: Float64Array,
  ) {
    const { exports } = instantiate(memory, module);
    const alloc = new RegionAllocator(memory, exports.heapBase());
    this.layout = layoutPartition(alloc, memory, program);
    this.input = new RingReader(memory, this.layout.input);
    this.output = new RingWriter(memory, this.layout.output);
    this.i32 = new Int32Array(memory.buffer);
    this.view = new DataView(memory.buffer);
    const base = { partition, engine: program.engine, memory, exports, alloc, fieldCount: program.fieldCount, stride: this.layout.stride, maxBatch: program.maxBatch };
    this.operators = program.operators.map((config, op) => createOperator(config, { ...base, op }));
    this.layout.used = alloc.used;
    const restore = program.restore?.[partition];
    if (restore) {
      if (restore.length !== this.operators.length) throw new Error(`partition ${partition}: restore has ${restore.length} operator states, the program has ${this.operators.length} operators`);
      this.operators.forEach((op, i) => op.restore(restore[i]));
    }
    const streams = program.streams ?? 1;
    const inputs = program.operators.map((_, i) => program.inputs?.[i] ?? [0]);
    if (streams > 1 || inputs.some((i) => i.length !== 1 || i[0] !== 0)) {
      this.byStream = Array.from({ length: streams }, () => []);
      inputs.forEach((list, op) => list.forEach((s, input) => {
        if (!(s >= 0 && s < streams)) throw new Error(`partition ${partition}: operator ${op} reads stream ${s}, the program has ${streams}`);
        const o = this.operators[op];
        if (input > 1 || (input === 1 && !isTwoInput(o))) throw new Error(`partition ${partition}: operator ${op} lists ${list.length} inputs but takes ${isTwoInput(o) ? 2 : 1}`);
        this.byStream![s].push({ op, input });
      }));
      this.watermarks = new InputWatermarks(streams, inputs);
    }
    this.marker = new Uint8Array(OUT_BYTES);
    this.markerView = new DataView(this.marker.buffer);
    this.markerView.setUint32(OUT_KIND, OUT_MARKER, true);
    this.publishStats();
  }

  private readonly marker: Uint8Array;
  private readonly markerView: DataView;
  /** Several streams (or an operator reading another than the first): per stream, the operators reading it and as which input. */
  private readonly byStream?: Array<Array<{ op: number; input: number }>>;
  private readonly watermarks?: InputWatermarks;

  /** Processes what is in the input ring now (at most `limit` records); returns how many. Never blocks unless the output ring is full. */
  step(limit = Infinity): number {
    let done = 0;
    const stride = this.layout.stride;
    while (done < limit) {
      const avail = this.input.available();
      if (avail === 0) break;
      const run = this.input.contiguous(Math.min(avail, this.program.maxBatch, limit - done));
      const ptr = this.input.readAt();
      // Runs of equal flags: data of one stream (flags = its stream bits), cut at control records.
      let start = 0, flags = -1;
      for (let i = 0; i < run; i++) {
        const rec = ptr + i * stride;
        const f = this.i32[(rec + IN_FLAGS) >> 2];
        if (f === flags) continue;
        if (flags !== -1 && i > start) this.processData(ptr + start * stride, i - start, flags);
        if ((f & FLAG_CONTROL) === 0) { flags = f; start = i; continue; }
        this.control(rec, this.consumed + i);
        flags = -1;
        start = i + 1;
      }
      if (flags !== -1 && run > start) this.processData(ptr + start * stride, run - start, flags);
      this.input.release(run);
      this.consumed += run;
      done += run;
    }
    if (this.output.unpublished > 0) this.output.publish();
    return done;
  }

  private processData(ptr: number, count: number, flags: number): void {
    if (this.byStream) { this.processStream(ptr, count, streamOfFlags(flags)); return; }
    for (const op of this.operators) {
      if (count === 0) break;
      const kept = op.process(ptr, count, this.layout.stride);
      this.copyOutputs(op);
      if (typeof kept === 'number') count = kept;
    }
  }

  /** A run of one stream's records through the operators that read it (a filter's survivors go on to the later ones). */
  private processStream(ptr: number, count: number, stream: number): void {
    const readers = this.byStream![stream];
    if (readers === undefined) throw new Error(`partition ${this.partition}: a record of stream ${stream}, the program has ${this.byStream!.length} streams`);
    for (const { op: i, input } of readers) {
      if (count === 0) break;
      const op = this.operators[i];
      const kept = input === 0 ? op.process(ptr, count, this.layout.stride) : (op as Operator & { process2: Operator['process'] }).process2(ptr, count, this.layout.stride);
      this.copyOutputs(op);
      if (typeof kept === 'number') count = kept;
    }
  }

  private control(rec: number, position: number): void {
    const kind = this.view.getUint32(rec + IN_KEY, true);
    const ts = this.view.getBigInt64(rec + IN_TS, true);
    if (kind === CONTROL_WATERMARK) {
      if (ts > this.watermark) this.watermark = ts;
      if (this.watermarks) {
        const flags = this.i32[(rec + IN_FLAGS) >> 2];
        this.watermarks.advance(streamOfFlags(flags), ts, (flags & FLAG_IDLE) !== 0, (op, wm) => {
          this.operators[op].onWatermark(wm);
          this.copyOutputs(this.operators[op]);
        });
      } else {
        for (const op of this.operators) {
          op.onWatermark(ts);
          this.copyOutputs(op);
        }
      }
      // A watermark that carries an epoch (seq > 0) closes it: the marker tells
      // the host that every output this epoch caused here is now in the ring.
      const epoch = this.view.getBigUint64(rec + IN_SEQ, true);
      // State changes only through records and watermarks; once per epoch keeps the stats current.
      this.publishStats();
      if (epoch > 0n) {
        this.markerView.setBigUint64(OUT_SEQ, epoch, true);
        this.pushOutput(this.marker, 1);
      }
    } else if (kind === CONTROL_BARRIER) {
      this.output.publish();
      const id = Number(this.view.getBigUint64(rec + IN_SEQ, true));
      const started = performance.now();
      const states = this.snapshotStates();
      this.onBarrier({
        partition: this.partition, id, watermark: this.watermark,
        outputPosition: this.produced, inputPosition: position,
        states, pauseMs: performance.now() - started,
      });
    } else {
      throw new Error(`partition ${this.partition}: unknown control record kind ${kind} at input position ${position}`);
    }
  }

  /** Operator stats into the shared stats view (plain stores: each is one aligned 8-byte word). */
  publishStats(): void {
    const out = this.statsOut;
    if (!out) return;
    this.operators.forEach((op, i) => {
      const s = op.stats();
      const at = i * OPERATOR_STATS_FIELDS;
      out[at] = s.keys;
      out[at + 1] = s.bytes;
      out[at + 2] = s.evictions;
      out[at + 3] = s.dropped ?? 0;
    });
  }

  private copyOutputs(op: Operator): void {
    const { ptr, count } = op.output();
    let done = 0;
    while (done < count) {
      let room = this.output.room();
      if (room === 0) {
        this.output.publish();
        this.waitForOutputRoom(this.output, Math.min(count - done, this.output.capacity >> 1));
        room = this.output.room();
        if (room === 0) continue;
      }
      const src = new Uint8Array(this.memory.buffer, ptr + done * OUT_BYTES, (count - done) * OUT_BYTES);
      const n = this.output.push(src, count - done);
      done += n;
      this.produced += n;
    }
    op.clearOutput();
  }

  /**
   * Operator states for a barrier. When every operator can write its snapshot
   * into a given buffer, they go into one slab of shared memory kept for the
   * partition's life: the pause is then a memcpy, with no allocation (and, from
   * the second barrier on, no page faults). The host reads the slab (writes the
   * checkpoint) before it sends the next barrier, so one slab is enough.
   */
  private snapshotStates(): Uint8Array[] {
    const ops = this.operators;
    if (!ops.every((op) => op.snapshotSize && op.snapshotInto)) return ops.map((op) => op.snapshot());
    const sizes = ops.map((op) => op.snapshotSize!());
    const total = sizes.reduce((a, b) => a + b, 0);
    if (!this.slab || this.slab.length < total) this.slab = newSlab(Math.ceil(total * 1.25));
    let at = 0;
    return ops.map((op, i) => {
      const dst = this.slab!.subarray(at, at + sizes[i]);
      const n = op.snapshotInto!(dst);
      if (n !== sizes[i]) throw new Error(`partition ${this.partition}: operator ${i} wrote ${n} snapshot bytes, announced ${sizes[i]}`);
      at += sizes[i];
      return dst;
    });
  }

  private slab: Uint8Array | null = null;

  /**
   * Reserves the snapshot slab now (checkpointed pipelines) without touching
   * it: an idle service does not hold a second copy of its state in RSS before
   * the first checkpoint, and the 25 % headroom stays untouched until state
   * grows into it. Returns the slab and the bytes a snapshot takes now, so the
   * host can fault those pages in when input starts (PartitionSet.warmMemory):
   * otherwise the first barrier pays them inside its pause, many times the
   * later barriers' copy (docs/perf/).
   */
  prepareSnapshots(): SnapshotSlab | undefined {
    const ops = this.operators;
    if (!ops.every((op) => op.snapshotSize && op.snapshotInto)) return undefined;
    const total = ops.reduce((a, op) => a + op.snapshotSize!(), 0);
    this.slab = newSlab(Math.ceil(total * 1.25));
    return { buffer: this.slab.buffer as SharedArrayBuffer, bytes: total };
  }

  private pushOutput(src: Uint8Array, count: number): void {
    let done = 0;
    while (done < count) {
      if (this.output.room() === 0) {
        this.output.publish();
        this.waitForOutputRoom(this.output, 1);
        continue;
      }
      const n = this.output.push(src.subarray(done * OUT_BYTES), count - done);
      done += n;
      this.produced += n;
    }
  }

  /** End of input: publish what is pending and close the output ring. */
  finish(): void {
    this.output.close();
    for (const op of this.operators) op.close();
  }
}

function newSlab(bytes: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(bytes));
}
