// A running pipeline: sources → the ingest path (decode, validate, the
// durable ingest log, dispatch) → partitions (one worker, one shared memory
// and one WASM instance each) → epoch merge → the output router (alerts,
// formatting, sinks, subscribers, dead letters). The event clock closes an
// epoch per batch; the checkpoint coordinator takes barriers through the
// partitions. This class is the lifecycle: start (open the log and
// checkpoints, restore the newest checkpoint, replay the log after it), the
// public input and output calls, drain, finish and close.
//
//   frame ─► IngestPath: EventDecoder ─► widen ─► IngestLog (seq) ─► PartitionSet.pushRecords
//                 │ rejects                                        │ EventClock: watermark(epoch e) after each batch
//                 ▼                                                ▼
//           dead letters                        worker: operators, marker(e) ─► output ring
//                                                                  │
//        sinks ◄─ OutputRouter ◄─ EpochMerger (partition order within epoch e) ◄┘
import { makeDataDir } from '../config/data_dir.js';
import { join, resolve } from 'node:path';
import type { PipelineConfig, InputEvent } from '../config/types.js';
import { RecordBatch } from '../codec/record_batch.js';
import { KeyDictionary, type KeyLimits } from '../codec/key_dictionary.js';
import type { Ack, Frame, FrameSink, RefusedFrame, Source } from '../sources/source.js';
import { IngestLog, ENTRY_RECORDS } from '../log/ingest_log.js';
import { ProducerTable } from '../ingest/producers.js';
import { CheckpointStore, type Checkpoint } from '../checkpoint/checkpoint_store.js';
import { PartitionSet } from '../partition/partition_set.js';
import type { PartitionMetrics } from '../partition/partition_metrics.js';
import { autoPartitions } from '../partition/hash.js';
import type { FormatContext } from '../output/format.js';
import { canAlert } from '../operators/outputs.js';
import { internConfigStrings } from '../operators/descriptor.js';
import type { OutputSink } from '../sinks/output_sink.js';
import type { Engine } from '../operators/operator.js';
import { receiveNowNs as nowNs } from '../ingest/receive_clock.js';
import { EpochMerger } from './epochs.js';
import { planPipeline, type PipelinePlan } from './plan.js';
import type { SyntheticSource } from '../sources/synthetic_source.js';
import { damageLines, refusal, sinkOutput, startOver } from './recovery_guard.js';
import type { Metrics } from '../metrics/metrics.js';
import { CLOCK_START, EventClock } from './event_clock.js';
import { IngestPath } from './ingest_path.js';
import { OutputRouter, type OutputFilter, type OutputListener } from './output_router.js';
import { CheckpointCoordinator, deadLettersToResend, restoredClock, restoredStates, restoredStreamEvents, restoreSinks } from './checkpoint_coordinator.js';
import type { LogLevel, RunState } from './run_state.js';

export type { LogLevel } from './run_state.js';
export type { OutputFilter, OutputListener } from './output_router.js';

/** Far enough in the future to close every window, small enough for i64 arithmetic. */
export const FINAL_WATERMARK = 1n << 62n;

export interface PipelineOptions {
  /** Where the ingest log, checkpoints and dead letters live (default ./ganglion-data/<name>). */
  dataDir?: string;
  /** Relative model paths are resolved against this (default: cwd). */
  baseDir?: string;
  /** Operational messages (recovery, checkpoint failures). Default: stderr. `level` absent: warn. */
  log?: (line: string, level?: LogLevel) => void;
  /** Recovery progress: when the log replay starts, about every 250 ms during it, and when it ends. */
  onRecovery?: (p: RecoveryProgress) => void;
  /** 'js' runs every operator's TypeScript twin (for comparisons); default 'wasm'. */
  engine?: Engine;
  /** Overrides config.partitions. */
  partitions?: number;
  /** Metrics to feed (the CLI passes the server's); optional for library use. */
  metrics?: Metrics;
  /** Do not start the config's network sources (replay, tests). */
  noSources?: boolean;
  /** Extra sinks (the CLI's WebSocket topics, tests). */
  sinks?: OutputSink[];
  /** Records per process() call in the workers (default 1024). */
  maxBatch?: number;
  /** Cut the ingest log at damage that loses acknowledged events instead of refusing to start (also delivery.log.truncate_corrupt). */
  truncateCorrupt?: boolean;
  /** Move the log, checkpoints and file-sink output aside and start from an empty state (`ganglion run --start-over`). */
  startOver?: boolean;
}

