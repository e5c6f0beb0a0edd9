// Loads an XGBoost JSON model (`booster.save_model('m.json')`, XGBoost ≥ 1.0),
// validates it and flattens its trees into the one binary layout both scoring
// engines read: the JS twin reads it in place, the WASM engine copies it into
// its region unchanged.
//
// Flat model, little endian, byte offsets from the model base:
//
//   0      4      8      12     16       20       24        28      32     36        40          44 .. 64
//   ┌──────┬──────┬──────┬──────┬────────┬────────┬─────────┬───────┬──────┬─────────┬───────────┬──────┐
//   │magic │ nFeat│nGroup│nTrees│treesOff│nodesOff│baseMarg │nNodes │ link │nOutputs │completeOff│  0   │
//   │ u32  │ u32  │ u32  │ u32  │  u32   │  u32   │   f32   │  u32  │ u32  │  u32    │ u32, 0=no │      │
//   └──────┴──────┴──────┴──────┴────────┴────────┴─────────┴───────┴──────┴─────────┴───────────┴──────┘
//   tree table at treesOff, 16 bytes per tree, in XGBoost's tree order:
//   ┌───────────┬───────────┬───────────┬────────────┐
//   │ root u32  │ depth u32 │ group u32 │ weight f32 │   root = absolute node index
//   └───────────┴───────────┴───────────┴────────────┘
//   nodes at nodesOff, 16 bytes per node:
//   ┌────────────────────┬────────────┬──────────┬───────────┐
//   │ feature u32        │ value f32  │ left u32 │ right u32 │
//   │ bit 31: default    │ threshold, │ absolute node indices  │
//   │  left (missing)    │ or leaf    │ leaf: both = itself    │
//   └────────────────────┴────────────┴──────────┴───────────┘
//
// Why leaves point at themselves: descent then runs exactly `depth` steps per
// tree with no "is this a leaf?" branch, so rows whose paths end at different
// depths cost no branch mispredictions; a finished row just stays put.
// Complete trees (present when every tree is at most COMPLETE_MAX_DEPTH deep;
// what the WASM engine scores with): at completeOff, a table of 16 bytes per
// tree, then each tree padded to a complete binary tree of its depth D:
//   table: │ tree byte offset u32 │ depth D u32 │ group u32 │ weight f32 │
//   tree:  internal nodes i = 0 .. 2^D-2, 8 bytes each, children of i at 2i+1, 2i+2:
//          │ column offset 256·j u32 │ T f32 │   go to 2i+2 iff v > T
//          then 2^D leaf values f32 (leaf of node index i ≥ 2^D-1 is i-(2^D-1)),
//          already multiplied by the tree weight in float32 (leaf·w, as XGBoost)
//   The engine doubles each row to (x0..xF-1, -x0..-xF-1) and stores a block
//   of 64 rows column by column (column j = 64 f32 = 256 bytes), so the same
//   offset serves a scalar step (lane base + offset) and a SIMD column load
//   of 16 rows (tops of the trees). A default-left
//   node tests x > nextDown(thr) (≡ x ≥ thr); a default-right node tests
//   -x > -thr (≡ x < thr) with its children swapped. Either way a NaN compares
//   false and lands on 2i+1, which is then the default side: one float
//   compare per step, no missing-value logic at all.
//   A leaf shallower than D is copied into every leaf below it (its padding
//   nodes test anything), so descent is D steps of pure index arithmetic: no
//   child pointers to load, no leaf test.
// Why weight: dart boosters scale each tree by weight_drop at inference; plain
// gbtree uses 1, and leaf·1 is exact in float32.
import { readFileSync } from 'node:fs';

export const MODEL_MAGIC = 0x54424758; // 'XGBT'
const MODEL_HEADER_BYTES = 64;
const TREE_BYTES = 16;
const NODE_BYTES = 16;
export const DEFAULT_LEFT = 0x80000000;
/** Deeper trees fall back to the node-array layout (a complete tree doubles per level). */
const COMPLETE_MAX_DEPTH = 10;
/** Bytes of one column of the WASM kernel's 64-row block (64 × f32): complete-tree nodes address columns. */
export const COLUMN_BYTES = 256;

