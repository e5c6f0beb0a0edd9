// The host side of the partitions: starts one worker per partition (each with
// its own shared memory and one WASM instance, the module compiled once and
// posted), routes records to partitions by key hash, broadcasts watermarks and
// barriers, drains the output rings, and turns full rings into a pause/resume
// signal for the sources.
//
// Backpressure, bounded at every step:
//   push → the partition's input ring; when the ring is full the record goes
//   to that partition's small staging buffer (order kept: once something is
//   staged, everything for that partition is staged behind it) and the set
//   emits 'pause'. A source must stop reading then (host/sources/source.ts
//   pause()). The set resumes ('resume') only when every blocked partition's
//   staging has moved into its ring and the ring is back below `resumeBelow`
//   (hysteresis: no pause/resume flapping at the edge). A push that finds the
//   staging full too throws — the caller learns the record was not accepted;
//   nothing is ever dropped silently and memory never grows.
//   A slow sink makes output rings fill, the worker then blocks, its input
//   fills, and the sources pause: one chain, no unbounded buffer anywhere.
//
// Events:
//   'output'  (batch: OutputBatch)          drained output records, in order per partition
//   'pause' / 'resume'                      the backpressure signal (also onPressure())
//   'barrier' (snapshot: BarrierSnapshot)   one per partition per barrier
//   'error'   (err: PartitionError)         a worker died; err.partition says which
//
// Inline partitions (`inline: true`, Flink's operator chaining): the runner
// lives on the calling thread, on the same memory and rings, and processes
// what was pushed as soon as it is published (in the same microtask), then its
// outputs are drained synchronously. Nothing crosses threads, so no wake-up
// is paid: a futex wake of an idle vCPU costs far more than processing a
// batch, in each direction (figures: docs/perf/).
// A full input ring is emptied by running the partition, so inline
// partitions never pause the sources; their output ring is drained the same way.
import type { PartitionMetrics } from './partition_metrics.js';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { inputStride, IN_KEY, IN_TS, OUT_BYTES, writeInput } from '../records.js';
import { RingReader, RingWriter } from '../ring/ring.js';
import { compileModule, createSharedMemory } from '../wasm/module.js';
import { CONTROL_BARRIER, CONTROL_WATERMARK, writeControl } from './control.js';
import { defaultPartitionCount, partitionOf } from './hash.js';
import { OPERATOR_STATS_FIELDS, type PartitionLayout, type PartitionProgram } from './layout.js';
import type { BarrierSnapshot, PartitionRunner, SnapshotSlab } from './runner.js';
import { sibling, spawnWorker } from './spawn.js';
import type { WorkerInit } from './worker.js';

export interface PartitionSetOptions {
  /** fieldCount and operators are required; the rest have defaults. */
  program: Pick<PartitionProgram, 'fieldCount' | 'operators'> & Partial<PartitionProgram>;
  /** Default: os.availableParallelism() - 1, at least 1. */
  partitions?: number;
  /** Bytes of shared memory per partition (fixed: initial = maximum). Default 32 MiB. */
  memoryBytes?: number;
  /** Per-partition staging buffer behind a full ring, in records. Default capacity / 8. */
  stagingRecords?: number;
  /** Resume once every blocked ring is below this fill fraction. Default 0.5. */
  resumeBelow?: number;
  /** Longest single sleep of any waiting side (ms). Default 20. */
  idleWaitMs?: number;
  /** Polls before a worker sleeps. Default 2000. */
  spins?: number;
  /** Most output records per 'output' event. Default 4096. */
  drainBatch?: number;
  /** Run the partitions on this thread instead of in workers (see the top of this file). */
  inline?: boolean;
  module?: WebAssembly.Module;
  /**
   * Bounded-out-of-orderness watermarks computed here, on the ingest side, and
   * broadcast: after every `every` data records, max event time − outOfOrderNs
   * (when it advanced). Placement depends only on the input order, so a replay
   * produces the same outputs. Omit to call watermark() yourself.
   */
  watermarks?: { outOfOrderNs: bigint; every: number };
  /**
   * Per-event watermarks across partitions: each window keeps its own
   * watermark (max event time it saw − out-of-orderness); before a record
   * that is behind the global maximum goes to a partition whose maximum is
   * behind too, that partition alone gets a watermark for the global maximum.
   * So every record meets exactly the watermark of the whole stream up to it,
   * in input order, whatever the partition count or the framing.
   */
  catchUp?: { outOfOrderNs: bigint };
}

