// Checkpoints: a barrier through the partitions, taken with the ingest log's
// position, the event clock, the key dictionary and the producer marks, and
// committed with the positions of the positioned sinks (exactly-once) as of
// the same epoch. Recovery restores the newest one (restore* below) and
// replays the log from its seq.
//
//   flush queue ─► meta (log seq, clock, dictionary, producers)
//               ─► barrier(id) through the partitions ─► operator states
//               ─► at epoch release: sink positions, dead-letter offset
//               ─► log fsync ─► checkpoint file ─► log retention
import type { PipelineConfig } from '../config/types.js';
import type { KeyDictionary } from '../codec/key_dictionary.js';
import type { Checkpoint, CheckpointStore } from '../checkpoint/checkpoint_store.js';
import type { IngestLog } from '../log/ingest_log.js';
import type { ProducerTable } from '../ingest/producers.js';
import type { PartitionSet } from '../partition/partition_set.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PositionedSink } from '../sinks/output_sink.js';
import type { ClockState, EventClock } from './event_clock.js';
import type { StreamClockState } from './stream_clock.js';
import type { IngestPath } from './ingest_path.js';
import type { OutputRouter } from './output_router.js';
import type { RunState } from './run_state.js';

export interface CheckpointStats {
  checkpoints: number;
  lastCheckpoint?: { id: number; ms: number; bytes: number; pauseMs: number };
}

export interface CheckpointCoordinatorOptions {
  config: PipelineConfig;
  store: CheckpointStore;
  log: IngestLog;
  partitions: PartitionSet;
  clock: EventClock;
  router: OutputRouter;
  ingest: IngestPath;
  dictionary: KeyDictionary;
  producers: ProducerTable;
  metrics?: Metrics;
  run: RunState;
  /** The id of the checkpoint restored (0: none); the next one taken gets the next id. */
  lastId: number;
  /** The log seq of the checkpoint restored, if any: its log is kept while its file is (see keptSeqs). */
  restoredSeq?: bigint;
}

export class CheckpointCoordinator {
  readonly stats: CheckpointStats = { checkpoints: 0 };
  private id: number;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /**
   * Log seqs of the checkpoint files kept (delivery.checkpoint.keep), oldest
   * first. Retention keeps the log from the oldest of them on: were the
   * newest file damaged, recovery falls back to an older one and must find
   * its log still there, not refuse for want of it.
   */
  private readonly keptSeqs: bigint[];

  constructor(private readonly o: CheckpointCoordinatorOptions) {
    this.id = o.lastId;
    this.keptSeqs = o.restoredSeq !== undefined ? [o.restoredSeq] : [];
  }

  /** The id of the newest checkpoint taken or restored (0: none). */
  get lastId(): number { return this.id; }

  /** The checkpoint being taken, if any. */
  get inFlight(): Promise<void> | null { return this.running; }

  /** Takes a checkpoint now (one at a time: a call during one gets that one). Resolves when it is durable. */
  checkpoint(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.take().finally(() => { this.running = null; });
    return this.running;
  }