/** What turns a row's margins into its predictions. */
export const LINK = { identity: 0, sigmoid: 1, softmax: 2, argmax: 3, exp: 4, hinge: 5 } as const;
export type LinkCode = (typeof LINK)[keyof typeof LINK];

interface ObjectiveSpec {
  link: LinkCode;
  /** How XGBoost maps the stored base_score to a margin (ProbToMargin). */
  base: 'identity' | 'logit' | 'log';
  multiclass?: boolean;
}

// Objectives whose inference is a tree sum plus a link; XGBoost 1.7 names.
const OBJECTIVES: Record<string, ObjectiveSpec> = {
  'binary:logistic': { link: LINK.sigmoid, base: 'logit' },
  'reg:logistic': { link: LINK.sigmoid, base: 'logit' },
  'binary:logitraw': { link: LINK.identity, base: 'identity' }, // 1.7 keeps its base_score raw (checked against XGBoost)
  'binary:hinge': { link: LINK.hinge, base: 'identity' },
  'reg:squarederror': { link: LINK.identity, base: 'identity' },
  'reg:linear': { link: LINK.identity, base: 'identity' },
  'reg:squaredlogerror': { link: LINK.identity, base: 'identity' },
  'reg:pseudohubererror': { link: LINK.identity, base: 'identity' },
  'reg:absoluteerror': { link: LINK.identity, base: 'identity' },
  'count:poisson': { link: LINK.exp, base: 'log' },
  'reg:gamma': { link: LINK.exp, base: 'log' },
  'reg:tweedie': { link: LINK.exp, base: 'log' },
  'survival:cox': { link: LINK.exp, base: 'log' },
  'rank:pairwise': { link: LINK.identity, base: 'identity' },
  'rank:ndcg': { link: LINK.identity, base: 'identity' },
  'rank:map': { link: LINK.identity, base: 'identity' },
  'multi:softprob': { link: LINK.softmax, base: 'identity', multiclass: true },
  'multi:softmax': { link: LINK.argmax, base: 'identity', multiclass: true },
};

const SUPPORTED_OBJECTIVES = Object.keys(OBJECTIVES);

export interface TreeModel {
  /** File name (or label) used in every error message about this model. */
  source: string;
  objective: string;
  link: LinkCode;
  numFeature: number;
  /** Margins per row: the class count for multi:*, else 1. */
  numGroup: number;
  /** Predictions per row: 1 for multi:softmax (the class index), else numGroup. */
  numOutputs: number;
  /** One name per feature: the model's feature_names, else f0..fN-1. */
  featureNames: string[];
  hasFeatureNames: boolean;
  /** float32 margin every row starts from (base_score mapped by the objective). */
  baseMargin: number;
  numTrees: number;
  numNodes: number;
  maxDepth: number;
  booster: 'gbtree' | 'dart';
  /** The flat layout above; its buffer is exactly this size and 4-aligned. */
  bytes: Uint8Array;
}

class ModelError extends Error {}

export function loadXgboostModel(path: string): TreeModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: cannot read model file (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
  }
  return parseXgboostModel(text, path);
}

export function parseXgboostModel(text: string, source = 'model'): TreeModel {
  const fail = (what: string): never => { throw new ModelError(`${source}: ${what}`); };
  const trimmed = text.trimStart();
  if (trimmed.length === 0) fail('empty file, expected an XGBoost JSON model');
  if (trimmed[0] !== '{') fail('not an XGBoost JSON model (binary UBJSON or the old binary format are not supported: save with save_model("m.json"))');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message}); is the file complete?`);
  }
  const model = fromJson(doc, fail);
  model.source = source;
  return model;
}

type Fail = (what: string) => never;

function obj(v: unknown, where: string, fail: Fail): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${where} is missing or not an object`);
  return v as Record<string, unknown>;
}

