import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { loadXgboostModel, parseXgboostModel, type TreeModel } from '../../host/model/xgboost.js';
import { createTreeEnsemble, scoreAll, TreeEnsembleOperator, type TreeEnsembleOperatorConfig } from '../../host/operators/model/tree_ensemble.js';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { FLAG_CONTROL, OUT_BYTES, OUT_SCORE, inputStride, readOutput, writeInput } from '../../host/records.js';
import { tinyModel, tinyTree } from '../fixtures/xgb/tiny.js';

const FIX = new URL('../fixtures/xgb/', import.meta.url).pathname;
const ENGINES = ['wasm', 'js'] as const;

interface Cases { model: TreeModel; count: number; data: Float32Array; margins: number[][]; preds: number[][] }

function loadCases(name: string): Cases {
  const model = loadXgboostModel(FIX + name + '.json');
  const rows = parse(readFileSync(FIX + name + '.cases.csv', 'utf8'), { columns: true }) as Record<string, string>[];
  const nf = model.numFeature;
  const data = new Float32Array(rows.length * nf);
  rows.forEach((r, i) => model.featureNames.forEach((f, j) => { data[i * nf + j] = r[f] === '' ? NaN : Number(r[f]); }));
  const cols = (prefix: string, k: number) => rows.map((r) => Array.from({ length: k }, (_, g) => Number(r[prefix + g])));
  return { model, count: rows.length, data, margins: cols('margin', model.numGroup), preds: cols('pred', model.numOutputs) };
}

/** Within 1e-5, relative for large values (exp links). */
function close(got: number, want: number, what: string): void {
  const tol = 1e-5 * Math.max(1, Math.abs(want));
  if (!(Math.abs(got - want) <= tol)) assert.unreachable(`${what}: got ${got}, XGBoost says ${want}`);
}

const fixtures = readdirSync(FIX).filter((f) => f.endsWith('.cases.csv')).map((f) => f.replace('.cases.csv', '')).sort();

test('every fixture model has XGBoost cases', () => {
  assert.ok(fixtures.includes('xgb_fraud_binary'));
  assert.ok(fixtures.length >= 8, fixtures.join(','));
});

for (const name of fixtures) {
  test(`${name}: WASM and JS twin reproduce XGBoost margins and predictions`, () => {
    const c = loadCases(name);
    const got: Record<string, [Float32Array, Float32Array]> = {};
    for (const engine of ENGINES) {
      // Capacity 97: chunk boundaries and blocks that are not multiples of 4.
      const e = createTreeEnsemble(c.model, { engine, capacity: 97 });
      const m = scoreAll(e, c.data, c.count, true), p = scoreAll(e, c.data, c.count, false);
      got[engine] = [m, p];
      for (let r = 0; r < c.count; r++) {
        for (let g = 0; g < c.model.numGroup; g++) close(m[r * c.model.numGroup + g], c.margins[r][g], `${engine} row ${r} margin${g}`);
        for (let g = 0; g < c.model.numOutputs; g++) close(p[r * c.model.numOutputs + g], c.preds[r][g], `${engine} row ${r} pred${g}`);
      }
    }
    // Same float32 additions in the same order: the engines agree bit for bit.
    assert.equal(Array.from(got.wasm[0]), Array.from(got.js[0]));
    assert.equal(Array.from(got.wasm[1]), Array.from(got.js[1]));
  });
}

test('fraud model: all 1,000 rows, margins exact in float32', () => {
  const c = loadCases('xgb_fraud_binary');
  assert.is(c.count, 1000);
  for (const engine of ENGINES) {
    const m = scoreAll(createTreeEnsemble(c.model, { engine, capacity: 1000 }), c.data, c.count, true);
    for (let r = 0; r < c.count; r++) assert.is(m[r], Math.fround(c.margins[r][0]), `${engine} row ${r}`);
  }
});

// One split on f0 at 0.1 (not representable: float32 0.1 is 0.100000001490116...).
const splitModel = (defaultLeft: boolean) => parseXgboostModel(JSON.stringify(tinyModel([tinyTree([
  { feature: 0, threshold: 0.1, defaultLeft, left: 1, right: 2 }, { leaf: -1 }, { leaf: 1 },
])])), 'split.json');

test('splits: x < threshold in float32 goes left, equal goes right, missing follows default_left', () => {
  const f32 = Math.fround(0.1);
  const below = 0.1 - 1e-12; // below 0.1 in f64, but rounds to float32(0.1): goes right like in XGBoost
  const xs = [0.05, f32, 0.1, below, 0.0999999, NaN, 0.2];
  for (const engine of ENGINES) {
    for (const dl of [false, true]) {
      const e = createTreeEnsemble(splitModel(dl), { engine, capacity: 8 });
      const data = new Float32Array(xs.length * 2);
      xs.forEach((x, i) => { data[2 * i] = x; data[2 * i + 1] = 7; });
      const m = scoreAll(e, data, xs.length, true);
      const base = 0.5; // reg:squarederror keeps base_score as is
      assert.equal(Array.from(m), [-1, 1, 1, 1, -1, dl ? -1 : 1, 1].map((v) => v + base), `${engine} default_left=${dl}`);
    }
  }
});

