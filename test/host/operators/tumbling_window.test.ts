import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TumblingWindow } from '../../../host/operators/window/tumbling_window.js';
import { OUT_LATE, OUT_REVISION, OUT_WINDOW } from '../../../host/records.js';
import type { Engine } from '../../../host/operators/operator.js';
import { runtime, put, drain, randomStream, vals, T0, type Rt } from './window_harness.js';

const S = 1_000_000_000n; // 1 s
const engines: Engine[] = ['wasm', 'js'];

function make(engine: Engine, rt: Rt, extra: Partial<ConstructorParameters<typeof TumblingWindow>[3]> = {}) {
  return new TumblingWindow(engine, rt, 3, { sizeNs: 10n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 64, maxBatch: 256, ...extra });
}

for (const engine of engines) {
  test(`${engine}: every aggregate of one window, by hand`, () => {
    const rt = runtime();
    const op = make(engine, rt);
    // key 5, window [T0, T0+10s): values 4, 2, 6 (arrival order), prices=values, qty 1,2,3
    const b = put(rt, [
      { ts: T0 + 2n * S, key: 5, seq: 11n, f: [4, 1] },
      { ts: T0 + 1n * S, key: 5, seq: 12n, f: [2, 2] },   // earlier event time: becomes `first`
      { ts: T0 + 9n * S, key: 5, seq: 10n, f: [6, 3] },   // latest event time: `last`
      { ts: T0 + 12n * S, key: 9, seq: 13n, f: [1, 1] },  // next window, advances the watermark to T0+12s
    ]);
    op.process(b.ptr, b.count, b.stride);
    const out = drain(op);
    assert.is(out.length, 1);
    const o = out[0];
    assert.is(o.kind, OUT_WINDOW);
    assert.is(o.op, 3);
    assert.is(o.key, 5);
    assert.is(o.start, T0);
    assert.is(o.end, T0 + 10n * S);
    assert.is(o.seq, 12n, 'seq = max contributing seq');
    const v = vals(o);
    assert.is(v.count, 3); assert.is(v.sum, 12); assert.is(v.min, 2); assert.is(v.max, 6);
    assert.is(v.mean, 4);
    assert.ok(Math.abs(v.variance - 8 / 3) < 1e-12, 'population variance');
    assert.ok(Math.abs(v.stddev - Math.sqrt(8 / 3)) < 1e-12);
    assert.is(v.first, 2, 'first by event time'); assert.is(v.last, 6, 'last by event time');
    assert.ok(Math.abs(v.vwap - (4 * 1 + 2 * 2 + 6 * 3) / 6) < 1e-12);
    assert.is(op.stats().keys, 1, 'the fired window is freed (lateness 0), the open one stays');
  });

  test(`${engine}: out-of-orderness delays firing; lateness re-emits revisions; beyond goes to the late output`, () => {
    const rt = runtime();
    const op = make(engine, rt, { outOfOrderNs: 2n * S, allowedLatenessNs: 5n * S });
    const feed = (ts: bigint, key: number, x: number) => { const b = put(rt, [{ ts, key, f: [x, 1] }]); op.process(b.ptr, b.count, b.stride); return drain(op); };
    assert.equal(feed(T0 + 1n * S, 1, 10), []);
    assert.equal(feed(T0 + 11n * S, 1, 20), [], 'watermark T0+9s < end: not yet');
    const fired = feed(T0 + 12n * S, 1, 30);
    assert.is(fired.length, 1);
    assert.is(fired[0].kind, OUT_WINDOW);
    assert.is(vals(fired[0]).sum, 10);
    const rev = feed(T0 + 3n * S, 1, 5); // watermark T0+10s, end+lateness = T0+15s
    assert.is(rev.length, 1);
    assert.is(rev[0].kind, OUT_REVISION);
    assert.is(rev[0].aux, 1);
    assert.is(vals(rev[0]).sum, 15);
    assert.is(vals(rev[0]).first, 10); assert.is(vals(rev[0]).last, 5);
    const rev2 = feed(T0 + 4n * S, 1, 1);
    assert.is(rev2[0].aux, 2);
    assert.equal(feed(T0 + 18n * S, 2, 0), [], 'watermark T0+16s frees window 0');
    const late = feed(T0 + 5n * S, 1, 7);
    assert.is(late.length, 1);
    assert.is(late[0].kind, OUT_LATE);
    assert.is(late[0].aux, 1);
    assert.is(late[0].start, T0 + 5n * S);
    assert.is(late[0].values[0], 7);
    assert.is(op.stats().late, 1);
  });

  test(`${engine}: a late event for a window that never existed fires it at once`, () => {
    const rt = runtime();
    const op = make(engine, rt, { allowedLatenessNs: 100n * S });
    let b = put(rt, [{ ts: T0 + 35n * S, key: 1, f: [1, 1] }]);
    op.process(b.ptr, b.count, b.stride);
    b = put(rt, [{ ts: T0 + 5n * S, key: 2, f: [9, 1] }]);
    op.process(b.ptr, b.count, b.stride);
    const out = drain(op);
    assert.is(out.length, 1);
    assert.is(out[0].kind, OUT_WINDOW);
    assert.is(out[0].key, 2);
  });

  test(`${engine}: idle timeout advances the watermark so the last window closes`, () => {
    const rt = runtime();
    const op = make(engine, rt, { idleTimeoutNs: 5n * S });
    const b = put(rt, [{ ts: T0 + 1n * S, key: 4, f: [1, 1] }]);
    op.process(b.ptr, b.count, b.stride);
    op.advanceIdle(100n * S); // records activity
    op.advanceIdle(104n * S); // quiet 4 s < timeout
    assert.equal(drain(op), []);
    op.advanceIdle(108n * S); // quiet 8 s: watermark = T0+1s+8s < end
    assert.equal(drain(op), []);
    op.advanceIdle(110n * S); // watermark = T0+11s ≥ end
    const out = drain(op);
    assert.is(out.length, 1);
    assert.is(out[0].end, T0 + 10n * S);
  });

  test(`${engine}: state full sends events to the late output with aux 2, nothing lost`, () => {
    const rt = runtime();
    const op = make(engine, rt, { capacity: 2 });
    const b = put(rt, [1, 2, 3].map((key) => ({ ts: T0 + 1n * S, key, f: [key, 1] })));
    op.process(b.ptr, b.count, b.stride);
    const out = drain(op);
    assert.is(out.length, 1);
    assert.is(out[0].kind, OUT_LATE);
    assert.is(out[0].aux, 2);
    assert.is(out[0].key, 3);
    assert.is(op.stats().evictions, 1);
  });

  test(`${engine}: control records are skipped`, () => {
    const rt = runtime();
    const op = make(engine, rt);
    const b = put(rt, [{ ts: T0, key: 1, f: [1, 1] }, { ts: T0 + 50n * S, key: 0, f: [0, 0] }], 3, [0, 1]);
    op.process(b.ptr, b.count, b.stride);
    assert.equal(drain(op), []);
    assert.is(op.stats().keys, 1);
  });
}

