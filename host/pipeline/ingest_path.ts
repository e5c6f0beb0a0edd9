// The ingest path: one frame from a source to the partitions.
//
//   frame ─► producer check ─► decode + validate ─► widen/derive ─► log new keys
//         ─► IngestLog.appendRecords (seq) ─► ack ─► PartitionSet.pushRecords ─► close the batch's epoch
//
// Rejected events are dead letters (or, with validation.on_invalid: reject,
// the whole frame goes back to its producer). A producer's resend of a frame
// already logged is acked again, never ingested twice. Acks: at_most_once
// acks on receipt; the other modes once the frame's records are durable in
// the log. Backpressure: when a partition ring fills, every source is paused;
// batches already received wait in a bounded queue, in order.
import type { PipelineConfig } from '../config/types.js';
import { validationRules } from '../config/types.js';
import { EventDecoder } from '../codec/decoder.js';
import { RecordBatch } from '../codec/record_batch.js';
import type { KeyDictionary } from '../codec/key_dictionary.js';
import { type IngestLog, ENTRY_KEYS, ENTRY_RECORDS, ENTRY_WATERMARK, ENTRY_PRODUCER, readWatermark, type LogEntry, type ProducerMark } from '../log/ingest_log.js';
import type { ProducerTable } from '../ingest/producers.js';
import { receiveNowNs as nowNs } from '../ingest/receive_clock.js';
import type { PartitionSet } from '../partition/partition_set.js';
import { IN_FIELDS, IN_FLAGS, IN_SEQ, streamFlags, streamOfFlags } from '../records.js';
import { streamsOf } from '../config/streams.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Ack, Frame, RefusedFrame } from '../sources/source.js';
import type { EventClock } from './event_clock.js';
import type { OutputRouter, Rejection } from './output_router.js';
import type { AddedDeadLetter } from '../ingest/dead_letter.js';
import type { PipelinePlan } from './plan.js';
import type { RunState } from './run_state.js';

/**
 * Most records dispatched before checking backpressure. A slice lands whole
 * even on a ring that just filled: with a catch-up watermark per record at
 * worst, 2 × 2048 + the epoch's fit the partitions' staging (8192 by default).
 */
const DISPATCH_SLICE = 2048;

interface Queued {
  bytes: Uint8Array; count: number; receivedAtNs: bigint;
  /** Replayed from the log at recovery: the original receive time is gone, so no latency is recorded. */
  untimed?: boolean;
  /** No records: a dead letter rejected while the records before it waited here, placed once they are dispatched. */
  deadLetter?: AddedDeadLetter;
}

/** What backpressure pauses and resumes. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export interface IngestPathOptions {
  config: PipelineConfig;
  plan: PipelinePlan;
  dictionary: KeyDictionary;
  producers: ProducerTable;
  /** null at at_most_once: records get their seqs here and are acked on receipt. */
  log: IngestLog | null;
  partitions: PartitionSet;
  clock: EventClock;
  router: OutputRouter;
  /** Paused and resumed with the partitions' backpressure (the pipeline's running sources). */
  sources: readonly Pausable[];
  metrics?: Metrics;
  run: RunState;
  /** The seq the next record gets (a restored checkpoint's log position). */
  seq: bigint;
  /** Events per input stream in the log before `seq` (a restored checkpoint's). */
  streamEvents?: number[];
}

export class IngestPath {
  /** The seq the next record gets. */
  seq: bigint;
  eventsIn = 0;
  rejected = 0;
  /** Producer frames resent after they were logged: acked again, not ingested (host/ingest/producers.ts). */
  duplicates = 0;
  /** Events per input stream in the ingest log (a synthetic source alone on its stream resumes after them). */
  readonly streamEvents: number[];
  /** Per input stream: its decoder and decode batch (in the stream's own record layout). */
  private readonly decoders: EventDecoder[];
  private readonly batches: RecordBatch[];
  private readonly wide: RecordBatch;
  private readonly stride: number;
  private loggedKeys: number;
  private queue: Queued[] = [];
  private paused = false;
  /** Backpressure time: total while not paused, plus since `pausedSince` while paused (performance.now ms). */
  private pausedMs = 0;
  private pausedSince = 0;
  private readonly failWaiters = new Set<() => void>();
  /**
   * The epoch the last records dispatched closed: a dead letter goes out
   * after its outputs. Not the clock's last epoch: a watermark-only epoch
   * (idle timeout) may follow it, and whether a rejection came before or
   * after that one is not in the log, so a recovery could not place it.
   */
  private recordsEpoch: bigint;

