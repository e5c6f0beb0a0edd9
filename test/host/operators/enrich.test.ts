// Feature enrichment in the window operators: each event's record gets the
// listed aggregates of its key's current window (including the event) written
// into its own f64 fields, in place. By hand per window type, against the
// window outputs, and NaN for events sent to the late output. WASM/JS parity
// on the record bytes: test/parity/enrich.parity.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AGG, IN_FIELDS, OUT_LATE, OUT_REVISION, type AggregateName } from '../../../host/records.js';
import type { Engine } from '../../../host/operators/operator.js';
import type { EnrichSpec, WindowOperator } from '../../../host/operators/window/event_time.js';
import { WindowConfigError } from '../../../host/operators/window/event_time.js';
import { TumblingWindow } from '../../../host/operators/window/tumbling_window.js';
import { SlidingWindow } from '../../../host/operators/window/sliding_window.js';
import { SessionWindow } from '../../../host/operators/window/session_window.js';
import { CountWindow } from '../../../host/operators/window/count_window.js';
import { runtime, put, drain, rng, vals, T0, type Ev, type Rt } from './window_harness.js';

const S = 1_000_000_000n;
const engines: Engine[] = ['wasm', 'js'];
/** Records: f0 price, f1 qty, f2.. enrichment slots. */
const FIELDS = 6;
const common = { valueField: 1, capacity: 64, maxBatch: 256 };
const slots = (...aggs: AggregateName[]): EnrichSpec[] => aggs.map((a, i) => ({ aggregate: AGG[a], field: 2 + i }));

/** Feeds (ts offset in s, key, qty) events; returns each record's enrichment slots after process(). */
function feed(rt: Rt, op: WindowOperator, evs: Array<[number, number, number]>, n = 2): number[][] {
  const b = put(rt, evs.map(([t, key, q]) => ({ ts: T0 + BigInt(Math.round(t * 1000)) * 1_000_000n, key, f: [100, q, -1, -1, -1, -1] })), FIELDS);
  op.process(b.ptr, b.count, b.stride);
  const f64 = new Float64Array(rt.memory.buffer);
  return evs.map((_, i) => Array.from({ length: n }, (_, j) => f64[(b.ptr + i * b.stride + IN_FIELDS) / 8 + 2 + j]));
}