export interface RecoveryProgress {
  /** The checkpoint restored (its id), or null: the log is replayed from its start. */
  checkpoint: number | null;
  /** Events replayed so far, of `total` (the log from the checkpoint's seq on). */
  replayed: number;
  total: number;
  done: boolean;
}

export interface PipelineStats {
  eventsIn: number;
  rejected: number;
  /** Producer frames resent after they were logged: acked again, not ingested (host/ingest/producers.ts). */
  duplicates: number;
  outputs: number;
  alerts: number;
  paused: boolean;
  queuedBatches: number;
  logSeq: string;
  checkpoints: number;
  lastCheckpoint?: { id: number; ms: number; bytes: number; pauseMs: number };
  partitions: PartitionMetrics[];
}

export async function createPipeline(config: PipelineConfig, options: PipelineOptions = {}): Promise<Pipeline> {
  const p = new Pipeline(config, options);
  await p.start();
  return p;
}

export class Pipeline implements FrameSink {
  readonly plan: PipelinePlan;
  readonly dictionary: KeyDictionary;
  readonly mode: PipelineConfig['delivery']['mode'];
  readonly dataDir: string;
  /** Per producer id, the highest producer seq in the log: resends at or below it are duplicates. */
  readonly producers = new ProducerTable();
  private partitions!: PartitionSet;
  private clock!: EventClock;
  private ingest!: IngestPath;
  private readonly router: OutputRouter;
  private checkpoints: CheckpointCoordinator | null = null;
  private ingestLog: IngestLog | null = null;
  private store: CheckpointStore | null = null;
  private readonly sources: Array<Source | SyntheticSource> = [];
  private readonly log: (line: string, level?: LogLevel) => void;
  private readonly run: RunState;
  private closed = false;
  private failure: Error | null = null;
  private endedSources = 0;
  private endWaiters: Array<() => void> = [];

