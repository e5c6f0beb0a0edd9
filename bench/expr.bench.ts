// Compiled expressions: a filter and three projections over trade records,
// the generated WASM against its JS twin (a closure-compiled evaluator of the
// same program) on the same bytes. Trades over 2,000 Zipf-skewed
// instruments, prices walking per instrument, quantities heavy-tailed, every
// row different; the filter keeps about half. A program rewrites its batch in
// place, so each batch is copied into the work area untimed and only run() is
// timed; the figure is the median batch. Three cases: one program (filter and
// projections inlined in one loop), the filter operator alone, and the filter
// and derive operators one after the other as a pipeline runs them.
import { compared, percentile, type BenchContext, type BenchResult } from './lib.js';
import { createPartitionRuntime } from '../host/wasm/module.js';
import { inputStride, writeInput } from '../host/records.js';
import { exprProgram } from '../host/expr/program.js';
import { emitProgram, WasmExprProgram } from '../host/expr/wasm.js';
import { JsExprProgram } from '../host/expr/js.js';
import type { ExprEnv } from '../host/expr/check.js';
import { lcg } from './keyed_input.js';
import { filterDescriptor } from '../host/operators/filter/descriptor.js';
import { deriveDescriptor } from '../host/operators/derive/descriptor.js';

const BATCH = 65_536;
const INSTRUMENTS = 2000;
// ts, instrument, price, qty, side, then three output slots
const STRIDE = inputStride(7);
const T0 = 1767623400_000_000_000n;

