// The host side of the partitions: starts N partitions (host/partition/
// partition.ts: each on a worker thread, or inline on this one), routes
// records to them by key hash, broadcasts watermarks and barriers, hands on
// their outputs, and turns full rings into a pause/resume signal for the
// sources.
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
//   An inline partition empties a full input ring by running, so it never
//   pauses the sources.
//
// Events:
//   'output'  (batch: OutputBatch)          drained output records, in order per partition
//   'pause' / 'resume'                      the backpressure signal (also onPressure())
//   'barrier' (snapshot: BarrierSnapshot)   one per partition per barrier
//   'error'   (err: PartitionError)         a partition failed; err.partition says which
import type { PartitionMetrics } from './partition_metrics.js';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { FLAG_IDLE, inputStride, IN_KEY, IN_TS, streamFlags, writeInput } from '../records.js';
import { compileModule } from '../wasm/module.js';
import { CONTROL_BARRIER, CONTROL_WATERMARK, writeControl } from './control.js';
import { defaultPartitionCount, partitionOf } from './hash.js';
import { StreamCatchUp } from './stream_catch_up.js';
import type { InlineThread } from './inline_partition.js';
import { OPERATOR_STATS_FIELDS, type PartitionLayout, type PartitionProgram } from './layout.js';
import { warmMemory } from './memory_warming.js';
import { PartitionError, type OutputBatch, type Partition, type PartitionHooks } from './partition.js';
import type { BarrierSnapshot } from './runner.js';
import { WorkerPartition } from './worker_partition.js';

export { PartitionError, type OutputBatch } from './partition.js';

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
  /** Run the partitions on this thread instead of in workers (host/partition/inline_partition.ts). */
  inline?: boolean;
  module?: WebAssembly.Module;
  /**
   * Per-event watermarks across partitions: each window keeps its own
   * watermark (max event time it saw − out-of-orderness); before a record
   * that is behind the global maximum goes to a partition whose maximum is
   * behind too, that partition alone gets a watermark for the global maximum.
   * So every record meets exactly the watermark of the whole stream up to it,
   * in input order, whatever the partition count or the framing.
   */
  catchUp?: { outOfOrderNs: bigint; /** Several input streams: each one's out-of-orderness (default: outOfOrderNs for all). */ streams?: bigint[] };
}

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

/** The set's side of one partition: what it staged behind the full ring, and its backpressure figures. */
interface Lane {
  part: Partition;
  staging: Uint8Array;
  staged: number;
  stagingCap: number;
  blocked: boolean;
  blockedSince: number;
  blockedMs: number;
  pump?: Promise<void>;
  accepted: number;
}

export class PartitionSet extends EventEmitter {
  readonly count: number;
  readonly stride: number;
  private readonly lanes: Lane[];
  private readonly scratch: Uint8Array;
  private readonly scratchView: DataView;
  private flushScheduled = false;
  private pausedNow = false;
  private closing = false;
  private terminated = false;
  private readonly resumeBelow: number;
  private readonly idleWaitMs: number;
  private barriers = new Map<number, { snaps: BarrierSnapshot[]; resolve: (s: BarrierSnapshot[]) => void; reject: (e: unknown) => void }>();
  private failure?: PartitionError;
  private readonly catchUpOoo?: bigint;
  /** Global max event time so far, and per partition the max it knows (records or watermark + ooo), as (hi, lo) words. */
  private globalHi = -0x80000000;
  private globalLo = 0;
  private readonly knownHi: Int32Array;
  private readonly knownLo: Uint32Array;
  /** Input streams of the program: with more than one, catch-up is per stream (stream_catch_up.ts). */
  private readonly streamCatchUp?: StreamCatchUp;

