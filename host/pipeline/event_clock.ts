// The pipeline's event time: the highest event time seen, the watermark
// (that minus the allowed out-of-orderness; it never moves back) and the
// epoch counter. Every batch sent to the partitions closes one epoch: the
// partitions get the watermark tagged with it, and the epoch merger expects
// its outputs. Watermark moves without events (the idle timeout, the end of
// input) are written to the ingest log, so a replay closes the same epochs
// with the same watermarks.
import type { PipelineConfig } from '../config/types.js';
import type { IngestLog } from '../log/ingest_log.js';
import type { PartitionSet } from '../partition/partition_set.js';
import { IN_TS } from '../records.js';
import { receiveNowNs as nowNs } from '../ingest/receive_clock.js';
import type { EpochMerger } from './epochs.js';

/** Before any event: no event time seen, no watermark. */
export const MIN_TS = -(1n << 63n);

/** What a checkpoint keeps of the clock, and what a restored one starts from. */
export interface ClockState {
  maxTs: bigint;
  watermark: bigint;
  /** The next epoch to open (the epochs before it are closed). */
  nextEpoch: bigint;
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
  private maxTs: bigint;
  private watermark: bigint;
  private epoch: bigint;
  private lastInputAt = performance.now();
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly settings: PipelineConfig['event_time'], private readonly out: EpochOutlets, from: ClockState = CLOCK_START) {
    this.maxTs = from.maxTs;
    this.watermark = from.watermark;
    this.epoch = from.nextEpoch;
  }

  /** The last epoch closed: the outputs owed so far are those of the epochs up to it. */
  get lastClosed(): bigint { return this.epoch - 1n; }

  state(): ClockState {
    return { maxTs: this.maxTs, watermark: this.watermark, nextEpoch: this.epoch };
  }

  /** Input arrived (the idle timeout counts from the last input). */
  inputArrived(): void {
    this.lastInputAt = performance.now();
  }

  /** A batch in ring layout on its way to the partitions: its highest event time moves maxTs. */
  observe(bytes: Uint8Array, count: number, stride: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Max event time of the batch, compared as (hi, lo) words: one BigInt per batch, not per event.
    let hi = -0x80000000, lo = 0, at = -1;
    for (let i = 0; i < count; i++) {
      const h = view.getInt32(i * stride + IN_TS + 4, true);
      if (h < hi) continue;
      const l = view.getUint32(i * stride + IN_TS, true);
      if (h > hi || l > lo) { hi = h; lo = l; at = i; }
    }
    if (at >= 0) {
      const ts = view.getBigInt64(at * stride + IN_TS, true);
      if (ts > this.maxTs) this.maxTs = ts;
    }
  }

  /** After a batch went to the partitions: closes its epoch at maxTs minus the allowed out-of-orderness. */
  closeBatch(receivedAtNs: bigint, events: number): void {
    this.close(receivedAtNs, this.maxTs - this.settings.out_of_orderness, events);
  }

  /** `events`: input events of the batch this epoch closes, each recorded with the epoch's latency. */
  close(receivedAtNs: bigint, watermark: bigint, events = 0): void {
    if (watermark > this.watermark) this.watermark = watermark;
    const e = this.epoch++;
    this.out.merger.opened(e, receivedAtNs, events);
    this.out.partitions.watermark(this.watermark, e);
  }

  /** Idle timeout and end of input: the watermark moves without events; logged so a replay moves it identically. */
  advance(to: bigint, final = false): void {
    if (to <= this.watermark && !final) return;
    if (this.out.log) this.out.log.appendWatermark(to);
    this.close(nowNs(), to);
  }

  /** event_time.idle_timeout: on a quiet feed the watermark follows the wall clock past the last event. */
  startIdleTimer(): void {
    const idle = this.settings.idle_timeout;
    if (idle <= 0n) return;
    const idleMs = Number(idle / 1_000_000n);
    this.idleTimer = setInterval(() => {
      const quiet = performance.now() - this.lastInputAt;
      if (quiet < idleMs || this.maxTs === MIN_TS) return;
      this.advance(this.maxTs + BigInt(Math.round((quiet - idleMs) * 1e6)));
    }, Math.max(10, Math.min(1000, idleMs / 4)));
    this.idleTimer.unref();
  }

  stop(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
  }
}