test('splits at 0: -0 equals 0, the smallest denormals go their own way', () => {
  const zero = (dl: boolean) => parseXgboostModel(JSON.stringify(tinyModel([tinyTree([
    { feature: 1, threshold: 0, defaultLeft: dl, left: 1, right: 2 }, { leaf: -1 }, { leaf: 1 },
  ])])));
  const xs = [-0, 0, -(2 ** -149), 2 ** -149, -Infinity, Infinity, NaN];
  for (const engine of ENGINES) {
    for (const dl of [false, true]) {
      const data = new Float32Array(xs.length * 2);
      xs.forEach((x, i) => { data[2 * i + 1] = x; });
      const m = scoreAll(createTreeEnsemble(zero(dl), { engine, capacity: 16 }), data, xs.length, true);
      assert.equal(Array.from(m), [1, 1, -1, 1, -1, 1, dl ? -1 : 1].map((v) => v + 0.5), `${engine} default_left=${dl}`);
    }
  }
});

test('multi-class argmax: ties go to the first class', () => {
  const trees = [0, 1, 2].map((g) => tinyTree([{ leaf: g === 0 ? 0.25 : 0.5 }], g));
  const m = parseXgboostModel(JSON.stringify(tinyModel(trees, { objective: 'multi:softmax', numClass: 3, treeInfo: [0, 1, 2] })));
  for (const engine of ENGINES) {
    const p = scoreAll(createTreeEnsemble(m, { engine, capacity: 4 }), new Float32Array(2), 1, false);
    assert.equal(Array.from(p), [1], engine);
  }
});

test('row count outside capacity is refused', () => {
  for (const engine of ENGINES) {
    const e = createTreeEnsemble(splitModel(false), { engine, capacity: 4 });
    assert.throws(() => e.score(5), /row count 5 outside 0..4/);
  }
});

// ───── pipeline operator ─────

function operatorRun(engine: 'wasm' | 'js', c: Cases, fieldOf: number[], fieldCount: number, extra: Partial<TreeEnsembleOperatorConfig> = {}) {
  const rt = createPartitionRuntime(8 << 20);
  const op = new TreeEnsembleOperator({ op: 3, model: c.model, features: fieldOf, fieldCount, batch: 64, outputCapacity: 2048, ...extra }, engine, rt);
  const stride = inputStride(fieldCount);
  const ptr = rt.alloc.alloc(stride * (c.count + 1), 64);
  const view = new DataView(rt.memory.buffer);
  const nf = c.model.numFeature;
  let at = ptr;
  for (let r = 0; r < c.count; r++) {
    const fields = new Float64Array(fieldCount).fill(12345); // unrelated fields
    fieldOf.forEach((f, j) => { fields[f] = c.data[r * nf + j]; });
    writeInput(view, at, 1732424400123456789n + BigInt(r), BigInt(1000 + r), r % 7, fields);
    at += stride;
    if (r === 10) { writeInput(view, at, 0n, 0n, 0, new Float64Array(fieldCount), FLAG_CONTROL); at += stride; }
  }
  op.process(ptr, c.count + 1, stride);
  const { ptr: out, count } = op.output();
  const outs = Array.from({ length: count }, (_, i) => readOutput(view, out + OUT_BYTES * i));
  return { op, outs, rt };
}

test('operator: scores records in both engines, skips control records, one OUT_SCORE per event', () => {
  for (const name of ['xgb_fraud_binary', 'multi_softprob', 'multi_softmax']) {
    const c = loadCases(name);
    c.count = Math.min(c.count, 300);
    const nf = c.model.numFeature, fieldCount = nf + 3;
    const fieldOf = Array.from({ length: nf }, (_, j) => (nf - 1 - j) + 2); // reversed, shifted: a real mapping
    const runs = ENGINES.map((e) => operatorRun(e, c, fieldOf, fieldCount));
    for (const { outs } of runs) {
      assert.is(outs.length, c.count, name);
      outs.forEach((o, r) => {
        assert.is(o.kind, OUT_SCORE); assert.is(o.op, 3); assert.is(o.key, r % 7);
        assert.is(o.aux, c.model.numOutputs);
        assert.is(o.start, 1732424400123456789n + BigInt(r)); assert.is(o.end, o.start);
        assert.is(o.seq, BigInt(1000 + r));
        for (let g = 0; g < c.model.numOutputs; g++) close(o.values[g], c.preds[r][g], `${name} row ${r} pred${g}`);
        for (let g = c.model.numOutputs; g < 11; g++) assert.is(o.values[g], 0);
      });
    }
    assert.equal(runs[0].outs, runs[1].outs, `${name}: WASM and JS outputs identical`);
  }
});