  constructor(private readonly o: IngestPathOptions) {
    this.seq = o.seq;
    this.recordsEpoch = o.clock.lastClosed;
    this.stride = o.plan.stride;
    this.loggedKeys = o.dictionary.size;
    this.streamEvents = o.plan.streams.map((_, i) => o.streamEvents?.[i] ?? (i === 0 ? Number(o.seq - 1n) : 0));
    this.batches = o.plan.streams.map((st) => new RecordBatch(st.fields.type.stride, 4096));
    this.wide = new RecordBatch(o.plan.stride, 4096);
    // One dictionary for every stream: a key string has one id, so both sides of a key hash to one partition.
    const streams = streamsOf(o.config);
    this.decoders = o.plan.streams.map((st, i) => new EventDecoder({
      type: st.fields.type,
      keyFields: st.fields.key,
      dictionary: o.dictionary,
      rules: validationRules(streams[i]),
      tsUnit: st.eventTime.unit,
    }));
  }

  get isPaused(): boolean { return this.paused; }
  get queuedBatches(): number { return this.queue.length; }

  /** Seconds the sources have spent paused by backpressure, so far. */
  pausedSeconds(): number {
    return (this.pausedMs + (this.paused ? performance.now() - this.pausedSince : 0)) / 1000;
  }

  // ───────────────────────────── frames ─────────────────────────────

  /**
   * `source`: the configured source name the frame came through, the label
   * of its metrics (bounded, unlike `frame.origin`, which names the
   * connection); frames pushed by the library count as 'library'.
   */
  onFrame(frame: Frame, ack: Ack, source: string, stream = 0): void {
    const { run, config } = this.o;
    if (run.failure) { ack(false, { reason: run.failure.message, retry: true }); return; }
    if (frame.invalid) {
      this.deadLetter(frame, { ...frame.invalid, index: -1, raw: frame.data });
      this.rejected++;
      ack(false, { count: 0, rejected: 0, reason: frame.invalid.reason });
      return;
    }
    const producer: ProducerMark | undefined = frame.producer !== undefined && frame.producerSeq !== undefined ? { id: frame.producer, seq: frame.producerSeq } : undefined;
    if (producer && this.o.producers.isDuplicate(producer.id, producer.seq)) { this.duplicate(ack); return; }
    const { accepted, rejects } = this.decode(frame, stream);
    if (rejects.length > 0 && config.validation.on_invalid === 'reject') {
      // validation.on_invalid: reject: the frame goes back to its producer whole,
      // with the first problem; nothing of it is ingested or dead-lettered.
      this.rejected += rejects.length;
      ack(false, { count: 0, rejected: accepted + rejects.length, reason: `${rejects.length} of ${accepted + rejects.length} events invalid (validation.on_invalid: reject), first: ${rejects[0].reason}` });
      return;
    }
    for (const r of rejects) this.deadLetter(frame, r);
    this.rejected += rejects.length;
    if (accepted === 0) {
      const answer = () => ack(rejects.length === 0, { count: 0, rejected: rejects.length, ...(rejects[0] ? { reason: rejects[0].reason } : {}) });
      if (!producer) { answer(); return; }
      // Nothing to log, but the producer's mark moves all the same (its own
      // entry), so a resend of this frame is not dead-lettered a second time.
      this.o.producers.record(producer.id, producer.seq, Date.now());
      if (!this.o.log) { answer(); return; }
      this.o.log.appendProducer(producer).then(answer, (e: Error) => { ack(false, { count: 0, rejected: rejects.length, reason: e.message, retry: true }); run.fail(e); });
      return;
    }
    this.accept(source, this.batches[stream], frame.receivedAtNs, (refused) => (refused
      // Not durable (a full disk): refused, so the producer keeps the frame and resends it.
      ? ack(false, { count: 0, rejected: accepted + rejects.length, reason: refused.message, retry: true })
      : ack(true, { count: accepted, rejected: rejects.length })), producer, stream);
  }

