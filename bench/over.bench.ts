// OVER: SUM over RANGE 1 minute per key (issue 17's figure), the WASM
// operator against its JS twin on the same bytes. Trades over 10,000 skewed
// keys, 100 µs apart in event time (10,000 events/s of event time, so a
// minute's frames hold ~600,000 rows), 10 % up to 5 ms out of order, a
// 200 ms out-of-orderness (local watermark); every value new (random). The
// stream first runs for a minute and a half of event time untimed so frames
// are full, then each 64k batch's process() is timed (insert, frame update,
// eviction and one 128-byte output per event); outputs are cleared untimed.
// The figure is the median batch.
import { compared, percentile, type BenchContext, type BenchResult } from './lib.js';
import { createPartitionRuntime } from '../host/wasm/module.js';
import { createOver } from '../host/operators/over/over.js';
import { inputStride, writeInput } from '../host/records.js';
import { lcg } from './keyed_input.js';

const KEYS = 10_000;
const BATCH = 65_536;
const STRIDE = inputStride(2);
const SPACING_NS = 100_000n;
const T0 = 1767623400_000_000_000n;

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !'over'.includes(ctx.filter) && !ctx.filter.includes('over')) return [];
  const warm = 14; // 14 × 65,536 × 100 µs ≈ 92 s of event time
  const timed = ctx.quick ? 6 : 16;
  const batches = warm + timed;
  const rate: Record<string, number> = {}, cpuRate: Record<string, number> = {};
  let live = 0;
  for (const engine of ['wasm', 'js'] as const) {
    const rowCapacity = 900_000;
    const rt = createPartitionRuntime(batches * BATCH * STRIDE + rowCapacity * 48 + (48 << 20));
    const source = rt.alloc.alloc(batches * BATCH * STRIDE);
    const view = new DataView(rt.memory.buffer);
    const rnd = lcg(11);
    for (let i = 0; i < batches * BATCH; i++) {
      const key = Math.floor(Math.pow(rnd(), 1.5) * KEYS);
      const back = rnd() < 0.1 ? BigInt(Math.floor(rnd() * 5_000_000)) : 0n;
      writeInput(view, source + i * STRIDE, T0 + BigInt(i) * SPACING_NS - back, BigInt(i + 1), key, [rnd() * 1e6, 0]);
    }
    const op = createOver(engine, rt, {
      field: 0, frame: 'range', rangeNs: 60_000_000_000n, aggregates: ['sum'], outOfOrderNs: 200_000_000n,
      capacity: 16_384, rowCapacity, maxBatch: BATCH,
    });
    const perBatch: number[] = [], cpuPerBatch: number[] = [];
    for (let b = 0; b < batches; b++) {
      const t = process.hrtime.bigint(), c0 = process.cpuUsage();
      op.process(source + b * BATCH * STRIDE, BATCH, STRIDE);
      const ns = Number(process.hrtime.bigint() - t), cpu = process.cpuUsage(c0);
      if (b >= warm) { perBatch.push(ns); cpuPerBatch.push((cpu.user + cpu.system) * 1000); }
      op.clearOutput();
    }
    const c = op.counters();
    if (c.late + c.refused > 0) throw new Error(`over bench: ${c.late} late and ${c.refused} refused events: the stream or the sizes are wrong`);
    rate[engine] = BATCH / (percentile(perBatch.sort((a, b) => a - b), 50) / 1e9);
    // On a shared machine the process's CPU time per batch says more than the wall clock (it excludes time other work had the core).
    cpuRate[engine] = BATCH / (percentile(cpuPerBatch.sort((a, b) => a - b), 50) / 1e9);
    live = c.emitted === 0 ? 0 : op.stats().keys;
    ctx.log(`    over ${engine}: ${(rate[engine] / 1e6).toFixed(2)} M events/s (median of ${timed} batches; ${(cpuRate[engine] / 1e6).toFixed(2)} M per CPU-second), ${c.emitted} rows emitted, ${c.pending} waiting, ${live} keys`);
  }
  return [compared(`over SUM RANGE 1 min, ${KEYS / 1000}k skewed keys, ~600k rows live, 64k batch: WASM`, 'events/s', rate.wasm, 'JS twin', rate.js,
    `${live} keys live; one over output per event; per CPU-second ${(cpuRate.wasm / 1e6).toFixed(2)} M vs ${(cpuRate.js / 1e6).toFixed(2)} M; target ≥ 20 M events/s`)];
}
