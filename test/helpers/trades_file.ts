// A realistic recorded trade feed for replay tests, generated from a seed:
// Zipf-skewed instruments, prices that never repeat (a random walk per
// instrument with sub-cent noise), bursts of events in the same millisecond,
// some out-of-order events within the pipeline's bound, some late beyond it,
// and optionally a few malformed lines (for the dead-letter path).
//
// One line per event: {"ts":<epoch ms>,"instrument":"I17","price":101.2345,"qty":300}

export interface TradesFileOptions {
  seed: number;
  lines: number;
  instruments: number;
  /** First event time, epoch ms. */
  startMs: number;
  /** Mean events per second of event time. */
  rate: number;
  /** Fraction of events delayed by up to maxDelayMs (out of order). */
  outOfOrder: number;
  maxDelayMs: number;
  /** Fraction of events delayed by lateByMs plus up to maxDelayMs (late). */
  late: number;
  lateByMs: number;
  /** Fraction of malformed lines. */
  malformed?: number;
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function tradesLines(o: TradesFileOptions): string[] {
  const r = rng(o.seed);
  const cum: number[] = [];
  let total = 0;
  for (let k = 0; k < o.instruments; k++) cum.push((total += 1 / Math.pow(k + 1, 1.1)));
  const pick = (): number => {
    const x = r() * total;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cum[mid] < x) lo = mid + 1; else hi = mid; }
    return lo;
  };
  const price = Array.from({ length: o.instruments }, (_, k) => 10 + 5 * k + r());
  const out: string[] = [];
  let clock = o.startMs;
  for (let i = 0; i < o.lines; i++) {
    clock += Math.floor(-Math.log(1 - r()) * (1000 / o.rate));
    const k = pick();
    price[k] = Math.max(0.01, price[k] * (1 + (r() - 0.5) * 0.002));
    const p = Math.round((price[k] + r() * 1e-4) * 1e6) / 1e6;
    const qty = 1 + Math.floor(r() * 50) * 100;
    let ts = clock;
    const u = r();
    if (u < o.late) ts = clock - o.lateByMs - Math.floor(r() * o.maxDelayMs);
    else if (u < o.late + o.outOfOrder) ts = clock - Math.floor(r() * o.maxDelayMs);
    if (o.malformed && r() < o.malformed) {
      // Whole lines that fail decoding (a price that is text, no event time), not torn JSON.
      out.push(i % 2 ? `{"ts":${ts},"instrument":"I${k}","price":"n/a","qty":${qty}}` : `{"instrument":"I${k}","price":${p},"qty":${qty}}`);
      continue;
    }
    out.push(`{"ts":${ts},"instrument":"I${k}","price":${p},"qty":${qty}}`);
  }
  return out;
}