  constructor(readonly config: PipelineConfig, readonly options: PipelineOptions = {}) {
    this.plan = planPipeline(config, options.baseDir ?? process.cwd());
    this.mode = config.delivery.mode;
    this.log = options.log ?? ((l) => process.stderr.write(`ganglion: ${l}\n`));
    this.dataDir = resolve(options.dataDir ?? join('ganglion-data', config.name));
    this.dictionary = new KeyDictionary(keyLimits(config));
    const pipeline = this;
    this.run = { get failure() { return pipeline.failure; }, fail: (e) => this.fail(e), log: this.log };
    const format: FormatContext = {
      operators: this.plan.meta,
      fields: this.plan.fields.all,
      keyName: (id) => this.dictionary.name(id) ?? `#${id}`,
    };
    this.router = new OutputRouter({ plan: this.plan, config, format, run: this.run, ...(options.metrics ? { metrics: options.metrics } : {}) });
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async start(): Promise<void> {
    const cfg = this.config;
    const restored = this.mode === 'at_most_once' ? null : await this.openDurableState();
    if (restored) {
      const d = restored.sections.get('dictionary');
      if (d) this.adoptDictionary(KeyDictionary.restore(d, keyLimits(cfg)));
      const pt = restored.sections.get('producers');
      if (pt) this.producers.restore(pt, `checkpoint ${restored.path}`);
    }
    // A log without a checkpoint: everything in it is replayed from the start (seq 1).
    const seq = restored ? BigInt(restored.meta.logSeq) : 1n;
    const clock = restored ? restoredClock(restored) : CLOCK_START;

    this.options.metrics?.setKeyDictionary(() => this.dictionary);
    this.router.openDeadLetters(this.deadLetterPath);

    const auto = autoPartitions();
    const inline = this.options.partitions === undefined && (cfg.partitions === 'inline' || (cfg.partitions === 'auto' && auto.inline));
    const partitionCount = this.options.partitions ?? (cfg.partitions === 'auto' ? auto.count : cfg.partitions === 'inline' ? 1 : cfg.partitions);
    const states = restored ? restoredStates(restored, partitionCount, this.plan.operators.length) : undefined;
    // The sink and source modules load while the partition workers boot.
    void import('./sinks.js').then((m) => m.preloadSinks(cfg)).catch(() => undefined);
    if (!this.options.noSources) void import('../sources/open_sources.js').then((m) => m.preloadSources(cfg)).catch(() => undefined);
    this.partitions = await PartitionSet.start({
      partitions: partitionCount,
      inline,
      memoryBytes: cfg.memory,
      catchUp: { outOfOrderNs: cfg.event_time.out_of_orderness, ...(this.plan.streams.length > 1 ? { streams: this.plan.streams.map((st) => st.eventTime.out_of_orderness) } : {}) },
      program: {
        fieldCount: this.plan.fieldCount,
        ...(this.plan.streams.length > 1 ? { streams: this.plan.streams.length, inputs: this.plan.inputs } : {}),
        operators: internConfigStrings(this.plan.operators, (s) => this.dictionary.intern(s)),
        engine: this.options.engine ?? 'wasm',
        maxBatch: this.options.maxBatch ?? 1024,
        ...(states ? { restore: states } : {}),
        checkpoints: this.mode !== 'at_most_once',
      },
    });
    this.partitions.on('error', (e: Error) => this.fail(e));
    // Epochs up to the checkpoint's were released before it was taken: a
    // drain with nothing new since must not wait for them (it would hang, and
    // with inline partitions Node exits 13 with the shutdown unfinished).
    this.router.releasedThrough(clock.nextEpoch - 1n);
    const merger = new EpochMerger(partitionCount, clock.nextEpoch, (r) => this.router.release(r));
    this.clock = new EventClock(this.plan.streams, { merger, partitions: this.partitions, log: this.ingestLog }, clock);
    if (restored) this.clock.announceRestored();
    this.ingest = new IngestPath({
      config: cfg, plan: this.plan, dictionary: this.dictionary, producers: this.producers, log: this.ingestLog,
      partitions: this.partitions, clock: this.clock, router: this.router, sources: this.sources, run: this.run, seq,
      ...(restoredStreamEvents(restored) ? { streamEvents: restoredStreamEvents(restored) } : {}),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
    });
    this.partitions.onPressure((paused) => this.ingest.onPressure(paused));
    this.partitions.on('output', (b: { partition: number; bytes: Uint8Array; count: number }) => merger.push(b.partition, b.bytes, b.count));
    if (this.store && this.ingestLog) {
      this.checkpoints = new CheckpointCoordinator({
        config: cfg, store: this.store, log: this.ingestLog, partitions: this.partitions, clock: this.clock, router: this.router,
        ingest: this.ingest, dictionary: this.dictionary, producers: this.producers, run: this.run, lastId: restored?.meta.id ?? 0,
        ...(restored ? { restoredSeq: BigInt(restored.meta.logSeq) } : {}),
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      });
    }
    if (this.options.metrics) this.installCollector(this.options.metrics);

    await this.openSinks(restored);
    if (this.ingestLog) await this.recover(restored?.meta.id ?? 0, deadLettersToResend(restored, this.ingestLog.nextSeq > 1n));
    this.clock.startIdleTimer();
    this.checkpoints?.startTimer();
    if (!this.options.noSources) await this.startSources();
  }

  /**
   * The ingest log and the checkpoint store (exactly/at-least-once): opens
   * both and loads the newest usable checkpoint, or refuses to start when
   * what is on disk would lose acknowledged events (recovery_guard.ts).
   */
  private async openDurableState(): Promise<Checkpoint | null> {
    const cfg = this.config;
    makeDataDir(this.dataDir);
    const logDir = resolve(this.dataDir, cfg.delivery.log.dir);
    const checkpointDir = resolve(this.dataDir, cfg.delivery.checkpoint.dir);
    if (this.options.startOver) startOver(cfg, this.dataDir, [logDir, checkpointDir], this.log);
    this.store = new CheckpointStore(checkpointDir, cfg.delivery.checkpoint.keep);
    this.store.checkWritable();
    const skipped: string[] = [];
    const restored = this.store.loadLatest((why) => { skipped.push(why); this.log(`skipping checkpoint: ${why}`); });
    this.ingestLog = IngestLog.open(logDir, {
      segmentBytes: cfg.delivery.log.segment_size,
      retentionMs: Number(cfg.delivery.log.retention / 1_000_000n),
      retentionBytes: cfg.delivery.log.retention_bytes ?? 0,
      truncateCorrupt: this.options.truncateCorrupt || cfg.delivery.log.truncate_corrupt,
      committedSeq: restored ? BigInt(restored.meta.logSeq) : 1n,
    });
    for (const line of damageLines(this.ingestLog.recovery.damage, restored?.path)) this.log(line);
    const refused = refusal({
      dataDir: this.dataDir, logDir, skipped,
      restored: restored ? { path: restored.path, logSeq: BigInt(restored.meta.logSeq) } : null,
      logSegments: this.ingestLog.recovery.segments, firstRetainedSeq: this.ingestLog.firstRetainedSeq,
      sinkOutput: sinkOutput(cfg),
    });
    if (refused) { await this.ingestLog.close(); throw new Error(refused); }
    return restored;
  }

  /** Pushes every event accepted so far through, fires what the watermark allows, flushes sinks. */
  async drain(): Promise<void> {
    await this.ingest?.flushQueue();
    await this.router.waitEpoch(this.clock?.lastClosed ?? 0n);
    await this.router.flushSinks();
  }

  /**
   * End of input (a bounded replay or feed): the watermark jumps to the end of
   * time so every open window fires, then everything drains.
   */
  async finish(): Promise<void> {
    await this.ingest.flushQueue();
    this.clock.advanceAll(FINAL_WATERMARK);
    await this.drain();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock?.stop();
    this.checkpoints?.stop();
    await Promise.all(this.sources.map((s) => s.close().catch((e: Error) => this.log(`closing source ${s.name}: ${e.message}`))));
    if (!this.failure) {
      // Outputs that never reached a sink: the run failed (exit non-zero), whatever stopped it.
      await this.drain().catch((e: Error) => this.fail(e));
      await this.checkpoints?.inFlight?.catch(() => undefined);
      // A final checkpoint: a clean restart then replays nothing.
      const checkpoints = this.checkpoints;
      if (checkpoints && !this.failure) {
        await this.checkpoint().then(
          () => { if (!this.failure) this.log(`final checkpoint ${checkpoints.lastId} at seq ${this.ingestLog!.nextSeq}: a restart replays nothing`, 'info'); },
          (e: Error) => this.log(`final checkpoint: ${e.message}`),
        );
      }
    }
    await this.partitions?.drain().catch((e: Error) => this.log(`partitions: ${e.message}`));
    await this.router.closeSinks();
    this.router.closeDeadLetters();
    await this.ingestLog?.close();
  }

  // ───────────────────────────── recovery ─────────────────────────────

  private adoptDictionary(d: KeyDictionary): void {
    (this as unknown as { dictionary: KeyDictionary }).dictionary = d;
  }

  /**
   * Replays the log from the checkpoint's seq (or its start) exactly as it
   * was first processed; the dead letters from `deadLetterOffset` in the
   * dead-letter file (those the sinks lost with the cut) go out again, each
   * before the records logged after its rejection, as they did the first time.
   */
  private async recover(checkpointId: number, deadLetterOffset: number | undefined): Promise<void> {
    const log = this.ingestLog!, ingest = this.ingest;
    const from = ingest.seq;
    const resend = this.router.deadLettersToSendAgain(deadLetterOffset);
    let pending = resend?.next();
    let resent = 0;
    const placeDeadLetters = (before: bigint | null) => {
      while (pending && !pending.done && (before === null || BigInt(pending.value.entry.seq) <= before)) {
        ingest.placeRecovered(pending.value);
        resent++;
        pending = resend!.next();
      }
    };
    const total = Number(log.nextSeq - from);
    const progress = (done: boolean) => this.options.onRecovery?.({ checkpoint: checkpointId || null, replayed, total, done });
    let replayed = 0;
    if (total > 0) this.log(`recovering: replaying ${total} events from the ingest log (seq ${from} on, ${checkpointId ? `after checkpoint ${checkpointId}` : 'no checkpoint'})`, 'info');
    progress(false);
    // The event loop gets a turn now and then, so /health and /ready answer during a long replay.
    let yielded = performance.now();
    for (const e of log.read(from)) {
      if (e.kind === ENTRY_RECORDS) placeDeadLetters(e.firstSeq);
      replayed += ingest.replayEntry(e);
      // Backpressure, and the rest of a big entry that dispatch queued, before the next entry.
      if (e.kind === ENTRY_RECORDS && (ingest.backlogged || this.failure)) await ingest.catchUp();
      if (performance.now() - yielded > 250) {
        progress(false);
        await new Promise((r) => setImmediate(r));
        yielded = performance.now();
      }
    }
    placeDeadLetters(null);
    if (resent > 0) this.log(`recovered: sent ${resent} dead letters again (after the checkpoint)`);
    ingest.seq = log.nextSeq;
    progress(true);
    if (replayed) this.log(`recovered: replayed ${replayed} events from seq ${from}`, 'info');
    else if (checkpointId) this.log(`resumed from checkpoint ${checkpointId}: nothing to replay`, 'info');
  }

  // ───────────────────────────── input ─────────────────────────────

  /** Library path: events as objects (field names as in the schema; ts as bigint ns or per event_time.unit). */
  push(events: InputEvent | InputEvent[], stream?: string): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    const text = JSON.stringify(list, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    const index = this.streamIndex(stream);
    return new Promise((resolveAck, reject) => {
      this.onFrame({ data: Buffer.from(text), binary: false, origin: 'library', receivedAtNs: nowNs() }, (ok, info) => {
        if (ok || (info?.count ?? 0) > 0 || (info?.rejected ?? 0) > 0) resolveAck(); else reject(new Error(info?.reason ?? 'rejected'));
      }, 'library', index);
    });
  }

  /** A raw frame, as a network source would deliver it (to `stream`, default the first). */
  pushFrame(frame: Frame, stream?: string): Promise<{ accepted: number; rejected: number }> {
    const index = this.streamIndex(stream);
    return new Promise((res) => this.onFrame(frame, (_ok, info) => res({ accepted: info?.count ?? 0, rejected: info?.rejected ?? 0 }), 'library', index));
  }

  /** Index of the input stream called `name` (absent: the first); throws on an unknown name. */
  streamIndex(name: string | undefined): number {
    if (name === undefined) return 0;
    const i = this.plan.streams.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`pipeline ${this.config.name} has no input stream '${name}' (streams: ${this.plan.streams.map((s) => s.name).join(', ')})`);
    return i;
  }

