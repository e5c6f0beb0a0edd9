import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TumblingWindow } from '../../../host/operators/window/tumbling_window.js';
import { SlidingWindow } from '../../../host/operators/window/sliding_window.js';
import { aggMaskOf, W_AGG_MASK, W_LAYOUT, WindowConfigError } from '../../../host/operators/window/event_time.js';
import { AGG, OUT_LATE, OUT_REVISION, OUT_WINDOW, type OutputRecord } from '../../../host/records.js';
import type { Engine } from '../../../host/operators/operator.js';
import { createOperator } from '../../../host/operators/registry.js';
import { WindowOperator } from '../../../host/operators/window/event_time.js';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { inputStride } from '../../../host/records.js';
import { runtime, put, drain, randomStream, type Rt } from './window_harness.js';
import { parity } from '../../parity/window_parity.js';

const S = 1_000_000_000n;
const FIVE = aggMaskOf(['count', 'sum', 'min', 'max', 'vwap']);

function tumbling(engine: Engine, rt: Rt, aggMask?: number, extra: object = {}) {
  return new TumblingWindow(engine, rt, 3, {
    sizeNs: S, valueField: 0, priceField: 1, qtyField: 2, capacity: 256, maxBatch: 256,
    outOfOrderNs: 100_000_000n, allowedLatenessNs: 2n * S, ...(aggMask === undefined ? {} : { aggMask }), ...extra,
  });
}

const windowKey = (o: OutputRecord) => `${o.kind}/${o.key}/${o.start}/${o.aux}`;

/** Outputs of the same stream with all aggregates and with `mask`: the same
 *  windows; masked-in values equal bit for bit, masked-out values NaN. */
function checkAgainstFull(mask: number, seed: number): void {
  const evs = randomStream(seed, 3000, 20, 40_000_000, 300_000_000);
  const masked = parity((engine, rt) => tumbling(engine, rt, mask), evs, seed);
  const full = parity((engine, rt) => tumbling(engine, rt), evs, seed);
  assert.is(masked.length, full.length);
  const kinds = new Set(masked.map((o) => o.kind));
  assert.ok(kinds.has(OUT_WINDOW) && kinds.has(OUT_REVISION) && kinds.has(OUT_LATE), `stream exercised every kind: ${[...kinds]}`);
  for (let i = 0; i < full.length; i++) {
    const a = masked[i], b = full[i];
    assert.is(windowKey(a), windowKey(b));
    assert.is(a.seq, b.seq);
    for (let k = 0; k < 10; k++) {
      if (a.kind === OUT_LATE) { assert.ok(Object.is(a.values[k], b.values[k])); continue; }
      if ((mask & (1 << k)) === 0) assert.ok(Number.isNaN(a.values[k]), `aggregate ${k} outside mask ${mask} is NaN`);
      else assert.ok(Object.is(a.values[k], b.values[k]), `aggregate ${k} of record ${i}: ${a.values[k]} vs ${b.values[k]}`);
    }
  }
}

test('aggMaskOf maps AGG names to bits; unknown names are refused', () => {
  assert.is(aggMaskOf(['count']), 1 << AGG.count);
  assert.is(FIVE, (1 << AGG.count) | (1 << AGG.sum) | (1 << AGG.min) | (1 << AGG.max) | (1 << AGG.vwap));
  assert.is(aggMaskOf(['count', 'sum', 'min', 'max', 'mean', 'variance', 'stddev', 'first', 'last', 'vwap']), 0x3ff);
  assert.throws(() => aggMaskOf(['count', 'median']), (e: unknown) => e instanceof WindowConfigError && /unknown aggregate "median"; known: count, sum/.test((e as Error).message));
});

test('parity and values: the five-aggregate mask (no Welford, no first/last)', () => checkAgainstFull(FIVE, 1));
test('parity and values: variance alone (Welford on, VWAP and first/last off)', () => checkAgainstFull(aggMaskOf(['variance']), 2));
test('parity and values: first + last + count', () => checkAgainstFull(aggMaskOf(['first', 'last', 'count']), 3));

test('lean accumulator (no Welford, no first/last): one 64-byte line per window, smaller region, same values as the full layout', () => {
  const rt = runtime();
  const lean = tumbling('js', rt, FIVE), full = tumbling('js', rt, aggMaskOf(['count', 'sum', 'min', 'max', 'vwap', 'mean']));
  assert.ok(lean.bytes < full.bytes, `lean region ${lean.bytes} B < full region ${full.bytes} B`);
  // A table small enough to refuse state (late output aux 2): both engines
  // byte for byte, and every value equal to the full-mask run's.
  const evs = randomStream(6, 3000, 40, 40_000_000, 300_000_000);
  const mk = (mask?: number) => (engine: Engine, r: Rt) => tumbling(engine, r, mask, { capacity: 24 });
  const a = parity(mk(FIVE), evs, 6), b = parity(mk(), evs, 6);
  assert.is(a.length, b.length);
  assert.ok(a.some((o) => o.kind === OUT_LATE && o.aux === 2), 'the small table refused some state');
  for (let i = 0; i < a.length; i++) {
    assert.is(windowKey(a[i]), windowKey(b[i]));
    for (const k of [AGG.count, AGG.sum, AGG.min, AGG.max, AGG.vwap]) assert.ok(Object.is(a[i].values[k], b[i].values[k]), `record ${i} aggregate ${k}`);
  }
});

