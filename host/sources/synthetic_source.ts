// The built-in synthetic market feed as a source: generates ring-layout
// records straight into a batch (no per-event objects, no JSON), at a target
// rate in wall-clock time or flat out, and stops reading under backpressure
// like any network source.
import type { PipelineConfig } from '../config/types.js';
import type { SourceConfig } from '../config/types.js';
import { SyntheticFeed, isoToNs, type FeedKind } from './synthetic_feed.js';
import type { EventType } from '../schema/event_types.js';
import { RecordBatch } from '../codec/record_batch.js';
import { receiveNowNs } from '../ingest/receive_clock.js';

type SyntheticConfig = Extract<SourceConfig, { type: 'synthetic' }>;

export interface RecordSink {
  /** Accepts generated records; false = pause (backpressure). */
  ingestRecords(origin: string, batch: RecordBatch, receivedAtNs: bigint, stream?: number): boolean;
  /** The feed ended (a bounded `events` count). */
  sourceEnded(origin: string): void;
}

export class SyntheticSource {
  readonly name: string;
  private readonly feed: SyntheticFeed;
  private readonly batch: RecordBatch;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private stopped = false;
  private startedAt = 0;
  private produced = 0;
  private ended = false;

  constructor(
    private readonly cfg: SyntheticConfig,
    config: PipelineConfig,
    private readonly type: EventType,
    private readonly keyFields: readonly string[],
    private readonly intern: (s: string) => number,
    stride: number,
    /** The input stream it feeds (index); `config` then carries that stream's schema and event_time. */
    private readonly stream = 0,
  ) {
    this.name = cfg.name ?? 'synthetic';
    const kind = (config.schema.type === 'custom' ? 'trades' : config.schema.type) as FeedKind;
    this.feed = new SyntheticFeed({
      kind, seed: cfg.seed, instruments: cfg.instruments, zipf: cfg.zipf, rate: cfg.rate,
      startNs: cfg.start === 'now' ? BigInt(Date.now()) * 1_000_000n : isoToNs(cfg.start),
      ...(cfg.events === undefined ? {} : { events: cfg.events }),
      outOfOrder: cfg.out_of_order, maxDelayNs: cfg.max_delay, late: cfg.late,
      lateByNs: config.event_time.allowed_lateness + config.event_time.out_of_orderness + 1_000_000_000n,
      anomalies: cfg.anomalies,
      ...(cfg.burst ? { burst: { everyNs: cfg.burst.every, lengthNs: cfg.burst.length, factor: cfg.burst.factor } } : {}),
    });
    this.batch = new RecordBatch(stride, 4096);
    if (stride !== type.stride) throw new Error(`synthetic source: record stride ${stride} does not match ${type.name} (${type.stride})`);
  }

  /**
   * `skip`: events to generate and drop first. The feed is a pure function of
   * its seed, so after a restart it resumes exactly where the ingest log ends,
   * like a producer resending what was never acknowledged.
   */
  start(sink: RecordSink, skip = 0): void {
    while (skip > 0) {
      this.batch.reset();
      const want = Math.min(4096, skip);
      this.batch.ensure(want);
      const got = this.feed.fillRecords(this.batch.view, 0, want, this.type, this.keyFields, this.intern);
      if (got === 0) break;
      skip -= got;
      this.produced += got;
    }
    this.startedAt = performance.now() - (this.cfg.rate > 0 ? (this.produced / this.cfg.rate) * 1000 : 0);
    const tick = () => {
      this.timer = null;
      if (this.stopped || this.paused || this.ended) return;
      const due = this.cfg.rate > 0
        ? Math.min(Math.floor(((performance.now() - this.startedAt) / 1000) * this.cfg.rate) - this.produced, 65536)
        : 65536;
      let n = 0;
      while (n < due && !this.paused && !this.ended) {
        const want = Math.min(4096, due - n);
        this.batch.reset();
        this.batch.ensure(want);
        const got = this.feed.fillRecords(this.batch.view, 0, want, this.type, this.keyFields, this.intern);
        if (got === 0) { this.ended = true; sink.sourceEnded(this.name); break; }
        this.batch.count = got;
        n += got;
        this.produced += got;
        // The receive clock the latency is measured against (Date.now() would add up to 1 ms).
        if (!sink.ingestRecords(this.name, this.batch, receiveNowNs(), this.stream)) this.paused = true;
      }
      if (!this.stopped && !this.ended && !this.paused) this.timer = setTimeout(tick, this.cfg.rate > 0 ? 5 : 0);
    };
    this.resume = () => { if (this.paused) { this.paused = false; this.startedAt = performance.now() - (this.produced / Math.max(1, this.cfg.rate)) * 1000; if (!this.timer) this.timer = setTimeout(tick, 0); } };
    this.timer = setTimeout(tick, 0);
  }

  pause(): void { this.paused = true; }
  resume: () => void = () => undefined;

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
