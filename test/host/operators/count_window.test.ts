import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CountWindow } from '../../../host/operators/window/count_window.js';
import { OUT_LATE, OUT_WINDOW } from '../../../host/records.js';
import type { Engine } from '../../../host/operators/operator.js';
import { runtime, put, drain, vals, T0, type Rt } from './window_harness.js';

type Cfg = ConstructorParameters<typeof CountWindow>[3];
function make(engine: Engine, rt: Rt, extra: Partial<Cfg> = {}) {
  return new CountWindow(engine, rt, 4, { size: 3, valueField: 0, priceField: 0, qtyField: 1, capacity: 64, maxBatch: 256, ...extra });
}

for (const engine of ['wasm', 'js'] as Engine[]) {
  test(`${engine}: every 3 events of a key form a window, in arrival order`, () => {
    const rt = runtime();
    const op = make(engine, rt);
    const b = put(rt, [
      { ts: T0 + 5n, key: 1, seq: 1n, f: [1, 1] }, { ts: T0 + 1n, key: 2, seq: 2n, f: [7, 1] }, { ts: T0 + 2n, key: 1, seq: 3n, f: [2, 1] },
      { ts: T0 + 9n, key: 1, seq: 4n, f: [3, 2] }, { ts: T0 + 10n, key: 1, seq: 5n, f: [4, 1] },
    ]);
    op.process(b.ptr, b.count, b.stride);
    const out = drain(op);
    assert.is(out.length, 1);
    const o = out[0];
    assert.is(o.kind, OUT_WINDOW); assert.is(o.op, 4); assert.is(o.key, 1);
    assert.is(o.start, T0 + 2n, 'start = earliest event time'); assert.is(o.end, T0 + 9n);
    assert.is(o.seq, 4n);
    const v = vals(o);
    assert.is(v.count, 3); assert.is(v.sum, 6); assert.is(v.first, 2); assert.is(v.last, 3);
    assert.ok(Math.abs(v.vwap - (1 + 2 + 6) / 4) < 1e-12);
    assert.is(op.stats().keys, 2, 'key 1 restarted with one event, key 2 partial');
    op.onWatermark(T0 + 1_000_000n);
    assert.equal(drain(op), [], 'watermarks do not fire count windows');
  });

  test(`${engine}: a full table sends new keys to the late output, aux 2`, () => {
    const rt = runtime();
    const op = make(engine, rt, { capacity: 1 });
    const b = put(rt, [{ ts: T0, key: 1, f: [1, 1] }, { ts: T0, key: 2, f: [1, 1] }]);
    op.process(b.ptr, b.count, b.stride);
    const out = drain(op);
    assert.equal(out.map((o) => [o.kind, o.aux, o.key]), [[OUT_LATE, 2, 2]]);
  });
}

test('bad size is rejected', () => {
  assert.throws(() => make('js', runtime(), { size: 0 }), /size must be a positive integer/);
});

test.run();
