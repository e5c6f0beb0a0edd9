// HAVING behind a window (host/operators/window/having.ts): which outputs are
// emitted, revisions that start or stop passing (retractions), late outputs,
// and the WASM-compiled condition against its JS twin on the same bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TumblingWindow } from '../../../host/operators/window/tumbling_window.js';
import { SlidingWindow } from '../../../host/operators/window/sliding_window.js';
import { SessionWindow } from '../../../host/operators/window/session_window.js';
import { HavingWindow, havingProgram, RETRACT } from '../../../host/operators/window/having.js';
import { aggMaskOf } from '../../../host/operators/window/event_time.js';
import { AGG, OUT_BYTES, OUT_LATE, OUT_REVISION, OUT_WINDOW, readOutput, type OutputRecord } from '../../../host/records.js';
import type { Engine, Operator } from '../../../host/operators/operator.js';
import { put, randomStream, runtime, sameBytes, T0, type Rt } from './window_harness.js';
import { ConfigError, parsePipeline } from '../../../host/config/load.js';

const S = 1_000_000_000n;
const AGGS = ['count', 'sum', 'mean', 'var_samp', 'stddev_samp'];

function having(engine: Engine, rt: Rt, cond: string, inner?: Operator): HavingWindow {
  const w = inner ?? new TumblingWindow(engine, rt, 2, { sizeNs: S, valueField: 0, capacity: 64, maxBatch: 256, allowedLatenessNs: 5n * S, aggMask: aggMaskOf(AGGS) });
  return new HavingWindow(w, engine, rt, havingProgram(cond, AGGS));
}

function outs(op: Operator, rt: Rt): OutputRecord[] {
  const { ptr, count } = op.output();
  const dv = new DataView(rt.memory.buffer);
  const r = Array.from({ length: count }, (_, i) => readOutput(dv, ptr + i * OUT_BYTES));
  op.clearOutput();
  return r;
}

test('window outputs HAVING is not TRUE for are dropped; revisions that pass are emitted, those that do not are retractions', () => {
  for (const engine of ['wasm', 'js'] as const) {
    const rt = runtime();
    const op = having(engine, rt, 'count >= 2');
    const ev = (sec: bigint, key: number, v: number, seq: number) => ({ ts: T0 + sec * S, key, seq: BigInt(seq), f: [v, 0, 0] });
    // Key 1: two events in [0s, 1s) → passes. Key 2: one event → dropped.
    let b = put(rt, [ev(0n, 1, 10, 1), ev(0n, 1, 20, 2), ev(0n, 2, 5, 3)]);
    op.process(b.ptr, b.count, b.stride);
    op.onWatermark(T0 + S);
    let o = outs(op, rt);
    assert.equal(o.map((r) => [r.kind, r.key, r.values[AGG.count]]), [[OUT_WINDOW, 1, 2]], `${engine}: key 2's one-event window is not emitted`);
    // A late event for key 2 within the lateness: its window now has 2 events → a revision that passes.
    b = put(rt, [ev(0n, 2, 7, 4)]);
    op.process(b.ptr, b.count, b.stride);
    o = outs(op, rt);
    assert.equal(o.map((r) => [r.kind, r.key, r.aux, r.values[AGG.count]]), [[OUT_REVISION, 2, 1, 2]], `${engine}: the window qualifies now`);
    // HAVING over sample variance: a window of one event (var_samp NULL) fails `var_samp < 100` and passes `var_samp IS NULL`.
    const v = having(engine, rt, 'var_samp IS NULL OR var_samp > 1000');
    b = put(rt, [ev(10n, 3, 1, 5), ev(10n, 4, 1, 6), ev(10n, 4, 2, 7)]);
    v.process(b.ptr, b.count, b.stride);
    v.onWatermark(T0 + 11n * S);
    assert.equal(outs(v, rt).map((r) => r.key), [3], `${engine}: NULL is tested with IS NULL`);
    // A late event that makes a passing window fail: emitted as a retraction (aux bit 31), values of the revision.
    const m = having(engine, rt, 'mean > 10');
    b = put(rt, [ev(20n, 5, 30, 8)]);
    m.process(b.ptr, b.count, b.stride);
    m.onWatermark(T0 + 21n * S);
    assert.equal(outs(m, rt).map((r) => [r.kind, r.values[AGG.mean]]), [[OUT_WINDOW, 30]]);
    b = put(rt, [ev(20n, 5, -30, 9)]);
    m.process(b.ptr, b.count, b.stride);
    o = outs(m, rt);
    assert.equal(o.map((r) => [r.kind, r.aux >>> 0, r.values[AGG.mean]]), [[OUT_REVISION, (RETRACT | 1) >>> 0, 0]], `${engine}: a revision that fails is a retraction`);
    // Beyond the lateness: the late output is always emitted (it is an event, not a window).
    m.onWatermark(T0 + 40n * S);
    outs(m, rt);
    b = put(rt, [ev(20n, 5, 1, 10)]);
    m.process(b.ptr, b.count, b.stride);
    assert.equal(outs(m, rt).map((r) => r.kind), [OUT_LATE]);
  }
});