  /** A frame's events into the stream's batch in its input layout (JSON or FlatBuffers, validated), and its rejects. */
  private decode(frame: Frame, stream: number): ReturnType<EventDecoder['decode']> {
    const batch = this.batches[stream];
    batch.reset();
    return this.decoders[stream].decode(frame.data, frame.binary, batch, frame.receivedAtNs);
  }

  /** A resend of a frame already logged: acknowledged again once the original is durable, never ingested twice. */
  private duplicate(ack: Ack): void {
    this.duplicates++;
    this.o.metrics?.addDuplicateFrames(1);
    const again = () => ack(true, { count: 0, rejected: 0, duplicate: true });
    if (!this.o.log) { again(); return; }
    // Not durable after all (a full disk): refused, so the producer resends it.
    this.o.log.settled().then(again, (e: Error) => { ack(false, { count: 0, rejected: 0, reason: e.message, retry: true }); this.o.run.fail(e); });
  }

  /** A frame a source refused unread (too large, not UTF-8): a dead letter and a count, like any rejected frame. */
  onRefused(r: RefusedFrame): void {
    this.rejected++;
    const raw = r.data ?? new Uint8Array(0);
    // Bad UTF-8 is kept as bytes (base64), not decoded into replacement characters.
    const binary = r.binary || r.reason === 'invalid_utf8';
    this.deadLetter({ data: raw, binary, origin: r.origin, receivedAtNs: r.receivedAtNs }, { code: r.reason, reason: r.detail, index: -1, raw });
  }

  /**
   * Into the dead-letter file now; out to the sinks after the outputs of the
   * records accepted before it (those still queued by backpressure too), so
   * its place among the outputs is a function of the input order alone.
   */
  private deadLetter(frame: Frame, r: Rejection): void {
    const added = this.o.router.rejectDeadLetter(frame, r, this.seq);
    if (this.queue.length) this.queue.push({ bytes: new Uint8Array(0), count: 0, receivedAtNs: 0n, deadLetter: added });
    else this.o.router.placeDeadLetter(added, this.recordsEpoch);
  }

  /**
   * A dead letter a recovery sends again (the sinks were cut back to before
   * it): called before the first records entry logged after its rejection,
   * it goes out where it did the first time.
   */
  placeRecovered(added: AddedDeadLetter): void {
    this.o.router.placeDeadLetter(added, this.recordsEpoch);
  }

  /** Records already in the input layout (the synthetic feed). false: paused, stop producing. */
  ingestRecords(origin: string, batch: RecordBatch, receivedAtNs: bigint, stream = 0): boolean {
    this.accept(origin, batch, receivedAtNs, () => undefined, undefined, stream);
    return !this.paused;
  }

  /**
   * Records read back from an ingest log (`ganglion replay --from/--to`): in
   * the pipeline's own record layout, with their original seqs, so the
   * outputs carry the ids they had the first time. Never logged again.
   */
  replayRecords(batch: RecordBatch, receivedAtNs: bigint): void {
    if (batch.stride !== this.stride) throw new Error(`replayed records are ${batch.stride} bytes, this pipeline's are ${this.stride}: was the log written by another pipeline?`);
    if (this.o.log) throw new Error('replayRecords is for pipelines without an ingest log (at_most_once)');
    this.eventsIn += batch.count;
    const item: Queued = { bytes: batch.records().slice(), count: batch.count, receivedAtNs };
    if (this.paused || this.queue.length) this.queue.push(item);
    else this.dispatch(item);
  }

