// The input of the per-key operator benches (bench/zscore.bench.ts,
// bench/limit_check.bench.ts): one batch of BATCH events over KEYS keys drawn
// uniformly from a seeded generator, 100 ns apart; field 0 is the event's
// index, field 1 the value the bench's own walk gives the key.
import { inputStride, writeInput } from '../host/records.js';

export const KEYS = 10_000;
export const BATCH = 65_536;
export const FIELDS = 2;
export const STRIDE = inputStride(FIELDS);

/** A seeded linear congruential generator in [0, 1): the same input on every run. */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
}

/** Writes the batch at byte `at`; `value(key)` runs once per event, after the key is drawn from `rnd`. */
export function writeKeyedBatch(view: DataView, at: number, rnd: () => number, value: (key: number) => number): void {
  for (let i = 0; i < BATCH; i++) {
    const key = Math.floor(rnd() * KEYS);
    writeInput(view, at + i * STRIDE, 1732424400_000_000_000n + BigInt(i) * 100n, BigInt(i), key, [i, value(key)]);
  }
}