  private constructor(parts: Partition[], stride: number, stagingCap: number, o: { resumeBelow: number; idleWaitMs: number; catchUp?: PartitionSetOptions['catchUp']; streams?: number }) {
    super();
    this.catchUpOoo = parts.length > 1 ? o.catchUp?.outOfOrderNs : undefined;
    this.knownHi = new Int32Array(parts.length).fill(-0x80000000);
    this.knownLo = new Uint32Array(parts.length);
    if (this.catchUpOoo !== undefined && (o.streams ?? 1) > 1) {
      this.streamCatchUp = new StreamCatchUp(parts.length, o.catchUp!.streams ?? new Array<bigint>(o.streams!).fill(o.catchUp!.outOfOrderNs));
    }
    this.lanes = parts.map((part) => ({
      part, staging: new Uint8Array(stagingCap * stride), staged: 0, stagingCap,
      blocked: false, blockedSince: 0, blockedMs: 0, accepted: 0,
    }));
    this.count = parts.length;
    this.stride = stride;
    this.scratch = new Uint8Array(stride);
    this.scratchView = new DataView(this.scratch.buffer);
    this.resumeBelow = o.resumeBelow;
    this.idleWaitMs = o.idleWaitMs;
    const hooks: PartitionHooks = {
      output: (b) => this.emit('output', b),
      barrier: (s) => this.onBarrier(s),
      failed: (e) => this.onFailure(e),
      refill: (p) => this.refill(this.lanes[p.id]),
    };
    for (const p of parts) p.attach(hooks);
  }

  /** Starts the partitions and resolves once every one has laid out its memory. */
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
    const memoryBytes = options.memoryBytes ?? 32 * 1024 * 1024;
    const drainBatch = options.drainBatch ?? 4096;
    const settings = { resumeBelow, idleWaitMs, catchUp: options.catchUp, streams: program.streams };

    if (options.inline) {
      // Loaded only here: worker-mode hosts never load the operators themselves.
      const { InlinePartition } = await import('./inline_partition.js');
      for (const url of program.modules ?? []) await import(url);
      const thread: InlineThread = { running: false };
      const parts = Array.from({ length: n }, (_, id) => new InlinePartition(id, module, program, memoryBytes, drainBatch, thread));
      return new PartitionSet(parts, stride, stagingCap, settings);
    }

