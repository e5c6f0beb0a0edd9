// The pipeline's event time, per input stream: the highest event time seen,
// the watermark (that minus the stream's allowed out-of-orderness; it never
// moves back), whether the stream is idle (stream_clock.ts), and the epoch
// counter. Every batch sent to the partitions is one stream's and closes one
// epoch: the partitions get that stream's watermark tagged with it, and the
// epoch merger expects its outputs. Watermark moves without events (the idle
// timeout, the end of input) are written to the ingest log, with the stream,
// so a replay closes the same epochs with the same watermarks.
import type { IngestLog } from '../log/ingest_log.js';
import type { PartitionSet } from '../partition/partition_set.js';
import { IN_FLAGS, IN_TS, streamOfFlags } from '../records.js';
import { receiveNowNs as nowNs } from '../ingest/receive_clock.js';
import type { EpochMerger } from './epochs.js';
import type { StreamPlan } from './plan.js';
import { StreamClocks, type StreamClockState } from './stream_clock.js';

/** Before any event: no event time seen, no watermark. */
export const MIN_TS = -(1n << 63n);

/** What a checkpoint keeps of the clock, and what a restored one starts from. */
export interface ClockState {
  /** The first stream's (the only one of most pipelines). */
  maxTs: bigint;
  watermark: bigint;
  /** The next epoch to open (the epochs before it are closed). */
  nextEpoch: bigint;
  /** Every stream's, when the pipeline has several. */
  streams?: StreamClockState[];
}

export const CLOCK_START: ClockState = { maxTs: MIN_TS, watermark: MIN_TS, nextEpoch: 1n };

/** Where a closed epoch goes: the merger expects its outputs, the partitions get its watermark. */
export interface EpochOutlets {
  merger: Pick<EpochMerger, 'opened'>;
  partitions: Pick<PartitionSet, 'watermark'>;
  /** Absent at at_most_once: nothing is replayed, so watermark moves are not logged. */
  log: Pick<IngestLog, 'appendWatermark'> | null;
}

export class EventClock {
  private readonly clocks: StreamClocks;
  private epoch: bigint;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The stream of the batch observe() last saw (closeBatch closes its epoch). */
  private batchStream = 0;

  constructor(private readonly streams: readonly StreamPlan[], private readonly out: EpochOutlets, from: ClockState = CLOCK_START) {
    this.clocks = new StreamClocks(streams);
    this.clocks.restore(from.streams ?? [{ maxTs: from.maxTs.toString(), watermark: from.watermark.toString(), idle: false }]);
    this.epoch = from.nextEpoch;
  }

  /** The last epoch closed: the outputs owed so far are those of the epochs up to it. */
  get lastClosed(): bigint { return this.epoch - 1n; }

  get multi(): boolean { return this.streams.length > 1; }

  state(): ClockState {
    const c = this.clocks;
    return { maxTs: c.maxTs[0], watermark: c.watermark[0], nextEpoch: this.epoch, ...(this.multi ? { streams: c.snapshot() } : {}) };
  }

  /** Input arrived on `stream` (its idle timeout counts from its last input). */
  inputArrived(stream = 0): void {
    this.clocks.touched(stream);
  }

  /** A batch in ring layout on its way to the partitions (one stream's: its first record says which): its highest event time moves that stream's maxTs. */
  observe(bytes: Uint8Array, count: number, stride: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.batchStream = count > 0 ? streamOfFlags(view.getUint32(IN_FLAGS, true)) : 0;
    // Max event time of the batch, compared as (hi, lo) words: one BigInt per batch, not per event.
    let hi = -0x80000000, lo = 0, at = -1;
    for (let i = 0; i < count; i++) {
      const h = view.getInt32(i * stride + IN_TS + 4, true);
      if (h < hi) continue;
      const l = view.getUint32(i * stride + IN_TS, true);
      if (h > hi || l > lo) { hi = h; lo = l; at = i; }
    }
    if (at >= 0) this.clocks.observe(this.batchStream, view.getBigInt64(at * stride + IN_TS, true));
  }

  /** After a batch went to the partitions: closes its epoch at its stream's maxTs minus the stream's allowed out-of-orderness. */
  closeBatch(receivedAtNs: bigint, events: number): void {
    const s = this.batchStream;
    this.close(receivedAtNs, this.clocks.maxTs[s] - this.streams[s].eventTime.out_of_orderness, events, s);
  }

  /** `events`: input events of the batch this epoch closes, each recorded with the epoch's latency. `stream`: whose watermark moves (and whether it went idle). */
  close(receivedAtNs: bigint, watermark: bigint, events = 0, stream = 0, idle = false): void {
    const wm = this.clocks.advance(stream, watermark, idle);
    const e = this.epoch++;
    this.out.merger.opened(e, receivedAtNs, events);
    this.out.partitions.watermark(wm, e, stream, idle);
  }

  /** Idle timeout and end of input: the watermark moves without events; logged so a replay moves it identically. */
  advance(to: bigint, final = false, stream = 0, idle = false): void {
    if (to <= this.clocks.watermark[stream] && !final && idle === this.clocks.idle[stream]) return;
    if (this.out.log) this.out.log.appendWatermark(to, this.multi ? { index: stream, idle } : undefined);
    this.close(nowNs(), to, 0, stream, idle);
  }

  /** End of input: every stream's watermark jumps to `to`. */
  advanceAll(to: bigint): void {
    for (let s = 0; s < this.streams.length; s++) this.advance(to, true, s);
  }

  /**
   * Restored with several streams: every partition learns each stream's
   * watermark and idleness as they stood at the checkpoint (epoch 0: no marker).
   */
  announceRestored(): void {
    if (!this.multi) return;
    for (let s = 0; s < this.streams.length; s++) this.out.partitions.watermark(this.clocks.watermark[s], 0n, s, this.clocks.idle[s]);
  }

  /** idle_timeout per stream: a quiet stream's watermark follows the wall clock past its last event (and, with several streams, it goes idle). */
  startIdleTimer(): void {
    const idleMs = this.clocks.minIdleMs();
    if (idleMs <= 0) return;
    this.idleTimer = setInterval(() => {
      for (const m of this.clocks.idleMoves()) this.advance(m.to, false, m.stream, m.mark);
    }, Math.max(10, Math.min(1000, idleMs / 4)));
    this.idleTimer.unref();
  }

  stop(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
  }
}