function num(v: unknown, where: string, fail: Fail): number {
  // XGBoost writes most scalar parameters as strings ("5E-1"); 2.x may wrap
  // base_score in brackets ("[5E-1]").
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.replace(/^\[(.*)\]$/, '$1')) : NaN;
  if (!Number.isFinite(n)) fail(`${where} is missing or not a number (${JSON.stringify(v)})`);
  return n;
}

function numArray(v: unknown, len: number, where: string, fail: Fail): ArrayLike<number> {
  if (!Array.isArray(v)) fail(`${where} is missing or not an array`);
  const a = v as unknown[];
  if (a.length !== len) fail(`${where} has ${a.length} entries, expected num_nodes = ${len}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x === 'boolean') continue;
    if (typeof x !== 'number' || Number.isNaN(x)) fail(`${where}[${i}] is not a number (${JSON.stringify(x)})`);
  }
  return a as number[];
}

function fromJson(doc: unknown, fail: Fail): TreeModel {
  const root = obj(doc, 'the top level', fail);
  const learner = obj(root.learner, '"learner"', fail);
  const params = obj(learner.learner_model_param, 'learner.learner_model_param', fail);
  const objective = obj(learner.objective, 'learner.objective', fail);
  const objName = String(objective.name ?? '');
  const spec = OBJECTIVES[objName];
  if (!spec) fail(`unsupported objective "${objName}" (supported: ${SUPPORTED_OBJECTIVES.join(', ')})`);

  const numFeature = num(params.num_feature, 'learner_model_param.num_feature', fail);
  if (!Number.isInteger(numFeature) || numFeature < 1) fail(`num_feature must be a positive integer, got ${numFeature}`);
  const numClass = params.num_class === undefined ? 0 : num(params.num_class, 'learner_model_param.num_class', fail);
  const numTarget = params.num_target === undefined ? 1 : num(params.num_target, 'learner_model_param.num_target', fail);
  if (numTarget > 1) fail(`multi-target models (num_target = ${numTarget}) are not supported`);
  if (spec.multiclass && numClass < 2) fail(`objective ${objName} needs num_class >= 2, got ${numClass}`);
  const numGroup = spec.multiclass ? numClass : 1;
  const baseScore = num(params.base_score, 'learner_model_param.base_score', fail);

  let baseMargin: number;
  if (spec.base === 'logit') {
    if (!(baseScore > 0 && baseScore < 1)) fail(`base_score ${baseScore} must be in (0, 1) for ${objName}`);
    baseMargin = Math.fround(-Math.log(Math.fround(1 / Math.fround(baseScore)) - 1));
  } else if (spec.base === 'log') {
    if (!(baseScore > 0)) fail(`base_score ${baseScore} must be > 0 for ${objName}`);
    baseMargin = Math.fround(Math.log(Math.fround(baseScore)));
  } else {
    baseMargin = Math.fround(baseScore);
  }

  const names = learner.feature_names;
  const types = learner.feature_types;
  const hasFeatureNames = Array.isArray(names) && names.length > 0;
  if (hasFeatureNames) {
    if ((names as unknown[]).length !== numFeature) fail(`feature_names has ${(names as unknown[]).length} names but num_feature is ${numFeature}`);
    const seen = new Set<string>();
    for (const n of names as unknown[]) {
      if (typeof n !== 'string' || n.length === 0) fail(`feature_names contains a non-string or empty name (${JSON.stringify(n)})`);
      if (seen.has(n as string)) fail(`feature_names contains "${n}" twice`);
      seen.add(n as string);
    }
  }
  if (Array.isArray(types)) {
    const c = (types as unknown[]).findIndex((t) => t === 'c');
    if (c >= 0) fail(`feature ${c} is categorical (feature_types "c"); categorical features are not supported`);
  }
  const featureNames = hasFeatureNames ? (names as string[]).slice() : Array.from({ length: numFeature }, (_, i) => `f${i}`);

  const gb = obj(learner.gradient_booster, 'learner.gradient_booster', fail);
  const boosterName = String(gb.name ?? '');
  let model: Record<string, unknown>;
  let weights: number[] | undefined;
  if (boosterName === 'gbtree') {
    model = obj(gb.model, 'gradient_booster.model', fail);
  } else if (boosterName === 'dart') {
    model = obj(obj(gb.gbtree, 'gradient_booster.gbtree', fail).model, 'gradient_booster.gbtree.model', fail);
    const wd = gb.weight_drop;
    if (!Array.isArray(wd)) fail('dart booster has no weight_drop array');
    weights = (wd as unknown[]).map((w, i) => num(w, `weight_drop[${i}]`, fail));
  } else if (boosterName === 'gblinear') {
    return fail('gblinear boosters are not supported: ganglion scores tree ensembles (booster gbtree or dart)');
  } else {
    return fail(`unknown booster "${boosterName}" (supported: gbtree, dart)`);
  }

  const trees = model.trees;
  const treeInfo = model.tree_info;
  if (!Array.isArray(trees)) fail('gradient_booster model has no "trees" array');
  if (!Array.isArray(treeInfo)) fail('gradient_booster model has no "tree_info" array');
  const tlist = trees as unknown[];
  if ((treeInfo as unknown[]).length !== tlist.length) fail(`tree_info has ${(treeInfo as unknown[]).length} entries for ${tlist.length} trees`);
  if (weights && weights.length !== tlist.length) fail(`weight_drop has ${weights.length} entries for ${tlist.length} trees`);
  if (tlist.length === 0) fail('the model has no trees');

  // First pass: validate and count reachable nodes.
  interface Parsed { order: number[]; depthOf: number[]; maxDepth: number; t: Record<string, unknown>; left: ArrayLike<number>; right: ArrayLike<number> }
  const parsed: Parsed[] = [];
  let totalNodes = 0;
  for (let ti = 0; ti < tlist.length; ti++) {
    const where = `tree ${ti}`;
    const t = obj(tlist[ti], where, fail);
    const tp = obj(t.tree_param, `${where}.tree_param`, fail);
    const n = num(tp.num_nodes, `${where}.tree_param.num_nodes`, fail);
    if (!Number.isInteger(n) || n < 1) fail(`${where}: num_nodes must be a positive integer, got ${n}`);
    if (tp.size_leaf_vector !== undefined && num(tp.size_leaf_vector, `${where}.size_leaf_vector`, fail) > 1) {
      fail(`${where} has vector leaves (multi-target trees are not supported)`);
    }
    const left = numArray(t.left_children, n, `${where}.left_children`, fail);
    const right = numArray(t.right_children, n, `${where}.right_children`, fail);
    const feat = numArray(t.split_indices, n, `${where}.split_indices`, fail);
    numArray(t.split_conditions, n, `${where}.split_conditions`, fail);
    numArray(t.default_left, n, `${where}.default_left`, fail);
    const stype = t.split_type === undefined ? undefined : numArray(t.split_type, n, `${where}.split_type`, fail);
    const order: number[] = [0];
    const depthOf: number[] = new Array(n).fill(-1);
    depthOf[0] = 0;
    let maxDepth = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      const l = left[i], r = right[i];
      if (l === -1 && r === -1) { maxDepth = Math.max(maxDepth, depthOf[i]); continue; }
      if (stype && stype[i] !== 0) fail(`${where} node ${i} is a categorical split; categorical features are not supported`);
      if (!Number.isInteger(l) || !Number.isInteger(r) || l < 1 || r < 1 || l >= n || r >= n || l === r) {
        fail(`${where} node ${i} has invalid children (${l}, ${r}) for ${n} nodes`);
      }
      if (!Number.isInteger(feat[i]) || feat[i] < 0 || feat[i] >= numFeature) {
        fail(`${where} node ${i} splits on feature ${feat[i]}, but the model has ${numFeature} features`);
      }
      for (const c of [l, r]) {
        if (depthOf[c] !== -1) fail(`${where} node ${c} is reached twice (the tree is not a tree)`);
        depthOf[c] = depthOf[i] + 1;
        order.push(c);
      }
    }
    const group = num((treeInfo as unknown[])[ti], `tree_info[${ti}]`, fail);
    if (!Number.isInteger(group) || group < 0 || group >= numGroup) fail(`tree_info[${ti}] = ${group}, but the model has ${numGroup} output group(s)`);
    parsed.push({ order, depthOf, maxDepth, t, left, right });
    totalNodes += order.length;
  }

  // Second pass: write the flat layout, nodes in breadth-first order per tree.
  const treesOff = MODEL_HEADER_BYTES;
  const nodesOff = treesOff + TREE_BYTES * tlist.length;
  const generalEnd = nodesOff + NODE_BYTES * totalNodes;
  const complete = parsed.every((p) => p.maxDepth <= COMPLETE_MAX_DEPTH);
  let completeBytes = 0;
  if (complete) {
    completeBytes = TREE_BYTES * parsed.length;
    for (const p of parsed) completeBytes += 8 * ((1 << p.maxDepth) - 1) + 4 * (1 << p.maxDepth);
  }
  const buf = new ArrayBuffer(generalEnd + completeBytes);
  const u32 = new Uint32Array(buf);
  const f32 = new Float32Array(buf);
  const link = spec.link;
  const numOutputs = link === LINK.argmax ? 1 : numGroup;
  u32[0] = MODEL_MAGIC; u32[1] = numFeature; u32[2] = numGroup; u32[3] = tlist.length;
  u32[4] = treesOff; u32[5] = nodesOff; f32[6] = baseMargin; u32[7] = totalNodes; u32[8] = link; u32[9] = numOutputs;
  let next = 0;
  let maxDepth = 0;
  for (let ti = 0; ti < parsed.length; ti++) {
    const { order, maxDepth: depth, t, left } = parsed[ti];
    maxDepth = Math.max(maxDepth, depth);
    const cond = t.split_conditions as number[], feat = t.split_indices as number[], dl = t.default_left as (number | boolean)[];
    const newIndex = new Map<number, number>();
    for (let k = 0; k < order.length; k++) newIndex.set(order[k], next + k);
    const tw = (treesOff + TREE_BYTES * ti) >> 2;
    u32[tw] = next; u32[tw + 1] = depth; u32[tw + 2] = (treeInfo as number[])[ti] | 0;
    f32[tw + 3] = weights ? Math.fround(weights[ti]) : 1;
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      const at = (nodesOff + NODE_BYTES * (next + k)) >> 2;
      f32[at + 1] = Math.fround(cond[i]);
      if (left[i] === -1) {
        u32[at] = 0; u32[at + 2] = next + k; u32[at + 3] = next + k;
      } else {
        u32[at] = (feat[i] | (dl[i] ? DEFAULT_LEFT : 0)) >>> 0;
        u32[at + 2] = newIndex.get(left[i])!;
        u32[at + 3] = newIndex.get(parsed[ti].right[i])!;
      }
    }
    next += order.length;
  }
  if (complete) writeComplete(u32, f32, generalEnd, parsed.map((p) => p.maxDepth));
  return {
    source: '', objective: objName, link, numFeature, numGroup, numOutputs, featureNames, hasFeatureNames, baseMargin,
    numTrees: tlist.length, numNodes: totalNodes, maxDepth, booster: boosterName as 'gbtree' | 'dart', bytes: new Uint8Array(buf),
  };
}

/** Appends the complete-tree section at byte `at`, built from the node arrays already written. */
function writeComplete(u32: Uint32Array, f32: Float32Array, at: number, depths: number[]): void {
  const nf = u32[1], nt = u32[3], treesW = u32[4] >> 2, nodesW = u32[5] >> 2;
  u32[10] = at;
  let next = at + TREE_BYTES * nt;
  for (let t = 0; t < nt; t++) {
    const D = depths[t], inner = (1 << D) - 1, base = next;
    const tw = (at + TREE_BYTES * t) >> 2;
    const weight = f32[treesW + 4 * t + 3];
    u32[tw] = base; u32[tw + 1] = D; u32[tw + 2] = u32[treesW + 4 * t + 2]; f32[tw + 3] = weight;
    const fill = (n: number, i: number, level: number): void => {
      const nw = nodesW + 4 * n;
      const isLeaf = u32[nw + 2] === n;
      if (level === D) { f32[(base + 8 * inner + 4 * (i - inner)) >> 2] = Math.fround(f32[nw + 1] * weight); return; }
      const w = (base + 8 * i) >> 2;
      if (isLeaf) { u32[w] = 0; f32[w + 1] = 0; fill(n, 2 * i + 1, level + 1); fill(n, 2 * i + 2, level + 1); return; }
      const feature = u32[nw] & 0x7fffffff, thr = f32[nw + 1];
      if (u32[nw] & DEFAULT_LEFT) {
        u32[w] = COLUMN_BYTES * feature; f32[w + 1] = nextDown(thr);
        fill(u32[nw + 2], 2 * i + 1, level + 1); fill(u32[nw + 3], 2 * i + 2, level + 1);
      } else {
        u32[w] = COLUMN_BYTES * (nf + feature); f32[w + 1] = -thr;
        fill(u32[nw + 3], 2 * i + 1, level + 1); fill(u32[nw + 2], 2 * i + 2, level + 1);
      }
    };
    fill(u32[treesW + 4 * t], 0, 0);
    next += 8 * inner + 4 * (1 << D);
  }
}

const f32Scratch = new Float32Array(1);
const i32Scratch = new Int32Array(f32Scratch.buffer);
/** The largest float32 below `x` (x is a float32): x ≥ t ⇔ x > nextDown(t). */
export function nextDown(x: number): number {
  if (x !== x || x === -Infinity) return x;
  if (x === 0) return -1.401298464324817e-45;
  f32Scratch[0] = x;
  i32Scratch[0] += x > 0 ? -1 : 1;
  return f32Scratch[0];
}

/**
 * Turns one row's float32 margins into its predictions, as XGBoost's
 * PredTransform does (float32 results). `out` receives numOutputs values.
 */
export function applyLink(link: LinkCode, margins: ArrayLike<number>, mAt: number, numGroup: number, out: Float32Array | Float64Array, oAt: number): void {
  switch (link) {
    case LINK.identity:
      for (let g = 0; g < numGroup; g++) out[oAt + g] = margins[mAt + g];
      return;
    case LINK.sigmoid:
      for (let g = 0; g < numGroup; g++) out[oAt + g] = Math.fround(1 / (1 + Math.exp(-margins[mAt + g])));
      return;
    case LINK.exp:
      for (let g = 0; g < numGroup; g++) out[oAt + g] = Math.fround(Math.exp(margins[mAt + g]));
      return;
    case LINK.hinge:
      for (let g = 0; g < numGroup; g++) out[oAt + g] = margins[mAt + g] > 0 ? 1 : 0;
      return;
    case LINK.softmax: {
      let max = -Infinity;
      for (let g = 0; g < numGroup; g++) max = Math.max(max, margins[mAt + g]);
      let sum = 0;
      for (let g = 0; g < numGroup; g++) sum += Math.exp(margins[mAt + g] - max);
      for (let g = 0; g < numGroup; g++) out[oAt + g] = Math.fround(Math.exp(margins[mAt + g] - max) / sum);
      return;
    }
    case LINK.argmax: {
      // Ties go to the first class, as XGBoost's FindMaxIndex does.
      let best = 0;
      for (let g = 1; g < numGroup; g++) if (margins[mAt + g] > margins[mAt + best]) best = g;
      out[oAt] = best;
      return;
    }
  }
}