test('operator: margin output and alerts-only emission, same in both engines', () => {
  const c = loadCases('multi_softprob');
  c.count = 200;
  const nf = c.model.numFeature, fieldOf = Array.from({ length: nf }, (_, j) => j);
  for (const engine of ENGINES) {
    const { outs } = operatorRun(engine, c, fieldOf, nf, { output: 'margin' });
    assert.is(outs.length, 200);
    outs.forEach((o, r) => { assert.is(o.aux, 3); for (let g = 0; g < 3; g++) close(o.values[g], c.margins[r][g], `${engine} row ${r} margin${g}`); });
    const alerts = operatorRun(engine, c, fieldOf, nf, { emit: 'alerts', threshold: 0.8 }).outs;
    const want = c.preds.map((p, r) => [Math.max(...p), r] as const).filter(([s]) => s >= 0.8).map(([, r]) => r);
    assert.ok(want.length > 10 && want.length < 190, `${want.length} alerts`);
    assert.equal(alerts.map((o) => Number(o.seq) - 1000), want, engine);
  }
  const bin = loadCases('xgb_fraud_binary');
  bin.count = 1000;
  const hi = ENGINES.map((e) => operatorRun(e, bin, Array.from({ length: 8 }, (_, j) => j), 8, { emit: 'alerts', threshold: 0.5 }).outs.map((o) => Number(o.seq) - 1000));
  assert.equal(hi[0], bin.preds.flatMap((p, r) => (p[0] >= 0.5 ? [r] : [])));
  assert.equal(hi[0], hi[1]);
  assert.ok(hi[0].length > 0);
});

test('operator: config errors, output capacity, snapshot pins the model', () => {
  const c = loadCases('xgb_fraud_binary');
  const rt = createPartitionRuntime(4 << 20);
  assert.throws(() => new TreeEnsembleOperator({ op: 1, model: c.model, features: [0, 1] }, 'wasm', rt), /the model has 8 features \(f0, f1, .*\) but 2 feature fields are configured/);
  assert.throws(() => new TreeEnsembleOperator({ op: 1, model: c.model, features: [0, 1, 2, 3, 4, 5, 6, 9], fieldCount: 8 }, 'js', rt), /feature f7 maps to field 9, which is not a field of the input record \(0..7\)/);
  const f8 = [0, 1, 2, 3, 4, 5, 6, 7];
  assert.throws(() => new TreeEnsembleOperator({ op: 1, model: c.model, features: f8, emit: 'some' as 'all' }, 'js', rt), /emit must be all or alerts, got some/);
  assert.throws(() => new TreeEnsembleOperator({ op: 1, model: c.model, features: f8, output: 'odds' as 'margin' }, 'js', rt), /output must be probability or margin, got odds/);
  assert.throws(() => new TreeEnsembleOperator({ op: 1, model: c.model, features: f8, threshold: NaN }, 'js', rt), /threshold must be a finite number/);
  const ids = [0, 1, 2, 3, 4, 5, 6, 7];
  for (const engine of ENGINES) {
    const op = new TreeEnsembleOperator({ op: 1, model: c.model, features: ids, outputCapacity: 10, batch: 4 }, engine, rt);
    const stride = inputStride(8), ptr = rt.alloc.alloc(stride * 12);
    const view = new DataView(rt.memory.buffer);
    for (let r = 0; r < 12; r++) writeInput(view, ptr + r * stride, BigInt(r), BigInt(r), 0, new Float64Array(8));
    op.process(ptr, 8, stride);
    assert.is(op.output().count, 8);
    assert.throws(() => op.process(ptr, 4, stride), /8 pending outputs plus 4 new ones exceed the output capacity 10/);
    op.clearOutput();
    op.process(ptr, 4, stride);
    assert.is(op.output().count, 4);
    assert.throws(() => op.process(ptr, 1, 24), /record stride 24 is too small/);
    const snap = op.snapshot();
    op.restore(snap);
    const other = new TreeEnsembleOperator({ op: 1, model: loadXgboostModel(FIX + 'dart_binary.json'), features: [0, 1, 2, 3, 4, 5] }, engine, rt);
    assert.throws(() => other.restore(snap), /snapshot was taken with a different model than .*dart_binary\.json/);
    assert.throws(() => other.restore(new Uint8Array(3)), /not a tree-ensemble snapshot/);
    assert.ok(op.stats().bytes > c.model.bytes.length);
  }
});

test.run();
