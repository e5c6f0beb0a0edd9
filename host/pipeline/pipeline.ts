// A running pipeline: sources → decode + validate (rejects to the dead-letter
// queue) → the durable ingest log (exactly/at-least-once) → partitions (one
// worker, one shared memory and one WASM instance each) → epoch merge →
// output JSON → sinks, subscribers, metrics. Checkpoints are barriers through
// the partitions; recovery restores the newest one and replays the log.
//
//   frame ─► EventDecoder ─► widen/derive ─► IngestLog.appendRecords (seq) ─► PartitionSet.pushRecords
//                 │ rejects                                                   │ watermark(epoch e) after each batch
//                 ▼                                                           ▼
//           DeadLetterQueue                               worker: operators, marker(e) ─► output ring
//                                                                             │
//        sinks ◄─ formatOutput ◄─ EpochMerger (partition order within epoch e) ◄┘
//
// Acks: at_most_once acks on receipt; the other modes ack once the frame's
// records are durable in the log. Backpressure: when a partition ring fills,
// every source is paused; batches already received wait in a bounded queue.
import { makeDataDir } from '../config/data_dir.js';
import { join, resolve } from 'node:path';
import type { PipelineConfig, InputEvent } from '../config/types.js';
import { validationRules } from '../config/types.js';
import { EventDecoder } from '../codec/decoder.js';
import { RecordBatch } from '../codec/record_batch.js';
import { KeyDictionary, type KeyLimits } from '../codec/key_dictionary.js';
import { DeadLetterQueue, readDeadLetters, type AddedDeadLetter } from '../ingest/dead_letter.js';
import type { Ack, Frame, FrameSink, RefusedFrame, Source } from '../ingest/source.js';
import { IngestLog, ENTRY_KEYS, ENTRY_RECORDS, ENTRY_WATERMARK, ENTRY_PRODUCER, type ProducerMark } from '../log/ingest_log.js';
import { ProducerTable } from '../ingest/producers.js';
import { CheckpointStore, type Checkpoint } from '../checkpoint/checkpoint_store.js';
import { PartitionSet } from '../partition/partition_set.js';
import type { PartitionMetrics } from '../partition/partition_metrics.js';
import { autoPartitions } from '../partition/hash.js';
import { formatOutput, serializeOutput, KIND_NAMES, type FormatContext, type OutputEvent, type OutputKind } from '../output/format.js';
import { canAlert, isAlertRecord } from '../operators/outputs.js';
import type { OutputSink } from '../sinks/output_sink.js';
import { IN_TS, IN_SEQ, IN_FIELDS, OUT_BYTES, OUT_KIND, OUT_OP, readOutput } from '../records.js';
import type { Engine } from '../operators/operator.js';
import { receiveNowNs as nowNs } from '../ingest/receive_clock.js';
import { EpochMerger, type EpochRelease } from './epochs.js';
import { planPipeline, type PipelinePlan } from './plan.js';
import { SyntheticSource } from './synthetic_source.js';
import { damageLines, refusal, sinkOutput, startOver } from './recovery_guard.js';
import type { Metrics } from '../metrics/metrics.js';
import type { JsonlSink } from '../sinks/jsonl_sink.js';

/** Far enough in the future to close every window, small enough for i64 arithmetic. */
export const FINAL_WATERMARK = 1n << 62n;
const MIN_TS = -(1n << 63n);
/**
 * Most records dispatched before checking backpressure. A slice lands whole
 * even on a ring that just filled: with a catch-up watermark per record at
 * worst, 2 × 2048 + the epoch's fit the partitions' staging (8192 by default).
 */
const DISPATCH_SLICE = 2048;

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

export type LogLevel = 'error' | 'warn' | 'info';

export interface RecoveryProgress {
  /** The checkpoint restored (its id), or null: the log is replayed from its start. */
  checkpoint: number | null;
  /** Events replayed so far, of `total` (the log from the checkpoint's seq on). */
  replayed: number;
  total: number;
  done: boolean;
}

export type OutputListener = (out: OutputEvent, json: string) => void;
export type OutputFilter = (op: string, kind: OutputKind) => boolean;

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

interface Queued {
  bytes: Uint8Array; count: number; receivedAtNs: bigint;
  /** Replayed from the log at recovery: the original receive time is gone, so no latency is recorded. */
  untimed?: boolean;
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
  private partitions!: PartitionSet;
  private merger!: EpochMerger;
  private decoder!: EventDecoder;
  private readonly batch: RecordBatch;
  private readonly wide: RecordBatch;
  private dlq!: DeadLetterQueue;
  private ingestLog: IngestLog | null = null;
  private store: CheckpointStore | null = null;
  private readonly sinks: Array<{ sink: OutputSink; wants: OutputFilter }> = [];
  private readonly listeners = new Map<OutputListener, OutputFilter | undefined>();
  private readonly sources: Array<Source | SyntheticSource> = [];
  private readonly fmt: FormatContext;
  private readonly log: (line: string, level?: LogLevel) => void;
  private seq = 1n;
  private maxTs = MIN_TS;
  private watermark = MIN_TS;
  private epoch = 1n;
  private lastInputAt = performance.now();
  private idleTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private checkpointing: Promise<void> | null = null;
  private checkpointId = 0;
  private loggedKeys = 0;
  private queue: Queued[] = [];
  private queuedRecords = 0;
  private paused = false;
  /** Backpressure time: total while not paused, plus since `pausedSince` while paused (performance.now ms). */
  private pausedMs = 0;
  private pausedSince = 0;
  /** Late outputs released, per operator index (the late side output, as the sinks see it). */
  private lateByOp: number[] = [];
  private closed = false;
  private failure: Error | null = null;
  private endedSources = 0;
  private endWaiters: Array<() => void> = [];
  /** Sink write errors already reported (on_failure: continue reports each once). */
  private readonly sinkErrors = new Set<string>();
  private readonly stats_ = { eventsIn: 0, rejected: 0, duplicates: 0, outputs: 0, alerts: 0, checkpoints: 0 } as { eventsIn: number; rejected: number; duplicates: number; outputs: number; alerts: number; checkpoints: number; lastCheckpoint?: PipelineStats['lastCheckpoint'] };
  /** Per producer id, the highest producer seq in the log: resends at or below it are duplicates. */
  readonly producers = new ProducerTable();
  /** Callbacks run synchronously when an epoch is released (before any later epoch is). */
  private readonly epochWaiters = new Map<bigint, Array<() => void>>();
  private released = 0n;
  /** Offset in the dead-letter file after the last dead letter emitted to the sinks. */
  private deadLettersEmitted = 0;

