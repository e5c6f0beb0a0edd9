// Tree-ensemble scoring, one interface and two engines (HdrHistogramJS style):
// the WASM engine runs assembly/operators/tree_ensemble.ts on a partition memory, the
// JS twin below is the same algorithm hand-written in TypeScript. Both read the
// flat model of host/model/xgboost.ts (which owns that layout) and both sum
// leaves in float32 in tree order, so they agree bit for bit with each other
// and with XGBoost's CPU predictor.
//
// Engine region (WASM engine; the JS twin keeps the same arrays in JS memory):
//   ┌─────────────┬─────────────┬───────────────┬────────────────┬───────────────┬──────────────┬─────────────────┐
//   │ flat model  │ feature map │ rows f32 ×C×F │ margins f32×C×G│ preds f32×C×O │ scratch f32  │ outputs 128×cap │
//   │ (xgboost.ts)│ u32 × F     │ (row-major)   │                │               │ 2F×64 + 31×64│ (operator only) │
//   └─────────────┴─────────────┴───────────────┴────────────────┴───────────────┴──────────────┴─────────────────┘
//   C = capacity (rows per call), F features, G margins, O predictions per row;
//   scratch holds the complete-tree kernel's 64-row block, doubled to (x, -x) and
//   stored column by column (2F columns of 64 f32), then one byte per row and
//   tree of a 16-tree chunk (where each row stands after the SIMD tree tops),
//   then one byte per row and top node (that node's compare).
import type { Engine, Operator, OperatorRuntime } from '../operator.js';
import { applyLink, COLUMN_BYTES, DEFAULT_LEFT, type TreeModel } from '../../model/xgboost.js';
import { createPartitionRuntime, type GanglionExports } from '../../wasm/module.js';
import { loadXgboostModel } from '../../model/xgboost.js';
import type { OperatorConfig, OperatorContext } from '../descriptor.js';
import {
  FLAG_CONTROL, IN_FIELDS, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS, OUT_BYTES, OUT_SCORE, OUT_VALUE_COUNT, OUT_VALUES, inputStride,
} from '../../records.js';


export interface TreeEnsembleEngine {
  readonly model: TreeModel;
  readonly engine: Engine;
  /** Rows per score() call. */
  readonly capacity: number;
  /** Fill with float32 features, row-major, numFeature per row (NaN = missing). */
  readonly rows: Float32Array;
  /** After score(): numGroup float32 margins per row. */
  readonly margins: Float32Array;
  /** After link(): numOutputs float32 predictions per row. */
  readonly preds: Float32Array;
  /** rows[0 .. count) → margins. */
  score(count: number): void;
  /** margins → preds (sigmoid, softmax, argmax, exp ...). */
  link(count: number): void;
}

export interface TreeEnsembleOptions {
  engine?: Engine;
  /** Rows per call; default 4096. */
  capacity?: number;
  /** Partition runtime for the WASM engine; a private one is made when absent. */
  runtime?: OperatorRuntime;
}

export function createTreeEnsemble(model: TreeModel, opts: TreeEnsembleOptions = {}): TreeEnsembleEngine {
  const capacity = opts.capacity ?? 4096;
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`tree ensemble capacity must be a positive integer, got ${capacity}`);
  return (opts.engine ?? 'wasm') === 'wasm'
    ? new WasmTreeEnsemble(model, capacity, opts.runtime ?? privateRuntime(model, capacity))
    : new JsTreeEnsemble(model, capacity);
}

/** Rows per block of assembly/operators/tree_ensemble.ts: one column of its scratch (COLUMN_BYTES) holds a block's f32s. */
const SCRATCH_ROWS = COLUMN_BYTES / 4;
/** Trees per chunk there: the scratch keeps a byte per row and tree of a chunk. */
const SCRATCH_TREES = 16;

/** Nodes in a tree's top levels, which the kernel evaluates for 16 rows at a time. */
const SCRATCH_TOP_NODES = 15;

function scratchBytes(model: TreeModel): number {
  // 2F columns (x and -x), then a byte per row for each tree of a chunk and each top node.
  return 2 * model.numFeature * COLUMN_BYTES + SCRATCH_ROWS * (SCRATCH_TREES + SCRATCH_TOP_NODES);
}

