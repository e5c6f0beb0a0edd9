// Parity: assembly/zscore.ts and its JS twin produce byte-identical outputs and
// state on the same seeded stream (random walks per key, injected spikes, NaN
// values, control records, a table small enough to evict and refuse keys).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { FLAG_CONTROL, writeInput } from '../../host/records.js';
import { createZScore, type ZScoreOptions } from '../../host/operators/zscore/zscore.js';
import { STRIDE, T0, assertParity, drain, mulberry32, runBoth as runBothEngines } from './region_parity.js';

/** Writes `n` events into memory at `at`: per-key random walks, ~0.5% spikes, some NaN and control records. */
function writeStream(view: DataView, at: number, n: number, keys: number, seed: number): void {
  const rnd = mulberry32(seed);
  const level = Float64Array.from({ length: keys }, () => 50 + 100 * rnd());
  const constant = 7; // one key never changes: the stddev-0 path
  for (let i = 0; i < n; i++) {
    const key = Math.floor(rnd() * keys);
    const r = rnd();
    level[key] += (rnd() - 0.5) * 0.8;
    let value = level[key] + (rnd() - 0.5) * 2;
    if (r < 0.005) value += (rnd() < 0.5 ? -1 : 1) * (10 + 40 * rnd());
    else if (r < 0.006) value = NaN;
    if (key === constant) value = r < 0.01 ? 1000.5 : 1000;
    // Another moves, then sticks: Welford residue would show as a tiny stddev.
    if (key === constant + 1 && i % 6000 > 1500) value = 42.1;
    const flags = r > 0.998 ? FLAG_CONTROL : 0;
    // Time runs forward with gaps, so a TTL can expire idle keys.
    const ts = T0 + BigInt(i) * 1_000n + (i > n / 2 ? 5_000_000n : 0n);
    writeInput(view, at + i * STRIDE, ts, BigInt(i + 1), key, [rnd(), value, i], flags);
  }
}

function runBoth(options: ZScoreOptions, events: number, keys: number, seed: number) {
  return runBothEngines((engine, rt) => createZScore(engine, rt, options), 64 * 1024 * 1024, writeStream, events, keys, seed);
}

const cases: [string, ZScoreOptions][] = [
  ['ewma alpha, both directions', { field: 1, mode: 'ewma', alpha: 0.05, threshold: 3, minSamples: 5, op: 2 }],
  ['ewma half-life, emitAll', { field: 1, mode: 'ewma', halfLife: 20, emitAll: true, minSamples: 3, outputCapacity: 1024 }],
  ['window 32, above only, epsilon', { field: 1, mode: 'window', window: 32, minSamples: 8, direction: 'above', threshold: 2.5, epsilon: 0.25, capacity: 4096 }],
  ['window 5, below only, emitAll', { field: 1, mode: 'window', window: 5, direction: 'below', emitAll: true, outputCapacity: 1024 }],
  ['window 256 full-window minimum', { field: 1, mode: 'window', window: 256, threshold: 2, capacity: 1024 }],
  ['tiny table with TTL: evictions and refusals', { field: 1, mode: 'window', window: 16, minSamples: 4, capacity: 40, ttlNs: 50_000n, emitAll: true, outputCapacity: 1024 }],
  ['tiny table without TTL: refusals', { field: 1, mode: 'ewma', alpha: 0.1, capacity: 30, minSamples: 2 }],
];

for (const [name, options] of cases) {
  test(`parity: ${name}`, () => {
    assertParity(runBoth(options, 60_000, 200, name.length * 7919), 20);
  });
}

test('parity run exercises skips, drops and evictions', () => {
  const { ops } = runBoth(cases[5][1], 60_000, 200, 1);
  const c = ops[0].counters();
  assert.ok(c.skipped > 0, 'no NaN skipped');
  assert.ok(c.dropped > 0, 'no key refused');
  assert.ok(ops[0].stats().evictions > 0, 'no TTL eviction');
});

test('a wasm snapshot continues in the js twin (and back) with the same outputs', () => {
  const options: ZScoreOptions = { field: 1, mode: 'window', window: 24, minSamples: 6, emitAll: true, outputCapacity: 16384, capacity: 1024 };
  const events = 20_000;
  const rt = createPartitionRuntime(32 * 1024 * 1024);
  const input = rt.alloc.alloc(events * STRIDE);
  writeStream(new DataView(rt.memory.buffer), input, events, 100, 99);
  const u8 = new Uint8Array(rt.memory.buffer);
  const ref = createZScore('wasm', rt, options);
  const refOut: number[][] = [];
  const half = 9_000;
  ref.process(input, 1500, STRIDE); // leave these pending: they travel in the snapshot
  ref.process(input + 1500 * STRIDE, half - 1500, STRIDE);
  const snap = ref.snapshot();
  drain(ref, u8, refOut);
  ref.process(input + half * STRIDE, events - half, STRIDE);
  drain(ref, u8, refOut);

  const js = createZScore('js', rt, options);
  js.restore(snap);
  const jsOut: number[][] = [];
  drain(js, u8, jsOut);
  js.process(input + half * STRIDE, events - half, STRIDE);
  drain(js, u8, jsOut);
  assert.equal(jsOut, refOut);

  const back = createZScore('wasm', rt, options);
  back.restore(js.snapshot());
  assert.equal(back.counters(), ref.counters());
});

test.run();
