// Parity: assembly/limit_check.ts and its JS twin produce byte-identical
// outputs and state on the same seeded stream (random walks around the limits,
// jumps across both bounds, NaN and ±Infinity values, control records, tables
// small enough to evict and to leave breaches untracked).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { FLAG_CONTROL, writeInput } from '../../host/records.js';
import { createLimitCheck, type LimitCheckOptions } from '../../host/operators/limit/limit_check.js';
import { STRIDE, T0, assertParity, drain, mulberry32, runBoth as runBothEngines } from './region_parity.js';

/** Per-key random walks around 100 (limits in the cases sit near 90 and 110), with jumps, NaN, ±Inf, control records. */
function writeStream(view: DataView, at: number, n: number, keys: number, seed: number): void {
  const rnd = mulberry32(seed);
  const level = Float64Array.from({ length: keys }, () => 80 + 40 * rnd());
  for (let i = 0; i < n; i++) {
    const key = Math.floor(rnd() * keys);
    const r = rnd();
    level[key] += (rnd() - 0.5) * 3;
    if (level[key] > 130 || level[key] < 70) level[key] = 100;
    let value = level[key];
    if (r < 0.01) value = rnd() < 0.5 ? 200 : 0; // straight across both bounds
    else if (r < 0.012) value = NaN;
    else if (r < 0.013) value = rnd() < 0.5 ? Infinity : -Infinity;
    else if (r < 0.02) value = 110; // exactly at a limit: within
    const flags = r > 0.998 ? FLAG_CONTROL : 0;
    const ts = T0 + BigInt(i) * 1_000n + (i > n / 2 ? 5_000_000n : 0n);
    writeInput(view, at + i * STRIDE, ts, BigInt(i + 1), key, [rnd(), value, i], flags);
  }
}

function runBoth(options: LimitCheckOptions, events: number, keys: number, seed: number) {
  return runBothEngines((engine, rt) => createLimitCheck(engine, rt, options), 32 * 1024 * 1024, writeStream, events, keys, seed);
}

const cases: [string, LimitCheckOptions][] = [
  ['above only, crossing', { field: 1, above: 110, op: 3 }],
  ['below only, every', { field: 1, below: 90, emit: 'every', outputCapacity: 1024 }],
  ['both bounds, hysteresis 5%', { field: 1, above: 110, below: 90, hysteresis: 0.05 }],
  ['both bounds, every, hysteresis 2%', { field: 1, above: 110, below: 90, emit: 'every', hysteresis: 0.02, outputCapacity: 1024 }],
  ['tiny table with TTL: evictions and untracked breaches', { field: 1, above: 105, below: 95, capacity: 12, ttlNs: 40_000n, emit: 'every', outputCapacity: 1024 }],
  ['tiny table without TTL: untracked breaches', { field: 1, above: 105, capacity: 10 }],
];

for (const [name, options] of cases) {
  test(`parity: ${name}`, () => {
    const run = runBoth(options, 50_000, 300, name.length * 7919);
    assertParity(run, 100);
    assert.equal(run.ops[0].breaches(), run.ops[1].breaches());
  });
}

test('parity runs exercise skips, re-arms, untracked breaches and evictions', () => {
  const withTtl = runBoth(cases[4][1], 50_000, 300, 1).ops[0];
  const c = withTtl.counters();
  assert.ok(c.skipped > 0, 'no NaN skipped');
  assert.ok(c.rearms > 0, 'no key re-armed');
  assert.ok(c.untracked > 0, 'no breach left untracked');
  assert.ok(c.alerts > c.crossings, 'emit every added no alerts');
  assert.ok(withTtl.stats().evictions > 0, 'no TTL eviction');
  const hyst = runBoth(cases[2][1], 50_000, 300, 2).ops[0].counters();
  assert.ok(hyst.crossings > 100 && hyst.rearms > 100, `crossings ${hyst.crossings}, rearms ${hyst.rearms}`);
});

test('a wasm snapshot continues in the js twin (and back) with the same outputs', () => {
  const options: LimitCheckOptions = { field: 1, above: 110, below: 90, hysteresis: 0.03, emit: 'every', outputCapacity: 16384, capacity: 1024 };
  const events = 20_000;
  const rt = createPartitionRuntime(32 * 1024 * 1024);
  const input = rt.alloc.alloc(events * STRIDE);
  writeStream(new DataView(rt.memory.buffer), input, events, 100, 99);
  const u8 = new Uint8Array(rt.memory.buffer);
  const half = 9_000;

  for (const [from, to] of [['wasm', 'js'], ['js', 'wasm']] as const) {
    const ref = createLimitCheck(from, rt, options);
    ref.process(input, 1500, STRIDE); // left pending: they travel in the snapshot
    ref.process(input + 1500 * STRIDE, half - 1500, STRIDE);
    const snap = ref.snapshot();
    const refOut: number[][] = [];
    drain(ref, u8, refOut);
    ref.process(input + half * STRIDE, events - half, STRIDE);
    drain(ref, u8, refOut);

    const copy = createLimitCheck(to, rt, options);
    copy.restore(snap);
    const copyOut: number[][] = [];
    drain(copy, u8, copyOut);
    copy.process(input + half * STRIDE, events - half, STRIDE);
    drain(copy, u8, copyOut);
    assert.equal(copyOut, refOut, `${from} → ${to}`);
    assert.equal(copy.counters(), ref.counters());
    assert.equal(copy.breaches(), ref.breaches());
    assert.ok(copyOut[1].length > 0);
  }
});

test.run();
