import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadXgboostModel, parseXgboostModel, applyLink, nextDown, LINK, MODEL_MAGIC, DEFAULT_LEFT } from '../../../host/model/xgboost.js';
import { tinyModel, tinyTree } from '../../fixtures/xgb/tiny.js';

const FIX = new URL('../../fixtures/xgb/', import.meta.url).pathname;
const fraudText = readFileSync(FIX + 'xgb_fraud_binary.json', 'utf8');
const fraud = () => JSON.parse(fraudText);
const throwsWith = (fn: () => unknown, re: RegExp) => {
  try { fn(); } catch (e) { assert.match((e as Error).message, re); return; }
  assert.unreachable(`expected an error matching ${re}`);
};

test('fraud model: header, tree table and breadth-first nodes', () => {
  const m = loadXgboostModel(FIX + 'xgb_fraud_binary.json');
  assert.is(m.source, FIX + 'xgb_fraud_binary.json');
  assert.is(m.objective, 'binary:logistic');
  assert.is(m.numFeature, 8);
  assert.is(m.numTrees, 60);
  assert.is(m.maxDepth, 6);
  assert.equal(m.featureNames, ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7']);
  assert.is(m.hasFeatureNames, false);
  assert.is(m.baseMargin, 0); // logit(0.5)
  const u32 = new Uint32Array(m.bytes.buffer), f32 = new Float32Array(m.bytes.buffer);
  assert.is(u32[0], MODEL_MAGIC);
  assert.is(u32[7], m.numNodes);
  // Node arrays end where the complete trees begin (depth 6: 63 nodes of 8 bytes + 64 leaves each).
  assert.is(u32[10], u32[5] + 16 * m.numNodes);
  assert.is(m.bytes.length, u32[10] + 16 * 60 + 60 * (63 * 8 + 64 * 4));
  const t0 = fraud().learner.gradient_booster.model.trees[0];
  const nodes = u32[5] >> 2;
  // Root keeps XGBoost's node 0; leaves point at themselves with their value.
  assert.is(u32[nodes] & 0x7fffffff, t0.split_indices[0]);
  assert.is(f32[nodes + 1], Math.fround(t0.split_conditions[0]));
  let leaves = 0;
  for (let n = 0; n < m.numNodes; n++) {
    const at = nodes + 4 * n;
    if (u32[at + 2] === n) { leaves++; assert.is(u32[at + 3], n); }
    else { assert.ok(u32[at + 2] > n && u32[at + 3] > n); assert.ok((u32[at] & 0x7fffffff) < 8); }
  }
  assert.ok(leaves > 60);
});

test('base_score: logit for logistic objectives, log for poisson, as is otherwise', () => {
  const named = loadXgboostModel(FIX + 'binary_logistic_named.json');
  const bs = Number(JSON.parse(readFileSync(FIX + 'binary_logistic_named.json', 'utf8')).learner.learner_model_param.base_score);
  assert.ok(Math.abs(named.baseMargin - Math.log(bs / (1 - bs))) < 1e-6);
  assert.equal(named.featureNames, ['amount', 'velocity', 'age_days', 'geo_risk', 'device_score', 'hour']);
  assert.is(named.hasFeatureNames, true);
  const reg = parseXgboostModel(JSON.stringify(tinyModel([tinyTree([{ leaf: 1 }])], { baseScore: '2.5' })));
  assert.is(reg.baseMargin, 2.5);
  const pois = parseXgboostModel(JSON.stringify(tinyModel([tinyTree([{ leaf: 1 }])], { objective: 'count:poisson', baseScore: '2' })));
  assert.is(pois.baseMargin, Math.fround(Math.log(2)));
  assert.is(pois.link, LINK.exp);
});

test('multi-class: groups from tree_info, outputs per objective', () => {
  const prob = loadXgboostModel(FIX + 'multi_softprob.json');
  assert.is(prob.numGroup, 3);
  assert.is(prob.numOutputs, 3);
  const max = loadXgboostModel(FIX + 'multi_softmax.json');
  assert.is(max.numGroup, 4);
  assert.is(max.numOutputs, 1);
  const u32 = new Uint32Array(max.bytes.buffer);
  const info = JSON.parse(readFileSync(FIX + 'multi_softmax.json', 'utf8')).learner.gradient_booster.model.tree_info;
  for (let t = 0; t < max.numTrees; t++) assert.is(u32[(64 + 16 * t + 8) >> 2], info[t]);
});

test('dart: weight_drop becomes each tree weight', () => {
  const m = loadXgboostModel(FIX + 'dart_binary.json');
  const wd = JSON.parse(readFileSync(FIX + 'dart_binary.json', 'utf8')).learner.gradient_booster.weight_drop;
  const f32 = new Float32Array(m.bytes.buffer);
  assert.is(m.booster, 'dart');
  for (let t = 0; t < m.numTrees; t++) assert.is(f32[(64 + 16 * t + 12) >> 2], Math.fround(wd[t]));
});

test('default_left sets bit 31 of the feature word', () => {
  const m = parseXgboostModel(JSON.stringify(tinyModel([tinyTree([
    { feature: 1, threshold: 0.5, defaultLeft: true, left: 1, right: 2 }, { leaf: -1 }, { leaf: 1 },
  ])])));
  const u32 = new Uint32Array(m.bytes.buffer);
  assert.is(u32[(64 + 16) >> 2], (1 | DEFAULT_LEFT) >>> 0);
  assert.is(m.maxDepth, 1);
});

test('complete trees: only when every tree is at most 10 deep; nextDown is the float32 below', () => {
  const deep = loadXgboostModel(FIX + 'reg_squarederror.json');
  assert.ok(deep.maxDepth > 10);
  assert.is(new Uint32Array(deep.bytes.buffer)[10], 0);
  assert.is(nextDown(1), Math.fround(1 - 2 ** -24));
  assert.is(nextDown(-1), Math.fround(-1 - 2 ** -23));
  assert.is(nextDown(0), -(2 ** -149));
  assert.is(nextDown(2 ** -149), 0);
});

test('links: sigmoid, softmax, argmax (first on ties), exp, hinge', () => {
  const out = new Float32Array(3);
  applyLink(LINK.sigmoid, [0], 0, 1, out, 0); assert.is(out[0], 0.5);
  applyLink(LINK.softmax, [1, 1, 1], 0, 3, out, 0); assert.ok(Math.abs(out[0] - 1 / 3) < 1e-7 && out[0] === out[2]);
  applyLink(LINK.argmax, [0.5, 2, 2], 0, 3, out, 0); assert.is(out[0], 1);
  applyLink(LINK.exp, [0], 0, 1, out, 0); assert.is(out[0], 1);
  applyLink(LINK.hinge, [-0.1], 0, 1, out, 0); assert.is(out[0], 0);
});

test('errors name the file and the defect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-xgb-'));
  const write = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
  throwsWith(() => loadXgboostModel(join(dir, 'nope.json')), /nope\.json: cannot read model file \(no such file\)/);
  throwsWith(() => loadXgboostModel(write('trunc.json', fraudText.slice(0, 4000))), /trunc\.json: not valid JSON .*complete/);
  throwsWith(() => loadXgboostModel(write('empty.json', '  ')), /empty\.json: empty file/);
  throwsWith(() => loadXgboostModel(write('m.ubj', '{L\u0000\u0000'.replace('{', '\u007b') + '\u0000')), /m\.ubj: not valid JSON/);
  throwsWith(() => loadXgboostModel(write('bin.model', '\u0000\u0001binf')), /bin\.model: not an XGBoost JSON model/);
  throwsWith(() => loadXgboostModel(write('arr.json', '[1,2]')), /arr\.json: not an XGBoost JSON model/);
  throwsWith(() => loadXgboostModel(write('nolearner.json', '{"version":[1,7,4]}')), /nolearner\.json: "learner" is missing/);
  throwsWith(() => loadXgboostModel(FIX + 'gblinear.json'), /gblinear\.json: gblinear boosters are not supported/);

  const obj = fraud(); obj.learner.objective.name = 'reg:quantileerror';
  throwsWith(() => parseXgboostModel(JSON.stringify(obj), 'q.json'), /q\.json: unsupported objective "reg:quantileerror" \(supported: binary:logistic/);
  const cat = fraud(); cat.learner.gradient_booster.model.trees[3].split_type[0] = 1;
  throwsWith(() => parseXgboostModel(JSON.stringify(cat), 'cat.json'), /cat\.json: tree 3 node 0 is a categorical split/);
  const ctype = fraud(); ctype.learner.feature_types = ['float', 'c', 'float', 'float', 'float', 'float', 'float', 'float'];
  throwsWith(() => parseXgboostModel(JSON.stringify(ctype), 'ct.json'), /ct\.json: feature 1 is categorical/);
  const feat = fraud(); feat.learner.gradient_booster.model.trees[2].split_indices[0] = 8;
  throwsWith(() => parseXgboostModel(JSON.stringify(feat), 'f.json'), /f\.json: tree 2 node 0 splits on feature 8, but the model has 8 features/);
  const child = fraud(); child.learner.gradient_booster.model.trees[1].left_children[0] = 999;
  throwsWith(() => parseXgboostModel(JSON.stringify(child), 'c.json'), /c\.json: tree 1 node 0 has invalid children \(999, 2\)/);
  const cyc = fraud(); cyc.learner.gradient_booster.model.trees[0].left_children[1] = 2;
  throwsWith(() => parseXgboostModel(JSON.stringify(cyc), 'cy.json'), /cy\.json: tree 0 node 2 is reached twice/);
  const len = fraud(); const n5 = len.learner.gradient_booster.model.trees[5].split_conditions.length;
  len.learner.gradient_booster.model.trees[5].split_conditions.pop();
  throwsWith(() => parseXgboostModel(JSON.stringify(len), 'l.json'), new RegExp(`l\\.json: tree 5\\.split_conditions has ${n5 - 1} entries, expected num_nodes = ${n5}`));
  const info = fraud(); info.learner.gradient_booster.model.tree_info[7] = 1;
  throwsWith(() => parseXgboostModel(JSON.stringify(info), 'i.json'), /i\.json: tree_info\[7\] = 1, but the model has 1 output group/);
  const vec = fraud(); vec.learner.learner_model_param.num_target = '2';
  throwsWith(() => parseXgboostModel(JSON.stringify(vec), 'v.json'), /v\.json: multi-target models/);
  const bs = fraud(); bs.learner.learner_model_param.base_score = '1.5';
  throwsWith(() => parseXgboostModel(JSON.stringify(bs), 'b.json'), /b\.json: base_score 1\.5 must be in \(0, 1\) for binary:logistic/);
  const nc = tinyModel([tinyTree([{ leaf: 1 }])], { objective: 'multi:softprob', numClass: 1 });
  throwsWith(() => parseXgboostModel(JSON.stringify(nc), 'n.json'), /n\.json: objective multi:softprob needs num_class >= 2/);
  const dup = tinyModel([tinyTree([{ leaf: 1 }])], { featureNames: ['a', 'a'] });
  throwsWith(() => parseXgboostModel(JSON.stringify(dup), 'd.json'), /d\.json: feature_names contains "a" twice/);
  const wrongNames = tinyModel([tinyTree([{ leaf: 1 }])], { featureNames: ['a'] });
  throwsWith(() => parseXgboostModel(JSON.stringify(wrongNames), 'w.json'), /w\.json: feature_names has 1 names but num_feature is 2/);
  const none = tinyModel([]);
  throwsWith(() => parseXgboostModel(JSON.stringify(none), 'z.json'), /z\.json: the model has no trees/);
  const strs = fraud(); strs.learner.gradient_booster.model.trees[0].split_conditions[4] = 'x';
  throwsWith(() => parseXgboostModel(JSON.stringify(strs), 's.json'), /s\.json: tree 0\.split_conditions\[4\] is not a number \("x"\)/);
});

test.run();
