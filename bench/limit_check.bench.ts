// Limit check: the WASM operator against its hand-written JS twin, same region
// layout, same input bytes, 10,000 keys walking around the limit (a few
// percent in breach at any time, crossings and re-arms all along), measured
// side by side in one run.
import { compared, medianHz, type BenchContext, type BenchResult } from './lib.js';
import { createPartitionRuntime } from '../host/wasm/module.js';
import { createLimitCheck, type LimitCheckOperator, type LimitCheckOptions } from '../host/operators/limit/limit_check.js';
import { BATCH, KEYS, STRIDE, lcg, writeKeyedBatch } from './keyed_input.js';

function fill(view: DataView, at: number): void {
  const rnd = lcg(42);
  const level = Float64Array.from({ length: KEYS }, () => 80 + 30 * rnd());
  writeKeyedBatch(view, at, rnd, (key) => {
    level[key] += rnd() - 0.5;
    if (level[key] > 120 || level[key] < 60) level[key] = 90;
    return level[key];
  });
}

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const cases: [string, LimitCheckOptions][] = [
    ['above, crossing', { field: 1, above: 108 }],
    ['both bounds, every, hysteresis', { field: 1, above: 108, below: 65, emit: 'every', hysteresis: 0.02 }],
  ];
  const results: BenchResult[] = [];
  for (const [label, options] of cases) {
    const rate: Record<string, number> = {};
    let breaching = 0;
    for (const engine of ['wasm', 'js'] as const) {
      const rt = createPartitionRuntime(32 * 1024 * 1024);
      const input = rt.alloc.alloc(BATCH * STRIDE);
      fill(new DataView(rt.memory.buffer), input);
      const op: LimitCheckOperator = createLimitCheck(engine, rt, { ...options, outputCapacity: BATCH });
      const step = () => { op.process(input, BATCH, STRIDE); op.clearOutput(); };
      step();
      rate[engine] = medianHz(step, ctx, `limit ${label} ${engine}`) * BATCH;
      breaching = op.stats().keys;
      ctx.log(`    limit ${label} ${engine}: ${(rate[engine] / 1e6).toFixed(1)} M events/s, ${op.counters().alerts} alerts so far, ${breaching} keys in breach`);
    }
    results.push(compared(`limit ${label}, ${KEYS / 1000}k keys: wasm`, 'events/s', rate.wasm, 'js twin', rate.js,
      `${breaching} of ${KEYS} keys in breach at the end`));
  }
  return results;
}