  /**
   * `source`: the configured source name the frame came through, the label
   * of its metrics (bounded, unlike `frame.origin`, which names the
   * connection); frames pushed by the library count as 'library'.
   * `stream`: the input stream the source feeds (its index; 0: the first).
   */
  onFrame(frame: Frame, ack: Ack, source = 'library', stream = 0): void {
    this.ingest.onFrame(frame, ack, source, stream);
  }

  /** A frame a source refused unread (too large, not UTF-8): a dead letter and a count, like any rejected frame. */
  onRefused(r: RefusedFrame): void {
    this.ingest.onRefused(r);
  }

  /** Records already in ring layout (the synthetic feed, file replays of records). false: paused, stop producing. */
  ingestRecords(origin: string, batch: RecordBatch, receivedAtNs: bigint, stream = 0): boolean {
    return this.ingest.ingestRecords(origin, batch, receivedAtNs, stream);
  }

  /**
   * Records read back from an ingest log (`ganglion replay --from/--to`): in
   * the pipeline's own record layout, with their original seqs, so the
   * outputs carry the ids they had the first time. Never logged again.
   */
  replayRecords(batch: RecordBatch, receivedAtNs: bigint): void {
    this.ingest.replayRecords(batch, receivedAtNs);
  }

  /** Resolves once backpressure lets more input in. */
  whenAccepting(): Promise<void> {
    return this.ingest.whenAccepting();
  }

