// Cumulate windows (the sliding engine with W_PERIOD): the WASM engine and its
// JS twin emit the same bytes and hold the same snapshots on seeded
// out-of-order streams with late events; and the final emission of every
// window equals a brute-force cumulate over the events that were not refused
// as late: [period start, period start + j·step) for j = 1..maxSize/step.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CumulateWindow } from '../../host/operators/window/sliding_window.js';
import { OUT_LATE, OUT_REVISION, OUT_WINDOW, type OutputRecord } from '../../host/records.js';
import type { Engine } from '../../host/operators/operator.js';
import { randomStream, type Ev, type Rt } from '../host/operators/window_harness.js';
import { parity } from './window_parity.js';

const S = 1_000_000_000n;
type Cfg = ConstructorParameters<typeof CumulateWindow>[3];

function make(engine: Engine, rt: Rt, extra: Partial<Cfg> = {}) {
  return new CumulateWindow(engine, rt, 2, { stepNs: 500_000_000n, maxSizeNs: 2n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 512, maxBatch: 256, outOfOrderNs: 100_000_000n, allowedLatenessNs: 1n * S, ...extra });
}

/** The last emission of every (key, start, end) window. */
function finals(out: OutputRecord[]): Map<string, OutputRecord> {
  const m = new Map<string, OutputRecord>();
  for (const o of out) if (o.kind === OUT_WINDOW || o.kind === OUT_REVISION) m.set(`${o.key}|${o.start}|${o.end}`, o);
  return m;
}

function bruteForce(evs: Ev[], late: Set<bigint>, step: bigint, max: bigint, offset = 0n): Map<string, { count: number; sum: number }> {
  const m = new Map<string, { count: number; sum: number }>();
  const fdiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  for (const e of evs) {
    if (late.has(e.seq!)) continue;
    const start = offset + fdiv(e.ts - offset, max) * max;
    for (let end = start + step; end <= start + max; end += step) {
      if (e.ts >= end) continue;
      const k = `${e.key}|${start}|${end}`;
      const w = m.get(k) ?? { count: 0, sum: 0 };
      w.count++; w.sum += e.f[0];
      m.set(k, w);
    }
  }
  return m;
}

test('parity: seeded out-of-order streams with late events, random batches, watermarks and idle ticks', () => {
  for (const [seed, step, max] of [[7, 500_000_000n, 2n * S], [8, 250_000_000n, 3n * S], [9, S, S]] as const) {
    const evs = randomStream(seed, 3000, 15, 40_000_000, 300_000_000);
    const out = parity((engine, rt) => make(engine, rt, { stepNs: step, maxSizeNs: max }), evs, seed, { idle: seed === 9 });
    const kinds = new Set(out.map((o) => o.kind));
    assert.ok(kinds.has(OUT_WINDOW) && kinds.has(OUT_REVISION) && kinds.has(OUT_LATE), `stream exercised every kind: ${[...kinds]}`);
  }
});

// Out of order by up to 300 ms against a 100 ms bound and 1 s of lateness:
// many events revise fired windows, none is beyond its lateness, so every
// window's final emission holds every event of it.
test('every window\'s final emission (revisions included) is the brute-force cumulate of its events', () => {
  for (const [seed, step, max] of [[7, 500_000_000n, 2n * S], [8, 250_000_000n, 3n * S], [9, S, S]] as const) {
    const evs = randomStream(seed, 3000, 15, 40_000_000, 300_000_000, 0);
    const out = parity((engine, rt) => make(engine, rt, { stepNs: step, maxSizeNs: max }), evs, seed);
    assert.ok(out.some((o) => o.kind === OUT_REVISION) && !out.some((o) => o.kind === OUT_LATE), `seed ${seed}: revisions and nothing late`);
    const want = bruteForce(evs, new Set(), step, max);
    const got = finals(out);
    assert.is(got.size, want.size, `seed ${seed}: windows`);
    for (const [k, w] of want) {
      const g = got.get(k);
      assert.ok(g, `seed ${seed}: window ${k} missing`);
      assert.is(g!.values[0], w.count, `seed ${seed} ${k} count`);
      assert.ok(Math.abs(g!.values[1] - w.sum) < 1e-6, `seed ${seed} ${k} sum ${g!.values[1]} vs ${w.sum}`);
    }
  }
});

test('config errors are precise', () => {
  assert.throws(() => make('js', {} as Rt, { stepNs: 300_000_000n, maxSizeNs: S }), /must be a multiple of stepNs/);
  assert.throws(() => make('js', {} as Rt, { stepNs: 1n, maxSizeNs: 1000n }), /windows per period; at most 256/);
});

test.run();
