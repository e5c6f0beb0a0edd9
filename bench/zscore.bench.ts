// Z-score anomaly check: the WASM operator against its hand-written JS twin,
// same region layout, same input bytes, 10,000 keys (so the state table is
// well past the caches), measured side by side in one run.
import { compared, medianHz, type BenchContext, type BenchResult } from './lib.js';
import { createPartitionRuntime } from '../host/wasm/module.js';
import { inputStride, writeInput } from '../host/records.js';
import { createZScore, type ZScoreOperator, type ZScoreOptions } from '../host/operators/zscore.js';

const KEYS = 10_000;
const BATCH = 65_536;
const FIELDS = 2;
const STRIDE = inputStride(FIELDS);

function fill(view: DataView, at: number): void {
  let s = 42;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const level = Float64Array.from({ length: KEYS }, () => 100 * rnd());
  for (let i = 0; i < BATCH; i++) {
    const key = Math.floor(rnd() * KEYS);
    level[key] += rnd() - 0.5;
    const spike = rnd() < 0.001 ? 50 : 0;
    writeInput(view, at + i * STRIDE, 1732424400_000_000_000n + BigInt(i) * 100n, BigInt(i), key, [i, level[key] + spike]);
  }
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
