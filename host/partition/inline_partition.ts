// A partition run on the calling thread (Flink's operator chaining): the
// runner lives here, on the same memory and rings a worker would use, and
// processes what was published as soon as the set asks (in the same microtask
// as the push), then its outputs are drained synchronously. Nothing crosses
// threads, so no wake-up is paid: a futex wake of an idle vCPU costs far more
// than processing a batch, in each direction (figures: docs/perf/).
// A full input ring is emptied by running the partition, so inline partitions
// never pause the sources; a full output ring is drained the same way.
import { RingReader, RingWriter } from '../ring/ring.js';
import { createSharedMemory } from '../wasm/module.js';
import type { PartitionLayout, PartitionProgram } from './layout.js';
import { OutputDrain, PartitionError, statsView, type OutputBatch, type Partition, type PartitionHooks } from './partition.js';
import { PartitionRunner, type BarrierSnapshot, type SnapshotSlab } from './runner.js';

/**
 * Shared by the inline partitions of one set: while one of them runs, an
 * output listener that pushes input only enqueues (into the ring or staging);
 * the outer run picks it up. No partition runs inside another's run.
 */
export interface InlineThread {
  running: boolean;
}

export class InlinePartition implements Partition {
  readonly memory: WebAssembly.Memory;
  readonly layout: PartitionLayout;
  readonly slab: SnapshotSlab | undefined;
  readonly stats: Float64Array;
  readonly writer: RingWriter;
  readonly reader: RingReader;
  failure: PartitionError | undefined;
  private readonly runner: PartitionRunner;
  private readonly out: OutputDrain;
  private hooks!: PartitionHooks;

  /** Builds the partition's operators on a fresh memory; throws a PartitionError if they cannot be built. */
  constructor(readonly id: number, module: WebAssembly.Module, program: PartitionProgram, memoryBytes: number, drainBatch: number, private readonly thread: InlineThread) {
    this.memory = createSharedMemory(memoryBytes);
    this.stats = statsView(program);
    try {
      this.runner = new PartitionRunner(id, this.memory, module, program,
        // The consumer of the output ring is this thread: drain it to make room.
        (ring, want) => { while (ring.room() < want) if (this.drainNow(Infinity) === 0) throw new Error(`partition ${id}: output ring stuck full`); },
        (snap) => { this.drainNow(Infinity); this.hooks.barrier(snap); },
        this.stats);
      this.slab = program.checkpoints ? this.runner.prepareSnapshots() : undefined;
    } catch (e) {
      throw new PartitionError(id, e, true);
    }
    this.layout = this.runner.layout;
    this.writer = new RingWriter(this.memory, this.layout.input);
    this.reader = new RingReader(this.memory, this.layout.output);
    this.out = new OutputDrain(id, this.reader, drainBatch);
  }

  get emitted(): number {
    return this.out.emitted;
  }

  attach(hooks: PartitionHooks): void {
    this.hooks = hooks;
  }

  /** Processes everything published so far and hands its outputs on. */
  run(): void {
    if (this.failure || this.thread.running) return;
    this.thread.running = true;
    try {
      while (this.writer.fill() > 0 && !this.failure) {
        this.runner.step();
        this.drainNow(Infinity);
        this.hooks.refill(this);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.thread.running = false;
    }
  }

  makeRoom(): boolean {
    if (this.failure || this.thread.running) return false;
    this.writer.publish();
    this.run();
    return this.writer.room() > 0;
  }

  async waitForRoom(): Promise<void> {
    this.run();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  finishInput(): void {
    if (this.failure) return;
    this.run();
    if (this.failure) return;
    this.runner.finish();
    this.drainNow(Infinity);
  }

  finished(): Promise<void> {
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }

  async terminate(): Promise<void> {}

  private fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = new PartitionError(this.id, cause, true);
    this.hooks.failed(this.failure);
  }

  private readonly emit = (b: OutputBatch): void => this.hooks.output(b);
  private readonly alive = (): boolean => this.failure === undefined;

  private drainNow(max: number): number {
    return this.out.drain(max, this.emit, this.alive);
  }
}
