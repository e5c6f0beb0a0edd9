// Window operators, WASM against the hand-written JS twin, side by side in one
// run. Per-key event-time windows over 10,000 keys through the state table,
// all aggregates (count, sum, min, max, mean, variance, stddev, first, last,
// VWAP) updated per event — or, in the first case, only the five a
// market-surveillance pipeline asks for (aggMask), events in batches, outputs drained per batch.
//
// Each timed call replays the same 1 M events into a freshly initialised
// operator (the replay must not arrive "late" into the previous call's
// windows); the re-initialisation is inside the timing for both engines, the
// same for both, and small next to a call.
import { compared, medianHz, type BenchContext, type BenchResult } from './lib.js';
import { createPartitionRuntime } from '../host/wasm/module.js';
import { AGG, inputStride } from '../host/records.js';
import type { Engine } from '../host/operators/operator.js';
import { aggMaskOf, type WindowOperator } from '../host/operators/window/event_time.js';
import { TumblingWindow } from '../host/operators/window/tumbling_window.js';
import { SlidingWindow } from '../host/operators/window/sliding_window.js';

const KEYS = 10_000;
const FIELDS = 2; // price, qty (enrichment cases add 2 slots)
const BATCH = 8192;

interface Case {
  name: string;
  /** Record fields (default FIELDS). */
  fields?: number;
  /** Left out of --quick (a variant of a case that stays in). */
  fullOnly?: boolean;
  make(engine: Engine, rt: Rt): WindowOperator;
}
type Rt = ReturnType<typeof createPartitionRuntime>;

function fill(rt: Rt, n: number, fields = FIELDS): { ptr: number; stride: number } {
  const stride = inputStride(fields);
  const ptr = rt.alloc.alloc(n * stride, 64);
  const u32 = new Uint32Array(rt.memory.buffer), f64 = new Float64Array(rt.memory.buffer);
  let s = 12345;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  // 1.7e18 ns epoch start, 20 ns between events: a 1 ms window holds ~50,000
  // events over all keys, so every window fires with thousands of keys.
  const t0 = 1_732_424_400_000_000_000n;
  for (let i = 0; i < n; i++) {
    const at = ptr + i * stride, w = at >>> 2;
    const ts = t0 + BigInt(i * 20);
    u32[w] = Number(ts & 0xffffffffn); u32[w + 1] = Number(ts >> 32n);
    u32[w + 2] = i + 1; u32[w + 3] = 0;
    u32[w + 4] = rnd() % KEYS; u32[w + 5] = 0;
    f64[(at + 24) >>> 3] = 100 + (rnd() % 10000) / 100;
    f64[(at + 32) >>> 3] = 1 + (rnd() % 500);
  }
  return { ptr, stride };
}

function rate(c: Case, engine: Engine, ctx: BenchContext, n: number): number {
  const rt = createPartitionRuntime(256 << 20);
  const { ptr, stride } = fill(rt, n, c.fields);
  const op = c.make(engine, rt);
  const reset = (op as unknown as { engine: { init(b: number): void } }).engine;
  const run = () => {
    reset.init(op.base);
    for (let i = 0; i < n; i += BATCH) {
      op.process(ptr + i * stride, Math.min(BATCH, n - i), stride);
      op.clearOutput();
    }
  };
  // 1.5 s a case and engine (20 samples at least): twelve runs of a million
  // events at 3 s each made this file a third of the full suite's 10 minutes.
  return medianHz(run, ctx, `${c.name} ${engine}`, 1.5) * n;
}

const S = 1_000_000n;
const ENRICH = [{ aggregate: AGG.sum, field: FIELDS }, { aggregate: AGG.count, field: FIELDS + 1 }];
// The market-surveillance set: count, sum, min, max, VWAP (no Welford, no first/last).
const FIVE = aggMaskOf(['count', 'sum', 'min', 'max', 'vwap']);
const cases: Case[] = [
  {
    // The figure: per-key tumbling aggregate, 10,000 keys through the
    // hash table, five aggregates, only those maintained (aggMask).
    name: 'tumbling window 10 ms, 10k keys, five aggregates (count sum min max vwap)',
    make: (engine, rt) => new TumblingWindow(engine, rt, 0, { sizeNs: 10n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 2 * KEYS, maxBatch: BATCH, aggMask: FIVE }),
  },
  {
    // ~50 events per key per window: the steady state of a per-symbol aggregate.
    name: 'tumbling window 10 ms, 10k keys, all aggregates',
    make: (engine, rt) => new TumblingWindow(engine, rt, 0, { sizeNs: 10n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 2 * KEYS, maxBatch: BATCH }),
  },
  {
    // ~5 events per key per window: firing (sort + emit 10k records) dominates.
    name: 'tumbling window 1 ms, 10k keys, all aggregates',
    fullOnly: true,
    make: (engine, rt) => new TumblingWindow(engine, rt, 0, { sizeNs: S, valueField: 0, priceField: 0, qtyField: 1, capacity: 2 * KEYS, maxBatch: BATCH }),
  },
  {
    name: 'sliding window 8 ms every 2 ms (panes), 10k keys, all aggregates',
    make: (engine, rt) => new SlidingWindow(engine, rt, 0, { sizeNs: 8n * S, slideNs: 2n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 6 * KEYS, maxBatch: BATCH }),
  },
  {
    // Feature enrichment: every record gets its window's running sum and
    // count written back (what a z-score or model downstream reads).
    name: 'tumbling window 10 ms, 10k keys, enrich sum+count per event',
    fields: FIELDS + 2,
    make: (engine, rt) => new TumblingWindow(engine, rt, 0, { sizeNs: 10n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 2 * KEYS, maxBatch: BATCH, enrich: ENRICH }),
  },
  {
    // The rolling aggregate over the last 8 ms: 4 panes merged per event.
    name: 'sliding window 8 ms every 2 ms, 10k keys, enrich sum+count per event',
    fullOnly: true,
    fields: FIELDS + 2,
    make: (engine, rt) => new SlidingWindow(engine, rt, 0, { sizeNs: 8n * S, slideNs: 2n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 6 * KEYS, maxBatch: BATCH, enrich: ENRICH }),
  },
];

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 1 << 16 : 1 << 20;
  const out: BenchResult[] = [];
  for (const c of cases) {
    if (ctx.filter && !`windows ${c.name}`.includes(ctx.filter) && !'windows'.includes(ctx.filter)) continue;
    if (ctx.quick && c.fullOnly && !ctx.filter) continue;
    const js = rate(c, 'js', ctx, n);
    const wasm = rate(c, 'wasm', ctx, n);
    out.push(compared(`windows: ${c.name} (wasm)`, 'events/s', wasm, 'js twin', js));
  }
  return out;
}