    const workers: Worker[] = [];
    const spins = options.spins ?? 2000;
    const settled = await Promise.allSettled(Array.from({ length: n }, (_, id) =>
      WorkerPartition.start(id, { module, program, memoryBytes, idleWaitMs, spins, drainBatch }, (w) => workers.push(w))));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    const parts = settled.map((r) => (r as PromiseFulfilledResult<WorkerPartition>).value);
    return new PartitionSet(parts, stride, stagingCap, settings);
  }

  private onFailure(dead: PartitionError): void {
    this.failure ??= dead;
    for (const b of this.barriers.values()) b.reject(dead);
    this.barriers.clear();
    this.emit('error', dead);
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
    return !this.pausedNow;
  }

  /** Accepts `count` input records laid out back to back in `src` (stride bytes each), routed by key. */
  pushRecords(src: Uint8Array, count: number, offset = 0): boolean {
    if (!this.warmed) void this.warmMemory();
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    if (this.streamCatchUp) {
      this.streamCatchUp.push(view, count, offset, this.stride, (key) => this.partitionOf(key), (p, at, n) => this.enqueueRun(p, src, at, n), (p, wm, stream) => this.enqueueControl(p, CONTROL_WATERMARK, wm, 0n, streamFlags(stream)));
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
    const l = this.lanes[id];
    const p = l.part;
    if (n === 1 || l.staged > 0 || this.closing || p.failure) {
      for (let i = 0; i < n; i++) this.enqueue(id, src, at + i * this.stride);
      return;
    }
    let written = p.writer.push(src, n, at);
    while (written < n && p.makeRoom()) written += p.writer.push(src, n - written, at + written * this.stride);
    l.accepted += written;
    if (written > 0) this.scheduleFlush();
    for (let i = written; i < n; i++) this.enqueue(id, src, at + i * this.stride);
  }

  /**
   * Broadcasts a watermark to every partition, in stream order. With an
   * `epoch` (> 0), each partition answers with an epoch marker in its output
   * ring once it has processed everything up to here (host/pipeline/epochs.ts).
   */
  watermark(ns: bigint, epoch = 0n, stream = 0, idle = false): void {
    if (this.streamCatchUp) this.streamCatchUp.known(stream, ns);
    else if (this.catchUpOoo !== undefined) {
      // Every partition now knows the stream up to ns + out-of-orderness.
      let k = ns + this.catchUpOoo;
      if (k > 0x7fffffffffffffffn) k = 0x7fffffffffffffffn;
      const hi = Number(BigInt.asIntN(32, k >> 32n)), lo = Number(BigInt.asUintN(32, k));
      for (let p = 0; p < this.count; p++) if (hi > this.knownHi[p] || (hi === this.knownHi[p] && lo > this.knownLo[p])) { this.knownHi[p] = hi; this.knownLo[p] = lo; }
    }
    this.broadcast(CONTROL_WATERMARK, ns, epoch, streamFlags(stream) | (idle ? FLAG_IDLE : 0));
  }

  /** Broadcasts a barrier; resolves with every partition's snapshot, in partition order. */
  barrier(id: number, watermark = 0n): Promise<BarrierSnapshot[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.barriers.has(id)) return Promise.reject(new Error(`barrier ${id} is already in flight`));
    const done = new Promise<BarrierSnapshot[]>((resolve, reject) => this.barriers.set(id, { snaps: [], resolve, reject }));
    this.broadcast(CONTROL_BARRIER, watermark, BigInt(id));
    return done;
  }

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

  private broadcast(kind: number, ts: bigint, seq: bigint, flags = 0): void {
    writeControl(this.scratch, this.scratchView, 0, this.stride, kind, ts, seq, flags);
    for (let p = 0; p < this.count; p++) this.enqueue(p, this.scratch, 0);
  }

  private enqueueControl(p: number, kind: number, ts: bigint, seq: bigint, flags: number): void {
    writeControl(this.scratch, this.scratchView, 0, this.stride, kind, ts, seq, flags);
    this.enqueue(p, this.scratch, 0);
  }

  private enqueue(id: number, src: Uint8Array, at: number): void {
    if (this.closing) throw new Error('partition set is draining: no more records are accepted');
    const l = this.lanes[id];
    const p = l.part;
    if (p.failure) throw p.failure;
    const stride = this.stride;
    if (l.staged === 0) {
      if (p.writer.push(src, 1, at) === 1 || (p.makeRoom() && p.writer.push(src, 1, at) === 1)) {
        l.accepted++;
        this.scheduleFlush();
        return;
      }
      this.block(l);
    }
    if (l.staged >= l.stagingCap) {
      throw new Error(`partition ${id}: input ring (${p.writer.capacity} records) and staging (${l.stagingCap}) are full — the source kept writing after 'pause'; record not accepted`);
    }
    l.staging.set(src.subarray(at, at + stride), l.staged * stride);
    l.staged++;
    l.accepted++;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => { this.flushScheduled = false; this.flush(); });
  }

  /** Publishes every record written so far (one atomic store per partition). Pushes schedule this themselves. */
  flush(): void {
    for (const { part } of this.lanes) {
      if (part.writer.unpublished > 0) part.writer.publish();
      part.run();
    }
  }

  /** Moves the staged records of `l` into its ring once they all fit; returns whether it did. */
  private refill(l: Lane): boolean {
    if (l.staged === 0 || l.part.writer.room() < l.staged) return false;
    l.part.writer.push(l.staging, l.staged);
    l.staged = 0;
    l.part.writer.publish();
    return true;
  }

  private block(l: Lane): void {
    if (!l.blocked) {
      l.blocked = true;
      l.blockedSince = performance.now();
      // Started after this turn: the record that found the ring full is staged
      // and 'pause' is out first. Run at once, the pump could see the worker
      // had meanwhile drained the ring, finish, and leave the staged record
      // and the pause with nobody to move or lift them (a stalled input).
      l.pump = Promise.resolve().then(() => this.pump(l));
    }
    if (!this.pausedNow) {
      this.pausedNow = true;
      this.emit('pause');
    }
  }

  /** Moves staging into the ring as room appears; unblocks once below resumeBelow. */
  private async pump(l: Lane): Promise<void> {
    const p = l.part;
    const cap = p.writer.capacity;
    const resumeFill = Math.floor(cap * this.resumeBelow);
    while (!p.failure && !this.terminated && (l.staged > 0 || cap - p.writer.room() > resumeFill)) {
      p.writer.publish();
      await p.waitForRoom(Math.max(l.staged, cap - resumeFill), this.idleWaitMs);
      // An inline partition runs what was moved in at the next flush.
      if (this.refill(l)) this.scheduleFlush();
    }
    l.blocked = false;
    l.blockedMs += performance.now() - l.blockedSince;
    l.pump = undefined;
    if (this.pausedNow && this.lanes.every((q) => !q.blocked)) {
      this.pausedNow = false;
      this.emit('resume');
    }
  }

  metrics(): PartitionMetrics[] {
    const now = performance.now();
    return this.lanes.map(({ part: p, ...l }) => ({
      partition: p.id,
      inputFill: p.writer.fill(),
      inputCapacity: p.writer.capacity,
      inputLevel: p.writer.level(),
      outputFill: p.reader.fill(),
      outputLevel: p.reader.level(),
      staged: l.staged,
      blockedMs: l.blockedMs + (l.blocked ? now - l.blockedSince : 0),
      blocked: l.blocked,
      accepted: l.accepted,
      emitted: p.emitted,
    }));
  }

  /** Every partition's operator stats, partition by partition (as of each partition's last watermark). */
  operatorStats(): OperatorStats[] {
    const out: OperatorStats[] = [];
    for (const { part: p } of this.lanes) {
      for (let op = 0, at = 0; at < p.stats.length; op++, at += OPERATOR_STATS_FIELDS) {
        out.push({ partition: p.id, op, keys: p.stats[at], bytes: p.stats[at + 1], evictions: p.stats[at + 2], dropped: p.stats[at + 3] });
      }
    }
    return out;
  }

  /**
   * Graceful shutdown: stop accepting, move staged records in, close the input
   * rings, let every partition process all it accepted, drain every output,
   * and let the workers exit. Rejects with the PartitionError of a failed partition.
   */
  async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    this.closing = true;
    this.flush();
    await Promise.all(this.lanes.map((l) => l.pump));
    if (this.failure) throw this.failure;
    for (const { part } of this.lanes) {
      part.writer.close();
      part.finishInput();
    }
    if (this.failure) throw this.failure;
    await Promise.all(this.lanes.map((l) => l.part.finished()));
  }

  /** Hard stop (after a failure, or in tests): terminates every worker without draining. */
  async terminate(): Promise<void> {
    this.terminated = true;
    this.closing = true;
    await Promise.all(this.lanes.map((l) => l.part.terminate()));
  }

  /**
   * Faults in the pages every partition has laid out, in the background
   * (host/partition/memory_warming.ts). Started by the first push; stops when
   * the set closes.
   */
  warmMemory(pagesPerTurn = 16): Promise<void> {
    this.warmed ??= warmMemory(this.lanes.map((l) => l.part), pagesPerTurn, () => this.closing || this.terminated);
    return this.warmed;
  }
  private warmed: Promise<void> | undefined;

  /** Bytes of partition `id`'s snapshot slab that a snapshot uses (0 without checkpoints). */
  snapshotSlabBytes(id: number): number {
    return this.lanes[id].part.slab?.bytes ?? 0;
  }

  /** Each partition's memory and ring offsets (tests, metrics, checkpoint restore). */
  partitionInfo(id: number): { memory: WebAssembly.Memory; layout: PartitionLayout } {
    const p = this.lanes[id].part;
    return { memory: p.memory, layout: p.layout };
  }
}
