// The window entries of the operator registry: every window kind builds from
// the serialisable config the pipeline planner sends (durations as bigint or
// digit strings, unknown keys such as `name` ignored), follows only broadcast
// watermarks by default, enriches records, and rejects bad configs precisely.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { AGG, IN_FIELDS, OUT_WINDOW, inputStride, writeInput } from '../../../host/records.js';
import { createOperator, operatorKinds, type OperatorConfig } from '../../../host/operators/registry.js';
import type { Engine } from '../../../host/operators/operator.js';
import { WindowOperator, W_PER_KEY } from '../../../host/operators/window/event_time.js';
import { TumblingWindow } from '../../../host/operators/window/tumbling_window.js';
import { SlidingWindow } from '../../../host/operators/window/sliding_window.js';
import { SessionWindow } from '../../../host/operators/window/session_window.js';
import { CountWindow } from '../../../host/operators/window/count_window.js';

const S = 1_000_000_000n;
const T0 = 1_732_424_400_000_000_000n;
const FIELDS = 4; // price, qty, two enrichment slots
const STRIDE = inputStride(FIELDS);
const enrich = [{ aggregate: AGG.sum, field: 2 }, { aggregate: AGG.count, field: 3 }];

function ctx(engine: Engine, fieldCount = FIELDS) {
  const rt = createPartitionRuntime(32 << 20);
  return { op: 1, partition: 0, engine, ...rt, fieldCount, stride: inputStride(fieldCount), maxBatch: 256 };
}
/** Planner-shaped configs (host/pipeline/plan.ts). */
const planned: Record<string, OperatorConfig> = {
  tumbling: { kind: 'tumbling', name: 'w', valueField: 1, capacity: 64, allowedLatenessNs: 0n, enrich, sizeNs: 10n * S },
  sliding: { kind: 'sliding', name: 'w', valueField: 1, capacity: 64, allowedLatenessNs: 0n, enrich, sizeNs: 10n * S, slideNs: 5n * S },
  session: { kind: 'session', name: 'w', valueField: 1, capacity: 64, allowedLatenessNs: 0n, enrich, gapNs: 5n * S },
  count: { kind: 'count', name: 'w', valueField: 1, capacity: 64, allowedLatenessNs: 0n, enrich, count: 2, countSlide: 2 },
};
const classes = { tumbling: TumblingWindow, sliding: SlidingWindow, session: SessionWindow, count: CountWindow };

function feed(c: ReturnType<typeof ctx>, op: WindowOperator, evs: Array<[bigint, number, number]>): number[][] {
  const ptr = c.alloc.alloc(evs.length * STRIDE, 64);
  const view = new DataView(c.memory.buffer);
  evs.forEach(([t, key, q], i) => writeInput(view, ptr + i * STRIDE, T0 + t, BigInt(i + 1), key, [100, q, 0, 0]));
  op.process(ptr, evs.length, STRIDE);
  return evs.map((_, i) => [view.getFloat64(ptr + i * STRIDE + IN_FIELDS + 16, true), view.getFloat64(ptr + i * STRIDE + IN_FIELDS + 24, true)]);
}

test('every window kind is registered', () => {
  for (const k of ['tumbling', 'sliding', 'session', 'count']) assert.ok(operatorKinds().includes(k), k);
});

for (const engine of ['wasm', 'js'] as Engine[]) {
  for (const [kind, config] of Object.entries(planned)) {
    test(`${engine} ${kind}: builds from the planner's config, enriches, fires only on broadcast watermarks`, () => {
      const c = ctx(engine);
      const op = createOperator(config, c) as WindowOperator;
      assert.instance(op, classes[kind as keyof typeof classes]);
      assert.is(op.op, 1);
      const got = feed(c, op, [[1n * S, 7, 2], [3n * S, 7, 5], [40n * S, 7, 1]]);
      // tumbling [0,10), sliding's next-closing [-5,5) / [0,10), session [1,8), count of 2: all hold the first two events
      assert.equal(got.slice(0, 2), [[2, 1], [7, 2]], `${kind} enrichment`);
      if (kind === 'count') {
        assert.equal(op.outputs().map((o) => [o.kind, o.values[1]]), [[OUT_WINDOW, 7]]);
        return;
      }
      assert.equal(op.outputs(), [], 'an event at +40 s does not move a broadcast-driven watermark');
      op.onWatermark(T0 + 20n * S);
      assert.ok(op.outputs().length > 0, 'the broadcast watermark fires the windows');
    });
  }
}