for (const engine of engines) {
  test(`${engine}: tumbling: running count and sum of the event's window`, () => {
    const rt = runtime();
    const op = new TumblingWindow(engine, rt, 0, { ...common, sizeNs: 10n * S, enrich: slots('count', 'sum') });
    assert.equal(feed(rt, op, [[1, 1, 2], [3, 1, 5], [4, 2, 7], [12, 1, 1], [13, 1, 4]]), [[1, 2], [2, 7], [1, 7], [1, 1], [2, 5]]);
  });

  test(`${engine}: tumbling: late within lateness gets the revised window, beyond it NaN`, () => {
    const rt = runtime();
    const op = new TumblingWindow(engine, rt, 0, { ...common, sizeNs: 10n * S, allowedLatenessNs: 10n * S, enrich: slots('sum', 'max') });
    assert.equal(feed(rt, op, [[1, 1, 2], [3, 1, 5], [15, 1, 1]]), [[2, 2], [7, 5], [1, 1]]);
    drain(op);
    assert.equal(feed(rt, op, [[2, 1, 9]]), [[16, 9]], 'late, within lateness: the revised [0,10) window');
    assert.equal(drain(op).map((o) => [o.kind, vals(o).sum]), [[OUT_REVISION, 16]]);
    const late = feed(rt, op, [[40, 1, 1], [5, 1, 3]]);
    assert.equal(late[0], [1, 1]);
    assert.ok(late[1].every(Number.isNaN), `beyond lateness: NaN, got ${late[1]}`);
    assert.equal(drain(op).filter((o) => o.kind === OUT_LATE).map((o) => Array.from(o.values.slice(0, 4), String)), [['100', '3', 'NaN', 'NaN']], 'the late output shows NaN in the enrichment slots');
  });

  test(`${engine}: tumbling: an event refused for full state gets NaN`, () => {
    const rt = runtime();
    const op = new TumblingWindow(engine, rt, 0, { ...common, capacity: 1, sizeNs: 10n * S, enrich: slots('count') });
    const got = feed(rt, op, [[1, 1, 2], [2, 2, 5]], 1);
    assert.equal(got[0], [1]);
    assert.ok(Number.isNaN(got[1][0]));
  });

  test(`${engine}: sliding 3 s every 1 s: rolling sum of qty over the last 3 panes`, () => {
    const rt = runtime();
    const op = new SlidingWindow(engine, rt, 0, { ...common, sizeNs: 3n * S, slideNs: 1n * S, enrich: slots('sum', 'count') });
    // windows [k, k+3): the most recent one containing t ends at floor(t)+1
    const got = feed(rt, op, [[0.5, 1, 1], [1.5, 1, 2], [2.5, 1, 3], [3.5, 1, 4], [3.7, 2, 10], [5.5, 1, 5], [5.6, 1, 6]]);
    assert.equal(got, [[1, 1], [3, 2], [6, 3], [9, 3], [10, 1], [9, 2], [15, 3]]);
  });

  test(`${engine}: sliding 10 s every 4 s (gcd panes): the window that closes next after the event`, () => {
    const rt = runtime();
    const op = new SlidingWindow(engine, rt, 0, { ...common, sizeNs: 10n * S, slideNs: 4n * S, enrich: slots('sum') });
    // windows [4k, 4k+10) end at 2, 6, 10, ...: t=1 → [-8,2); t=3 and t=5 → [-4,6); t=9 → [0,10)
    assert.equal(feed(rt, op, [[1, 1, 1], [3, 1, 10], [5, 1, 100], [9, 1, 1000]], 1), [[1], [11], [111], [1111]]);
  });

  test(`${engine}: sliding: a late event within lateness gets its revised most recent window`, () => {
    const rt = runtime();
    const op = new SlidingWindow(engine, rt, 0, { ...common, sizeNs: 10n * S, slideNs: 5n * S, allowedLatenessNs: 6n * S, enrich: slots('sum') });
    feed(rt, op, [[1, 1, 1], [6, 1, 2], [16, 2, 0]]); // wm 16: windows of key 1 ending 5, 10, 15 fired
    assert.equal(feed(rt, op, [[7, 1, 4]], 1), [[7]], 'the window closing next after 7 s is [0,10): 1 + 2 + 4');
    // wm 20: [0,10) is past its lateness (final, not revised), [5,15) still takes the event
    assert.equal(feed(rt, op, [[20, 2, 0], [8, 1, 8]], 1)[1], [14], '[5,15): 2 + 4 + 8');
    assert.equal(feed(rt, op, [[30, 2, 0], [9, 1, 1]], 1)[1].map(Number.isNaN), [true]);
  });

  test(`${engine}: session: the merged session, revised when late, NaN when too late`, () => {
    const rt = runtime();
    const op = new SessionWindow(engine, rt, 0, { ...common, gapNs: 5n * S, allowedLatenessNs: 15n * S, enrich: slots('sum', 'count') });
    assert.equal(feed(rt, op, [[0, 1, 1], [2, 1, 2], [20, 1, 4], [16, 1, 8]]), [[1, 1], [3, 2], [4, 1], [12, 2]]);
    // [6.5, 11.5) overlaps the fired session [0, 7): wm 20 ≤ 11.5 + lateness → revised
    assert.equal(feed(rt, op, [[6.5, 1, 16]]), [[19, 3]]);
    // a late event bridging [0,11.5) and [16,25): one session of everything
    assert.equal(feed(rt, op, [[11.2, 1, 32]]), [[63, 6]]);
    const late = feed(rt, op, [[60, 1, 1], [1, 1, 64]]);
    assert.equal(late[0], [1, 1]);
    assert.ok(late[1].every(Number.isNaN));
  });

  test(`${engine}: count windows of 3: the current window including the event`, () => {
    const rt = runtime();
    const op = new CountWindow(engine, rt, 0, { ...common, size: 3, enrich: slots('sum', 'count') });
    assert.equal(feed(rt, op, [[1, 1, 1], [2, 1, 2], [2, 2, 7], [3, 1, 3], [4, 1, 4], [9, 2, 1]]), [[1, 1], [3, 2], [7, 1], [6, 3], [4, 1], [8, 2]]);
  });

  test(`${engine}: the last event of a window carries exactly the window's output values`, () => {
    const aggs: AggregateName[] = ['count', 'sum', 'min', 'max', 'mean', 'stddev', 'last', 'vwap'];
    const more: AggregateName[] = ['variance', 'first'];
    for (const list of [aggs, more]) {
      const rt = runtime();
      const op = new TumblingWindow(engine, rt, 0, { ...common, valueField: 0, priceField: 0, qtyField: 1, sizeNs: 1000n * S, enrich: list.map((a, i) => ({ aggregate: AGG[a], field: 2 + i })) });
      const r = rng(99);
      const evs: Ev[] = Array.from({ length: 50 }, (_, i) => ({ ts: T0 + BigInt(i) * S, key: 1, f: [100 + r() * 10, 1 + Math.floor(r() * 9), ...new Array(8).fill(0)] }));
      const b = put(rt, evs, 10);
      op.process(b.ptr, b.count, b.stride);
      op.onWatermark(T0 + 2000n * S);
      const [w] = drain(op);
      const f64 = new Float64Array(rt.memory.buffer);
      const lastRec = (b.ptr + 49 * b.stride + IN_FIELDS) / 8;
      list.forEach((a, i) => assert.is(Object.is(f64[lastRec + 2 + i], w.values[AGG[a]]), true, `${a}: ${f64[lastRec + 2 + i]} vs ${w.values[AGG[a]]}`));
    }
  });
}