test('output() may be read twice before clearOutput, and picks up outputs added in between', () => {
  const rt = runtime();
  const op = having('js', rt, 'count >= 2');
  const ev = (sec: bigint, key: number, seq: number) => ({ ts: T0 + sec * S, key, seq: BigInt(seq), f: [1, 0, 0] });
  const b = put(rt, [ev(0n, 1, 1), ev(0n, 1, 2), ev(0n, 2, 3), ev(1n, 3, 4), ev(1n, 3, 5)]);
  op.process(b.ptr, b.count, b.stride);
  op.onWatermark(T0 + S);
  assert.is(op.output().count, 1);
  assert.is(op.output().count, 1);
  op.onWatermark(T0 + 2n * S);
  const o = outs(op, rt);
  assert.equal(o.map((r) => r.key), [1, 3]);
  assert.is(op.suppressed, 1);
});

test('parity: the compiled condition and its JS twin emit the same bytes (tumbling, sliding, session; late and revised events)', () => {
  const cond = 'count > 3 AND (stddev_samp > 2 OR var_samp IS NULL) OR sum BETWEEN 300 AND 500';
  const makers: Array<[string, (e: Engine, rt: Rt) => Operator]> = [
    ['tumbling', (e, rt) => new TumblingWindow(e, rt, 1, { sizeNs: S, valueField: 0, capacity: 512, maxBatch: 256, outOfOrderNs: 100_000_000n, allowedLatenessNs: 2n * S, aggMask: aggMaskOf(AGGS) })],
    ['sliding', (e, rt) => new SlidingWindow(e, rt, 1, { sizeNs: 2n * S, slideNs: 500_000_000n, valueField: 0, capacity: 1024, maxBatch: 256, outOfOrderNs: 100_000_000n, allowedLatenessNs: 2n * S, aggMask: aggMaskOf(AGGS) })],
    ['session', (e, rt) => new SessionWindow(e, rt, 1, { gapNs: 300_000_000n, valueField: 0, capacity: 512, maxBatch: 256, outOfOrderNs: 100_000_000n, allowedLatenessNs: 2n * S, aggMask: aggMaskOf(AGGS) })],
  ];
  for (const [name, make] of makers) {
    const rt = runtime();
    const w = new HavingWindow(make('wasm', rt), 'wasm', rt, havingProgram(cond, AGGS));
    const j = new HavingWindow(make('js', rt), 'js', rt, havingProgram(cond, AGGS));
    const evs = randomStream(41, 4000, 12, 40_000_000, 300_000_000);
    let kinds = new Set<number>(), retractions = 0, emitted = 0;
    for (let i = 0; i < evs.length; i += 97) {
      const b = put(rt, evs.slice(i, i + 97));
      w.process(b.ptr, b.count, b.stride);
      j.process(b.ptr, b.count, b.stride);
      const a = w.output(), c = j.output();
      const u8 = new Uint8Array(rt.memory.buffer);
      sameBytes(u8.slice(a.ptr, a.ptr + a.count * OUT_BYTES), u8.slice(c.ptr, c.ptr + c.count * OUT_BYTES), `${name}: outputs differ after event ${i}`);
      const dv = new DataView(rt.memory.buffer);
      for (let k = 0; k < a.count; k++) {
        const r = readOutput(dv, a.ptr + k * OUT_BYTES);
        kinds.add(r.kind);
        if (r.kind === OUT_REVISION && (r.aux & RETRACT) !== 0) retractions++;
        emitted++;
      }
      w.clearOutput(); j.clearOutput();
    }
    assert.ok(kinds.has(OUT_WINDOW) && kinds.has(OUT_REVISION) && kinds.has(OUT_LATE) && retractions > 0 && w.suppressed > 0, `${name}: exercised every case (${[...kinds]}, ${retractions} retractions, ${w.suppressed} dropped, ${emitted} emitted)`);
    assert.is(w.suppressed, j.suppressed);
    kinds = new Set();
  }
});

test('a condition is checked against the window\'s aggregates, with its place', () => {
  assert.throws(() => havingProgram('vwap > 1', AGGS), /unknown field "vwap"/);
  assert.throws(() => havingProgram('count + 1', AGGS), /expected a condition/);
  assert.throws(() => havingProgram("count = 'x'", AGGS), /cannot compare double with string/);
});

test('YAML: `having` on a window entry, checked against its aggregates at the pipeline file\'s place', () => {
  const yaml = (having: string) => `name: t
sources:
  - type: synthetic
    seed: 1
schema:
  type: trades
operators:
  - name: busy
    type: window
    window: tumbling
    size: 1s
    field: price
    aggregates: [count, var_samp]
    having: "${having}"
`;
  const c = parsePipeline(yaml('count > 5 AND var_samp IS NOT NULL'), 'p.yaml');
  assert.is((c.operators[0] as { having?: string }).having, 'count > 5 AND var_samp IS NOT NULL');
  assert.throws(() => parsePipeline(yaml('mean > 5'), 'p.yaml'), (e: unknown) => e instanceof ConfigError && /p\.yaml:14:\d+ .*unknown field "mean".*it may name this window's aggregates: count, var_samp/s.test(e.message));
});

test.run();
