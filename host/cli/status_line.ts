// The one-line live status of `ganglion run`:
//
//   ganglion  1.02 M ev/s  p99 48 µs  alerts 17  backpressure 0%  late 3  dead 0  │ http://127.0.0.1:9464/
//
// On a TTY it is redrawn in place (carriage return + erase to end of line);
// anywhere else (systemd, a pipe, a log file) a plain line is printed every
// `plainEveryMs` so logs stay readable.

export interface StatusSample {
  /** Events accepted since start. */
  events: number;
  /** Alerts since start (anomalies, scores at/above threshold). */
  alerts: number;
  /** Late events and dead letters since start. */
  late?: number;
  deadLetters?: number;
  /** p99 processing latency over the last interval, ns (undefined: no outputs yet). */
  p99LatencyNs?: number;
  /** Share of the last interval the input was held back by full rings, 0..1. */
  backpressure?: number;
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M ev/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k ev/s`;
  return `${Math.round(perSecond)} ev/s`;
}

export function formatLatency(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns)) return '–';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`;
  if (ns >= 1e3) return `${Math.round(ns / 1e3)} µs`;
  return `${Math.round(ns)} ns`;
}

/** The status text for `cur`, with the rate over the `dtMs` since `prev`. */
export function formatStatus(prev: StatusSample | undefined, cur: StatusSample, dtMs: number, url?: string): string {
  const rate = prev && dtMs > 0 ? ((cur.events - prev.events) * 1000) / dtMs : 0;
  const parts = [
    'ganglion',
    formatRate(rate),
    `p99 ${formatLatency(cur.p99LatencyNs)}`,
    `alerts ${cur.alerts}`,
    `backpressure ${Math.round((cur.backpressure ?? 0) * 100)}%`,
    `late ${cur.late ?? 0}`,
    `dead ${cur.deadLetters ?? 0}`,
  ];
  return parts.join('  ') + (url ? `  │ ${url}` : '');
}

export interface StatusLineOptions {
  write: (text: string) => void;
  tty: boolean;
  url?: string;
  /** Non-TTY: print at most this often. Default 5 s. */
  plainEveryMs?: number;
  now?: () => number;
}

export class StatusLine {
  private prev: StatusSample | undefined;
  private prevAt = 0;
  private lastPlain = -Infinity;
  private drawn = false;
  private readonly now: () => number;

  constructor(private readonly opts: StatusLineOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Feed a sample (call about once a second). */
  update(sample: StatusSample): void {
    const t = this.now();
    const text = formatStatus(this.prev, sample, t - this.prevAt, this.opts.url);
    if (this.prev !== undefined) {
      if (this.opts.tty) {
        this.opts.write(`\r${text}\x1b[K`);
        this.drawn = true;
      } else if (t - this.lastPlain >= (this.opts.plainEveryMs ?? 5000)) {
        this.opts.write(text + '\n');
        this.lastPlain = t;
      }
    }
    this.prev = { ...sample };
    this.prevAt = t;
  }

  /** Ends the in-place line so the next output starts on a fresh line. */
  end(): void {
    if (this.drawn) this.opts.write('\n');
    this.drawn = false;
  }
}