export interface OutputBatch {
  partition: number;
  /** count × 128-byte output records (host/records.ts readOutput), a copy owned by the listener. */
  bytes: Uint8Array;
  count: number;
  /** Position of the first record among this partition's outputs (with partition: a stable id). */
  position: number;
}

export type { PartitionMetrics } from './partition_metrics.js';

/** One operator's state in one partition, as its runner last published it. */
export interface OperatorStats {
  partition: number;
  /** Operator index in the program. */
  op: number;
  keys: number;
  bytes: number;
  evictions: number;
  /** Events a filter operator (dedup) dropped, cumulative. */
  dropped: number;
}

export class PartitionError extends Error {
  constructor(readonly partition: number, override readonly cause: unknown, inline = false) {
    super(`partition ${partition} ${inline ? 'failed' : 'worker died'}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PartitionError';
  }
}

interface Part {
  id: number;
  /** Exactly one of worker (a partition thread) and runner (inline). */
  worker?: Worker;
  runner?: PartitionRunner;
  memory: WebAssembly.Memory;
  layout: PartitionLayout;
  /** The runner's snapshot slab (checkpointed programs), warmed with the memory. */
  slab?: SnapshotSlab;
  writer: RingWriter;
  reader: RingReader;
  staging: Uint8Array;
  staged: number;
  stagingCap: number;
  blocked: boolean;
  blockedSince: number;
  blockedMs: number;
  pump?: Promise<void>;
  accepted: number;
  emitted: number;
  done: Promise<void>;
  drained: Promise<void>;
  dead?: PartitionError;
  exited: boolean;
  /** Operator stats the runner publishes (shared memory: readable while the worker runs). */
  stats: Float64Array;
}

function statsView(program: PartitionProgram): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * OPERATOR_STATS_FIELDS * program.operators.length));
}

export class PartitionSet extends EventEmitter {
  readonly count: number;
  readonly stride: number;
  private readonly parts: Part[];
  private readonly scratch: Uint8Array;
  private readonly scratchView: DataView;
  private flushScheduled = false;
  private pausedNow = false;
  private closing = false;
  private readonly resumeBelow: number;
  private readonly idleWaitMs: number;
  private readonly drainBatch: number;
  private barriers = new Map<number, { snaps: BarrierSnapshot[]; resolve: (s: BarrierSnapshot[]) => void; reject: (e: unknown) => void }>();
  private failure?: PartitionError;
  private readonly autoWm?: { outOfOrderNs: bigint; every: number };
  private maxTs = -(1n << 63n);
  private lastWm = -(1n << 63n);
  private sinceWm = 0;
  private readonly catchUpOoo?: bigint;
  /** Global max event time so far, and per partition the max it knows (records or watermark + ooo), as (hi, lo) words. */
  private globalHi = -0x80000000;
  private globalLo = 0;
  private readonly knownHi: Int32Array;
  private readonly knownLo: Uint32Array;

  private constructor(parts: Part[], stride: number, o: Required<Pick<PartitionSetOptions, 'resumeBelow' | 'idleWaitMs' | 'drainBatch'>> & Pick<PartitionSetOptions, 'watermarks' | 'catchUp'>) {
    super();
    this.autoWm = o.watermarks;
    this.catchUpOoo = parts.length > 1 ? o.catchUp?.outOfOrderNs : undefined;
    this.knownHi = new Int32Array(parts.length).fill(-0x80000000);
    this.knownLo = new Uint32Array(parts.length);
    this.parts = parts;
    this.count = parts.length;
    this.stride = stride;
    this.scratch = new Uint8Array(stride);
    this.scratchView = new DataView(this.scratch.buffer);
    this.resumeBelow = o.resumeBelow;
    this.idleWaitMs = o.idleWaitMs;
    this.drainBatch = o.drainBatch;
  }

  /** Starts the workers and resolves once every partition has laid out its memory. */
  static async start(options: PartitionSetOptions): Promise<PartitionSet> {
    const n = options.partitions ?? defaultPartitionCount();
    if (!Number.isInteger(n) || n < 1) throw new Error(`partitions must be a positive integer, got ${n}`);
    const program: PartitionProgram = {
      engine: 'wasm', inputCapacity: 1 << 16, outputCapacity: 1 << 14, maxBatch: 1024,
      ...options.program,
    };
    const stride = inputStride(program.fieldCount);
    const resumeBelow = options.resumeBelow ?? 0.5;
    if (!(resumeBelow > 0 && resumeBelow < 1)) throw new Error(`resumeBelow must be in (0, 1), got ${resumeBelow}`);
    const stagingCap = options.stagingRecords ?? Math.max(1, program.inputCapacity >> 3);
    if (stagingCap > program.inputCapacity * (1 - resumeBelow)) {
      throw new Error(`stagingRecords (${stagingCap}) must fit in the room left at resume: ≤ ${Math.floor(program.inputCapacity * (1 - resumeBelow))}`);
    }
    const module = options.module ?? compileModule();
    const idleWaitMs = options.idleWaitMs ?? 20;
    const spins = options.spins ?? 2000;
    const entry = sibling(import.meta.url, 'worker');

    if (options.inline) {
      // Loaded only here: worker-mode hosts never load the operators themselves.
      const { PartitionRunner } = await import('./runner.js');
      for (const url of program.modules ?? []) await import(url);
      let set: PartitionSet | undefined;
      const parts = Array.from({ length: n }, (_, id): Part => {
        const memory = createSharedMemory(options.memoryBytes ?? 32 * 1024 * 1024);
        const stats = statsView(program);
        let runner: PartitionRunner;
        let slab: SnapshotSlab | undefined;
        try {
          runner = new PartitionRunner(id, memory, module, program,
            // The consumer of the output ring is this thread: drain it to make room.
            (out, want) => { while (out.room() < want) if (set!.drainNow(part, Infinity) === 0) throw new Error(`partition ${id}: output ring stuck full`); },
            (snap) => { set!.drainNow(part, Infinity); set!.onBarrier(snap); }, stats);
          slab = program.checkpoints ? runner.prepareSnapshots() : undefined;
        } catch (e) {
          throw new PartitionError(id, e, true);
        }
        const part: Part = {
          id, runner, memory, layout: runner.layout, slab,
          writer: new RingWriter(memory, runner.layout.input), reader: new RingReader(memory, runner.layout.output),
          staging: new Uint8Array(stagingCap * stride), staged: 0, stagingCap,
          blocked: false, blockedSince: 0, blockedMs: 0, accepted: 0, emitted: 0,
          done: Promise.resolve(), drained: Promise.resolve(), exited: false, stats,
        };
        return part;
      });
      set = new PartitionSet(parts, stride, { resumeBelow, idleWaitMs, drainBatch: options.drainBatch ?? 4096, watermarks: options.watermarks, catchUp: options.catchUp });
      return set;
    }

    const workers: Worker[] = [];
    const settled = await Promise.allSettled(Array.from({ length: n }, (_, id) => new Promise<Part>((resolve, reject) => {
      const memory = createSharedMemory(options.memoryBytes ?? 32 * 1024 * 1024);
      const stats = statsView(program);
      const init: WorkerInit = { partition: id, module, memory, program, idleWaitMs, spins, stats };
      const worker = spawnWorker(entry, { workerData: init });
      workers.push(worker);
      const early = (e: unknown) => reject(new PartitionError(id, e));
      worker.once('error', early);
      worker.once('message', (m: { type: string; layout: PartitionLayout; slab?: SnapshotSlab }) => {
        worker.off('error', early);
        if (m.type !== 'ready') return reject(new PartitionError(id, new Error(`unexpected first message ${m.type}`)));
        resolve({
          id, worker, memory, layout: m.layout, slab: m.slab,
          writer: new RingWriter(memory, m.layout.input), reader: new RingReader(memory, m.layout.output),
          staging: new Uint8Array(stagingCap * stride), staged: 0, stagingCap,
          blocked: false, blockedSince: 0, blockedMs: 0, accepted: 0, emitted: 0,
          done: Promise.resolve(), drained: Promise.resolve(), exited: false, stats,
        });
      });
    })));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    const parts = settled.map((r) => (r as PromiseFulfilledResult<Part>).value);

    const wm = options.watermarks;
    if (wm && (typeof wm.outOfOrderNs !== 'bigint' || wm.outOfOrderNs < 0n || !Number.isInteger(wm.every) || wm.every < 1)) {
      await Promise.all(parts.map((p) => p.worker!.terminate()));
      throw new Error(`watermarks: outOfOrderNs must be a bigint ≥ 0 and every a positive integer, got ${String(wm.outOfOrderNs)} / ${wm.every}`);
    }
    const set = new PartitionSet(parts, stride, { resumeBelow, idleWaitMs, drainBatch: options.drainBatch ?? 4096, watermarks: wm, catchUp: options.catchUp });
    for (const p of parts) set.watch(p);
    return set;
  }

  private watch(p: Part): void {
    const worker = p.worker!;
    p.done = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { type: string; snapshot?: BarrierSnapshot }) => {
        if (m.type === 'barrier') this.onBarrier(m.snapshot!);
        else if (m.type === 'done') resolve();
      });
      worker.on('error', (e) => { this.fail(p, e); reject(p.dead); });
      worker.on('exit', (code) => {
        p.exited = true;
        if (code !== 0 && !p.dead && !this.terminated) { this.fail(p, new Error(`exited with code ${code}`)); reject(p.dead); }
        else resolve();
      });
    });
    p.done.catch(() => {});
    p.drained = this.drainOutputs(p);
  }

  private terminated = false;

  private fail(p: Part, cause: unknown): void {
    if (p.dead) return;
    p.dead = new PartitionError(p.id, cause, p.runner !== undefined);
    this.failure ??= p.dead;
    for (const b of this.barriers.values()) b.reject(p.dead);
    this.barriers.clear();
    this.emit('error', p.dead);
  }

  // ---- routing ----

  partitionOf(key: number): number {
    return partitionOf(key, this.count);
  }

  /** true while sources should not read (some partition's ring is full). */
  get paused(): boolean {
    return this.pausedNow;
  }

  /** Calls `listener(true)` on pause and `listener(false)` on resume; returns an unsubscribe. */
  onPressure(listener: (paused: boolean) => void): () => void {
    const onPause = () => listener(true);
    const onResume = () => listener(false);
    this.on('pause', onPause);
    this.on('resume', onResume);
    return () => { this.off('pause', onPause); this.off('resume', onResume); };
  }

  /**
   * Accepts one event. Returns false when the sources should pause (like
   * stream.write); throws if the partition cannot take it even into staging.
   */
  push(ts: bigint, seq: bigint, key: number, fields: ArrayLike<number>): boolean {
    if (!this.warmed) void this.warmMemory();
    writeInput(this.scratchView, 0, ts, seq, key, fields);
    this.enqueue(this.partitionOf(key), this.scratch, 0);
    if (this.autoWm) this.track(ts);
    return !this.pausedNow;
  }

  /** Accepts `count` input records laid out back to back in `src` (stride bytes each), routed by key. */
  pushRecords(src: Uint8Array, count: number, offset = 0): boolean {
    if (!this.warmed) void this.warmMemory();
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    if (this.autoWm) {
      for (let i = 0; i < count; i++) {
        const at = offset + i * this.stride;
        this.enqueue(this.partitionOf(view.getUint32(at + IN_KEY, true)), src, at);
        this.track(view.getBigInt64(at + IN_TS, true));
      }
      return !this.pausedNow;
    }
    if (this.catchUpOoo !== undefined) return this.pushCatchingUp(view, src, count, offset);
    // Runs of consecutive records bound for the same partition are copied with
    // one ring write each (the whole batch at once with one partition).
    const stride = this.stride;
    let runStart = 0;
    let runPart = count > 0 ? (this.count === 1 ? 0 : this.partitionOf(view.getUint32(offset + IN_KEY, true))) : 0;
    for (let i = 1; i <= count; i++) {
      const part = i === count ? -1 : this.count === 1 ? 0 : this.partitionOf(view.getUint32(offset + i * stride + IN_KEY, true));
      if (part === runPart) continue;
      this.enqueueRun(runPart, src, offset + runStart * stride, i - runStart);
      runStart = i;
      runPart = part;
    }
    return !this.pausedNow;
  }

  /** pushRecords with per-partition watermark catch-up (see PartitionSetOptions.catchUp). */
  private pushCatchingUp(view: DataView, src: Uint8Array, count: number, offset: number): boolean {
    const stride = this.stride;
    const kh = this.knownHi, kl = this.knownLo;
    let runStart = 0, runPart = -1;
    for (let i = 0; i < count; i++) {
      const at = offset + i * stride;
      const p = this.partitionOf(view.getUint32(at + IN_KEY, true));
      const hi = view.getInt32(at + IN_TS + 4, true), lo = view.getUint32(at + IN_TS, true);
      const gh = this.globalHi, gl = this.globalLo;
      const behindGlobal = hi < gh || (hi === gh && lo < gl);
      if (behindGlobal && (kh[p] < gh || (kh[p] === gh && kl[p] < gl))) {
        if (runPart >= 0 && i > runStart) this.enqueueRun(runPart, src, offset + runStart * stride, i - runStart);
        runStart = i;
        runPart = p;
        const wm = ((BigInt(gh) << 32n) | BigInt(gl)) - this.catchUpOoo!;
        writeControl(this.scratch, this.scratchView, 0, stride, CONTROL_WATERMARK, wm, 0n);
        this.enqueue(p, this.scratch, 0);
        kh[p] = gh; kl[p] = gl;
      } else if (p !== runPart) {
        if (runPart >= 0 && i > runStart) this.enqueueRun(runPart, src, offset + runStart * stride, i - runStart);
        runStart = i;
        runPart = p;
      }
      if (hi > kh[p] || (hi === kh[p] && lo > kl[p])) { kh[p] = hi; kl[p] = lo; }
      if (!behindGlobal) { this.globalHi = hi; this.globalLo = lo; }
    }
    if (runPart >= 0 && count > runStart) this.enqueueRun(runPart, src, offset + runStart * stride, count - runStart);
    return !this.pausedNow;
  }

  /** `n` consecutive records for one partition: straight into its ring while there is room, the rest staged. */
  private enqueueRun(id: number, src: Uint8Array, at: number, n: number): void {
    const p = this.parts[id];
    if (n === 1 || p.staged > 0 || this.closing || p.dead) {
      for (let i = 0; i < n; i++) this.enqueue(id, src, at + i * this.stride);
      return;
    }
    let written = p.writer.push(src, n, at);
    while (p.runner && written < n && this.makeRoom(p)) written += p.writer.push(src, n - written, at + written * this.stride);
    p.accepted += written;
    if (written > 0) this.scheduleFlush();
    for (let i = written; i < n; i++) this.enqueue(id, src, at + i * this.stride);
  }

  private track(ts: bigint): void {
    if (ts > this.maxTs) this.maxTs = ts;
    if (++this.sinceWm < this.autoWm!.every) return;
    this.sinceWm = 0;
    const wm = this.maxTs - this.autoWm!.outOfOrderNs;
    if (wm > this.lastWm) this.watermark(wm);
  }

  /**
   * Broadcasts a watermark to every partition, in stream order. With an
   * `epoch` (> 0), each partition answers with an epoch marker in its output
   * ring once it has processed everything up to here (host/pipeline/epochs.ts).
   */
  watermark(ns: bigint, epoch = 0n): void {
    if (ns > this.lastWm) this.lastWm = ns;
    if (this.catchUpOoo !== undefined) {
      // Every partition now knows the stream up to ns + out-of-orderness.
      let k = ns + this.catchUpOoo;
      if (k > 0x7fffffffffffffffn) k = 0x7fffffffffffffffn;
      const hi = Number(BigInt.asIntN(32, k >> 32n)), lo = Number(BigInt.asUintN(32, k));
      for (let p = 0; p < this.count; p++) if (hi > this.knownHi[p] || (hi === this.knownHi[p] && lo > this.knownLo[p])) { this.knownHi[p] = hi; this.knownLo[p] = lo; }
    }
    this.broadcast(CONTROL_WATERMARK, ns, epoch);
  }

  /** Broadcasts a barrier; resolves with every partition's snapshot, in partition order. */
  barrier(id: number, watermark = 0n): Promise<BarrierSnapshot[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.barriers.has(id)) return Promise.reject(new Error(`barrier ${id} is already in flight`));
    const done = new Promise<BarrierSnapshot[]>((resolve, reject) => this.barriers.set(id, { snaps: [], resolve, reject }));
    this.broadcast(CONTROL_BARRIER, watermark, BigInt(id));
    return done;
  }

  /** An inline partition processes everything published so far and hands its outputs on. */
  private runInline(p: Part): void {
    // Re-entry (an output listener pushing input) only enqueues; the outer run picks it up.
    if (p.dead || this.inlineRunning) return;
    this.inlineRunning = true;
    try {
      while (p.writer.fill() > 0 && !p.dead) {
        p.runner!.step();
        this.drainNow(p, Infinity);
        if (p.staged > 0 && p.writer.room() >= p.staged) {
          p.writer.push(p.staging, p.staged);
          p.staged = 0;
          p.writer.publish();
        }
      }
    } catch (e) {
      this.fail(p, e);
    } finally {
      this.inlineRunning = false;
    }
  }
  private inlineRunning = false;

  private onBarrier(s: BarrierSnapshot): void {
    this.emit('barrier', s);
    const b = this.barriers.get(s.id);
    if (!b) return;
    b.snaps.push(s);
    if (b.snaps.length === this.count) {
      this.barriers.delete(s.id);
      b.resolve(b.snaps.sort((a, c) => a.partition - c.partition));
    }
  }

  private broadcast(kind: number, ts: bigint, seq: bigint): void {
    writeControl(this.scratch, this.scratchView, 0, this.stride, kind, ts, seq);
    for (let p = 0; p < this.count; p++) this.enqueue(p, this.scratch, 0);
  }

  private enqueue(id: number, src: Uint8Array, at: number): void {
    if (this.closing) throw new Error('partition set is draining: no more records are accepted');
    const p = this.parts[id];
    if (p.dead) throw p.dead;
    const stride = this.stride;
    if (p.staged === 0) {
      if (p.writer.push(src, 1, at) === 1 || (p.runner && this.makeRoom(p) && p.writer.push(src, 1, at) === 1)) {
        p.accepted++;
        this.scheduleFlush();
        return;
      }
      this.block(p);
    }
    if (p.staged >= p.stagingCap) {
      throw new Error(`partition ${id}: input ring (${p.writer.capacity} records) and staging (${p.stagingCap}) are full — the source kept writing after 'pause'; record not accepted`);
    }
    p.staging.set(src.subarray(at, at + stride), p.staged * stride);
    p.staged++;
    p.accepted++;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => { this.flushScheduled = false; this.flush(); });
  }

  /** Publishes every record written so far (one atomic store per partition). Pushes schedule this themselves. */
  flush(): void {
    for (const p of this.parts) {
      if (p.writer.unpublished > 0) p.writer.publish();
      if (p.runner && p.writer.fill() > 0) this.runInline(p);
    }
  }

  /** A full input ring of an inline partition: process it now. */
  private makeRoom(p: Part): boolean {
    if (p.dead || this.inlineRunning) return false;
    p.writer.publish();
    this.runInline(p);
    return p.writer.room() > 0;
  }

  private block(p: Part): void {
    if (!p.blocked) {
      p.blocked = true;
      p.blockedSince = performance.now();
      // Started after this turn: the record that found the ring full is staged
      // and 'pause' is out first. Run at once, the pump could see the worker
      // had meanwhile drained the ring, finish, and leave the staged record
      // and the pause with nobody to move or lift them (a stalled input).
      p.pump = Promise.resolve().then(() => this.pump(p));
    }
    if (!this.pausedNow) {
      this.pausedNow = true;
      this.emit('pause');
    }
  }

  /** Moves staging into the ring as room appears; unblocks once below resumeBelow. */
  private async pump(p: Part): Promise<void> {
    const cap = p.writer.capacity;
    const resumeFill = Math.floor(cap * this.resumeBelow);
    while (!p.dead && !this.terminated && (p.staged > 0 || cap - p.writer.room() > resumeFill)) {
      p.writer.publish();
      if (p.runner) { this.runInline(p); await new Promise<void>((resolve) => setImmediate(resolve)); continue; }
      await p.writer.waitForRoomAsync(Math.max(p.staged, cap - resumeFill), this.idleWaitMs);
      if (p.staged > 0 && p.writer.room() >= p.staged) {
        p.writer.push(p.staging, p.staged);
        p.staged = 0;
        p.writer.publish();
      }
    }
    p.blocked = false;
    p.blockedMs += performance.now() - p.blockedSince;
    p.pump = undefined;
    if (this.pausedNow && this.parts.every((q) => !q.blocked)) {
      this.pausedNow = false;
      this.emit('resume');
    }
  }

  // ---- output ----

  private async drainOutputs(p: Part): Promise<void> {
    const r = p.reader;
    for (;;) {
      if (p.dead || this.terminated) return;
      const n = await r.waitAsync(this.idleWaitMs);
      if (n === 0) {
        if (r.closed && r.available() === 0) return;
        continue;
      }
      this.drainNow(p, this.drainBatch);
      // Yield to the event loop between batches so sockets and timers keep running.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Emits the output records of `p` available now, at most `max`, in 'output' events of at most drainBatch; returns how many. */
  private drainNow(p: Part, max: number): number {
    const r = p.reader;
    let total = 0;
    while (total < max && !p.dead) {
      const count = Math.min(r.available(), max - total, this.drainBatch);
      if (count <= 0) break;
      const bytes = new Uint8Array(count * OUT_BYTES);
      r.read(bytes, count);
      const position = p.emitted;
      p.emitted += count;
      total += count;
      this.emit('output', { partition: p.id, bytes, count, position } satisfies OutputBatch);
    }
    return total;
  }

  metrics(): PartitionMetrics[] {
    const now = performance.now();
    return this.parts.map((p) => ({
      partition: p.id,
      inputFill: p.writer.fill(),
      inputCapacity: p.writer.capacity,
      inputLevel: p.writer.level(),
      outputFill: p.reader.fill(),
      outputLevel: p.reader.level(),
      staged: p.staged,
      blockedMs: p.blockedMs + (p.blocked ? now - p.blockedSince : 0),
      blocked: p.blocked,
      accepted: p.accepted,
      emitted: p.emitted,
    }));
  }

  /** Every partition's operator stats, partition by partition (as of each partition's last watermark). */
  operatorStats(): OperatorStats[] {
    const out: OperatorStats[] = [];
    for (const p of this.parts) {
      for (let op = 0, at = 0; at < p.stats.length; op++, at += OPERATOR_STATS_FIELDS) {
        out.push({ partition: p.id, op, keys: p.stats[at], bytes: p.stats[at + 1], evictions: p.stats[at + 2], dropped: p.stats[at + 3] });
      }
    }
    return out;
  }

  /**
   * Graceful shutdown: stop accepting, move staged records in, close the input
   * rings, let every worker process all it accepted, drain every output, and
   * let the workers exit. Rejects with the PartitionError of a dead worker.
   */
  async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    this.closing = true;
    this.flush();
    await Promise.all(this.parts.map((p) => p.pump));
    if (this.failure) throw this.failure;
    for (const p of this.parts) {
      p.writer.close();
      if (p.runner && !p.dead) {
        this.runInline(p);
        if (!p.dead) { p.runner.finish(); this.drainNow(p, Infinity); }
        p.exited = true;
      }
    }
    if (this.failure) throw this.failure;
    await Promise.all(this.parts.map((p) => p.done));
    await Promise.all(this.parts.map((p) => p.drained));
    if (this.failure) throw this.failure;
    await Promise.all(this.parts.map((p) => (p.exited ? undefined : new Promise((resolve) => p.worker!.once('exit', resolve)))));
  }

  /** Hard stop (after a failure, or in tests): terminates every worker without draining. */
  async terminate(): Promise<void> {
    this.terminated = true;
    this.closing = true;
    await Promise.all(this.parts.map((p) => p.worker?.terminate()));
  }

  /**
   * Faults in, in the background, every page the partitions have laid out
   * (rings and operator state), a few at a time. Shared-memory pages are
   * allocated on first touch, a slow fault each; without this the hot path
   * pays them one by one for as long as new keys keep landing on untouched
   * state-table pages or the rings have not wrapped once (seconds at modest
   * rates). Each page gets an atomic add of 0 to one word: a read alone only
   * maps the shared zero page (on Linux 6.x RSS does not grow) and the
   * first real write still faults, while a locked read-modify-write that
   * stores back what it read allocates the page and cannot lose a worker's
   * concurrent store to that word. The snapshot slabs of checkpointed
   * programs are warmed too (the part a snapshot uses now), so the first
   * barrier's pause is a copy, not page faults. Started by the first push, so
   * an idle service keeps its memory (see docs/design/startup.md).
   */
  warmMemory(pagesPerTurn = 16): Promise<void> {
    if (this.warmed) return this.warmed;
    const pages = this.parts.flatMap((p) => [
      { i32: new Int32Array(p.memory.buffer), from: 0, to: Math.ceil((p.layout.used ?? 0) / 4096) },
      ...(p.slab ? [{ i32: new Int32Array(p.slab.buffer), from: 0, to: Math.ceil(p.slab.bytes / 4096) }] : []),
    ]);
    this.warmed = new Promise<void>((resolve) => {
      const turn = (): void => {
        if (this.closing || this.terminated) { resolve(); return; }
        let budget = pagesPerTurn;
        for (const w of pages) {
          while (budget > 0 && w.from < w.to) { Atomics.add(w.i32, w.from * 1024, 0); w.from++; budget--; }
        }
        if (budget === 0) { setImmediate(turn); return; }
        resolve();
      };
      // Not unref'd: the set is closing or done within seconds, and closing stops it.
      setImmediate(turn);
    });
    return this.warmed;
  }
  private warmed: Promise<void> | undefined;

  /** Bytes of partition `id`'s snapshot slab that a snapshot uses (0 without checkpoints). */
  snapshotSlabBytes(id: number): number {
    return this.parts[id].slab?.bytes ?? 0;
  }

  /** Each partition's memory and ring offsets (tests, metrics, checkpoint restore). */
  partitionInfo(id: number): { memory: WebAssembly.Memory; layout: PartitionLayout } {
    const p = this.parts[id];
    return { memory: p.memory, layout: p.layout };
  }
}
