// The synthetic feed (what `npm start` pushes) and output formatting (every
// output on the way to a sink), each against the straightforward alternative
// measured in the same run.
import { compared, medianHz, type BenchContext, type BenchResult } from './lib.js';
import { SyntheticFeed, type SyntheticOptions } from '../host/sources/synthetic_feed.js';
import { EVENT_TYPES } from '../host/schema/event_types.js';
import { formatOutput, serializeOutput, type FormatContext } from '../host/output/format.js';
import { OUT_WINDOW, readOutput, writeOutput } from '../host/records.js';

const opts: SyntheticOptions = {
  kind: 'trades', seed: 1, instruments: 2000, zipf: 1.1, rate: 1e6, startNs: 1_767_623_400_000_000_000n,
  outOfOrder: 0.01, maxDelayNs: 200_000_000n, late: 0.0005, lateByNs: 3_000_000_000n, anomalies: 0.0002,
};

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const want = (name: string) => !ctx.filter || name.includes(ctx.filter) || 'feed.bench.ts'.includes(ctx.filter);
  const results: BenchResult[] = [];
  const type = EVENT_TYPES.trades;
  const B = 16_384;
  const view = new DataView(new ArrayBuffer(type.stride * B));
  const ids = new Map<string, number>();
  const intern = (s: string) => { let v = ids.get(s); if (v === undefined) { v = ids.size; ids.set(s, v); } return v; };

  const name = 'feed: synthetic trades as ring records (pooled), per event';
  if (want(name)) {
    const pooled = new SyntheticFeed(opts);
    pooled.fillRecords(view, 0, B, type, ['instrument'], intern, 1 << 16, 0); // builds the pool
    const fast = medianHz(() => pooled.fillRecords(view, 0, B, type, ['instrument'], intern, 1 << 16, 0), ctx, name);
    const objects = new SyntheticFeed(opts);
    const slow = medianHz(() => objects.take(B), ctx, 'take');
    results.push(compared(name, 'ns/event', 1e9 / (fast * B), 'SyntheticFeed.take (InputEvent objects)', 1e9 / (slow * B)));
    const fresh = new SyntheticFeed(opts);
    const direct = medianHz(() => fresh.writeRecords(view, 0, B, type, ['instrument'], intern), ctx, 'writeRecords');
    results.push({ name: 'feed: synthetic trades as ring records (fresh, never repeats), per event', unit: 'ns/event', value: 1e9 / (direct * B) });
  }

  const fname = 'output: window record → JSON line, per output';
  if (want(fname)) {
    const fctx: FormatContext = {
      operators: [{ name: 'vwap_1s', type: 'window', aggregates: ['count', 'vwap', 'min', 'max', 'last'] }],
      fields: ['price', 'qty'],
      keyName: (id) => `SYM${id}`,
    };
    const N = 1024;
    const recs = new DataView(new ArrayBuffer(128 * N));
    for (let i = 0; i < N; i++) writeOutput(recs, i * 128, { kind: OUT_WINDOW, op: 0, key: i % 500, aux: 0, start: 1_767_623_400_000_000_000n + BigInt(i) * 1_000_000_000n, end: 1_767_623_401_000_000_000n + BigInt(i) * 1_000_000_000n, seq: BigInt(i), values: Float64Array.from({ length: 11 }, (_, k) => 100 + k + i / 7) });
    let sink = 0;
    const ours = medianHz(() => { for (let i = 0; i < N; i++) sink += serializeOutput(formatOutput(readOutput(recs, i * 128), fctx)).length; }, ctx, fname);
    // Baseline: dump the decoded record as it is (bigints as strings), no names, no ISO times.
    const naive = medianHz(() => { for (let i = 0; i < N; i++) sink += JSON.stringify(readOutput(recs, i * 128), (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Float64Array ? Array.from(v) : v)).length; }, ctx, 'naive');
    results.push(compared(fname, 'ns/output', 1e9 / (ours * N), 'JSON.stringify of the raw record (bigint replacer)', 1e9 / (naive * N)));
    if (sink < 0) ctx.log(String(sink));
  }
  return results;
}
