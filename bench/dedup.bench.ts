// Dedup: the WASM operator against its JS twin on the same bytes. Trades over
// 10,000 skewed keys, 100 ns apart, every id new but for 5 % resends of a
// trade from the last few thousand; a 10 ms event-time TTL, so ~100,000
// identities are live and the table keeps expiring and refilling. A filter
// rewrites its batch in place, so each batch is copied into the work area
// untimed and only process() is timed; the figure is the median batch.
import { compared, percentile, type BenchContext, type BenchResult } from './lib.js';
import { createPartitionRuntime } from '../host/wasm/module.js';
import { createDedup } from '../host/operators/dedup/dedup.js';
import { inputStride, writeInput } from '../host/records.js';
import { lcg } from './keyed_input.js';

const KEYS = 10_000;
const BATCH = 65_536;
const STRIDE = inputStride(2);
const TTL_NS = 10_000_000n;
const T0 = 1767623400_000_000_000n;

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !'dedup'.includes(ctx.filter) && !ctx.filter.includes('dedup')) return [];
  const batches = ctx.quick ? 8 : 32;
  const rate: Record<string, number> = {};
  let dropped = 0;
  for (const engine of ['wasm', 'js'] as const) {
    const rt = createPartitionRuntime((batches + 2) * BATCH * STRIDE + (64 << 20));
    const source = rt.alloc.alloc(batches * BATCH * STRIDE);
    const work = rt.alloc.alloc(BATCH * STRIDE);
    const view = new DataView(rt.memory.buffer);
    const rnd = lcg(7);
    const ids = new Float64Array(batches * BATCH), keys = new Uint32Array(batches * BATCH);
    for (let i = 0; i < batches * BATCH; i++) {
      let key = Math.floor(Math.pow(rnd(), 1.5) * KEYS), id = 1e9 + i;
      if (i > 5000 && rnd() < 0.05) { const j = i - 1 - Math.floor(rnd() * 5000); key = keys[j]; id = ids[j]; }
      keys[i] = key; ids[i] = id;
      writeInput(view, source + i * STRIDE, T0 + BigInt(i) * 100n, BigInt(i + 1), key, [rnd() * 100, id]);
    }
    const op = createDedup(engine, rt, { field: 1, ttlNs: TTL_NS });
    const u8 = new Uint8Array(rt.memory.buffer);
    const perBatch: number[] = [];
    for (let b = 0; b < batches; b++) {
      u8.copyWithin(work, source + b * BATCH * STRIDE, source + (b + 1) * BATCH * STRIDE);
      const t = process.hrtime.bigint();
      op.process(work, BATCH, STRIDE);
      perBatch.push(Number(process.hrtime.bigint() - t));
      op.onWatermark(T0 + BigInt((b + 1) * BATCH) * 100n - 1_000_000n);
    }
    const sorted = perBatch.slice(2).sort((a, b) => a - b);
    rate[engine] = BATCH / (percentile(sorted, 50) / 1e9);
    dropped = op.counters().duplicates;
    ctx.log(`    dedup ${engine}: ${(rate[engine] / 1e6).toFixed(1)} M events/s, ${dropped} duplicates dropped, ${op.stats().keys} identities live`);
  }
  return [compared(`dedup 10 ms TTL, ${KEYS / 1000}k keys, 5 % resends, 64k batch: WASM`, 'events/s', rate.wasm, 'JS twin', rate.js,
    `${dropped} duplicates dropped over ${batches} batches`)];
}