function regionBytes(model: TreeModel, capacity: number, outputs = 0): number {
  return model.bytes.length + 4 * model.numFeature + 4 * capacity * (model.numFeature + model.numGroup + model.numOutputs)
    + scratchBytes(model) + OUT_BYTES * outputs + 1024;
}

function privateRuntime(model: TreeModel, capacity: number): OperatorRuntime {
  return createPartitionRuntime(regionBytes(model, capacity) + (2 << 20));
}

/** Scores every row of `data` (row-major float32) through `engine`, in chunks. */
export function scoreAll(engine: TreeEnsembleEngine, data: Float32Array, count: number, margin: boolean): Float32Array {
  const { numFeature: nf, numGroup: ng, numOutputs: no } = engine.model;
  const width = margin ? ng : no;
  const out = new Float32Array(count * width);
  for (let at = 0; at < count; at += engine.capacity) {
    const n = Math.min(engine.capacity, count - at);
    engine.rows.set(data.subarray(at * nf, (at + n) * nf));
    engine.score(n);
    if (margin) out.set(engine.margins.subarray(0, n * ng), at * ng);
    else { engine.link(n); out.set(engine.preds.subarray(0, n * no), at * no); }
  }
  return out;
}

// ───────────────────────────── WASM engine ─────────────────────────────

class WasmTreeEnsemble implements TreeEnsembleEngine {
  readonly engine = 'wasm' as const;
  readonly rows: Float32Array;
  readonly margins: Float32Array;
  readonly preds: Float32Array;
  readonly modelPtr: number;
  readonly featureMapPtr: number;
  readonly rowsPtr: number;
  readonly marginsPtr: number;
  readonly predsPtr: number;
  readonly scratchPtr: number;
  private readonly x: GanglionExports;

  constructor(readonly model: TreeModel, readonly capacity: number, readonly runtime: OperatorRuntime) {
    const { alloc, memory } = runtime;
    this.x = runtime.exports;
    if (typeof this.x.tree_score !== 'function') throw new Error('build/ganglion.wasm has no tree_score export: rebuild with `npm run build:wasm`');
    this.modelPtr = alloc.alloc(model.bytes.length, 64);
    new Uint8Array(memory.buffer, this.modelPtr, model.bytes.length).set(model.bytes);
    this.featureMapPtr = alloc.alloc(4 * model.numFeature, 64);
    this.rowsPtr = alloc.alloc(4 * capacity * model.numFeature, 64);
    this.marginsPtr = alloc.alloc(4 * capacity * model.numGroup, 64);
    this.predsPtr = alloc.alloc(4 * capacity * model.numOutputs, 64);
    this.scratchPtr = alloc.alloc(scratchBytes(model), 64);
    this.rows = new Float32Array(memory.buffer, this.rowsPtr, capacity * model.numFeature);
    this.margins = new Float32Array(memory.buffer, this.marginsPtr, capacity * model.numGroup);
    this.preds = new Float32Array(memory.buffer, this.predsPtr, capacity * model.numOutputs);
  }

  score(count: number): void {
    checkCount(count, this.capacity);
    this.x.tree_score(this.modelPtr, this.rowsPtr, count, this.marginsPtr, this.scratchPtr);
  }

  link(count: number): void {
    checkCount(count, this.capacity);
    this.x.tree_link(this.modelPtr, this.marginsPtr, count, this.predsPtr);
  }
}

function checkCount(count: number, capacity: number): void {
  if (!(count >= 0 && count <= capacity) || !Number.isInteger(count)) throw new Error(`row count ${count} outside 0..${capacity}`);
}

// ───────────────────────────── JS twin ─────────────────────────────

class JsTreeEnsemble implements TreeEnsembleEngine {
  readonly engine = 'js' as const;
  readonly rows: Float32Array;
  readonly margins: Float32Array;
  readonly preds: Float32Array;
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;

  constructor(readonly model: TreeModel, readonly capacity: number) {
    this.rows = new Float32Array(capacity * model.numFeature);
    this.margins = new Float32Array(capacity * model.numGroup);
    this.preds = new Float32Array(capacity * model.numOutputs);
    const b = model.bytes;
    this.u32 = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
    this.f32 = new Float32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  }

