// Parity: the tree-ensemble scorer in WASM (SIMD for the first levels) and its
// JS twin give bit-identical margins on random forests of every depth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseXgboostModel } from '../../host/model/xgboost.js';
import { createTreeEnsemble, scoreAll } from '../../host/operators/model/tree_ensemble.js';
import { tinyModel, tinyTree } from '../fixtures/xgb/tiny.js';

const ENGINES = ['wasm', 'js'] as const;

// Random trees of every depth from 0 to 9 (the WASM kernel takes levels 0-2 in
// SIMD for 16 rows at a time, the rest row by row), three classes, rows with
// missing values, ±0, infinities and values equal to thresholds, and row
// counts around the 16-row groups and 64-row blocks.
test('random forests of mixed depth: WASM agrees with the JS twin bit for bit', () => {
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const nf = 7, thresholds = [-1.5, -0, 0, 0.1, 0.5, 2.25, 1e6];
  const grow = (nodes: Parameters<typeof tinyTree>[0], depth: number): number => {
    const at = nodes.length;
    if (depth === 0 || rand() < 0.15) { nodes.push({ leaf: Math.fround(rand() * 2 - 1) }); return at; }
    nodes.push({ feature: Math.floor(rand() * nf), threshold: thresholds[Math.floor(rand() * thresholds.length)], defaultLeft: rand() < 0.5 });
    const left = grow(nodes, depth - 1), right = grow(nodes, depth - 1);
    Object.assign(nodes[at], { left, right });
    return at;
  };
  const trees = Array.from({ length: 30 }, (_, i) => { const nodes: Parameters<typeof tinyTree>[0] = []; grow(nodes, i % 10); return tinyTree(nodes, i); });
  const special = [NaN, -0, 0, Infinity, -Infinity, ...thresholds];
  const rows = 300, data = new Float32Array(rows * nf);
  for (let i = 0; i < data.length; i++) data[i] = rand() < 0.3 ? special[Math.floor(rand() * special.length)] : rand() * 4 - 2;
  // One margin per row (margins kept in registers) and three (kept in memory).
  for (const numClass of [0, 3]) {
    const objective = numClass ? 'multi:softprob' : 'reg:squarederror';
    const model = parseXgboostModel(JSON.stringify(tinyModel(trees, { objective, numClass, numFeature: nf, treeInfo: trees.map((_, i) => i % Math.max(1, numClass)) })), 'random.json');
    for (const capacity of [1, 15, 16, 17, 63, 64, 65, 300]) {
      const [w, j] = ENGINES.map((engine) => scoreAll(createTreeEnsemble(model, { engine, capacity }), data, rows, true));
      assert.equal(Array.from(w), Array.from(j), `${objective}, capacity ${capacity}`);
    }
  }
});

test.run();
