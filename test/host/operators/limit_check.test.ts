import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { FLAG_CONTROL, OUT_ANOMALY, OUT_BYTES, inputStride, readOutput, writeInput, type OutputRecord } from '../../../host/records.js';
import {
  createLimitCheck, limitCheckConfig, LimitCheckConfigError, LimitCheckOutputFullError,
  type LimitCheckOperator, type LimitCheckOptions,
  LIMIT_ABOVE, LIMIT_BELOW,
} from '../../../host/operators/limit/limit_check.js';
import { createOperator } from '../../../host/operators/registry.js';
import type { Engine } from '../../../host/operators/operator.js';

const ENGINES: Engine[] = ['wasm', 'js'];
const STRIDE = inputStride(2);
const T0 = 1732424400_123_456_789n;

interface Ev { key?: number; value: number; flags?: number; dt?: bigint }

function setup(engine: Engine, options: LimitCheckOptions) {
  const rt = createPartitionRuntime(4 * 1024 * 1024);
  const op = createLimitCheck(engine, rt, { capacity: 64, ...options });
  const input = rt.alloc.alloc(64 * 1024);
  const view = new DataView(rt.memory.buffer);
  let seq = 0;
  let ts = T0;
  /** Feeds events (value in field 1, key 1 unless given) and returns the drained outputs. */
  const feed = (events: Ev[]): OutputRecord[] => {
    write(events);
    op.process(input, events.length, STRIDE);
    return drain(op, view);
  };
  const write = (events: Ev[]) => events.forEach((e, i) => {
    seq++;
    ts += e.dt ?? 1000n;
    writeInput(view, input + i * STRIDE, ts, BigInt(seq), e.key ?? 1, [-1, e.value], e.flags ?? 0);
  });
  return { rt, op, feed, write, input, view };
}

function drain(op: LimitCheckOperator, view: DataView): OutputRecord[] {
  const { ptr, count } = op.output();
  const out = Array.from({ length: count }, (_, i) => readOutput(view, ptr + i * OUT_BYTES));
  op.clearOutput();
  return out;
}

const vals = (vs: number[]): Ev[] => vs.map((value) => ({ value }));
/** [seq, aux, value, limit, crossing, run] of each output: the hand-checkable part. */
const brief = (out: OutputRecord[]) => out.map((r) => [Number(r.seq), r.aux, r.values[0], r.values[1], r.values[2], r.values[3]]);