export const EXPR_FILTER = "price > 95 AND qty >= 200 AND instrument <> 'XOM'";
export const EXPR_PROJECTIONS = ['price * qty', 'ROUND(price * 1.0001, 2)', 'CASE WHEN side > 0 THEN qty ELSE -qty END'];

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !'expr'.includes(ctx.filter) && !ctx.filter.includes('expr')) return [];
  const env: ExprEnv = {
    fields: [
      { name: 'ts', type: 'timestamp', slot: -1 }, { name: 'instrument', type: 'string', slot: 0 },
      { name: 'price', type: 'double', slot: 1 }, { name: 'qty', type: 'double', slot: 2 }, { name: 'side', type: 'double', slot: 3 },
    ],
    intern: (s) => (s === 'XOM' ? 7 : 1_000_000),
  };
  const program = exprProgram(env, { filter: EXPR_FILTER, projections: EXPR_PROJECTIONS.map((source, i) => ({ slot: 4 + i, source })) });
  const module = new WebAssembly.Module(emitProgram(program));
  const batches = ctx.quick ? 6 : 24;
  const rate: Record<string, number> = {};
  const opRate: Record<string, number> = {};
  const chainRate: Record<string, number> = {};
  let kept = 0;
  for (const engine of ['wasm', 'js'] as const) {
    const rt = createPartitionRuntime(batches * BATCH * STRIDE + (16 << 20));
    const source = rt.alloc.alloc(batches * BATCH * STRIDE), work = rt.alloc.alloc(BATCH * STRIDE);
    const view = new DataView(rt.memory.buffer);
    const rnd = lcg(11);
    const level = Float64Array.from({ length: INSTRUMENTS }, () => 60 + 80 * rnd());
    for (let i = 0; i < batches * BATCH; i++) {
      const inst = Math.floor(Math.pow(rnd(), 2.2) * INSTRUMENTS);
      level[inst] *= 1 + (rnd() - 0.5) * 0.002;
      const qty = 100 * Math.ceil(-Math.log(1 - rnd()) * 3);
      writeInput(view, source + i * STRIDE, T0 + BigInt(i) * 500n, BigInt(i + 1), inst, [inst, Math.round(level[inst] * 100) / 100, qty, rnd() < 0.5 ? 1 : -1, 0, 0, 0]);
    }
    const prog = engine === 'wasm' ? new WasmExprProgram(rt.memory, module) : new JsExprProgram(rt.memory, program);
    const u8 = new Uint8Array(rt.memory.buffer);
    const median = (run: (ptr: number, count: number, stride: number) => number): { rate: number; kept: number } => {
      const times: number[] = [];
      let k = 0;
      for (let round = 0; round < 2; round++) {
        for (let b = 0; b < batches; b++) {
          u8.copyWithin(work, source + b * BATCH * STRIDE, source + (b + 1) * BATCH * STRIDE);
          const t = process.hrtime.bigint();
          k += run(work, BATCH, STRIDE);
          if (round === 1) times.push(Number(process.hrtime.bigint() - t));
        }
      }
      return { rate: BATCH / (percentile(times.sort((a, b) => a - b), 50) / 1e9), kept: k };
    };
    const m = median((p, n, s) => prog.run(p, n, s));
    rate[engine] = m.rate;
    kept = m.kept;
    ctx.log(`    expr ${engine}: ${(rate[engine] / 1e6).toFixed(1)} M events/s, kept ${(kept / (2 * batches * BATCH) * 100).toFixed(1)} %`);
    // The filter alone, as a pipeline runs it: the `type: filter` operator built by its descriptor (program compiled at creation).
    const fields = { all: ['instrument', 'price', 'qty', 'side', 'o1', 'o2', 'o3'], numbers: ['price', 'qty', 'side'], strings: ['instrument'], time: 'ts' };
    const planned = filterDescriptor.plan({ type: 'filter', name: 'f', where: EXPR_FILTER }, {
      field: () => 0, enrichment: () => [], eventTime: { out_of_orderness: 0n, allowed_lateness: 0n }, baseDir: '.', fields,
    });
    const op = filterDescriptor.kinds.filter({ ...planned, stringIds: (planned.strings as string[]).map((s) => env.intern(s)) },
      { ...rt, op: 0, partition: 0, engine, fieldCount: 7, stride: STRIDE, maxBatch: BATCH });
    const f = median((p, n, s) => op.process(p, n, s) as number);
    opRate[engine] = f.rate;
    ctx.log(`    filter operator ${engine}: ${(f.rate / 1e6).toFixed(1)} M events/s, kept ${(f.kept / (2 * batches * BATCH) * 100).toFixed(1)} %`);
    // The same filter and projections as a pipeline runs them: the filter operator, then a derive with the three
    // fields over the kept records (two operators, each built by its descriptor, over the same batch).
    const schema = { all: ['instrument', 'price', 'qty', 'side'], numbers: ['price', 'qty', 'side'], strings: ['instrument'], time: 'ts' };
    const derivePlan = deriveDescriptor.plan({ type: 'derive', name: 'd', fields: { o1: EXPR_PROJECTIONS[0], o2: EXPR_PROJECTIONS[1], o3: EXPR_PROJECTIONS[2] } }, {
      field: () => 0, enrichment: () => [], eventTime: { out_of_orderness: 0n, allowed_lateness: 0n }, baseDir: '.', fields: schema,
    });
    const derive = deriveDescriptor.kinds.derive({ ...derivePlan, stringIds: [] }, { ...rt, op: 1, partition: 0, engine, fieldCount: 7, stride: STRIDE, maxBatch: BATCH });
    const c = median((p, n, s) => { const k = op.process(p, n, s) as number; derive.process(p, k, s); return k; });
    chainRate[engine] = c.rate;
    ctx.log(`    filter + derive operators ${engine}: ${(c.rate / 1e6).toFixed(1)} M events/s`);
  }
  return [compared(`expressions: filter + 3 projections, trades, 64k batch: WASM`, 'events/s', rate.wasm, 'JS twin (closure-compiled evaluator)', rate.js,
    `filter ${EXPR_FILTER}; projections ${EXPR_PROJECTIONS.join('; ')}; ${(kept / (2 * batches * BATCH) * 100).toFixed(0)} % kept`),
  compared(`filter operator (type: filter, built by its descriptor), trades, 64k batch: WASM`, 'events/s', opRate.wasm, 'JS twin', opRate.js,
    `where ${EXPR_FILTER}`),
  compared(`filter + derive operators (3 fields), as a pipeline runs them, trades, 64k batch: WASM`, 'events/s', chainRate.wasm, 'JS twin', chainRate.js,
    `where ${EXPR_FILTER}; fields ${EXPR_PROJECTIONS.join('; ')}`)];
}