test('the default mask is every aggregate, written into the header', () => {
  const rt = runtime();
  const op = tumbling('wasm', rt);
  assert.is(new DataView(rt.memory.buffer).getUint32(op.base + W_AGG_MASK, true), 0xfff);
});

test('an enriched aggregate is always maintained (forced into the mask)', () => {
  for (const engine of ['wasm', 'js'] as const) {
    const rt = runtime();
    const op = tumbling(engine, rt, aggMaskOf(['count']), { enrich: [{ aggregate: AGG.mean, field: 3 }] });
    assert.is(new DataView(rt.memory.buffer).getUint32(op.base + W_AGG_MASK, true), (1 << AGG.count) | (1 << AGG.mean));
    const T = 1_732_424_400_000_000_000n;
    const b = put(rt, [{ ts: T, key: 1, f: [2, 2, 1, 0] }, { ts: T + 1n, key: 1, f: [4, 4, 1, 0] }, { ts: T + 5n * S, key: 2, f: [1, 1, 1, 0] }], 4);
    op.process(b.ptr, b.count, b.stride);
    assert.is(new Float64Array(rt.memory.buffer)[(b.ptr + b.stride + 24 + 24) >>> 3], 3, `${engine}: running mean enriched`);
    const [w] = drain(op);
    assert.equal([w.values[AGG.count], w.values[AGG.mean]], [2, 3]);
    assert.ok(Number.isNaN(w.values[AGG.sum]) && Number.isNaN(w.values[AGG.vwap]));
  }
});

test('bad masks get precise errors; a snapshot only restores under the same mask', () => {
  const rt = runtime();
  for (const bad of [0, 0x1000, 1.5, -1]) {
    assert.throws(() => tumbling('js', rt, bad), (e: unknown) => e instanceof WindowConfigError && /aggMask must be a non-empty bitmask of aggregates 1\.\.4095/.test((e as Error).message));
  }
  const a = tumbling('wasm', rt, FIVE);
  const b = put(rt, randomStream(4, 100, 5, 40_000_000, 0));
  a.process(b.ptr, b.count, b.stride);
  tumbling('js', rt, FIVE).restore(a.snapshot());
  assert.throws(() => tumbling('js', rt).restore(a.snapshot()), /does not match this operator's configuration \(header word at byte 172 differs\)/);
});

test('a snapshot from another state layout (an older build: layout word 0) is refused, not misread', () => {
  const rt = runtime();
  for (const make of [(e: Engine) => tumbling(e, rt, FIVE), (e: Engine) => new SlidingWindow(e, rt, 1, { sizeNs: 2n * S, slideNs: S, valueField: 0, capacity: 64, maxBatch: 256 })]) {
    const a = make('wasm');
    const b = put(rt, randomStream(8, 50, 5, 40_000_000, 0));
    a.process(b.ptr, b.count, b.stride);
    const snap = a.snapshot();
    make('js').restore(snap); // same layout: fine
    new DataView(snap.buffer, snap.byteOffset).setUint32(W_LAYOUT, 0, true);
    assert.throws(() => make('js').restore(snap), /window snapshot has state layout 0, this build reads layout 2/);
  }
});

test('sliding windows honour the mask on output (both engines identical)', () => {
  const evs = randomStream(5, 2000, 10, 40_000_000, 200_000_000);
  const out = parity((engine, rt) => new SlidingWindow(engine, rt, 1, {
    sizeNs: 2n * S, slideNs: S, valueField: 0, priceField: 1, qtyField: 2, capacity: 512, maxBatch: 256, outOfOrderNs: 100_000_000n, aggMask: FIVE,
  }), evs, 5);
  const windows = out.filter((o) => o.kind === OUT_WINDOW);
  assert.ok(windows.length > 10);
  for (const o of windows) {
    assert.ok(o.values[AGG.count] >= 1 && Number.isNaN(o.values[AGG.mean]) && Number.isNaN(o.values[AGG.first]) && !Number.isNaN(o.values[AGG.vwap]));
  }
});

test('registry: every window kind takes the pipeline\'s `aggregates` names as its mask', () => {
  const configs = {
    tumbling: { sizeNs: 10n * S }, sliding: { sizeNs: 10n * S, slideNs: 5n * S }, session: { gapNs: 5n * S }, count: { count: 2, countSlide: 2 },
  };
  for (const engine of ['wasm', 'js'] as const) {
    for (const [kind, extra] of Object.entries(configs)) {
      const rt = createPartitionRuntime(32 << 20);
      const c = { op: 1, partition: 0, engine, ...rt, fieldCount: 3, stride: inputStride(3), maxBatch: 256 };
      const op = createOperator({ kind, name: 'w', valueField: 0, capacity: 64, allowedLatenessNs: 0n, aggregates: ['count', 'max'], enrich: [{ aggregate: AGG.sum, field: 2 }], ...extra }, c) as WindowOperator;
      assert.is(new DataView(rt.memory.buffer).getUint32(op.base + W_AGG_MASK, true), (1 << AGG.count) | (1 << AGG.max) | (1 << AGG.sum), `${engine} ${kind}`);
      assert.throws(() => createOperator({ kind, name: 'w', valueField: 0, capacity: 64, aggregates: ['count', 'avg'], ...extra }, c), /unknown aggregate "avg"/);
    }
  }
});

test.run();
