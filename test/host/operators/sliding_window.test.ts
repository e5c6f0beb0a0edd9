import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SlidingWindow } from '../../../host/operators/window/sliding_window.js';
import { OUT_LATE, OUT_REVISION, OUT_WINDOW } from '../../../host/records.js';
import type { Engine } from '../../../host/operators/operator.js';
import { runtime, put, drain, randomStream, vals, T0, type Rt } from './window_harness.js';

const S = 1_000_000_000n;
const engines: Engine[] = ['wasm', 'js'];
type Cfg = ConstructorParameters<typeof SlidingWindow>[3];

function make(engine: Engine, rt: Rt, extra: Partial<Cfg> = {}) {
  return new SlidingWindow(engine, rt, 2, { sizeNs: 10n * S, slideNs: 5n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 64, maxBatch: 256, ...extra });
}
const feed = (rt: Rt, op: SlidingWindow, evs: { ts: bigint; key: number; x: number }[]) => {
  const b = put(rt, evs.map((e) => ({ ts: e.ts, key: e.key, f: [e.x, 1] })));
  op.process(b.ptr, b.count, b.stride);
  return drain(op);
};

for (const engine of engines) {
  test(`${engine}: each event lands in size/slide windows, merged from panes, by hand`, () => {
    const rt = runtime();
    const op = make(engine, rt);
    // windows of 10 s every 5 s; events at 1 s (x=1), 6 s (x=2), 12 s (x=4)
    const out = feed(rt, op, [{ ts: T0 + 1n * S, key: 1, x: 1 }, { ts: T0 + 6n * S, key: 1, x: 2 }, { ts: T0 + 12n * S, key: 1, x: 4 }]);
    // watermark T0+12s: windows ending at T0+5s ([-5,5)) and T0+10s ([0,10)) fired
    assert.equal(out.map((o) => [o.start - T0, o.end - T0, vals(o).sum, vals(o).count]), [[-5n * S, 5n * S, 1, 1], [0n, 10n * S, 3, 2]]);
    op.onWatermark(T0 + 20n * S);
    const more = drain(op);
    assert.equal(more.map((o) => [o.start - T0, o.end - T0, vals(o).sum]), [[5n * S, 15n * S, 6], [10n * S, 20n * S, 4]]);
    const w = vals(more[0]);
    assert.is(w.min, 2); assert.is(w.max, 4); assert.is(w.first, 2); assert.is(w.last, 4); assert.is(w.mean, 3); assert.is(w.variance, 1);
    assert.is(op.stats().keys, 1, 'a pane stays until watermark > its last end + lateness');
    op.onWatermark(T0 + 20n * S + 1n);
    assert.is(op.stats().keys, 0);
  });

  test(`${engine}: slide that does not divide the size uses gcd panes`, () => {
    const rt = runtime();
    const op = make(engine, rt, { sizeNs: 10n * S, slideNs: 4n * S });
    const out = feed(rt, op, [{ ts: T0 + 1n * S, key: 1, x: 1 }, { ts: T0 + 3n * S, key: 1, x: 10 }]);
    op.onWatermark(T0 + 30n * S);
    out.push(...drain(op));
    // windows [4k, 4k+10) containing 1 s or 3 s: k = -2 ([-8,2)), -1 ([-4,6)), 0 ([0,10))
    assert.equal(out.map((o) => [o.start - T0, vals(o).sum]), [[-8n * S, 1], [-4n * S, 11], [0n, 11]]);
  });

  test(`${engine}: late events revise every fired window of their pane, then go to the late output`, () => {
    const rt = runtime();
    const op = make(engine, rt, { allowedLatenessNs: 6n * S });
    feed(rt, op, [{ ts: T0 + 1n * S, key: 1, x: 1 }]);
    const fired = feed(rt, op, [{ ts: T0 + 11n * S, key: 2, x: 0 }]); // wm 11: windows ending 5, 10 fire for key 1
    assert.equal(fired.map((o) => [o.key, o.end - T0]), [[1, 5n * S], [1, 10n * S]]);
    const rev = feed(rt, op, [{ ts: T0 + 2n * S, key: 1, x: 5 }]); // pane [0,5): windows ending 5 and 10, both ≤ wm, within lateness
    assert.equal(rev.map((o) => [o.kind, o.aux, o.end - T0, vals(o).sum]), [[OUT_REVISION, 1, 5n * S, 6], [OUT_REVISION, 1, 10n * S, 6]]);
    const rev2 = feed(rt, op, [{ ts: T0 + 13n * S, key: 2, x: 0 }, { ts: T0 + 3n * S, key: 1, x: 1 }]); // wm 13 > 5+6: only window 10 revisable
    assert.equal(rev2.map((o) => [o.kind, o.aux, o.end - T0, vals(o).sum]), [[OUT_REVISION, 2, 10n * S, 7]]);
    const late = feed(rt, op, [{ ts: T0 + 40n * S, key: 2, x: 0 }, { ts: T0 + 4n * S, key: 1, x: 1 }]);
    assert.equal(late.filter((o) => o.kind === OUT_LATE).map((o) => [o.key, o.start - T0]), [[1, 4n * S]]);
  });

  test(`${engine}: a late event for a window with no data emits it as a first firing`, () => {
    const rt = runtime();
    const op = make(engine, rt, { allowedLatenessNs: 100n * S });
    feed(rt, op, [{ ts: T0 + 30n * S, key: 1, x: 1 }]);
    const out = feed(rt, op, [{ ts: T0 + 12n * S, key: 7, x: 3 }]);
    assert.equal(out.map((o) => [o.kind, o.aux, o.end - T0]), [[OUT_WINDOW, 0, 15n * S], [OUT_WINDOW, 0, 20n * S]]);
    const again = feed(rt, op, [{ ts: T0 + 13n * S, key: 7, x: 3 }]);
    assert.equal(again.map((o) => [o.kind, o.aux, o.end - T0, vals(o).sum]), [[OUT_REVISION, 1, 15n * S, 6], [OUT_REVISION, 1, 20n * S, 6]]);
  });
}

test('sliding equals a brute-force recomputation of every window', () => {
  const rt = runtime();
  const op = make('wasm', rt, { sizeNs: 3n * S, slideNs: 1n * S, capacity: 4096, maxBatch: 4096 });
  const evs = randomStream(11, 2000, 5, 20_000_000, 0, 0); // in order: nothing late
  const b = put(rt, evs);
  op.process(b.ptr, b.count, b.stride);
  op.onWatermark(0x7fffffffffffff00n);
  for (const o of drain(op)) {
    const inside = evs.filter((e) => e.key === o.key && e.ts >= o.start && e.ts < o.end);
    assert.is(vals(o).count, inside.length);
    assert.ok(Math.abs(vals(o).sum - inside.reduce((a, e) => a + e.f[0], 0)) < 1e-6);
    assert.is(vals(o).max, Math.max(...inside.map((e) => e.f[0])));
  }
});

test('bad configuration gets precise errors', () => {
  const rt = runtime();
  assert.throws(() => make('js', rt, { slideNs: 20n * S }), /must not exceed sizeNs/);
  assert.throws(() => make('js', rt, { sizeNs: 1000n * S, slideNs: 1n * S }), /at most 256/);
  assert.throws(() => make('js', rt, { sizeNs: 100_000n * S + 1n, slideNs: 1000n * S }), /at most 4096|at most 256/);
});

test.run();