  private accept(origin: string, batch: RecordBatch, receivedAtNs: bigint, acked: (refused?: Error) => void, producer?: ProducerMark, stream = 0): void {
    const { log, run } = this.o;
    const records = this.widen(batch, stream);
    const count = batch.count;
    this.eventsIn += count;
    this.o.metrics?.addEvents(origin, count);
    this.o.clock.inputArrived(stream);
    if (log) this.streamEvents[stream] += count;
    let durable: Promise<void> | null = null;
    if (producer) this.o.producers.record(producer.id, producer.seq, Date.now());
    if (log) {
      this.logNewKeys(log);
      durable = log.appendRecords(records, count, this.stride, producer).durable;
      this.seq = log.nextSeq;
    } else {
      const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
      for (let i = 0; i < count; i++) view.setBigUint64(i * this.stride + IN_SEQ, this.seq++, true);
    }
    if (this.o.config.delivery.mode === 'at_most_once' || !durable) acked();
    else durable.then(() => acked(), (e: Error) => { acked(e); run.fail(e); });
    const item: Queued = { bytes: this.paused || this.queue.length ? records.slice() : records, count, receivedAtNs };
    if (this.paused || this.queue.length) {
      this.queue.push(item);
      return;
    }
    this.dispatch(item);
  }

  /**
   * Copies decoded records into the pipeline's wider layout (enrichment slots;
   * the ring slot of the widest stream, NaN past the stream's own fields),
   * fills derived fields and marks each record with its stream.
   */
  private widen(batch: RecordBatch, stream = 0): Uint8Array {
    const derived = this.o.plan.streams[stream].fields.derived;
    const from = batch.stride, to = this.stride;
    if (from === to && derived.length === 0 && stream === 0) return batch.records();
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
    if (stream !== 0) for (let i = 0; i < batch.count; i++) view.setUint32(i * to + IN_FLAGS, streamFlags(stream), true);
    return out;
  }

  /** Keys first seen in this batch go into the log before its records, so a replay interns them with the same ids. */
  private logNewKeys(log: IngestLog): void {
    const dictionary = this.o.dictionary;
    const size = dictionary.size;
    if (size === this.loggedKeys) return;
    const keys: Array<[number, string]> = [];
    for (let id = this.loggedKeys + 1; id <= size; id++) keys.push([id, dictionary.name(id)!]);
    this.loggedKeys = size;
    log.appendKeys(keys).catch((e: Error) => this.o.run.fail(e));
  }

  // ───────────────────────────── into the partitions ─────────────────────────────

