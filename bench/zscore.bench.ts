// Z-score anomaly check: the WASM operator against its hand-written JS twin,
// same region layout, same input bytes, 10,000 keys (so the state table is
// well past the caches), measured side by side in one run.
import { compared, medianHz, type BenchContext, type BenchResult } from './lib.js';
import { createPartitionRuntime } from '../host/wasm/module.js';
import { createZScore, type ZScoreOperator, type ZScoreOptions } from '../host/operators/zscore/zscore.js';
import { BATCH, KEYS, STRIDE, lcg, writeKeyedBatch } from './keyed_input.js';

function fill(view: DataView, at: number): void {
  const rnd = lcg(42);
  const level = Float64Array.from({ length: KEYS }, () => 100 * rnd());
  writeKeyedBatch(view, at, rnd, (key) => {
    level[key] += rnd() - 0.5;
    const spike = rnd() < 0.001 ? 50 : 0;
    return level[key] + spike;
  });
}

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const modes: [string, ZScoreOptions][] = [
    ['ewma', { field: 1, mode: 'ewma', halfLife: 50, minSamples: 5 }],
    ['window 32', { field: 1, mode: 'window', window: 32, minSamples: 5 }],
  ];
  const results: BenchResult[] = [];
  for (const [label, options] of modes) {
    const rate: Record<string, number> = {};
    for (const engine of ['wasm', 'js'] as const) {
      const rt = createPartitionRuntime(64 * 1024 * 1024);
      const input = rt.alloc.alloc(BATCH * STRIDE);
      fill(new DataView(rt.memory.buffer), input);
      const op: ZScoreOperator = createZScore(engine, rt, { ...options, capacity: 16_384, outputCapacity: BATCH });
      const step = () => { op.process(input, BATCH, STRIDE); op.clearOutput(); };
      step(); // every key seen once: measure steady state, not inserts
      rate[engine] = medianHz(step, ctx, `zscore ${label} ${engine}`) * BATCH;
      ctx.log(`    zscore ${label} ${engine}: ${(rate[engine] / 1e6).toFixed(1)} M events/s, ${op.counters().anomalies} anomalies so far`);
    }
    results.push(compared(`zscore ${label}, ${KEYS / 1000}k keys: wasm`, 'events/s', rate.wasm, 'js twin', rate.js));
  }
  return results;
}