  /** delivery.checkpoint.interval. */
  startTimer(): void {
    const interval = this.o.config.delivery.checkpoint.interval;
    if (interval <= 0n) return;
    this.timer = setInterval(() => { this.checkpoint().catch((e: Error) => this.failed(e)); }, Number(interval / 1_000_000n));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async take(): Promise<void> {
    const { config, log, partitions, clock, router, run, metrics } = this.o;
    await this.o.ingest.flushQueue();
    const id = ++this.id;
    const started = performance.now();
    const at = clock.state();
    const epoch = at.nextEpoch - 1n;
    const meta = {
      id, createdAt: new Date().toISOString(), logSeq: log.nextSeq.toString(),
      maxTs: at.maxTs.toString(), watermark: at.watermark.toString(), epoch: epoch.toString(),
      // Several input streams: each one's clock, and its events in the log (what its synthetic source resumes after).
      ...(at.streams ? { streams: at.streams, streamEvents: [...this.o.ingest.streamEvents] } : {}),
      partitions: partitions.count, pipeline: config.name, sinks: {} as Record<string, unknown>, deadLetters: 0,
    };
    const dictionary = this.o.dictionary.snapshot();
    // Taken with logSeq, so it covers exactly the frames logged before it.
    const expiry = config.delivery.producer_expiry;
    if (expiry > 0n) this.o.producers.expire(Date.now() - Number(expiry / 1_000_000n));
    const producers = this.o.producers.snapshot();
    // The sinks' committed positions are exactly the outputs of epochs ≤
    // `epoch`: taken synchronously as that epoch is released, before any later.
    // position() flushes: a sink that cannot write (a full disk) fails this checkpoint, never commits a position past its file.
    const positioned = new Promise<Error | null>((res) => router.atEpoch(epoch, () => {
      try {
        for (const sink of router.positionedSinks()) meta.sinks[sink.name] = sink.position();
        meta.deadLetters = router.deadLettersEmitted;
        res(null);
      } catch (e) { res(e as Error); }
    }));
    const snaps = await partitions.barrier(id, at.watermark);
    const pauseMs = Math.max(...snaps.map((s) => s.pauseMs));
    const sinkError = await positioned;
    if (run.failure) throw run.failure;
    const sections = new Map<string, Uint8Array>([['dictionary', dictionary], ['producers', producers]]);
    for (const snap of snaps) snap.states.forEach((st, o) => sections.set(`p${snap.partition}/op${o}`, st));
    try {
      if (sinkError) throw sinkError;
      await log.sync();
      const w = await this.o.store.write(meta, sections);
      this.stats.checkpoints++;
      this.stats.lastCheckpoint = { id, ms: performance.now() - started, bytes: w.bytes, pauseMs };
      metrics?.recordCheckpoint({ durationMs: performance.now() - started, bytes: w.bytes, ok: true });
      this.keptSeqs.push(BigInt(meta.logSeq));
      while (this.keptSeqs.length > Math.max(1, config.delivery.checkpoint.keep)) this.keptSeqs.shift();
      log.applyRetention(this.keptSeqs[0]);
    } catch (e) {
      metrics?.recordCheckpoint({ durationMs: performance.now() - started, bytes: 0, ok: false });
      this.failed(e as Error);
    }
  }

  /** A checkpoint that could not be taken: delivery.checkpoint.on_failure decides. */
  failed(e: Error): void {
    const run = this.o.run;
    if (run.failure) return;
    if (this.o.config.delivery.checkpoint.on_failure === 'stop') {
      run.fail(new Error(`${e.message}; stopping (delivery.checkpoint.on_failure: stop)`));
    } else {
      run.log(`${e.message}; continuing without this checkpoint (on_failure: continue)`);
    }
  }
}

// ───────────────────────────── restore ─────────────────────────────

/** The event clock as the checkpoint left it: its epochs are closed, the next one opens after them. */
export function restoredClock(cp: Checkpoint): ClockState {
  return {
    maxTs: BigInt(cp.meta.maxTs as string),
    watermark: BigInt(cp.meta.watermark as string),
    nextEpoch: BigInt(cp.meta.epoch as string) + 1n,
    ...(cp.meta.streams ? { streams: cp.meta.streams as StreamClockState[] } : {}),
  };
}

/** Events per input stream in the log up to the checkpoint (absent in one-stream checkpoints: the caller counts from the seq). */
export function restoredStreamEvents(cp: Checkpoint | null): number[] | undefined {
  return (cp?.meta.streamEvents as number[] | undefined) ?? undefined;
}

/** Every partition's operator states, partition by partition; the partition count must be the checkpoint's. */
export function restoredStates(cp: Checkpoint, partitions: number, operators: number): Uint8Array[][] {
  const states = Array.from({ length: partitions }, (_, p) => Array.from({ length: operators }, (_, o) => {
    const s = cp.sections.get(`p${p}/op${o}`);
    if (!s) throw new Error(`checkpoint ${cp.path} has no state for partition ${p} operator ${o}: was it written with another partition count or pipeline?`);
    return s;
  }));
  if ((cp.meta.partitions as number) !== partitions) {
    throw new Error(`checkpoint ${cp.path} was taken with ${cp.meta.partitions as number} partitions, the pipeline now has ${partitions}: keys would move between partitions; restore with the same partition count`);
  }
  return states;
}

/**
 * Cuts each positioned sink back to the position its checkpoint committed;
 * the log replay writes the rest again. Without a checkpoint but with a log
 * to replay from its start, the sinks start over empty.
 */
export function restoreSinks(sinks: PositionedSink[], restored: Checkpoint | null, logHasEntries: boolean): void {
  const positions = (restored?.meta.sinks ?? {}) as Record<string, unknown>;
  for (const s of sinks) {
    const pos = positions[s.name];
    if (restored && pos) s.truncate(pos);
    else if (restored === null && logHasEntries) s.truncateAll();
  }
}

/** Where the dead letters to send again start in the dead-letter file (after the checkpoint's), or undefined: none to send. */
export function deadLettersToResend(restored: Checkpoint | null, logHasEntries: boolean): number | undefined {
  return restored ? (restored.meta.deadLetters as number | undefined) : logHasEntries ? 0 : undefined;
}
