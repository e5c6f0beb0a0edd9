// Shared pieces of the benchmark suite. Every bench/*.bench.ts file exports a
// default `run(ctx)` returning results in the format the README and CI read:
//   { name, unit, value, baseline?, ratio? }
// A result that has a baseline was measured side by side with it in the same
// run; `ratio` is ours over the baseline, oriented so that > 1 means ganglion
// is better (for time-like units such as ns/row, baseline/value).
import Benchmark from 'benchmark';

export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  baseline?: string;
  baselineValue?: number;
  ratio?: number;
  note?: string;
}

export interface BenchContext {
  quick: boolean;
  /** Only cases whose name contains this run; bench files may check it to skip work. */
  filter?: string;
  log(line: string): void;
}

export type BenchFile = (ctx: BenchContext) => Promise<BenchResult[]>;

const LOWER_IS_BETTER = /^(ns|us|µs|ms|s)(\/|$)|bytes|MB/;

export function lowerIsBetter(unit: string): boolean {
  return LOWER_IS_BETTER.test(unit);
}

/** A result compared with a baseline measured in the same run. */
export function compared(name: string, unit: string, value: number, baseline: string, baselineValue: number, note?: string): BenchResult {
  const ratio = lowerIsBetter(unit) ? baselineValue / value : value / baselineValue;
  return { name, unit, value, baseline, baselineValue, ratio, ...(note ? { note } : {}) };
}

/** `compared` when the baseline was measured; the value alone (with the note) when a --quick run skipped it. */
export function comparedIf(name: string, unit: string, value: number, baseline: string, baselineValue: number | undefined, note?: string): BenchResult {
  if (baselineValue !== undefined) return compared(name, unit, value, baseline, baselineValue, note);
  return { name, unit, value, note: `${note ? note + '; ' : ''}quick run: ${baseline} not measured` };
}

/**
 * Runs `fn` under benchmark.js and returns the median-ish rate (benchmark.js's
 * mean over its samples, which it already trims by statistical significance)
 * in calls per second. `fn` should do a whole batch; scale by the batch size.
 */
export function hz(fn: () => void, ctx: BenchContext, name = 'case'): number {
  const bench = new Benchmark(name, fn, {
    minSamples: ctx.quick ? 3 : 20,
    maxTime: ctx.quick ? 0.1 : 3,
    initCount: 1,
  });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  return bench.hz;
}

/** Median of per-sample rates: more robust on noisy 2-core VMs than the mean. */
export function medianHz(fn: () => void, ctx: BenchContext, name = 'case', fullMaxTime = 3): number {
  const bench = new Benchmark(name, fn, {
    minSamples: ctx.quick ? 3 : 20,
    maxTime: ctx.quick ? 0.1 : fullMaxTime,
  });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  const samples = [...bench.stats.sample].sort((a, b) => a - b); // seconds per call
  const mid = samples[Math.floor(samples.length / 2)];
  return 1 / mid;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