  score(count: number): void {
    checkCount(count, this.capacity);
    const { u32, f32, rows, margins } = this;
    const nf = u32[1], ng = u32[2], nt = u32[3], trees = u32[4] >> 2, nodes = u32[5] >> 2, base = f32[6];
    margins.fill(base, 0, count * ng);
    // Row by row, trees in order: the float32 sum sees the same sequence of
    // additions as the WASM engine's tree-outer loop, hence the same result.
    for (let r = 0; r < count; r++) {
      const row = r * nf;
      for (let t = 0; t < nt; t++) {
        const tw = trees + 4 * t;
        let n = u32[tw];
        for (;;) {
          const at = nodes + 4 * n;
          const left = u32[at + 2];
          if (left === n) break; // a leaf points at itself
          const fw = u32[at];
          const x = rows[row + (fw & 0x7fffffff)];
          const goLeft = x < f32[at + 1] || (x !== x && (fw & DEFAULT_LEFT) !== 0);
          n = goLeft ? left : u32[at + 3];
        }
        const m = r * ng + u32[tw + 2];
        margins[m] = Math.fround(margins[m] + Math.fround(f32[nodes + 4 * n + 1] * f32[tw + 3]));
      }
    }
  }

  link(count: number): void {
    checkCount(count, this.capacity);
    const { numGroup: ng, numOutputs: no, link } = this.model;
    for (let r = 0; r < count; r++) applyLink(link, this.margins, r * ng, ng, this.preds, r * no);
  }
}

// ───────────────────────────── pipeline operator ─────────────────────────────

export interface TreeEnsembleOperatorConfig {
  /** Operator index within the pipeline. */
  op: number;
  model: TreeModel;
  /** For each model feature, the input record field (f64, NaN = missing) that feeds it. */
  features: number[];
  /** Fields per input record, to reject a feature map pointing past the record. */
  fieldCount?: number;
  /** Pending output records held until clearOutput(); default 8192. */
  outputCapacity?: number;
  /** Rows scored per internal batch; default 1024. */
  batch?: number;
  /** probability (default): the objective's predictions; margin: the raw margins, one per group. */
  output?: 'probability' | 'margin';
  /** all (default): one output per event; alerts: only events whose score reaches `threshold`. */
  emit?: 'all' | 'alerts';
  /** The score is the only value, or the largest of several (multi-class). Default 0.5. */
  threshold?: number;
}

const SNAPSHOT_MAGIC = 0x53424754; // 'TGBS'
const SNAPSHOT_BYTES = 16;

/**
 * Scores every data record and emits one OUT_SCORE record for it (or, with
 * emit 'alerts', for those whose score reaches the threshold): values =
 * predictions (probabilities, class index for multi:softmax, ...) or margins,
 * aux = how many, start = end = the event ts, seq and key copied. Stateless apart from
 * the pending outputs, so a snapshot only pins the model it was taken with.
 */
export class TreeEnsembleOperator implements Operator {
  readonly op: number;
  private readonly scorer: TreeEnsembleEngine;
  private readonly outPtr: number;
  private readonly outCapacity: number;
  private readonly minStride: number;
  private readonly features: Uint32Array;
  private pending = 0;
  private readonly regionBytes: number;
  private readonly margin: boolean;
  private readonly width: number;
  private readonly alertsOnly: boolean;
  private readonly threshold: number;

