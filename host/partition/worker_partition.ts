// A partition on a worker thread of its own (host/partition/worker.ts), with
// its own shared memory and one instance of the module, which is compiled once
// and posted. The worker blocks on its input ring and takes no messages once
// started; this side drains its output ring on the event loop and turns the
// worker's messages (barrier snapshots, done) and its death into hooks calls.
import type { Worker } from 'node:worker_threads';
import { RingReader, RingWriter } from '../ring/ring.js';
import { createSharedMemory } from '../wasm/module.js';
import type { PartitionLayout, PartitionProgram } from './layout.js';
import { OutputDrain, PartitionError, statsView, type OutputBatch, type Partition, type PartitionHooks } from './partition.js';
import type { BarrierSnapshot, SnapshotSlab } from './runner.js';
import { sibling, spawnWorker } from './spawn.js';
import type { WorkerInit } from './worker.js';

export interface WorkerPartitionOptions {
  module: WebAssembly.Module;
  program: PartitionProgram;
  memoryBytes: number;
  /** Longest single sleep of either side of a ring (ms). */
  idleWaitMs: number;
  /** Polls before the worker sleeps. */
  spins: number;
  drainBatch: number;
}

export class WorkerPartition implements Partition {
  readonly writer: RingWriter;
  readonly reader: RingReader;
  failure: PartitionError | undefined;
  private readonly out: OutputDrain;
  private hooks!: PartitionHooks;
  private done: Promise<void> = Promise.resolve();
  private drained: Promise<void> = Promise.resolve();
  private exited = false;
  private terminated = false;

  private constructor(
    readonly id: number,
    private readonly worker: Worker,
    readonly memory: WebAssembly.Memory,
    readonly layout: PartitionLayout,
    readonly slab: SnapshotSlab | undefined,
    readonly stats: Float64Array,
    private readonly idleWaitMs: number,
    private readonly drainBatch: number,
  ) {
    this.writer = new RingWriter(memory, layout.input);
    this.reader = new RingReader(memory, layout.output);
    this.out = new OutputDrain(id, this.reader, drainBatch);
  }

  /**
   * Spawns the worker and resolves once it has laid out its memory. `spawned`
   * receives the worker at once, so a caller can terminate it if a sibling
   * fails to start.
   */
  static start(id: number, o: WorkerPartitionOptions, spawned: (w: Worker) => void): Promise<WorkerPartition> {
    return new Promise<WorkerPartition>((resolve, reject) => {
      const memory = createSharedMemory(o.memoryBytes);
      const stats = statsView(o.program);
      const init: WorkerInit = { partition: id, module: o.module, memory, program: o.program, idleWaitMs: o.idleWaitMs, spins: o.spins, stats };
      const worker = spawnWorker(sibling(import.meta.url, 'worker'), { workerData: init });
      spawned(worker);
      const early = (e: unknown) => reject(new PartitionError(id, e));
      worker.once('error', early);
      worker.once('message', (m: { type: string; layout: PartitionLayout; slab?: SnapshotSlab }) => {
        worker.off('error', early);
        if (m.type !== 'ready') return reject(new PartitionError(id, new Error(`unexpected first message ${m.type}`)));
        resolve(new WorkerPartition(id, worker, memory, m.layout, m.slab, stats, o.idleWaitMs, o.drainBatch));
      });
    });
  }

  get emitted(): number {
    return this.out.emitted;
  }

  attach(hooks: PartitionHooks): void {
    this.hooks = hooks;
    const worker = this.worker;
    this.done = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { type: string; snapshot?: BarrierSnapshot }) => {
        if (m.type === 'barrier') hooks.barrier(m.snapshot!);
        else if (m.type === 'done') resolve();
      });
      worker.on('error', (e) => { this.fail(e); reject(this.failure); });
      worker.on('exit', (code) => {
        this.exited = true;
        if (code !== 0 && !this.failure && !this.terminated) { this.fail(new Error(`exited with code ${code}`)); reject(this.failure); }
        else resolve();
      });
    });
    this.done.catch(() => {});
    this.drained = this.drainOutputs();
  }

  /** The worker processes on its own. */
  run(): void {}

  makeRoom(): boolean {
    return false;
  }

  async waitForRoom(want: number, idleWaitMs: number): Promise<void> {
    await this.writer.waitForRoomAsync(want, idleWaitMs);
  }

  /** The worker sees the closed input ring and finishes by itself. */
  finishInput(): void {}

  async finished(): Promise<void> {
    await this.done;
    await this.drained;
    if (this.failure) throw this.failure;
    if (!this.exited) await new Promise((resolve) => this.worker.once('exit', resolve));
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    await this.worker.terminate();
  }

  private fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = new PartitionError(this.id, cause);
    this.hooks.failed(this.failure);
  }

  private readonly emit = (b: OutputBatch): void => this.hooks.output(b);
  private readonly alive = (): boolean => this.failure === undefined;

  private async drainOutputs(): Promise<void> {
    const r = this.reader;
    for (;;) {
      if (this.failure || this.terminated) return;
      const n = await r.waitAsync(this.idleWaitMs);
      if (n === 0) {
        if (r.closed && r.available() === 0) return;
        continue;
      }
      this.out.drain(this.drainBatch, this.emit, this.alive);
      // Yield to the event loop between batches so sockets and timers keep running.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
