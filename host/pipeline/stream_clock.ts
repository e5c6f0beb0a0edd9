// Event time per input stream, on the ingest side: each stream's max event
// time, its watermark (max − its own out_of_orderness) and whether it is idle.
// A batch comes from one source, so it moves one stream's clock; the
// watermark it closes its epoch with is that stream's, and the partitions
// combine the streams per operator (host/partition/input_watermarks.ts).
//
// Idleness: a stream with no input for its idle_timeout (wall clock) has its
// watermark follow the wall clock past its last event, as a one-stream
// pipeline always did; with several streams it is also marked idle, so it no
// longer holds back an operator that reads another stream too, even when it
// never had an event at all. Its next batch makes it active again. Each such
// move is logged (ENTRY_WATERMARK with the stream), so a replay repeats it.
import type { StreamPlan } from './plan.js';

const MIN_TS = -(1n << 63n);

export interface StreamClockState { maxTs: string; watermark: string; idle: boolean }

export class StreamClocks {
  readonly maxTs: bigint[];
  readonly watermark: bigint[];
  readonly idle: boolean[];
  private readonly lastInputAt: number[];

  constructor(private readonly streams: readonly StreamPlan[], now = performance.now()) {
    this.maxTs = streams.map(() => MIN_TS);
    this.watermark = streams.map(() => MIN_TS);
    this.idle = streams.map(() => false);
    this.lastInputAt = streams.map(() => now);
  }

  get count(): number { return this.streams.length; }

  /** Input arrived on `stream` (wall clock, for idleness). */
  touched(stream: number, now = performance.now()): void {
    this.lastInputAt[stream] = now;
  }

  /** Raises the stream's max event time; returns the watermark it implies. */
  observe(stream: number, ts: bigint): bigint {
    if (ts > this.maxTs[stream]) this.maxTs[stream] = ts;
    return this.maxTs[stream] - this.streams[stream].eventTime.out_of_orderness;
  }

  /** Moves the stream's watermark (never back) and its idleness; returns the watermark in force. */
  advance(stream: number, to: bigint, idle: boolean): bigint {
    if (to > this.watermark[stream]) this.watermark[stream] = to;
    this.idle[stream] = idle;
    return this.watermark[stream];
  }

  /**
   * The idle-timeout moves due now: per stream quiet for its idle_timeout,
   * the watermark it should reach (`to`), and `mark` when it must also be
   * marked idle (several streams; a stream with no event yet is only marked).
   */
  idleMoves(now = performance.now()): Array<{ stream: number; to: bigint; mark: boolean }> {
    const moves: Array<{ stream: number; to: bigint; mark: boolean }> = [];
    const multi = this.streams.length > 1;
    this.streams.forEach((st, s) => {
      const idle = st.eventTime.idle_timeout;
      if (idle <= 0n) return;
      const idleMs = Number(idle / 1_000_000n);
      const quiet = now - this.lastInputAt[s];
      if (quiet < idleMs) return;
      if (this.maxTs[s] === MIN_TS) {
        if (multi && !this.idle[s]) moves.push({ stream: s, to: this.watermark[s], mark: true });
        return;
      }
      const to = this.maxTs[s] + BigInt(Math.round((quiet - idleMs) * 1e6));
      if (to > this.watermark[s] || (multi && !this.idle[s])) moves.push({ stream: s, to, mark: multi });
    });
    return moves;
  }

  /** Smallest idle timeout over the streams (ms), for the timer period; 0 when none has one. */
  minIdleMs(): number {
    const ms = this.streams.map((s) => Number(s.eventTime.idle_timeout / 1_000_000n)).filter((m) => m > 0);
    return ms.length ? Math.min(...ms) : 0;
  }

  snapshot(): StreamClockState[] {
    return this.streams.map((_, s) => ({ maxTs: this.maxTs[s].toString(), watermark: this.watermark[s].toString(), idle: this.idle[s] }));
  }

  restore(states: StreamClockState[]): void {
    states.forEach((st, s) => {
      if (s >= this.streams.length) return;
      this.maxTs[s] = BigInt(st.maxTs);
      this.watermark[s] = BigInt(st.watermark);
      this.idle[s] = st.idle;
    });
  }
}
