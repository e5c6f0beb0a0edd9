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
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PipelineConfig, InputEvent } from '../config/types.js';
import { validationRules } from '../config/types.js';
import { EventDecoder } from '../codec/decoder.js';
import { RecordBatch } from '../codec/record_batch.js';
import { KeyDictionary } from '../codec/key_dictionary.js';
import { DeadLetterQueue } from '../ingest/dead_letter.js';
import type { Ack, Frame, FrameSink, RefusedFrame, Source } from '../ingest/source.js';
import { IngestLog, ENTRY_KEYS, ENTRY_RECORDS, ENTRY_WATERMARK, ENTRY_PRODUCER, type ProducerMark } from '../log/ingest_log.js';
import { ProducerTable } from '../ingest/producers.js';
import { CheckpointStore, type Checkpoint } from '../checkpoint/checkpoint_store.js';
import { PartitionSet } from '../partition/partition_set.js';
import { autoPartitions } from '../partition/hash.js';
import { formatOutput, formatDeadLetter, serializeOutput, KIND_NAMES, type FormatContext, type OutputEvent, type OutputKind } from '../output/format.js';
import type { OutputSink } from '../sinks/output_sink.js';
import { IN_TS, IN_SEQ, IN_FIELDS, OUT_BYTES, OUT_KIND, OUT_OP, OUT_VALUES, readOutput } from '../records.js';
import type { Engine } from '../operators/operator.js';
import { receiveNowNs as nowNs } from '../ingest/receive_clock.js';
import { EpochMerger, type EpochRelease } from './epochs.js';
import { planPipeline, type PipelinePlan } from './plan.js';
import { SyntheticSource } from './synthetic_source.js';
import type { Metrics } from '../metrics/metrics.js';
import type { JsonlSink } from '../sinks/jsonl_sink.js';

/** Far enough in the future to close every window, small enough for i64 arithmetic. */
export const FINAL_WATERMARK = 1n << 62n;
const MIN_TS = -(1n << 63n);

export interface PipelineOptions {
  /** Where the ingest log, checkpoints and dead letters live (default ./ganglion-data/<name>). */
  dataDir?: string;
  /** Relative model paths are resolved against this (default: cwd). */
  baseDir?: string;
  /** Operational messages (recovery, checkpoint failures). Default: stderr. */
  log?: (line: string) => void;
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
  partitions: ReturnType<PartitionSet['metrics']>;
}

