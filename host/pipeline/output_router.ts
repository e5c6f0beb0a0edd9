// Where the outputs of a released epoch go: decoded from the partitions'
// output records, classified (alert or not), counted, formatted only when a
// sink or subscriber takes them, and written to every sink and subscriber
// that selected them. Dead letters take the same way, placed after the
// outputs of the last records dispatched before they were rejected. The router also
// knows which epochs have been released, and runs what waits for one (a
// drain, a checkpoint's sink positions) synchronously at that moment.
import type { PipelineConfig } from '../config/types.js';
import { DeadLetterQueue, readDeadLetters, type AddedDeadLetter } from '../ingest/dead_letter.js';
import { receiveNowNs as nowNs } from '../ingest/receive_clock.js';
import { formatOutput, serializeOutput, KIND_NAMES, type FormatContext, type OperatorMeta, type OutputEvent, type OutputKind } from '../output/format.js';
import { OUT_BYTES, OUT_KIND, OUT_OP, readOutput } from '../records.js';
import { isAlertRecord } from '../operators/outputs.js';
import { isPositioned, type PositionedSink } from '../sinks/output_sink.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Frame } from '../sources/source.js';
import type { EpochRelease } from './epochs.js';
import type { PipelinePlan } from './plan.js';
import type { SelectedSink } from './sinks.js';
import type { RunState } from './run_state.js';

export type OutputListener = (out: OutputEvent, json: string) => void;
export type OutputFilter = (op: string, kind: OutputKind) => boolean;
export type Rejection = Parameters<DeadLetterQueue['reject']>[1];

interface RoutedSink extends SelectedSink {
  /** Gets outputs without wall-clock fields: a positioned sink of an exactly-once pipeline, rewritten byte for byte after recovery. */
  deterministic: boolean;
}

export interface OutputRouterOptions {
  plan: PipelinePlan;
  config: PipelineConfig;
  format: FormatContext;
  metrics?: Metrics;
  run: RunState;
}

export class OutputRouter {
  outputs = 0;
  alerts = 0;
  /** Offset in the dead-letter file after the last dead letter emitted: what a checkpoint commits. */
  deadLettersEmitted = 0;
  private readonly sinks: RoutedSink[] = [];
  private readonly listeners = new Map<OutputListener, OutputFilter | undefined>();
  /** Late outputs released, per operator index (the late side output, as the sinks see it). */
  private readonly lateByOp: number[];
  /** Sink write errors already reported (on_failure: continue reports each once). */
  private readonly sinkErrors = new Set<string>();
  private dlq: DeadLetterQueue | null = null;
  private deadLetterPath: string | undefined;
  /** Callbacks run synchronously when an epoch is released (before any later epoch is). */
  private readonly epochWaiters = new Map<bigint, Array<() => void>>();
  private released = 0n;

  constructor(private readonly o: OutputRouterOptions) {
    this.lateByOp = o.plan.meta.map(() => 0);
  }

  /** `wants`: which outputs this listener takes (default all); others are never even formatted for it. */
  subscribe(listener: OutputListener, wants?: OutputFilter): () => void {
    this.listeners.set(listener, wants);
    return () => this.listeners.delete(listener);
  }

  addSinks(sinks: SelectedSink[]): void {
    const exactlyOnce = this.o.config.delivery.mode === 'exactly_once';
    for (const s of sinks) this.sinks.push({ ...s, deterministic: exactlyOnce && isPositioned(s.sink) });
  }

  /** The sinks whose position a checkpoint commits. */
  positionedSinks(): PositionedSink[] {
    const out: PositionedSink[] = [];
    for (const { sink } of this.sinks) if (isPositioned(sink)) out.push(sink);
    return out;
  }

  lateCounts(): readonly number[] { return this.lateByOp; }

  // ───────────────────────────── epochs ─────────────────────────────

  /** Epochs up to `epoch` count as released (those a restored checkpoint already covers). */
  releasedThrough(epoch: bigint): void {
    this.released = epoch;
  }

  /** Runs `fn` synchronously once `epoch` is released: at once if it already was. */
  atEpoch(epoch: bigint, fn: () => void): void {
    if (epoch <= this.released) { fn(); return; }
    const list = this.epochWaiters.get(epoch) ?? [];
    list.push(fn);
    this.epochWaiters.set(epoch, list);
  }

  waitEpoch(epoch: bigint): Promise<void> {
    const run = this.o.run;
    if (run.failure) return Promise.reject(run.failure);
    return new Promise((res, rej) => this.atEpoch(epoch, () => (run.failure ? rej(run.failure) : res())));
  }

  /** The pipeline failed: whatever waits for an epoch runs now (and sees the failure), none waits forever. */
  releaseWaiters(): void {
    for (const ws of this.epochWaiters.values()) for (const w of ws) w();
    this.epochWaiters.clear();
  }

  // ───────────────────────────── outputs ─────────────────────────────

