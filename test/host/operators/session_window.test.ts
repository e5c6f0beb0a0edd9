import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionWindow } from '../../../host/operators/window/session_window.js';
import { OUT_LATE, OUT_REVISION, OUT_WINDOW, type OutputRecord } from '../../../host/records.js';
import type { Engine } from '../../../host/operators/operator.js';
import { runtime, put, drain, randomStream, vals, T0, type Rt } from './window_harness.js';

const S = 1_000_000_000n;
type Cfg = ConstructorParameters<typeof SessionWindow>[3];
function make(engine: Engine, rt: Rt, extra: Partial<Cfg> = {}) {
  return new SessionWindow(engine, rt, 5, { gapNs: 5n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 64, maxBatch: 256, ...extra });
}
const feed = (rt: Rt, op: SessionWindow, evs: [number, number, number][]) => {
  const b = put(rt, evs.map(([t, key, x]) => ({ ts: T0 + BigInt(t) * S, key, f: [x, 1] })));
  op.process(b.ptr, b.count, b.stride);
  return drain(op);
};
const brief = (o: OutputRecord) =>
  [o.kind, o.aux, o.key, Number((o.start - T0) / S), Number((o.end - T0) / S), vals(o).sum];

for (const engine of ['wasm', 'js'] as Engine[]) {
  test(`${engine}: a session is [first event, last event + gap) and fires when the watermark passes its end`, () => {
    const rt = runtime();
    const op = make(engine, rt);
    assert.equal(feed(rt, op, [[0, 1, 1], [3, 1, 2], [7, 1, 3], [8, 2, 10]]), []);
    // key 1: 0,3,7 → [0, 12); key 2: [8, 13). Event at 20 closes both (ooo 0).
    const out = feed(rt, op, [[20, 3, 0]]);
    assert.equal(out.map(brief), [[OUT_WINDOW, 0, 1, 0, 12, 6], [OUT_WINDOW, 0, 2, 8, 13, 10]]);
    assert.is(op.stats().keys, 1, 'closed sessions are freed (lateness 0)');
  });

  test(`${engine}: an out-of-order event bridges two sessions into one`, () => {
    const rt = runtime();
    const op = make(engine, rt, { outOfOrderNs: 20n * S });
    feed(rt, op, [[0, 1, 1], [8, 1, 2], [4, 1, 4]]); // [0,5) and [8,13), bridged by [4,9)
    op.onWatermark(T0 + 100n * S);
    assert.equal(drain(op).map(brief), [[OUT_WINDOW, 0, 1, 0, 13, 7]]);
  });

  test(`${engine}: late events revise a fired session, or go to the late output past the lateness`, () => {
    const rt = runtime();
    const op = make(engine, rt, { allowedLatenessNs: 10n * S });
    feed(rt, op, [[0, 1, 1]]);
    assert.equal(feed(rt, op, [[6, 2, 0]]).map(brief), [[OUT_WINDOW, 0, 1, 0, 5, 1]]);
    assert.equal(feed(rt, op, [[1, 1, 2]]).map(brief), [[OUT_REVISION, 1, 1, 0, 6, 3]], 'wm 6 ≥ new end 6: re-emitted at once');
    assert.equal(feed(rt, op, [[4, 1, 4]]), [], 'extends the session to 9 > wm: pending again');
    assert.equal(feed(rt, op, [[9, 2, 0]]).map(brief), [[OUT_REVISION, 2, 1, 0, 9, 7]]);
    const late = feed(rt, op, [[40, 2, 0], [2, 1, 9]]);
    assert.equal(late.filter((o) => o.kind === OUT_LATE).map((o) => [o.key, o.aux, o.values[0]]), [[1, 1, 9]]);
  });

  test(`${engine}: idle timeout closes the last session`, () => {
    const rt = runtime();
    const op = make(engine, rt, { idleTimeoutNs: 1n * S });
    feed(rt, op, [[0, 1, 1]]);
    op.advanceIdle(1000n * S);
    op.advanceIdle(1006n * S);
    assert.equal(drain(op).map(brief), [[OUT_WINDOW, 0, 1, 0, 5, 1]]);
  });
}

test('sessions equal a brute-force gap split of an in-order stream', () => {
  const rt = runtime();
  const op = make('wasm', rt, { gapNs: 300_000_000n, capacity: 64, maxBatch: 4096 });
  const evs = randomStream(21, 3000, 4, 100_000_000, 0, 0);
  const b = put(rt, evs);
  op.process(b.ptr, b.count, b.stride);
  op.onWatermark(0x7fffffffffffff00n);
  const got = drain(op).map((o) => `${o.key}:${o.start}:${o.end}:${vals(o).count}`).sort();
  const want: string[] = [];
  for (const key of new Set(evs.map((e) => e.key))) {
    const ts = evs.filter((e) => e.key === key).map((e) => e.ts);
    let start = ts[0], last = ts[0], n = 1;
    for (const t of ts.slice(1)) {
      if (t - last >= 300_000_000n) { want.push(`${key}:${start}:${last + 300_000_000n}:${n}`); start = t; n = 0; }
      last = t; n++;
    }
    want.push(`${key}:${start}:${last + 300_000_000n}:${n}`);
  }
  assert.equal(got, want.sort());
});

test('a gap too small for the out-of-orderness is a config error', () => {
  assert.throws(() => make('js', runtime(), { gapNs: 1n, outOfOrderNs: 1000n }), /open sessions per key/);
});

test.run();