  sourceEnded(origin: string): void {
    this.log(`source ${origin} ended`, 'info');
    this.endedSources++;
    for (const w of this.endWaiters.splice(0)) w();
  }

  /** A source cannot go on (an unreadable file, a refused frame): the pipeline fails, loudly. */
  sourceFailed(e: Error): void {
    this.fail(e);
  }

  /** Resolves when every bounded source has ended (synthetic with `events`, files). */
  sourcesEnded(): Promise<void> {
    const bounded = this.sources.length;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.failure) reject(this.failure);
        else if (this.endedSources >= bounded) resolve();
        else this.endWaiters.push(check);
      };
      check();
    });
  }

  // ───────────────────────────── output ─────────────────────────────

  /** `wants`: which outputs this listener takes (default all); others are never even formatted for it. */
  subscribe(listener: OutputListener, wants?: OutputFilter): () => void {
    return this.router.subscribe(listener, wants);
  }

  private get deadLetterPath(): string | undefined {
    return this.mode === 'at_most_once' && !this.options.dataDir ? undefined : resolve(this.dataDir, 'dead-letters.jsonl');
  }

  // ───────────────────────────── checkpoints ─────────────────────────────

  /** Takes a checkpoint now (also on the configured interval). Resolves when it is durable. */
  checkpoint(): Promise<void> {
    if (!this.checkpoints) return Promise.reject(new Error(`pipeline ${this.config.name} runs at_most_once: it takes no checkpoints`));
    return this.checkpoints.checkpoint();
  }

  // ───────────────────────────── sources and sinks ─────────────────────────────

  private async openSinks(restored: Checkpoint | null): Promise<void> {
    const { openSinks } = await import('./sinks.js');
    const sinks = await openSinks(this.config, this.dataDir);
    this.router.addSinks([...sinks, ...(this.options.sinks ?? []).map((sink) => ({ sink, wants: () => true }))]);
    restoreSinks(this.router.positionedSinks(), restored, this.ingestLog !== null && this.ingestLog.nextSeq > 1n);
  }

  private async startSources(): Promise<void> {
    const { openSources } = await import('../sources/open_sources.js');
    // Replayable sources (the synthetic feed) resume after what the log holds.
    // Each source joins this.sources as it starts, so backpressure reaches it
    // even while later sources are still starting.
    await openSources(this.config, this, Number(this.ingest.seq - 1n), (s) => {
      this.sources.push(s);
      this.options.metrics?.addEvents(s.name, 0);
      if (this.ingest.isPaused) s.pause();
    });
  }

  /**
   * The metrics' view of the running pipeline (rings, operator state, late
   * events, backpressure): read at each scrape and each one-second tick, so
   * /metrics, /api/snapshot, the dashboard and the status line share the numbers.
   */
  private installCollector(metrics: Metrics): void {
    // Per-operator counters exist from the start, at 0 (Prometheus' rate() needs a first sample).
    for (const o of this.config.operators) {
      metrics.addOutputs(o.name, 0);
      if (canAlert(o.type)) metrics.addAlerts(o.name, 0);
    }
    metrics.setCollector(() => {
      const late = this.router.lateCounts();
      const operators = this.plan.meta.map((m, i) => ({ name: m.name, keys: 0, bytes: 0, evictions: 0, late: late[i], dropped: 0 }));
      for (const s of this.partitions.operatorStats()) {
        const o = operators[s.op];
        o.keys += s.keys;
        o.bytes += s.bytes;
        o.evictions += s.evictions;
        o.dropped += s.dropped;
      }
      const paused = this.ingest.isPaused;
      const pausedSeconds = this.ingest.pausedSeconds();
      return {
        rings: this.partitions.metrics().map((p) => ({ partition: p.partition, capacity: p.inputCapacity, used: p.inputFill, blockedNs: p.blockedMs * 1e6 })),
        operators,
        sources: this.sources.map((s) => ({ name: s.name, paused, pausedSeconds })),
      };
    });
  }

  stats(): PipelineStats {
    const cp = this.checkpoints?.stats;
    return {
      eventsIn: this.ingest.eventsIn, rejected: this.ingest.rejected, duplicates: this.ingest.duplicates,
      outputs: this.router.outputs, alerts: this.router.alerts, checkpoints: cp?.checkpoints ?? 0,
      ...(cp?.lastCheckpoint ? { lastCheckpoint: cp.lastCheckpoint } : {}),
      paused: this.ingest.isPaused, queuedBatches: this.ingest.queuedBatches,
      logSeq: (this.ingestLog?.nextSeq ?? this.ingest.seq).toString(),
      partitions: this.partitions.metrics(),
    };
  }

  get failed(): Error | null { return this.failure; }

  /** Sources started from the config (for the CLI: ports, names). */
  get activeSources(): ReadonlyArray<Source | SyntheticSource> { return this.sources; }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.log(e.message, 'error');
    for (const s of this.sources) s.pause();
    this.router.releaseWaiters();
    for (const w of this.endWaiters.splice(0)) w();
    this.ingest?.releaseWaiters();
    this.onFailure?.(e);
  }

  /** Set by the CLI to exit non-zero when the pipeline cannot go on. */
  onFailure?: (e: Error) => void;

  /** Internal: open_sources.ts needs the pipeline's decoding view. */
  get recordType() { return this.plan.fields.type; }
  /** The decoding view of input stream `index` (synthetic sources of a later stream). */
  streamRecordType(index: number) { return this.plan.streams[index].fields.type; }
  /** Events of input stream `index` in the ingest log so far (a synthetic source alone on its stream resumes after them). */
  loggedEvents(index: number): number { return this.ingest.streamEvents[index]; }
  intern(s: string): number { return this.dictionary.intern(s); }
}

function keyLimits(cfg: PipelineConfig): Partial<KeyLimits> {
  const k = (cfg as Partial<PipelineConfig>).key_dictionary; // absent in hand-built configs: the defaults
  return k ? { maxKeys: k.max_keys, maxKeyBytes: k.max_key_bytes, maxBytes: k.max_bytes } : {};
}