interface Queued { bytes: Uint8Array; count: number; receivedAtNs: bigint }

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
  private readonly log: (line: string) => void;
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
  private closed = false;
  private failure: Error | null = null;
  private endedSources = 0;
  private endWaiters: Array<() => void> = [];
  private readonly stats_ = { eventsIn: 0, rejected: 0, duplicates: 0, outputs: 0, alerts: 0, checkpoints: 0 } as { eventsIn: number; rejected: number; duplicates: number; outputs: number; alerts: number; checkpoints: number; lastCheckpoint?: PipelineStats['lastCheckpoint'] };
  /** Per producer id, the highest producer seq in the log: resends at or below it are duplicates. */
  readonly producers = new ProducerTable();
  /** Callbacks run synchronously when an epoch is released (before any later epoch is). */
  private readonly epochWaiters = new Map<bigint, Array<() => void>>();
  private released = 0n;

  constructor(readonly config: PipelineConfig, readonly options: PipelineOptions = {}) {
    this.plan = planPipeline(config, options.baseDir ?? process.cwd());
    this.mode = config.delivery.mode;
    this.log = options.log ?? ((l) => process.stderr.write(`ganglion: ${l}\n`));
    this.dataDir = resolve(options.dataDir ?? join('ganglion-data', config.name));
    this.dictionary = new KeyDictionary();
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
      mkdirSync(this.dataDir, { recursive: true });
      this.store = new CheckpointStore(resolve(this.dataDir, cfg.delivery.checkpoint.dir), cfg.delivery.checkpoint.keep);
      this.store.checkWritable();
      restored = this.store.loadLatest((why) => this.log(`skipping checkpoint: ${why}`));
      this.ingestLog = IngestLog.open(resolve(this.dataDir, cfg.delivery.log.dir), {
        segmentBytes: cfg.delivery.log.segment_size,
        retentionMs: Number(cfg.delivery.log.retention / 1_000_000n),
      });
      if (this.ingestLog.recovery.truncatedBytes > 0) this.log(`ingest log: cut a torn tail of ${this.ingestLog.recovery.truncatedBytes} bytes (${this.ingestLog.recovery.truncatedAt})`);
    }
    if (restored) {
      const d = restored.sections.get('dictionary');
      if (d) this.adoptDictionary(KeyDictionary.restore(d));
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
    this.dlq = new DeadLetterQueue({ path: this.mode === 'at_most_once' && !this.options.dataDir ? undefined : resolve(this.dataDir, 'dead-letters.jsonl') });

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

    await this.openSinks(restored);
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
      await this.drain().catch((e: Error) => this.log(`drain: ${e.message}`));
      await this.checkpointing?.catch(() => undefined);
    }
    await this.partitions?.drain().catch((e: Error) => this.log(`partitions: ${e.message}`));
    await Promise.all(this.sinks.map(({ sink }) => sink.close().catch((e: Error) => this.log(`closing sink ${sink.name}: ${e.message}`))));
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

  onFrame(frame: Frame, ack: Ack): void {
    if (this.failure) { ack(false, { reason: this.failure.message }); return; }
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
    for (const r of rejects) this.deadLetter(frame, r);
    this.stats_.rejected += rejects.length;
    if (accepted === 0) {
      const answer = () => ack(rejects.length === 0, { count: 0, rejected: rejects.length, ...(rejects[0] ? { reason: rejects[0].reason } : {}) });
      if (!producer) { answer(); return; }
      // Nothing to log, but the producer's mark moves all the same (its own
      // entry), so a resend of this frame is not dead-lettered a second time.
      this.producers.record(producer.id, producer.seq, Date.now());
      if (!this.ingestLog) { answer(); return; }
      this.ingestLog.appendProducer(producer).then(answer, (e: Error) => this.fail(e));
      return;
    }
    this.accept(frame.origin, this.batch, frame.receivedAtNs, () => ack(true, { count: accepted, rejected: rejects.length }), producer);
  }

  /** A resend of a frame already logged: acknowledged again once the original is durable, never ingested twice. */
  private duplicate(frame: Frame, ack: Ack): void {
    this.stats_.duplicates++;
    this.options.metrics?.addDuplicateFrames(1);
    const again = () => ack(true, { count: 0, rejected: 0, duplicate: true });
    if (!this.ingestLog) { again(); return; }
    this.ingestLog.settled().then(again, (e: Error) => this.fail(e));
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
    return this.paused || this.queue.length ? this.flushQueue() : Promise.resolve();
  }

  sourceEnded(origin: string): void {
    this.log(`source ${origin} ended`);
    this.endedSources++;
    for (const w of this.endWaiters.splice(0)) w();
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

  private accept(origin: string, batch: RecordBatch, receivedAtNs: bigint, acked: () => void, producer?: ProducerMark): void {
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
    else durable.then(acked, (e: Error) => this.fail(e));
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

  /** Into the partitions, then the epoch-closing watermark. */
  private dispatch(item: Queued): void {
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
    this.closeEpoch(item.receivedAtNs, this.maxTs - this.config.event_time.out_of_orderness);
  }

  private closeEpoch(receivedAtNs: bigint, watermark: bigint): void {
    if (watermark > this.watermark) this.watermark = watermark;
    const e = this.epoch++;
    this.merger.opened(e, receivedAtNs);
    this.partitions.watermark(this.watermark, e);
  }

  /** Idle timeout and end of input: the watermark moves without events; logged so a replay moves it identically. */
  private advanceWatermark(to: bigint, final = false): void {
    if (to <= this.watermark && !final) return;
    if (this.ingestLog) this.ingestLog.appendWatermark(to);
    this.closeEpoch(nowNs(), to);
  }

  private onPressure(paused: boolean): void {
    this.paused = paused;
    for (const s of this.sources) (paused ? s.pause() : s.resume());
    if (!paused) void this.flushQueue();
  }

  private async flushQueue(): Promise<void> {
    while (this.queue.length && !this.paused) {
      const item = this.queue.shift()!;
      this.queuedRecords -= item.count;
      this.dispatch(item);
    }
    if (this.queue.length) await new Promise<void>((r) => this.partitions.once('resume', () => r())).then(() => this.flushQueue());
  }

  // ───────────────────────────── output ─────────────────────────────

  private release(r: EpochRelease): void {
    const latencyNs = r.receivedAtNs === undefined ? undefined : Number(nowNs() - r.receivedAtNs);
    if (latencyNs !== undefined) this.options.metrics?.recordLatencyNs(latencyNs, Math.max(1, r.count));
    for (const bytes of r.records) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let at = 0; at < bytes.length; at += OUT_BYTES) {
        const kind = KIND_NAMES[view.getUint32(at + OUT_KIND, true)];
        const meta = this.plan.meta[view.getUint32(at + OUT_OP, true)];
        const alert = kind === 'anomaly' || (kind === 'score' && view.getFloat64(at + OUT_VALUES, true) >= (meta.threshold ?? 0.5));
        if (kind === 'score' && !alert && this.plan.alertsOnly.has(meta.name)) continue;
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
    for (const { sink, wants } of this.sinks) if (wants(op, plain.kind)) sink.write(deterministic && isPositioned(sink) ? plain : out);
    let json: string | undefined;
    for (const [l, w] of this.listeners) if (!w || w(op, plain.kind)) l(out, (json ??= serializeOutput(out)));
  }

  private deadLetter(frame: Frame, r: Parameters<DeadLetterQueue['reject']>[1]): void {
    const entry = this.dlq.reject(frame, r);
    this.options.metrics?.addDeadLetters(r.code, 1);
    const out = formatDeadLetter({ origin: frame.origin, reason: `${entry.reason}: ${entry.detail}`, receivedAtNs: frame.receivedAtNs, binary: frame.binary, data: r.raw, seq: this.seq, index: r.index });
    for (const [l, w] of this.listeners) if (!w || w(out.origin, 'dead_letter')) l(out, serializeOutput(out));
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
      partitions: this.partitions.count, pipeline: this.config.name, sinks: {} as Record<string, unknown>,
    };
    const dictionary = this.dictionary.snapshot();
    // Taken with logSeq, so it covers exactly the frames logged before it.
    const expiry = this.config.delivery.producer_expiry;
    if (expiry > 0n) this.producers.expire(Date.now() - Number(expiry / 1_000_000n));
    const producers = this.producers.snapshot();
    // The sinks' committed positions are exactly the outputs of epochs ≤
    // `epoch`: taken synchronously as that epoch is released, before any later.
    const positioned = new Promise<void>((res) => this.atEpoch(epoch, () => {
      for (const { sink } of this.sinks) if (isPositioned(sink)) meta.sinks[sink.name] = sink.position();
      res();
    }));
    const snaps = await this.partitions.barrier(id, this.watermark);
    const pauseMs = Math.max(...snaps.map((s) => s.pauseMs));
    await positioned;
    if (this.failure) throw this.failure;
    const sections = new Map<string, Uint8Array>([['dictionary', dictionary], ['producers', producers]]);
    for (const snap of snaps) snap.states.forEach((st, o) => sections.set(`p${snap.partition}/op${o}`, st));
    try {
      await this.ingestLog!.sync();
      const w = await this.store!.write(meta, sections);
      this.stats_.checkpoints++;
      this.stats_.lastCheckpoint = { id, ms: performance.now() - started, bytes: w.bytes, pauseMs };
      this.options.metrics?.recordCheckpoint({ durationMs: performance.now() - started, bytes: w.bytes, ok: true });
      this.ingestLog!.applyRetention(BigInt(meta.logSeq));
    } catch (e) {
      this.options.metrics?.recordCheckpoint({ durationMs: performance.now() - started, bytes: 0, ok: false });
      if (this.config.delivery.checkpoint.on_failure === 'stop') {
        this.fail(new Error(`${(e as Error).message}; stopping (delivery.checkpoint.on_failure: stop)`));
      } else {
        this.log(`${(e as Error).message}; continuing without this checkpoint (on_failure: continue)`);
      }
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
      this.checkpointTimer = setInterval(() => { this.checkpoint().catch(() => undefined); }, Number(interval / 1_000_000n));
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
    let replayed = 0;
    for (const e of this.ingestLog!.read(from)) {
      if (e.kind === ENTRY_KEYS) {
        for (const [id, key] of JSON.parse(Buffer.from(e.payload).toString('utf8')) as Array<[number, string]>) {
          const got = this.dictionary.intern(key);
          if (got !== id) throw new Error(`ingest log: key '${key}' was id ${id} when logged but ${got} on replay (dictionary and log disagree)`);
        }
        this.loggedKeys = this.dictionary.size;
      } else if (e.kind === ENTRY_RECORDS) {
        if (e.producer) this.producers.record(e.producer.id, e.producer.seq, Number(e.appendedNs / 1_000_000n));
        this.dispatch({ bytes: e.payload.slice(), count: e.count, receivedAtNs: nowNs() });
        replayed += e.count;
        if (this.paused) await this.waitResume();
      } else if (e.kind === ENTRY_PRODUCER) {
        if (e.producer) this.producers.record(e.producer.id, e.producer.seq, Number(e.appendedNs / 1_000_000n));
      } else if (e.kind === ENTRY_WATERMARK) {
        const view = new DataView(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength);
        this.closeEpoch(nowNs(), view.getBigInt64(0, true));
      }
    }
    this.seq = this.ingestLog!.nextSeq;
    if (replayed) this.log(`recovered: replayed ${replayed} events from seq ${from}`);
  }

  private waitResume(): Promise<void> {
    return new Promise((r) => this.partitions.once('resume', () => r()));
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
    const sources = await openSources(this.config, this, Number(this.seq - 1n));
    this.sources.push(...sources);
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
    this.log(e.message);
    for (const s of this.sources) s.pause();
    for (const ws of this.epochWaiters.values()) for (const w of ws) w();
    this.epochWaiters.clear();
    for (const w of this.endWaiters.splice(0)) w();
    this.onFailure?.(e);
  }

  /** Set by the CLI to exit non-zero when the pipeline cannot go on. */
  onFailure?: (e: Error) => void;

  /** Internal: sources.ts needs the pipeline's decoding view. */
  get recordType() { return this.plan.fields.type; }
  intern(s: string): number { return this.dictionary.intern(s); }
}

function isPositioned(s: OutputSink): s is OutputSink & Pick<JsonlSink, 'position' | 'truncate'> {
  return typeof (s as Partial<JsonlSink>).position === 'function' && typeof (s as Partial<JsonlSink>).truncate === 'function';
}