  constructor(readonly config: PipelineConfig, readonly options: PipelineOptions = {}) {
    this.plan = planPipeline(config, options.baseDir ?? process.cwd());
    this.mode = config.delivery.mode;
    this.log = options.log ?? ((l) => process.stderr.write(`ganglion: ${l}\n`));
    this.dataDir = resolve(options.dataDir ?? join('ganglion-data', config.name));
    this.dictionary = new KeyDictionary(keyLimits(config));
    this.batch = new RecordBatch(this.plan.fields.type.stride, 4096);
    this.wide = new RecordBatch(this.plan.stride, 4096);
    this.fmt = {
      operators: this.plan.meta,
      fields: this.plan.fields.all,
      keyName: (id) => this.dictionary.name(id) ?? `#${id}`,
    };
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async start(): Promise<void> {
    const cfg = this.config;
    let restored: Checkpoint | null = null;
    if (this.mode !== 'at_most_once') {
      makeDataDir(this.dataDir);
      const logDir = resolve(this.dataDir, cfg.delivery.log.dir);
      const checkpointDir = resolve(this.dataDir, cfg.delivery.checkpoint.dir);
      if (this.options.startOver) startOver(cfg, this.dataDir, [logDir, checkpointDir], this.log);
      this.store = new CheckpointStore(checkpointDir, cfg.delivery.checkpoint.keep);
      this.store.checkWritable();
      const skipped: string[] = [];
      restored = this.store.loadLatest((why) => { skipped.push(why); this.log(`skipping checkpoint: ${why}`); });
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
    }
    if (restored) {
      const d = restored.sections.get('dictionary');
      if (d) this.adoptDictionary(KeyDictionary.restore(d, keyLimits(cfg)));
      const pt = restored.sections.get('producers');
      if (pt) this.producers.restore(pt, `checkpoint ${restored.path}`);
      this.seq = BigInt(restored.meta.logSeq);
      this.maxTs = BigInt(restored.meta.maxTs as string);
      this.watermark = BigInt(restored.meta.watermark as string);
      this.epoch = BigInt(restored.meta.epoch as string) + 1n;
      this.checkpointId = restored.meta.id;
      this.loggedKeys = this.dictionary.size;
    } else if (this.ingestLog && this.ingestLog.nextSeq > 1n) {
      // A log without a checkpoint: everything in it is replayed from the start.
      this.seq = 1n;
    }

    this.decoder = new EventDecoder({
      type: this.plan.fields.type,
      keyFields: this.plan.fields.key,
      dictionary: this.dictionary,
      rules: validationRules(cfg),
      tsUnit: cfg.event_time.unit,
    });
    this.options.metrics?.setKeyDictionary(() => this.dictionary);
    this.dlq = new DeadLetterQueue({ path: this.deadLetterPath });
    if (this.dlq.tornBytes > 0) this.log(`dead-letter file: cut a torn last line of ${this.dlq.tornBytes} bytes`);

    const auto = autoPartitions();
    const inline = this.options.partitions === undefined && (cfg.partitions === 'inline' || (cfg.partitions === 'auto' && auto.inline));
    const partitionCount = this.options.partitions ?? (cfg.partitions === 'auto' ? auto.count : cfg.partitions === 'inline' ? 1 : cfg.partitions);
    const states = restored ? Array.from({ length: partitionCount }, (_, p) => this.plan.operators.map((_, o) => {
      const s = restored!.sections.get(`p${p}/op${o}`);
      if (!s) throw new Error(`checkpoint ${restored!.path} has no state for partition ${p} operator ${o}: was it written with another partition count or pipeline?`);
      return s;
    })) : undefined;
    if (restored && (restored.meta.partitions as number) !== partitionCount) {
      throw new Error(`checkpoint ${restored.path} was taken with ${restored.meta.partitions as number} partitions, the pipeline now has ${partitionCount}: keys would move between partitions; restore with the same partition count`);
    }
    // The sink and source modules load while the partition workers boot.
    void import('./sinks.js').then((m) => m.preloadSinks(cfg)).catch(() => undefined);
    if (!this.options.noSources) void import('./sources.js').then((m) => m.preloadSources(cfg)).catch(() => undefined);
    this.partitions = await PartitionSet.start({
      partitions: partitionCount,
      inline,
      memoryBytes: cfg.memory,
      catchUp: { outOfOrderNs: cfg.event_time.out_of_orderness },
      program: {
        fieldCount: this.plan.fieldCount,
        operators: this.plan.operators,
        engine: this.options.engine ?? 'wasm',
        maxBatch: this.options.maxBatch ?? 1024,
        ...(states ? { restore: states } : {}),
        checkpoints: this.mode !== 'at_most_once',
      },
    });
    this.partitions.on('error', (e: Error) => this.fail(e));
    this.partitions.onPressure((paused) => this.onPressure(paused));
    // Epochs up to the checkpoint's were released before it was taken: a
    // drain with nothing new since must not wait for them (it would hang, and
    // with inline partitions Node exits 13 with the shutdown unfinished).
    this.released = this.epoch - 1n;
    this.merger = new EpochMerger(partitionCount, this.epoch, (r) => this.release(r));
    this.partitions.on('output', (b: { partition: number; bytes: Uint8Array; count: number }) => this.merger.push(b.partition, b.bytes, b.count));
    this.lateByOp = this.plan.meta.map(() => 0);
    if (this.options.metrics) this.installCollector(this.options.metrics);

    await this.openSinks(restored);
    if (this.ingestLog) this.reemitDeadLetters(restored);
    if (this.ingestLog) await this.replayLog();
    this.installTimers();
    if (!this.options.noSources) await this.startSources();
  }

  /** Pushes every event accepted so far through, fires what the watermark allows, flushes sinks. */
  async drain(): Promise<void> {
    await this.flushQueue();
    await this.waitEpoch(this.epoch - 1n);
    await Promise.all(this.sinks.map(({ sink }) => sink.flush()));
  }

  /**
   * End of input (a bounded replay or feed): the watermark jumps to the end of
   * time so every open window fires, then everything drains.
   */
  async finish(): Promise<void> {
    await this.flushQueue();
    this.advanceWatermark(FINAL_WATERMARK, true);
    await this.drain();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    await Promise.all(this.sources.map((s) => s.close().catch((e: Error) => this.log(`closing source ${s.name}: ${e.message}`))));
    if (!this.failure) {
      // Outputs that never reached a sink: the run failed (exit non-zero), whatever stopped it.
      await this.drain().catch((e: Error) => this.fail(e));
      await this.checkpointing?.catch(() => undefined);
      // A final checkpoint: a clean restart then replays nothing.
      if (this.store && !this.failure) {
        await this.checkpoint().then(
          () => { if (!this.failure) this.log(`final checkpoint ${this.checkpointId} at seq ${this.ingestLog!.nextSeq}: a restart replays nothing`, 'info'); },
          (e: Error) => this.log(`final checkpoint: ${e.message}`),
        );
      }
    }
    await this.partitions?.drain().catch((e: Error) => this.log(`partitions: ${e.message}`));
    await Promise.all(this.sinks.map(({ sink }) => sink.close().catch((e: Error) => (this.failure ? this.log(`closing sink ${sink.name}: ${e.message}`) : this.fail(e)))));
    this.dlq?.close();
    await this.ingestLog?.close();
  }

  // ───────────────────────────── input ─────────────────────────────

  /** `wants`: which outputs this listener takes (default all); others are never even formatted for it. */
  subscribe(listener: OutputListener, wants?: OutputFilter): () => void {
    this.listeners.set(listener, wants);
    return () => this.listeners.delete(listener);
  }

  /** Library path: events as objects (field names as in the schema; ts as bigint ns or per event_time.unit). */
  push(events: InputEvent | InputEvent[]): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    const text = JSON.stringify(list, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    return new Promise((resolveAck, reject) => {
      this.onFrame({ data: Buffer.from(text), binary: false, origin: 'library', receivedAtNs: nowNs() }, (ok, info) => {
        if (ok || (info?.count ?? 0) > 0 || (info?.rejected ?? 0) > 0) resolveAck(); else reject(new Error(info?.reason ?? 'rejected'));
      });
    });
  }

  /** A raw frame, as a network source would deliver it. */
  pushFrame(frame: Frame): Promise<{ accepted: number; rejected: number }> {
    return new Promise((res) => this.onFrame(frame, (_ok, info) => res({ accepted: info?.count ?? 0, rejected: info?.rejected ?? 0 })));
  }

  /**
   * `source`: the configured source name the frame came through, the label
   * of its metrics (bounded, unlike `frame.origin`, which names the
   * connection); frames pushed by the library count as 'library'.
   */
  onFrame(frame: Frame, ack: Ack, source = 'library'): void {
    if (this.failure) { ack(false, { reason: this.failure.message, retry: true }); return; }
    if (frame.invalid) {
      this.deadLetter(frame, { ...frame.invalid, index: -1, raw: frame.data });
      this.stats_.rejected++;
      ack(false, { count: 0, rejected: 0, reason: frame.invalid.reason });
      return;
    }
    const producer: ProducerMark | undefined = frame.producer !== undefined && frame.producerSeq !== undefined ? { id: frame.producer, seq: frame.producerSeq } : undefined;
    if (producer && this.producers.isDuplicate(producer.id, producer.seq)) { this.duplicate(frame, ack); return; }
    this.batch.reset();
    const { accepted, rejects } = this.decoder.decode(frame.data, frame.binary, this.batch, frame.receivedAtNs);
    if (rejects.length > 0 && this.config.validation.on_invalid === 'reject') {
      // validation.on_invalid: reject: the frame goes back to its producer whole,
      // with the first problem; nothing of it is ingested or dead-lettered.
      this.stats_.rejected += rejects.length;
      ack(false, { count: 0, rejected: accepted + rejects.length, reason: `${rejects.length} of ${accepted + rejects.length} events invalid (validation.on_invalid: reject), first: ${rejects[0].reason}` });
      return;
    }
    for (const r of rejects) this.deadLetter(frame, r);
    this.stats_.rejected += rejects.length;
    if (accepted === 0) {
      const answer = () => ack(rejects.length === 0, { count: 0, rejected: rejects.length, ...(rejects[0] ? { reason: rejects[0].reason } : {}) });
      if (!producer) { answer(); return; }
      // Nothing to log, but the producer's mark moves all the same (its own
      // entry), so a resend of this frame is not dead-lettered a second time.
      this.producers.record(producer.id, producer.seq, Date.now());
      if (!this.ingestLog) { answer(); return; }
      this.ingestLog.appendProducer(producer).then(answer, (e: Error) => { ack(false, { count: 0, rejected: rejects.length, reason: e.message, retry: true }); this.fail(e); });
      return;
    }
    this.accept(source, this.batch, frame.receivedAtNs, (refused) => (refused
      // Not durable (a full disk): refused, so the producer keeps the frame and resends it.
      ? ack(false, { count: 0, rejected: accepted + rejects.length, reason: refused.message, retry: true })
      : ack(true, { count: accepted, rejected: rejects.length })), producer);
  }

  /** A resend of a frame already logged: acknowledged again once the original is durable, never ingested twice. */
  private duplicate(frame: Frame, ack: Ack): void {
    this.stats_.duplicates++;
    this.options.metrics?.addDuplicateFrames(1);
    const again = () => ack(true, { count: 0, rejected: 0, duplicate: true });
    if (!this.ingestLog) { again(); return; }
    // Not durable after all (a full disk): refused, so the producer resends it.
    this.ingestLog.settled().then(again, (e: Error) => { ack(false, { count: 0, rejected: 0, reason: e.message, retry: true }); this.fail(e); });
  }

  /** A frame a source refused unread (too large, not UTF-8): a dead letter and a count, like any rejected frame. */
  onRefused(r: RefusedFrame): void {
    this.stats_.rejected++;
    const raw = r.data ?? new Uint8Array(0);
    // Bad UTF-8 is kept as bytes (base64), not decoded into replacement characters.
    const binary = r.binary || r.reason === 'invalid_utf8';
    this.deadLetter({ data: raw, binary, origin: r.origin, receivedAtNs: r.receivedAtNs }, { code: r.reason, reason: r.detail, index: -1, raw });
  }

  /** Records already in ring layout (the synthetic feed, file replays of records). */
  ingestRecords(origin: string, batch: RecordBatch, receivedAtNs: bigint): boolean {
    this.accept(origin, batch, receivedAtNs, () => undefined);
    return !this.paused;
  }

  /**
   * Records read back from an ingest log (`ganglion replay --from/--to`): in
   * the pipeline's own record layout, with their original seqs, so the
   * outputs carry the ids they had the first time. Never logged again.
   */
  replayRecords(batch: RecordBatch, receivedAtNs: bigint): void {
    if (batch.stride !== this.plan.stride) throw new Error(`replayed records are ${batch.stride} bytes, this pipeline's are ${this.plan.stride}: was the log written by another pipeline?`);
    if (this.ingestLog) throw new Error('replayRecords is for pipelines without an ingest log (at_most_once)');
    this.stats_.eventsIn += batch.count;
    const item: Queued = { bytes: batch.records().slice(), count: batch.count, receivedAtNs };
    if (this.paused || this.queue.length) { this.queue.push(item); this.queuedRecords += item.count; }
    else this.dispatch(item);
  }

  /** Resolves once backpressure lets more input in. */
  whenAccepting(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.paused || this.queue.length ? this.flushQueue() : Promise.resolve();
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

  private accept(origin: string, batch: RecordBatch, receivedAtNs: bigint, acked: (refused?: Error) => void, producer?: ProducerMark): void {
    const records = this.widen(batch);
    const count = batch.count;
    this.stats_.eventsIn += count;
    this.options.metrics?.addEvents(origin, count);
    this.lastInputAt = performance.now();
    let durable: Promise<void> | null = null;
    if (producer) this.producers.record(producer.id, producer.seq, Date.now());
    if (this.ingestLog) {
      this.logNewKeys();
      durable = this.ingestLog.appendRecords(records, count, this.plan.stride, producer).durable;
      this.seq = this.ingestLog.nextSeq;
    } else {
      const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
      for (let i = 0; i < count; i++) view.setBigUint64(i * this.plan.stride + IN_SEQ, this.seq++, true);
    }
    if (this.mode === 'at_most_once' || !durable) acked();
    else durable.then(() => acked(), (e: Error) => { acked(e); this.fail(e); });
    const item: Queued = { bytes: this.paused || this.queue.length ? records.slice() : records, count, receivedAtNs };
    if (this.paused || this.queue.length) {
      this.queue.push(item);
      this.queuedRecords += count;
      return;
    }
    this.dispatch(item);
  }

  /** Copies decoded records into the pipeline's wider layout (enrichment slots) and fills derived fields. */
  private widen(batch: RecordBatch): Uint8Array {
    const derived = this.plan.fields.derived;
    const from = batch.stride, to = this.plan.stride;
    if (from === to && derived.length === 0) return batch.records();
    let out: Uint8Array, view: DataView;
    if (from === to) {
      out = batch.records();
      view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    } else {
      this.wide.reset();
      this.wide.ensure(batch.count);
      out = this.wide.bytes.subarray(0, batch.count * to);
      // Word copy: set() per record costs more than the copy for records this small.
      const src = new Float64Array(batch.bytes.buffer, batch.bytes.byteOffset, (batch.count * from) >> 3);
      const dst = new Float64Array(out.buffer, out.byteOffset, (batch.count * to) >> 3);
      const fw = from >> 3, tw = to >> 3;
      for (let i = 0; i < batch.count; i++) {
        let s = i * fw, d = i * tw;
        for (let w = 0; w < fw; w++) dst[d++] = src[s++];
        for (let w = fw; w < tw; w++) dst[d++] = NaN;
      }
      view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      this.wide.count = batch.count;
    }
    for (let i = 0; i < batch.count; i++) {
      const at = i * to + IN_FIELDS;
      for (const d of derived) view.setFloat64(at + 8 * d.field, view.getFloat64(at + 8 * d.multiply[0], true) * view.getFloat64(at + 8 * d.multiply[1], true), true);
    }
    return out;
  }

  private logNewKeys(): void {
    const size = this.dictionary.size;
    if (size === this.loggedKeys) return;
    const keys: Array<[number, string]> = [];
    for (let id = this.loggedKeys + 1; id <= size; id++) keys.push([id, this.dictionary.name(id)!]);
    this.loggedKeys = size;
    this.ingestLog!.appendKeys(keys).catch((e: Error) => this.fail(e));
  }

  /**
   * Into the partitions, then the epoch-closing watermark; at most
   * DISPATCH_SLICE records at a time, so a big frame never overruns the
   * partitions' staging: once they push back, the rest waits in the queue.
   * A partition refusing records is a failure of the pipeline, never a drop.
   */
  private dispatch(item: Queued): void {
    try {
      if (item.count <= DISPATCH_SLICE) { this.dispatchSlice(item); return; }
      const stride = this.plan.stride;
      for (let from = 0; from < item.count; from += DISPATCH_SLICE) {
        const n = Math.min(DISPATCH_SLICE, item.count - from);
        this.dispatchSlice({ bytes: item.bytes.subarray(from * stride, (from + n) * stride), count: n, receivedAtNs: item.receivedAtNs });
        if (this.paused && from + n < item.count) {
          const rest = item.bytes.slice((from + n) * stride, item.count * stride);
          this.queue.unshift({ bytes: rest, count: item.count - from - n, receivedAtNs: item.receivedAtNs });
          this.queuedRecords += item.count - from - n;
          return;
        }
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private dispatchSlice(item: Queued): void {
    const view = new DataView(item.bytes.buffer, item.bytes.byteOffset, item.bytes.byteLength);
    const stride = this.plan.stride;
    // Max event time of the batch, compared as (hi, lo) words: one BigInt per batch, not per event.
    let hi = -0x80000000, lo = 0, at = -1;
    for (let i = 0; i < item.count; i++) {
      const h = view.getInt32(i * stride + IN_TS + 4, true);
      if (h < hi) continue;
      const l = view.getUint32(i * stride + IN_TS, true);
      if (h > hi || l > lo) { hi = h; lo = l; at = i; }
    }
    if (at >= 0) {
      const ts = view.getBigInt64(at * stride + IN_TS, true);
      if (ts > this.maxTs) this.maxTs = ts;
    }
    this.partitions.pushRecords(item.bytes, item.count);
    this.closeEpoch(item.receivedAtNs, this.maxTs - this.config.event_time.out_of_orderness, item.untimed ? 0 : item.count);
  }

  /** `events`: input events of the batch this epoch closes, each recorded with the epoch's latency. */
  private closeEpoch(receivedAtNs: bigint, watermark: bigint, events = 0): void {
    if (watermark > this.watermark) this.watermark = watermark;
    const e = this.epoch++;
    this.merger.opened(e, receivedAtNs, events);
    this.partitions.watermark(this.watermark, e);
  }

  /** Idle timeout and end of input: the watermark moves without events; logged so a replay moves it identically. */
  private advanceWatermark(to: bigint, final = false): void {
    if (to <= this.watermark && !final) return;
    if (this.ingestLog) this.ingestLog.appendWatermark(to);
    this.closeEpoch(nowNs(), to);
  }

  private onPressure(paused: boolean): void {
    if (paused && !this.paused) this.pausedSince = performance.now();
    if (!paused && this.paused) this.pausedMs += performance.now() - this.pausedSince;
    this.paused = paused;
    for (const s of this.sources) (paused ? s.pause() : s.resume());
    if (!paused) void this.flushQueue();
  }

  private async flushQueue(): Promise<void> {
    while (this.queue.length && !this.paused && !this.failure) {
      const item = this.queue.shift()!;
      this.queuedRecords -= item.count;
      this.dispatch(item);
    }
    if (this.failure) throw this.failure;
    if (this.queue.length) await this.resumedOrFailed().then(() => this.flushQueue());
  }

  /** Resolves on the partitions' next 'resume', or at once when the pipeline fails (waiters must not hang). */
  private resumedOrFailed(): Promise<void> {
    return new Promise<void>((r) => {
      const done = () => { this.partitions.off('resume', done); this.failWaiters.delete(done); r(); };
      this.partitions.once('resume', done);
      this.failWaiters.add(done);
    });
  }
  private readonly failWaiters = new Set<() => void>();

  // ───────────────────────────── output ─────────────────────────────

  private release(r: EpochRelease): void {
    const latencyNs = r.receivedAtNs === undefined ? undefined : Number(nowNs() - r.receivedAtNs);
    // One value per input event: each event of the batch waited exactly this long.
    if (latencyNs !== undefined && r.events > 0) this.options.metrics?.recordLatencyNs(latencyNs, r.events);
    for (const bytes of r.records) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let at = 0; at < bytes.length; at += OUT_BYTES) {
        const kind = KIND_NAMES[view.getUint32(at + OUT_KIND, true)];
        const opIndex = view.getUint32(at + OUT_OP, true);
        const meta = this.plan.meta[opIndex];
        if (kind === 'late') this.lateByOp[opIndex]++;
        const alert = isAlertRecord(view, at, meta);
        if (!alert && meta.alertsOnly) continue;
        this.stats_.outputs++;
        if (alert) this.stats_.alerts++;
        if (this.options.metrics) {
          this.options.metrics.addOutputs(meta.name, 1);
          if (alert) this.options.metrics.addAlerts(meta.name, 1);
        }
        // Never format an output nobody takes (a window result with no sink
        // or subscriber for it): at a window boundary that is most of them.
        if (!this.wanted(meta.name, kind)) continue;
        this.emit(formatOutput(readOutput(view, at), this.fmt), latencyNs);
      }
    }
    this.released = r.epoch;
    const waiters = [...this.epochWaiters.entries()].filter(([e]) => e <= r.epoch);
    for (const [e, ws] of waiters) { this.epochWaiters.delete(e); for (const w of ws) w(); }
  }

  private wanted(op: string, kind: OutputKind): boolean {
    for (const s of this.sinks) if (s.wants(op, kind)) return true;
    for (const w of this.listeners.values()) if (!w || w(op, kind)) return true;
    return false;
  }

  /**
   * Latency is a wall-clock figure: live consumers get it, but the file sinks
   * of an exactly-once pipeline do not, so a recovered run writes the very
   * same bytes as an uninterrupted one.
   */
  private emit(plain: OutputEvent, latencyNs: number | undefined): void {
    const out = latencyNs === undefined ? plain : ({ ...plain, latency_ns: Math.round(latencyNs) } as OutputEvent);
    const op = 'op' in plain ? plain.op : '';
    const deterministic = this.mode === 'exactly_once';
    for (const { sink, wants } of this.sinks) {
      if (!wants(op, plain.kind)) continue;
      try { sink.write(deterministic && isPositioned(sink) ? plain : out); } catch (e) { this.sinkFailed(e as Error); }
    }
    let json: string | undefined;
    for (const [l, w] of this.listeners) if (!w || w(op, plain.kind)) l(out, (json ??= serializeOutput(out)));
  }

  private deadLetter(frame: Frame, r: Parameters<DeadLetterQueue['reject']>[1]): void {
    const added = this.dlq.reject(frame, r, this.seq);
    this.options.metrics?.addDeadLetters(r.code, 1);
    // After the outputs of the last closed epoch, like any output of this
    // frame would be: a replay emits dead letters at the same place.
    this.atEpoch(this.epoch - 1n, () => this.emitDeadLetter(added));
  }

  /** Dead letters go to the sinks and subscribers like every other output; `deadLettersEmitted` is what a checkpoint commits. */
  private emitDeadLetter(added: AddedDeadLetter): void {
    this.deadLettersEmitted = added.end;
    if (this.wanted('', 'dead_letter')) this.emit(added.entry, undefined);
  }

  /**
   * The file sinks were cut back to the checkpoint, which also lost the dead
   * letters written to them after it; those are not in the ingest log, so
   * they are sent again from the dead-letter file (same ids).
   */
  private reemitDeadLetters(restored: Checkpoint | null): void {
    const from = restored ? (restored.meta.deadLetters as number | undefined) : this.ingestLog!.nextSeq > 1n ? 0 : undefined;
    if (from === undefined || !this.deadLetterPath) return;
    let n = 0;
    for (const added of readDeadLetters(this.deadLetterPath, from)) { this.emitDeadLetter(added); n++; }
    if (n > 0) this.log(`recovered: sent ${n} dead letters again (after the checkpoint)`);
  }

  private get deadLetterPath(): string | undefined {
    return this.mode === 'at_most_once' && !this.options.dataDir ? undefined : resolve(this.dataDir, 'dead-letters.jsonl');
  }

  private waitEpoch(epoch: bigint): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((res, rej) => this.atEpoch(epoch, () => (this.failure ? rej(this.failure) : res())));
  }

  /** Runs `fn` synchronously once `epoch` is released: at once if it already was. */
  private atEpoch(epoch: bigint, fn: () => void): void {
    if (epoch <= this.released) { fn(); return; }
    const list = this.epochWaiters.get(epoch) ?? [];
    list.push(fn);
    this.epochWaiters.set(epoch, list);
  }

  // ───────────────────────────── checkpoints ─────────────────────────────

  /** Takes a checkpoint now (also on the configured interval). Resolves when it is durable. */
  checkpoint(): Promise<void> {
    if (!this.store || !this.ingestLog) return Promise.reject(new Error(`pipeline ${this.config.name} runs at_most_once: it takes no checkpoints`));
    if (this.checkpointing) return this.checkpointing;
    this.checkpointing = this.takeCheckpoint().finally(() => { this.checkpointing = null; });
    return this.checkpointing;
  }

  private async takeCheckpoint(): Promise<void> {
    await this.flushQueue();
    const id = ++this.checkpointId;
    const started = performance.now();
    const epoch = this.epoch - 1n;
    const meta = {
      id, createdAt: new Date().toISOString(), logSeq: this.ingestLog!.nextSeq.toString(),
      maxTs: this.maxTs.toString(), watermark: this.watermark.toString(), epoch: epoch.toString(),
      partitions: this.partitions.count, pipeline: this.config.name, sinks: {} as Record<string, unknown>, deadLetters: 0,
    };
    const dictionary = this.dictionary.snapshot();
    // Taken with logSeq, so it covers exactly the frames logged before it.
    const expiry = this.config.delivery.producer_expiry;
    if (expiry > 0n) this.producers.expire(Date.now() - Number(expiry / 1_000_000n));
    const producers = this.producers.snapshot();
    // The sinks' committed positions are exactly the outputs of epochs ≤
    // `epoch`: taken synchronously as that epoch is released, before any later.
    // position() flushes: a sink that cannot write (a full disk) fails this checkpoint, never commits a position past its file.
    const positioned = new Promise<Error | null>((res) => this.atEpoch(epoch, () => {
      try {
        for (const { sink } of this.sinks) if (isPositioned(sink)) meta.sinks[sink.name] = sink.position();
        meta.deadLetters = this.deadLettersEmitted;
        res(null);
      } catch (e) { res(e as Error); }
    }));
    const snaps = await this.partitions.barrier(id, this.watermark);
    const pauseMs = Math.max(...snaps.map((s) => s.pauseMs));
    const sinkError = await positioned;
    if (this.failure) throw this.failure;
    const sections = new Map<string, Uint8Array>([['dictionary', dictionary], ['producers', producers]]);
    for (const snap of snaps) snap.states.forEach((st, o) => sections.set(`p${snap.partition}/op${o}`, st));
    try {
      if (sinkError) throw sinkError;
      await this.ingestLog!.sync();
      const w = await this.store!.write(meta, sections);
      this.stats_.checkpoints++;
      this.stats_.lastCheckpoint = { id, ms: performance.now() - started, bytes: w.bytes, pauseMs };
      this.options.metrics?.recordCheckpoint({ durationMs: performance.now() - started, bytes: w.bytes, ok: true });
      this.ingestLog!.applyRetention(BigInt(meta.logSeq));
    } catch (e) {
      this.options.metrics?.recordCheckpoint({ durationMs: performance.now() - started, bytes: 0, ok: false });
      this.checkpointFailed(e as Error);
    }
  }

  /** A checkpoint that could not be taken: delivery.checkpoint.on_failure decides. */
  private checkpointFailed(e: Error): void {
    if (this.failure) return;
    if (this.config.delivery.checkpoint.on_failure === 'stop') {
      this.fail(new Error(`${e.message}; stopping (delivery.checkpoint.on_failure: stop)`));
    } else {
      this.log(`${e.message}; continuing without this checkpoint (on_failure: continue)`);
    }
  }

  /**
   * A sink write failed (the sink keeps what it could not write and retries
   * on its next flush). on_failure: stop ends the run with the error; continue
   * goes on, and no checkpoint commits until the sink writes again.
   */
  private sinkFailed(e: Error): void {
    if (this.failure) return;
    if ((e as { fatal?: boolean }).fatal) this.fail(e);
    else if (this.config.delivery.checkpoint.on_failure === 'stop') {
      this.fail(new Error(`${e.message}; stopping (delivery.checkpoint.on_failure: stop)`));
    } else if (!this.sinkErrors.has(e.message.split(';')[0])) {
      this.sinkErrors.add(e.message.split(';')[0]);
      this.log(`${e.message}; continuing, the sink retries on its next flush (on_failure: continue)`);
    }
  }

  private installTimers(): void {
    const idle = this.config.event_time.idle_timeout;
    if (idle > 0n) {
      const idleMs = Number(idle / 1_000_000n);
      this.idleTimer = setInterval(() => {
        const quiet = performance.now() - this.lastInputAt;
        if (quiet < idleMs || this.maxTs === MIN_TS) return;
        // Quiet feed: the watermark follows the wall clock past the last event.
        this.advanceWatermark(this.maxTs + BigInt(Math.round((quiet - idleMs) * 1e6)));
      }, Math.max(10, Math.min(1000, idleMs / 4)));
      this.idleTimer.unref();
    }
    const interval = this.config.delivery.checkpoint.interval;
    if (this.store && interval > 0n) {
      this.checkpointTimer = setInterval(() => { this.checkpoint().catch((e: Error) => this.checkpointFailed(e)); }, Number(interval / 1_000_000n));
      this.checkpointTimer.unref();
    }
  }

  // ───────────────────────────── recovery ─────────────────────────────

  private adoptDictionary(d: KeyDictionary): void {
    (this as unknown as { dictionary: KeyDictionary }).dictionary = d;
  }

  /** Replays the log from the checkpoint's seq (or its start) exactly as it was first processed. */
  private async replayLog(): Promise<void> {
    const from = this.seq;
    const total = Number(this.ingestLog!.nextSeq - from);
    const progress = (done: boolean) => this.options.onRecovery?.({ checkpoint: this.checkpointId || null, replayed, total, done });
    let replayed = 0;
    if (total > 0) this.log(`recovering: replaying ${total} events from the ingest log (seq ${from} on, ${this.checkpointId ? `after checkpoint ${this.checkpointId}` : 'no checkpoint'})`, 'info');
    progress(false);
    // The event loop gets a turn now and then, so /health and /ready answer during a long replay.
    let yielded = performance.now();
    for (const e of this.ingestLog!.read(from)) {
      if (e.kind === ENTRY_KEYS) {
        for (const [id, key] of JSON.parse(Buffer.from(e.payload).toString('utf8')) as Array<[number, string]>) {
          const got = this.dictionary.intern(key);
          if (got !== id) throw new Error(`ingest log: key '${key}' was id ${id} when logged but ${got} on replay (dictionary and log disagree)`);
        }
        this.loggedKeys = this.dictionary.size;
      } else if (e.kind === ENTRY_RECORDS) {
        if (e.producer) this.producers.record(e.producer.id, e.producer.seq, Number(e.appendedNs / 1_000_000n));
        this.dispatch({ bytes: e.payload.slice(), count: e.count, receivedAtNs: nowNs(), untimed: true });
        replayed += e.count;
        // Backpressure, and the rest of a big entry that dispatch queued, before the next entry.
        while ((this.paused || this.queue.length) && !this.failure) await (this.queue.length ? this.flushQueue() : this.resumedOrFailed());
        if (this.failure) throw this.failure;
      } else if (e.kind === ENTRY_PRODUCER) {
        if (e.producer) this.producers.record(e.producer.id, e.producer.seq, Number(e.appendedNs / 1_000_000n));
      } else if (e.kind === ENTRY_WATERMARK) {
        const view = new DataView(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength);
        this.closeEpoch(nowNs(), view.getBigInt64(0, true));
      }
      if (performance.now() - yielded > 250) {
        progress(false);
        await new Promise((r) => setImmediate(r));
        yielded = performance.now();
      }
    }
    this.seq = this.ingestLog!.nextSeq;
    progress(true);
    if (replayed) this.log(`recovered: replayed ${replayed} events from seq ${from}`, 'info');
    else if (this.checkpointId) this.log(`resumed from checkpoint ${this.checkpointId}: nothing to replay`, 'info');
  }

  // ───────────────────────────── sources and sinks ─────────────────────────────

  private async openSinks(restored: Checkpoint | null): Promise<void> {
    const { openSinks } = await import('./sinks.js');
    const sinks = await openSinks(this.config, this.dataDir);
    this.sinks.push(...sinks, ...(this.options.sinks ?? []).map((sink) => ({ sink, wants: () => true })));
    const positions = (restored?.meta.sinks ?? {}) as Record<string, unknown>;
    for (const { sink: s } of this.sinks) {
      if (!isPositioned(s)) continue;
      const pos = positions[s.name];
      if (restored && pos) s.truncate(pos as ReturnType<JsonlSink['position']>);
      else if (restored === null && this.ingestLog && this.ingestLog.nextSeq > 1n) s.truncate({ segment: 0, bytes: 0 });
    }
  }

  private async startSources(): Promise<void> {
    const { openSources } = await import('./sources.js');
    // Replayable sources (the synthetic feed) resume after what the log holds.
    // Each source joins this.sources as it starts, so backpressure reaches it
    // even while later sources are still starting.
    await openSources(this.config, this, Number(this.seq - 1n), (s) => {
      this.sources.push(s);
      this.options.metrics?.addEvents(s.name, 0);
      if (this.paused) s.pause();
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
      const operators = this.plan.meta.map((m, i) => ({ name: m.name, keys: 0, bytes: 0, evictions: 0, late: this.lateByOp[i], dropped: 0 }));
      for (const s of this.partitions.operatorStats()) {
        const o = operators[s.op];
        o.keys += s.keys;
        o.bytes += s.bytes;
        o.evictions += s.evictions;
        o.dropped += s.dropped;
      }
      const pausedSeconds = (this.pausedMs + (this.paused ? performance.now() - this.pausedSince : 0)) / 1000;
      return {
        rings: this.partitions.metrics().map((p) => ({ partition: p.partition, capacity: p.inputCapacity, used: p.inputFill, blockedNs: p.blockedMs * 1e6 })),
        operators,
        sources: this.sources.map((s) => ({ name: s.name, paused: this.paused, pausedSeconds })),
      };
    });
  }

  stats(): PipelineStats {
    return {
      ...this.stats_, paused: this.paused, queuedBatches: this.queue.length,
      logSeq: (this.ingestLog?.nextSeq ?? this.seq).toString(),
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
    for (const ws of this.epochWaiters.values()) for (const w of ws) w();
    this.epochWaiters.clear();
    for (const w of this.endWaiters.splice(0)) w();
    for (const w of [...this.failWaiters]) w();
    this.onFailure?.(e);
  }

  /** Set by the CLI to exit non-zero when the pipeline cannot go on. */
  onFailure?: (e: Error) => void;

  /** Internal: sources.ts needs the pipeline's decoding view. */
  get recordType() { return this.plan.fields.type; }
  intern(s: string): number { return this.dictionary.intern(s); }
}

function keyLimits(cfg: PipelineConfig): Partial<KeyLimits> {
  const k = (cfg as Partial<PipelineConfig>).key_dictionary; // absent in hand-built configs: the defaults
  return k ? { maxKeys: k.max_keys, maxKeyBytes: k.max_key_bytes, maxBytes: k.max_bytes } : {};
}

function isPositioned(s: OutputSink): s is OutputSink & Pick<JsonlSink, 'position' | 'truncate'> {
  return typeof (s as Partial<JsonlSink>).position === 'function' && typeof (s as Partial<JsonlSink>).truncate === 'function';
}