  release(r: EpochRelease): void {
    const { plan, metrics } = this.o;
    const latencyNs = r.receivedAtNs === undefined ? undefined : Number(nowNs() - r.receivedAtNs);
    // One value per input event: each event of the batch waited exactly this long.
    if (latencyNs !== undefined && r.events > 0) metrics?.recordLatencyNs(latencyNs, r.events);
    for (const bytes of r.records) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let at = 0; at < bytes.length; at += OUT_BYTES) {
        const kind = KIND_NAMES[view.getUint32(at + OUT_KIND, true)];
        const opIndex = view.getUint32(at + OUT_OP, true);
        const meta = plan.meta[opIndex];
        if (kind === 'late') this.lateByOp[opIndex]++;
        const alert = isAlertRecord(view, at, meta);
        if (!alert && meta.alertsOnly) continue;
        this.outputs++;
        if (alert) this.alerts++;
        if (metrics) {
          metrics.addOutputs(meta.name, 1);
          if (alert) metrics.addAlerts(meta.name, 1);
        }
        // Never format an output nobody takes (a window result with no sink
        // or subscriber for it): at a window boundary that is most of them.
        if (!this.wanted(meta.name, kind)) continue;
        this.emit(formatOutput(readOutput(view, at), this.o.format), latencyNs);
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
    for (const { sink, wants, deterministic } of this.sinks) {
      if (!wants(op, plain.kind)) continue;
      try { sink.write(deterministic ? plain : out); } catch (e) { this.sinkFailed(e as Error); }
    }
    let json: string | undefined;
    for (const [l, w] of this.listeners) if (!w || w(op, plain.kind)) l(out, (json ??= serializeOutput(out)));
  }

  /**
   * A sink write failed (the sink keeps what it could not write and retries
   * on its next flush). on_failure: stop ends the run with the error; continue
   * goes on, and no checkpoint commits until the sink writes again.
   */
  private sinkFailed(e: Error): void {
    const run = this.o.run;
    if (run.failure) return;
    if ((e as { fatal?: boolean }).fatal) run.fail(e);
    else if (this.o.config.delivery.checkpoint.on_failure === 'stop') {
      run.fail(new Error(`${e.message}; stopping (delivery.checkpoint.on_failure: stop)`));
    } else if (!this.sinkErrors.has(e.message.split(';')[0])) {
      this.sinkErrors.add(e.message.split(';')[0]);
      run.log(`${e.message}; continuing, the sink retries on its next flush (on_failure: continue)`);
    }
  }

  flushSinks(): Promise<unknown> {
    return Promise.all(this.sinks.map(({ sink }) => sink.flush()));
  }

  closeSinks(): Promise<unknown> {
    const run = this.o.run;
    return Promise.all(this.sinks.map(({ sink }) => sink.close().catch((e: Error) => (run.failure ? run.log(`closing sink ${sink.name}: ${e.message}`) : run.fail(e)))));
  }

  // ───────────────────────────── dead letters ─────────────────────────────

  /** `path` undefined: dead letters are counted and emitted, not kept in a file. */
  openDeadLetters(path: string | undefined): void {
    this.deadLetterPath = path;
    this.dlq = new DeadLetterQueue({ path: this.deadLetterPath });
    if (this.dlq.tornBytes > 0) this.o.run.log(`dead-letter file: cut a torn last line of ${this.dlq.tornBytes} bytes`);
  }

  /**
   * Writes a rejected event or frame to the dead-letter file now (its id and
   * place in the file follow the order of rejection) and counts it; it goes
   * out to the sinks when placed (placeDeadLetter). `seq`: the ingest log's
   * next seq when it was rejected.
   */
  rejectDeadLetter(frame: Frame, r: Rejection, seq: bigint): AddedDeadLetter {
    const added = this.dlq!.reject(frame, r, seq);
    this.o.metrics?.addDeadLetters(r.code, 1);
    return added;
  }

  /**
   * `afterEpoch`: the epoch of the last records dispatched before the
   * rejection; the dead letter goes out after that epoch's outputs, as any
   * output of its frame would, so a replay or a recovery emits it at the
   * same place.
   */
  placeDeadLetter(added: AddedDeadLetter, afterEpoch: bigint): void {
    this.atEpoch(afterEpoch, () => this.emitDeadLetter(added));
  }

  private emitDeadLetter(added: AddedDeadLetter): void {
    this.deadLettersEmitted = added.end;
    if (this.wanted('', 'dead_letter')) this.emit(added.entry, undefined);
  }

  /**
   * The file sinks were cut back to the checkpoint, which also lost the dead
   * letters written to them after it; those are not in the ingest log, so
   * the recovery places them again from the dead-letter file (same ids, same
   * places: IngestPath.placeRecovered), from `offset`.
   */
  deadLettersToSendAgain(offset: number | undefined): Iterator<AddedDeadLetter> | null {
    if (offset === undefined || !this.deadLetterPath) return null;
    return readDeadLetters(this.deadLetterPath, offset);
  }

  closeDeadLetters(): void {
    this.dlq?.close();
  }
}