  constructor(readonly config: TreeEnsembleOperatorConfig, readonly engine: Engine, readonly runtime: OperatorRuntime) {
    const { model, features, op } = config;
    this.op = op;
    if (!Array.isArray(features) || features.length !== model.numFeature) {
      throw new Error(`tree ensemble op ${op}: the model has ${model.numFeature} features (${model.featureNames.join(', ')}) but ${features?.length ?? 0} feature fields are configured`);
    }
    features.forEach((f, i) => {
      if (!Number.isInteger(f) || f < 0 || (config.fieldCount !== undefined && f >= config.fieldCount)) {
        throw new Error(`tree ensemble op ${op}: feature ${model.featureNames[i]} maps to field ${f}, which is not a field of the input record${config.fieldCount !== undefined ? ` (0..${config.fieldCount - 1})` : ''}`);
      }
    });
    this.features = Uint32Array.from(features);
    this.margin = (config.output ?? 'probability') === 'margin';
    if (!this.margin && config.output !== undefined && config.output !== 'probability') throw new Error(`tree ensemble op ${op}: output must be probability or margin, got ${String(config.output)}`);
    this.width = this.margin ? model.numGroup : model.numOutputs;
    if (this.width > OUT_VALUE_COUNT) throw new Error(`${model.source}: ${this.width} values per row do not fit an output record (at most ${OUT_VALUE_COUNT})`);
    const emit = config.emit ?? 'all';
    if (emit !== 'all' && emit !== 'alerts') throw new Error(`tree ensemble op ${op}: emit must be all or alerts, got ${String(emit)}`);
    this.alertsOnly = emit === 'alerts';
    this.threshold = config.threshold ?? 0.5;
    if (!Number.isFinite(this.threshold)) throw new Error(`tree ensemble op ${op}: threshold must be a finite number`);
    this.minStride = inputStride(Math.max(...features) + 1);
    const batch = config.batch ?? 1024;
    this.outCapacity = config.outputCapacity ?? 8192;
    this.scorer = createTreeEnsemble(model, { engine, capacity: batch, runtime });
    if (this.scorer instanceof WasmTreeEnsemble) {
      new Uint32Array(runtime.memory.buffer, this.scorer.featureMapPtr, model.numFeature).set(this.features);
    }
    this.outPtr = runtime.alloc.alloc(OUT_BYTES * this.outCapacity, 64);
    this.regionBytes = regionBytes(model, batch, this.outCapacity);
  }

  process(ptr: number, count: number, stride: number): void {
    if (stride < this.minStride) throw new Error(`tree ensemble op ${this.op}: record stride ${stride} is too small for feature field ${Math.max(...this.features)}`);
    const batch = this.scorer.capacity;
    for (let at = 0; at < count; at += batch) {
      const n = Math.min(batch, count - at);
      if (this.pending + n > this.outCapacity) {
        throw new Error(`tree ensemble op ${this.op}: ${this.pending} pending outputs plus ${n} new ones exceed the output capacity ${this.outCapacity}; drain output() between batches`);
      }
      const recs = ptr + at * stride;
      const s = this.scorer;
      if (s instanceof WasmTreeEnsemble) {
        const x = this.runtime.exports;
        x.tree_gather(s.modelPtr, s.featureMapPtr, recs, n, stride, s.rowsPtr);
        s.score(n);
        if (!this.margin) s.link(n);
        this.pending += x.tree_emit(this.margin ? s.marginsPtr : s.predsPtr, this.width, recs, n, stride,
          this.outPtr + OUT_BYTES * this.pending, this.op, this.alertsOnly ? 1 : 0, this.threshold);
      } else {
        this.gatherJs(recs, n, stride);
        s.score(n);
        if (!this.margin) s.link(n);
        this.emitJs(recs, n, stride);
      }
    }
  }

  private gatherJs(recs: number, n: number, stride: number): void {
    const view = new DataView(this.runtime.memory.buffer);
    const nf = this.features.length, rows = this.scorer.rows;
    for (let r = 0; r < n; r++) {
      const rec = recs + r * stride + IN_FIELDS;
      for (let i = 0; i < nf; i++) rows[r * nf + i] = view.getFloat64(rec + 8 * this.features[i], true);
    }
  }

  private emitJs(recs: number, n: number, stride: number): void {
    const view = new DataView(this.runtime.memory.buffer);
    const no = this.width, preds = this.margin ? this.scorer.margins : this.scorer.preds;
    for (let r = 0; r < n; r++) {
      const rec = recs + r * stride;
      if (view.getUint32(rec + IN_FLAGS, true) & FLAG_CONTROL) continue;
      if (this.alertsOnly) {
        let score = preds[r * no];
        for (let k = 1; k < no; k++) score = Math.max(score, preds[r * no + k]);
        if (!(score >= this.threshold)) continue;
      }
      const at = this.outPtr + OUT_BYTES * this.pending++;
      const ts = view.getBigInt64(rec + IN_TS, true);
      view.setUint32(at, OUT_SCORE, true);
      view.setUint32(at + 4, this.op, true);
      view.setUint32(at + 8, view.getUint32(rec + IN_KEY, true), true);
      view.setUint32(at + 12, no, true);
      view.setBigInt64(at + 16, ts, true);
      view.setBigInt64(at + 24, ts, true);
      view.setBigUint64(at + 32, view.getBigUint64(rec + IN_SEQ, true), true);
      for (let k = 0; k < OUT_VALUE_COUNT; k++) view.setFloat64(at + OUT_VALUES + 8 * k, k < no ? preds[r * no + k] : 0, true);
    }
  }