test('durations as digit strings, and eventTime local keeps the operator\'s own watermark', () => {
  const c = ctx('wasm');
  const op = createOperator({ ...planned.sliding, sizeNs: '10000000000', slideNs: '5000000000', eventTime: 'local', outOfOrderNs: '0' }, c) as WindowOperator;
  feed(c, op, [[1n * S, 7, 2], [40n * S, 7, 1]]);
  assert.ok(op.outputs().length > 0, 'local event time fires on the events themselves');
});

test('session windows under broadcast event time get bounded per-key room', () => {
  const c = ctx('js');
  const op = createOperator({ ...planned.session, allowedLatenessNs: 10n * S, outOfOrderNs: 500_000_000n }, c) as SessionWindow;
  const perKey = (o: SessionWindow, m: WebAssembly.Memory) => new DataView(m.buffer).getUint32(o.base + W_PER_KEY, true);
  assert.is(perKey(op, c.memory), 6, '(0.5 s + 10 s) / 5 s + 4');
  const c2 = ctx('js');
  const explicit = createOperator({ ...planned.session, maxSessionsPerKey: 3 }, c2) as SessionWindow;
  assert.is(perKey(explicit, c2.memory), 3);
  const c3 = ctx('js');
  assert.is(perKey(createOperator({ ...planned.session, allowedLatenessNs: 3600n * S }, c3) as SessionWindow, c3.memory), 16, 'capped');
  assert.throws(() => createOperator({ ...planned.session, maxSessionsPerKey: 0 }, ctx('js')), /maxSessionsPerKey must be an integer in 1\.\.64/);
});

test('bad window configs fail with precise errors', () => {
  const c = ctx('js');
  const bad: Array<[OperatorConfig, RegExp]> = [
    [{ ...planned.count, countSlide: 1 }, /count op 1: sliding count windows are not supported \(countSlide 1 ≠ count 2\)/],
    [{ ...planned.count, count: 0 }, /count op 1: count must be a positive integer number of events, got 0/],
    [{ ...planned.count, count: undefined }, /count must be a positive integer/],
    [{ ...planned.sliding, slideNs: 20n * S }, /slideNs \(20000000000\) must not exceed sizeNs/],
    [{ ...planned.sliding, slideNs: undefined }, /slideNs must be a positive bigint/],
    [{ ...planned.session, gapNs: '5s' }, /gapNs must be an integer number of nanoseconds, got "5s"/],
    [{ ...planned.tumbling, eventTime: 'wall' }, /tumbling op 1: eventTime must be 'broadcast' or 'local', got "wall"/],
    [{ ...planned.tumbling, enrich: [{ aggregate: 1, field: 4 }] }, /tumbling op 1: enrichment field 4 is outside the record's 4 fields/],
    [{ ...planned.sliding, enrich: [{ aggregate: 12, field: 2 }] }, /enrich\[0\]\.aggregate must be an aggregate index 0\.\.11/],
  ];
  for (const [config, re] of bad) assert.throws(() => createOperator(config, c), re);
});

test('a model operator scores with the engine its config names, else the partition\'s', async () => {
  const { TreeEnsembleOperator } = await import('../../../host/operators/model/tree_ensemble.js');
  const model = new URL('../../fixtures/xgb/xgb_fraud_binary.json', import.meta.url).pathname;
  const base: OperatorConfig = { kind: 'tree_ensemble', model, features: [0, 1, 2, 3, 4, 5, 6, 7] };
  const make = (config: OperatorConfig, engine: Engine) => createOperator(config, ctx(engine, 10)) as InstanceType<typeof TreeEnsembleOperator>;
  assert.is(make({ ...base, engine: 'js' }, 'wasm').engine, 'js');
  assert.is(make({ ...base, engine: 'wasm' }, 'js').engine, 'wasm');
  assert.is(make(base, 'js').engine, 'js');
  const { loadPipeline } = await import('../../../host/config/load.js');
  const { planPipeline } = await import('../../../host/pipeline/plan.js');
  const fraud = loadPipeline(new URL('../../../examples/payment-fraud.yaml', import.meta.url).pathname);
  const withJs = { ...fraud, operators: fraud.operators.map((o) => (o.type === 'model' ? { ...o, engine: 'js' as const } : o)) };
  assert.is(planPipeline(withJs).operators.find((o) => o.kind === 'tree_ensemble')!.engine, 'js');
  assert.is(planPipeline(fraud).operators.find((o) => o.kind === 'tree_ensemble')!.engine, undefined);
});

test.run();