  /**
   * Into the partitions, then the epoch-closing watermark; at most
   * DISPATCH_SLICE records at a time, so a big frame never overruns the
   * partitions' staging: once they push back, the rest waits in the queue.
   * A partition refusing records is a failure of the pipeline, never a drop.
   */
  private dispatch(item: Queued): void {
    try {
      if (item.count <= DISPATCH_SLICE) { this.dispatchSlice(item); return; }
      const stride = this.stride;
      for (let from = 0; from < item.count; from += DISPATCH_SLICE) {
        const n = Math.min(DISPATCH_SLICE, item.count - from);
        this.dispatchSlice({ bytes: item.bytes.subarray(from * stride, (from + n) * stride), count: n, receivedAtNs: item.receivedAtNs, untimed: item.untimed });
        if (this.paused && from + n < item.count) {
          const rest = item.bytes.slice((from + n) * stride, item.count * stride);
          this.queue.unshift({ bytes: rest, count: item.count - from - n, receivedAtNs: item.receivedAtNs, untimed: item.untimed });
          return;
        }
      }
    } catch (e) {
      this.o.run.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private dispatchSlice(item: Queued): void {
    const clock = this.o.clock;
    clock.observe(item.bytes, item.count, this.stride);
    this.o.partitions.pushRecords(item.bytes, item.count);
    clock.closeBatch(item.receivedAtNs, item.untimed ? 0 : item.count);
    this.recordsEpoch = clock.lastClosed;
  }

  // ───────────────────────────── backpressure ─────────────────────────────

  /** The partitions' rings filled (paused) or have room again. */
  onPressure(paused: boolean): void {
    if (paused && !this.paused) this.pausedSince = performance.now();
    if (!paused && this.paused) this.pausedMs += performance.now() - this.pausedSince;
    this.paused = paused;
    for (const s of this.o.sources) (paused ? s.pause() : s.resume());
    if (!paused) void this.flushQueue();
  }

  /** Dispatches the queued batches as backpressure allows; resolves when the queue is empty. */
  async flushQueue(): Promise<void> {
    const run = this.o.run;
    while (this.queue.length && !this.paused && !run.failure) {
      const item = this.queue.shift()!;
      if (item.deadLetter) this.o.router.placeDeadLetter(item.deadLetter, this.recordsEpoch);
      else this.dispatch(item);
    }
    if (run.failure) throw run.failure;
    if (this.queue.length) await this.resumedOrFailed().then(() => this.flushQueue());
  }

  /** Resolves once backpressure lets more input in. */
  whenAccepting(): Promise<void> {
    const run = this.o.run;
    if (run.failure) return Promise.reject(run.failure);
    return this.paused || this.queue.length ? this.flushQueue() : Promise.resolve();
  }

  /** Resolves on the partitions' next 'resume', or at once when the pipeline fails (waiters must not hang). */
  private resumedOrFailed(): Promise<void> {
    const partitions = this.o.partitions;
    return new Promise<void>((r) => {
      const done = () => { partitions.off('resume', done); this.failWaiters.delete(done); r(); };
      partitions.once('resume', done);
      this.failWaiters.add(done);
    });
  }

  /** The pipeline failed: whatever waits for backpressure to lift stops waiting. */
  releaseWaiters(): void {
    for (const w of [...this.failWaiters]) w();
  }

  // ───────────────────────────── recovery ─────────────────────────────

  /**
   * One ingest log entry, replayed exactly as it was first processed: keys
   * interned with their logged ids, records dispatched (untimed), producer
   * marks restored, logged watermarks closing the same epochs. Returns the
   * events dispatched; after a records entry the caller waits out
   * backpressure (`backlogged`) before the next.
   */
  replayEntry(e: LogEntry): number {
    const { dictionary, producers, clock } = this.o;
    if (e.kind === ENTRY_KEYS) {
      for (const [id, key] of JSON.parse(Buffer.from(e.payload).toString('utf8')) as Array<[number, string]>) {
        const got = dictionary.intern(key);
        if (got !== id) throw new Error(`ingest log: key '${key}' was id ${id} when logged but ${got} on replay (dictionary and log disagree)`);
      }
      this.loggedKeys = dictionary.size;
    } else if (e.kind === ENTRY_RECORDS) {
      if (e.producer) producers.record(e.producer.id, e.producer.seq, Number(e.appendedNs / 1_000_000n));
      // An entry is one batch, so one stream's: its first record says which.
      this.streamEvents[streamOfFlags(new DataView(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength).getUint32(IN_FLAGS, true))] += e.count;
      this.dispatch({ bytes: e.payload.slice(), count: e.count, receivedAtNs: nowNs(), untimed: true });
      return e.count;
    } else if (e.kind === ENTRY_PRODUCER) {
      if (e.producer) producers.record(e.producer.id, e.producer.seq, Number(e.appendedNs / 1_000_000n));
    } else if (e.kind === ENTRY_WATERMARK) {
      const w = readWatermark(e.payload);
      clock.close(nowNs(), w.ns, 0, w.stream, w.idle);
    }
    return 0;
  }

  /** Backpressure or queued records hold input back. */
  get backlogged(): boolean { return this.paused || this.queue.length > 0; }

  /** Waits until nothing is held back (the rest of a big entry that dispatch queued included); throws if the pipeline fails. */
  async catchUp(): Promise<void> {
    const run = this.o.run;
    while ((this.paused || this.queue.length) && !run.failure) await (this.queue.length ? this.flushQueue() : this.resumedOrFailed());
    if (run.failure) throw run.failure;
  }
}
