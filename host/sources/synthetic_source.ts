// The built-in synthetic market feed as a source: generates ring-layout
// records straight into a batch (no per-event objects, no JSON), at a target
// rate in wall-clock time or flat out, and stops reading under backpressure
// like any network source.
import type { PipelineConfig } from '../config/types.js';
import type { SourceConfig } from '../config/types.js';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SyntheticFeed, isoToNs, type FeedKind, type FeedState } from './synthetic_feed.js';
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

/** Events between two saved feed states (and states kept): a restart regenerates at most about this many. */
const SAVE_EVERY = 250_000;
const KEPT_STATES = 3;
const MAX_SAVED_ENTITIES = 50_000;

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
    /**
     * Where the feed keeps its last few states (see `start`): a restart then
     * resumes from the newest one the log covers instead of regenerating every
     * event ever logged, which took as long as the feed had run.
     */
    private readonly statePath?: string,
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
    const saved = skip > 0 ? this.savedState(skip) : undefined;
    if (saved) {
      this.feed.importState(saved);
      this.produced = saved.produced;
      skip -= saved.produced;
    }
    while (skip > 0) {
      this.batch.reset();
      const want = Math.min(4096, skip);
      this.batch.ensure(want);
      const got = this.feed.fillRecords(this.batch.view, 0, want, this.type, this.keyFields, this.intern);
      if (got === 0) break;
      skip -= got;
      this.produced += got;
    }
    this.savedAt = this.produced;
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
      if (this.produced - this.savedAt >= SAVE_EVERY) this.saveState();
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
    this.saveState();
  }

  private readonly states: FeedState[] = [];
  private savedAt = 0;

  /** The feed's identity: a saved state is only good for the same feed. */
  private get fingerprint(): string {
    return JSON.stringify(this.cfg, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }

  /**
   * Keeps the last few states, each after `produced` events handed over: the
   * newest may be ahead of what the log made durable before a crash, an older
   * one is not. Written whole to a temporary file and renamed; a damaged or
   * missing file only means regenerating from the start.
   */
  private saveState(): void {
    this.savedAt = this.produced;
    // A state holds a price per entity: past MAX_SAVED_ENTITIES, writing one every SAVE_EVERY events would cost too much.
    if (!this.statePath || this.cfg.instruments > MAX_SAVED_ENTITIES) return;
    const st = this.feed.exportState();
    if (!st || st.produced === 0) return;
    if (this.states[this.states.length - 1]?.produced !== st.produced) this.states.push(st);
    if (this.states.length > KEPT_STATES) this.states.shift();
    try {
      writeFileSync(`${this.statePath}.tmp`, JSON.stringify({ feed: this.fingerprint, states: this.states }));
      renameSync(`${this.statePath}.tmp`, this.statePath);
    } catch {
      // Only a faster restart is lost.
    }
  }

  /** The newest saved state at or before `logged` events, of this very feed. */
  private savedState(logged: number): FeedState | undefined {
    if (!this.statePath || !existsSync(this.statePath)) return undefined;
    try {
      const file = JSON.parse(readFileSync(this.statePath, 'utf8')) as { feed: string; states: FeedState[] };
      if (file.feed !== this.fingerprint) return undefined;
      const usable = file.states.filter((st) => st.produced <= logged);
      const st = usable[usable.length - 1];
      if (st) this.states.push(st);
      return st;
    } catch {
      return undefined;
    }
  }
}