for (const engine of ENGINES) {
  test(`${engine}: alerts once on crossing above, re-arms at or below the limit`, () => {
    const { feed, op } = setup(engine, { field: 1, above: 100, op: 4 });
    const out = feed(vals([50, 100, 101, 150, 100, 99, 101]));
    // 100 is at the limit (within); 101 crosses; 150 stays in breach; 100 re-arms; 101 crosses again.
    assert.equal(brief(out), [[3, LIMIT_ABOVE, 101, 100, 1, 1], [7, LIMIT_ABOVE, 101, 100, 1, 1]]);
    const r = out[0];
    assert.is(r.kind, OUT_ANOMALY);
    assert.is(r.op, 4);
    assert.is(r.key, 1);
    assert.is(r.start, T0 + 3000n);
    assert.is(r.end, r.start);
    assert.ok(r.values.subarray(4).every((v) => v === 0));
    assert.equal(op.counters(), { events: 7, crossings: 2, alerts: 2, skipped: 0, untracked: 0, rearms: 1 });
    assert.equal(op.breaches(), new Map([[1, 'above']]));
    assert.is(op.stats().keys, 1);
  });

  test(`${engine}: emit every alerts on each breaching event, with the run length`, () => {
    const { feed, op } = setup(engine, { field: 1, above: 100, emit: 'every' });
    assert.equal(brief(feed(vals([101, 150, 120, 90, 105]))), [
      [1, LIMIT_ABOVE, 101, 100, 1, 1],
      [2, LIMIT_ABOVE, 150, 100, 0, 2],
      [3, LIMIT_ABOVE, 120, 100, 0, 3],
      [5, LIMIT_ABOVE, 105, 100, 1, 1],
    ]);
    assert.equal(op.counters(), { events: 5, crossings: 2, alerts: 4, skipped: 0, untracked: 0, rearms: 1 });
  });

  test(`${engine}: hysteresis keeps a key in breach until it is back past the band`, () => {
    // above 100, h 0.1: re-arms at ≤ 90. below −50, h 0.1: re-arms at ≥ −45.
    const { feed, op } = setup(engine, { field: 1, above: 100, below: -50, hysteresis: 0.1 });
    assert.equal(brief(feed(vals([101, 95, 101, 90.5, 101, 90, 101]))), [
      [1, LIMIT_ABOVE, 101, 100, 1, 1],
      [7, LIMIT_ABOVE, 101, 100, 1, 1],
    ]);
    assert.equal(brief(feed(vals([0, -51, -46, -60, -45, -51]))), [
      [9, LIMIT_BELOW, -51, -50, 1, 1],
      [13, LIMIT_BELOW, -51, -50, 1, 1],
    ]);
    assert.is(op.counters().rearms, 3); // 90, 0 (from above), −45
  });

  test(`${engine}: both bounds: jumping across is a new crossing of the other bound`, () => {
    const { feed, op } = setup(engine, { field: 1, above: 110, below: 90 });
    assert.equal(brief(feed(vals([111, 89, 111, 100, 100, 80, 80]))), [
      [1, LIMIT_ABOVE, 111, 110, 1, 1],
      [2, LIMIT_BELOW, 89, 90, 1, 1],
      [3, LIMIT_ABOVE, 111, 110, 1, 1],
      [6, LIMIT_BELOW, 80, 90, 1, 1],
    ]);
    assert.equal(op.breaches(), new Map([[1, 'below']]));
    assert.is(op.counters().crossings, 4);
  });

  test(`${engine}: keys are independent`, () => {
    const { feed, op } = setup(engine, { field: 1, above: 10 });
    const out = feed([{ key: 1, value: 11 }, { key: 2, value: 12 }, { key: 1, value: 13 }, { key: 2, value: 5 }, { key: 2, value: 11 }, { key: 3, value: 9 }]);
    assert.equal(out.map((r) => [r.key, r.values[0]]), [[1, 11], [2, 12], [2, 11]]);
    assert.equal(op.breaches(), new Map([[1, 'above'], [2, 'above']]));
  });

  test(`${engine}: NaN is skipped and counted (no re-arm), ±Infinity are values, control records are ignored`, () => {
    const { feed, op } = setup(engine, { field: 1, above: 100, below: 0 });
    const out = feed([
      { value: Infinity }, { value: NaN }, { value: 50 }, { value: 500, flags: FLAG_CONTROL },
      { value: -Infinity }, { value: NaN }, { value: 200 },
    ]);
    assert.equal(brief(out), [
      [1, LIMIT_ABOVE, Infinity, 100, 1, 1],
      [5, LIMIT_BELOW, -Infinity, 0, 1, 1],
      [7, LIMIT_ABOVE, 200, 100, 1, 1],
    ]);
    assert.equal(op.counters(), { events: 4, crossings: 3, alerts: 3, skipped: 2, untracked: 0, rearms: 1 });
  });

  test(`${engine}: a full table still alerts (untracked) and TTL makes room`, () => {
    const full = setup(engine, { field: 1, above: 10, capacity: 1 });
    const out = full.feed([{ key: 1, value: 11 }, { key: 2, value: 11 }, { key: 2, value: 12 }, { key: 1, value: 12 }]);
    assert.equal(out.map((r) => [r.key, r.values[2]]), [[1, 1], [2, 1], [2, 1]]);
    assert.equal(full.op.counters().untracked, 2);

    const ttl = setup(engine, { field: 1, above: 10, capacity: 1, ttlNs: 1_000_000n });
    const out2 = ttl.feed([
      { key: 1, value: 11 }, { key: 1, value: 12, dt: 500_000n }, // touched: stays alive
      { key: 2, value: 11, dt: 800_000n }, // key 1 idle 0.8 ms < TTL: no room, untracked
      { key: 2, value: 11, dt: 1_000_000n }, // key 1 idle 1.8 ms: evicted, key 2 tracked
      { key: 2, value: 11 }, { key: 1, value: 11 }, // key 1 forgotten: alerts again, untracked
    ]);
    assert.equal(out2.map((r) => Number(r.seq)), [1, 3, 4, 6]);
    assert.equal(ttl.op.counters().untracked, 2);
    assert.is(ttl.op.stats().evictions, 1);
    assert.equal(ttl.op.breaches(), new Map([[2, 'above']]));
  });

  test(`${engine}: a full output area stops before the event it has no room for`, () => {
    const { op, write, input, view } = setup(engine, { field: 1, above: 0, outputCapacity: 2 });
    write([{ key: 1, value: 1 }, { key: 2, value: 1 }, { key: 3, value: 1 }, { key: 4, value: 1 }]);
    try {
      op.process(input, 4, STRIDE);
      assert.unreachable('no error');
    } catch (e) {
      assert.instance(e, LimitCheckOutputFullError);
      assert.is((e as LimitCheckOutputFullError).consumed, 2);
      assert.match((e as Error).message, 'processed 2 of 4 events');
    }
    assert.equal(drain(op, view).map((r) => r.key), [1, 2]);
    op.process(input + 2 * STRIDE, 2, STRIDE);
    assert.equal(drain(op, view).map((r) => r.key), [3, 4]);
  });

  test(`${engine}: snapshot/restore carries breaches and pending outputs; limits follow the new config`, () => {
    const a = setup(engine, { field: 1, above: 100 });
    a.write(vals([150]));
    a.op.process(a.input, 1, STRIDE);
    const snap = a.op.snapshot();
    // Same layout, moved limit (and hysteresis): the key stays in breach.
    const b = setup(engine, { field: 1, above: 200, hysteresis: 0.5 });
    b.op.restore(snap);
    assert.equal(brief(drain(b.op, b.view)), [[1, LIMIT_ABOVE, 150, 100, 1, 1]]);
    assert.equal(b.op.breaches(), new Map([[1, 'above']]));
    assert.equal(brief(b.feed(vals([250, 150, 99, 201]))), [[4, LIMIT_ABOVE, 201, 200, 1, 1]]); // re-arms at ≤ 100
    assert.equal(b.op.counters().events, 5);

    const other = setup(engine, { field: 1, above: 100, capacity: 128 });
    assert.throws(() => other.op.restore(snap), /different layout \(capacity 64 ≠ 128\)/);
    assert.throws(() => a.op.restore(snap.subarray(0, 200)), /truncated or corrupt/);
    assert.throws(() => a.op.restore(new Uint8Array(256)), /not a limit region/);
  });
}

