// One partition as the PartitionSet sees it: shared memory holding an input
// ring the set writes, an output ring the partition drains into 'output'
// batches, and the operators between them, run by a PartitionRunner. Two
// implementations differ only in which thread runs the runner:
//
//   WorkerPartition (worker_partition.ts)  a worker thread of its own that
//                                          blocks on the input ring; the set
//                                          never waits for it.
//   InlinePartition (inline_partition.ts)  the calling thread (Flink's operator
//                                          chaining), for tests, replay and
//                                          small setups: processes what the
//                                          set published as soon as the set
//                                          asks, no thread hop, no wake-up.
//
// Routing, staging behind a full ring, pause/resume of the sources and the
// watermark broadcast stay in the set: they are the same for both.
import { OUT_BYTES } from '../records.js';
import type { RingReader, RingWriter } from '../ring/ring.js';
import { OPERATOR_STATS_FIELDS, type PartitionLayout, type PartitionProgram } from './layout.js';
import type { BarrierSnapshot, SnapshotSlab } from './runner.js';

export interface OutputBatch {
  partition: number;
  /** count × 128-byte output records (host/records.ts readOutput), a copy owned by the listener. */
  bytes: Uint8Array;
  count: number;
  /** Position of the first record among this partition's outputs (with partition: a stable id). */
  position: number;
}

export class PartitionError extends Error {
  constructor(readonly partition: number, override readonly cause: unknown, inline = false) {
    super(`partition ${partition} ${inline ? 'failed' : 'worker died'}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PartitionError';
  }
}

/** What a partition reports to its set. */
export interface PartitionHooks {
  output(batch: OutputBatch): void;
  barrier(snapshot: BarrierSnapshot): void;
  /** Called once, with the partition's error (also in `failure` from then on). */
  failed(error: PartitionError): void;
  /** An inline partition made room in its input ring: the set moves staged records in. */
  refill(partition: Partition): void;
}

export interface Partition {
  readonly id: number;
  readonly memory: WebAssembly.Memory;
  readonly layout: PartitionLayout;
  /** The runner's snapshot slab (checkpointed programs), for memory warming. */
  readonly slab: SnapshotSlab | undefined;
  /** Operator stats the runner publishes (shared memory: readable while a worker runs). */
  readonly stats: Float64Array;
  /** The input ring; the set is its only writer. */
  readonly writer: RingWriter;
  /** The output ring; the partition is its only reader. */
  readonly reader: RingReader;
  /** Output records handed to hooks.output so far. */
  readonly emitted: number;
  /** Set once the partition has failed; it accepts nothing after. */
  readonly failure: PartitionError | undefined;

  /** Starts reporting to the set (a worker: its messages and the output drain loop). */
  attach(hooks: PartitionHooks): void;
  /** Processes the published input now when this thread runs the partition; a worker needs no call. */
  run(): void;
  /** The input ring is full: frees room now if this thread can (inline); returns whether there is room. */
  makeRoom(): boolean;
  /** Resolves when the input ring may have room for `want` records, or after `idleWaitMs`. */
  waitForRoom(want: number, idleWaitMs: number): Promise<void>;
  /** End of input (the input ring is closed): an inline partition processes the rest and flushes its outputs now. */
  finishInput(): void;
  /** Resolves once every accepted record is processed and every output drained; rejects with the failure. */
  finished(): Promise<void>;
  /** Hard stop, without draining. */
  terminate(): Promise<void>;
}

/** A shared view for the runner's operator stats, OPERATOR_STATS_FIELDS numbers per operator. */
export function statsView(program: PartitionProgram): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * OPERATOR_STATS_FIELDS * program.operators.length));
}

/** Reads a partition's output ring into 'output' batches of at most `batch` records, numbering them. */
export class OutputDrain {
  /** Output records handed on so far (the position of the next one). */
  emitted = 0;

  constructor(private readonly partition: number, private readonly reader: RingReader, private readonly batch: number) {}

  /** Hands on the records available now, at most `max`, while `alive()`; returns how many. */
  drain(max: number, emit: (b: OutputBatch) => void, alive: () => boolean): number {
    const r = this.reader;
    let total = 0;
    while (total < max && alive()) {
      const count = Math.min(r.available(), max - total, this.batch);
      if (count <= 0) break;
      const bytes = new Uint8Array(count * OUT_BYTES);
      r.read(bytes, count);
      const position = this.emitted;
      this.emitted += count;
      total += count;
      emit({ partition: this.partition, bytes, count, position });
    }
    return total;
  }
}