test('firing order is by window end, then key', () => {
  const rt = runtime();
  for (const engine of engines) {
    const op = make(engine, rt);
    const b = put(rt, [...[9, 3, 7, 1].map((key) => ({ ts: T0 + 5n * S, key, f: [key, 1] })), ...[7, 1, 9, 3].map((key) => ({ ts: T0 + 15n * S, key, f: [key, 1] }))]);
    op.process(b.ptr, b.count, b.stride);
    op.onWatermark(T0 + 20n * S);
    const out = drain(op);
    assert.equal(out.map((o) => [o.end - T0, o.key]), [[10n * S, 1], [10n * S, 3], [10n * S, 7], [10n * S, 9], [20n * S, 1], [20n * S, 3], [20n * S, 7], [20n * S, 9]]);
  }
});

test('bad configuration and bad batches get precise errors', () => {
  const rt = runtime();
  assert.throws(() => make('js', rt, { sizeNs: 0n }), /sizeNs must be a positive bigint/);
  assert.throws(() => make('js', rt, { valueField: -1 }), /valueField must be a field index/);
  assert.throws(() => make('js', rt, { priceField: 1, qtyField: undefined }), /go together/);
  assert.throws(() => make('js', rt, { offsetNs: 20n * S }), /offsetNs must be/);
  const op = make('wasm', rt, { valueField: 5 });
  assert.throws(() => op.process(0, 1, 48), /stride 48 does not hold field 5/);
  const big = put(rt, Array.from({ length: 300 }, (_, i) => ({ ts: T0 + BigInt(i), key: 1, f: [1, 1, 1, 1, 1, 1] })), 6);
  assert.throws(() => op.process(big.ptr, big.count, big.stride), /exceeds maxBatch 256/);
});

test('2 partitions (keys split by hash) equal the 1-partition reference after sorting, under host watermarks', () => {
  const rt = runtime(96 << 20);
  // Host-driven watermarks (the internal bound is a day, so only onWatermark
  // advances time): every partition sees the same watermark at the same point.
  const cfg = { sizeNs: S, outOfOrderNs: 86_400n * S, allowedLatenessNs: 500_000_000n, capacity: 512 };
  const evs = randomStream(31, 4000, 40, 40_000_000, 600_000_000);
  const one = make('wasm', rt, cfg), parts = [make('wasm', rt, cfg), make('js', rt, cfg)];
  const ref: string[] = [], split: string[] = [];
  const key = (o: { kind: number; key: number; start: bigint; aux: number; values: Float64Array; seq: bigint }) => `${o.kind}/${o.key}/${o.start}/${o.aux}/${o.seq}/${Array.from(o.values).join(',')}`;
  for (let i = 0; i < evs.length; i += 100) {
    const batch = evs.slice(i, i + 100);
    const wm = batch.reduce((m, e) => (e.ts > m ? e.ts : m), 0n) - 300_000_000n;
    const b = put(rt, batch);
    one.process(b.ptr, b.count, b.stride);
    one.onWatermark(wm);
    ref.push(...drain(one).map(key));
    parts.forEach((p, n) => {
      const sub = put(rt, batch.filter((e) => e.key % 2 === n));
      if (sub.count > 0) p.process(sub.ptr, sub.count, sub.stride);
      p.onWatermark(wm);
      split.push(...drain(p).map(key));
    });
  }
  assert.ok(ref.length > 100);
  assert.equal(split.sort(), ref.sort());
});

test.run();