test('enrichment config errors are precise', () => {
  const rt = runtime();
  const mk = (enrich: unknown) => () => new TumblingWindow('js', rt, 0, { ...common, sizeNs: S, enrich: enrich as EnrichSpec[] });
  assert.throws(mk(Array.from({ length: 9 }, (_, i) => ({ aggregate: 0, field: 2 + i }))), (e: Error) => e instanceof WindowConfigError && /at most 8/.test(e.message));
  assert.throws(mk([{ aggregate: 12, field: 2 }]), /enrich\[0\]\.aggregate must be an aggregate index 0\.\.11/);
  assert.throws(mk([{ aggregate: 1, field: 1 }]), /enrich\[0\]\.field 1 is one of this window's own input fields/);
  assert.throws(mk([{ aggregate: 1, field: 2 }, { aggregate: 2, field: 2 }]), /enrich\[1\]\.field 2 is written twice/);
  const op = new TumblingWindow('js', rt, 0, { ...common, sizeNs: S, enrich: [{ aggregate: 1, field: 7 }] });
  const b = put(rt, [{ ts: T0, key: 1, f: [1, 2, 3] }], 3);
  assert.throws(() => op.process(b.ptr, b.count, b.stride), /does not hold field 7/);
});

test('snapshots carry the enrichment config; restore refuses a different one', () => {
  const rt = runtime();
  const a = new TumblingWindow('wasm', rt, 0, { ...common, sizeNs: S, enrich: slots('sum') });
  const b = new TumblingWindow('js', rt, 0, { ...common, sizeNs: S, enrich: slots('mean') });
  assert.throws(() => b.restore(a.snapshot()), /does not match this operator's configuration/);
  const c = new TumblingWindow('js', rt, 0, { ...common, sizeNs: S, enrich: slots('sum') });
  c.restore(a.snapshot());
});

test.run();