  onWatermark(_watermarkNs: bigint): void {
    // Scores are emitted per event; event time never holds anything back.
  }

  output(): { ptr: number; count: number } {
    return { ptr: this.outPtr, count: this.pending };
  }

  clearOutput(): void {
    this.pending = 0;
  }

  snapshot(): Uint8Array {
    return this.pin().slice();
  }

  snapshotSize(): number {
    return SNAPSHOT_BYTES;
  }

  /** The 16-byte model pin into a caller's buffer; the FNV over the model runs once, not per barrier. */
  snapshotInto(dst: Uint8Array): number {
    if (dst.byteLength < SNAPSHOT_BYTES) throw new RangeError(`tree ensemble op ${this.op}: snapshotInto needs ${SNAPSHOT_BYTES} bytes, the buffer has ${dst.byteLength}`);
    dst.set(this.pin(), 0);
    return SNAPSHOT_BYTES;
  }

  private pinned?: Uint8Array;
  private pin(): Uint8Array {
    if (this.pinned) return this.pinned;
    const b = new Uint8Array(SNAPSHOT_BYTES);
    const v = new DataView(b.buffer);
    v.setUint32(0, SNAPSHOT_MAGIC, true);
    v.setUint32(4, this.scorer.model.numTrees, true);
    v.setUint32(8, this.scorer.model.numNodes, true);
    v.setUint32(12, fingerprint(this.scorer.model.bytes), true);
    return (this.pinned = b);
  }

  restore(bytes: Uint8Array): void {
    const mine = this.snapshot();
    if (bytes.length !== mine.length || new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) !== SNAPSHOT_MAGIC) {
      throw new Error(`tree ensemble op ${this.op}: not a tree-ensemble snapshot`);
    }
    if (!mine.every((b, i) => b === bytes[i])) {
      throw new Error(`tree ensemble op ${this.op}: the snapshot was taken with a different model than ${this.scorer.model.source}`);
    }
    this.pending = 0;
  }

  stats(): { keys: number; bytes: number; evictions: number; late: number } {
    return { keys: 0, bytes: this.regionBytes, evictions: 0, late: 0 };
  }

  close(): void {
    this.pending = 0;
  }
}

/** FNV-1a over the flat model: pins a snapshot to the model that made it. */
function fingerprint(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/**
 * Registry factory (`kind: 'tree_ensemble'`). Config, plain data:
 *   model     path of an XGBoost JSON model (loaded in the partition's worker)
 *   features  for each model feature, the input field index that feeds it
 *   output, emit, threshold, outputCapacity, batch  optional, see TreeEnsembleOperatorConfig
 */
export function createTreeEnsembleOperator(config: OperatorConfig, ctx: OperatorContext): Operator {
  const { model, features, outputCapacity, batch, output, emit, threshold } = config;
  if (typeof model !== 'string') throw new Error(`tree_ensemble op ${ctx.op}: "model" must be the path of an XGBoost JSON model`);
  if (!Array.isArray(features)) throw new Error(`tree_ensemble op ${ctx.op}: "features" must list the input field index of each model feature`);
  return new TreeEnsembleOperator({
    op: ctx.op,
    model: loadXgboostModel(model),
    features: features as number[],
    fieldCount: ctx.fieldCount,
    outputCapacity: typeof outputCapacity === 'number' ? outputCapacity : Math.max(8192, ctx.maxBatch),
    batch: typeof batch === 'number' ? batch : Math.min(1024, Math.max(1, ctx.maxBatch)),
    output: output as TreeEnsembleOperatorConfig['output'],
    emit: emit as TreeEnsembleOperatorConfig['emit'],
    threshold: threshold as number | undefined,
  }, config.engine === 'js' || config.engine === 'wasm' ? config.engine : ctx.engine, ctx);
}