test('config errors are precise', () => {
  const bad: [LimitCheckOptions | Record<string, unknown>, RegExp][] = [
    [{ field: 1 }, /give above and\/or below/],
    [{ field: 1, above: 10, below: 10 }, /below \(10\) must be less than above \(10\)/],
    [{ field: 1, above: NaN }, /above must be a finite number/],
    [{ field: 1, below: '5' }, /below must be a finite number \(the limit\), got "5"/],
    [{ field: 1, above: 1, hysteresis: 1 }, /hysteresis must be a fraction of the limit with 0 ≤ h < 1/],
    [{ field: 1, above: 1, hysteresis: -0.1 }, /hysteresis must be/],
    [{ field: 1, above: 100, below: 90, hysteresis: 0.1 }, /re-arm levels cross/],
    [{ field: 1, above: 1, emit: 'all' }, /emit must be one of crossing, every, got "all"/],
    [{ field: 3, fieldCount: 3, above: 1 }, /field must be an integer in 0..2, got 3/],
    [{ field: 1, abve: 1 }, /unknown option "abve"/],
    [{ field: 1, above: 1, capacity: 0 }, /capacity must be an integer in 1/],
    [{ field: 1, above: 1, ttlNs: -1n }, /ttlNs must be a bigint/],
    [{ above: 1 }, /field must be an integer/],
  ];
  for (const [options, message] of bad) {
    try {
      limitCheckConfig(options as LimitCheckOptions);
      assert.unreachable(`accepted ${JSON.stringify(options, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    } catch (e) {
      assert.instance(e, LimitCheckConfigError);
      assert.match((e as Error).message, message);
      assert.match((e as Error).message, /^limit: /);
    }
  }
  const c = limitCheckConfig({ field: 0, below: -10, hysteresis: 0.5, name: 'x', type: 'limit' } as LimitCheckOptions);
  assert.equal([c.above, c.below, c.rearmAbove, c.rearmBelow, c.emit], [Infinity, -10, Infinity, -5, 'crossing']);
});

test('registry: kind "limit" builds the operator from a pipeline config', () => {
  const rt = createPartitionRuntime(4 * 1024 * 1024);
  const ctx = { op: 2, partition: 0, engine: 'wasm' as const, ...rt, fieldCount: 2, stride: STRIDE, maxBatch: 8192 };
  const op = createOperator({ kind: 'limit', name: 'limit_breach', field: 1, above: 100, ttlNs: '60000000000' }, ctx) as LimitCheckOperator;
  assert.is(op.op, 2);
  assert.is(op.config.ttlNs, 60_000_000_000n);
  assert.is(op.config.outputCapacity, 8192);
  assert.throws(() => createOperator({ kind: 'limit', field: 2, above: 1 }, ctx), /limit: field must be an integer in 0..1, got 2/);
});

test.run();
