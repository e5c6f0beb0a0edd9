// `ganglion score --model m.json --input rows.csv [--margin] [--output out.csv]`
// Batch-scores a CSV with an XGBoost JSON model. Features come from the
// columns named as the model's feature_names (else f0..fN-1); other columns
// are ignored; an empty cell is a missing value. Prints the predictions (or
// margins) as CSV and, on stderr, one line timing the scoring alone.
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { parse } from 'csv-parse/sync';
import { loadXgboostModel, type TreeModel } from '../model/xgboost.js';
import { createTreeEnsemble, scoreAll } from '../operators/model/tree_ensemble.js';
import type { Engine } from '../operators/operator.js';

export interface ScoreOptions {
  model: string;
  input: string;
  margin?: boolean;
  output?: string;
  engine?: 'wasm' | 'js';
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MISSING = /^(?:nan|NaN|NAN|-nan|-NaN)$/;
const INFINITY = /^([+-]?)(?:inf|Inf|INF|infinity|Infinity)$/;

/** A CSV cell as XGBoost would see it: float32, NaN when missing. */
export function parseCell(cell: string): number | undefined {
  const s = cell.trim();
  if (s === '' || MISSING.test(s)) return NaN;
  if (NUMBER.test(s)) return Number(s);
  const inf = INFINITY.exec(s);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return undefined;
}

export interface FeatureTable {
  count: number;
  /** Row-major float32, numFeature per row. */
  data: Float32Array;
}

/** Reads the model's features out of CSV text; errors name the row and column. */
export function readFeatures(text: string, model: TreeModel, source: string): FeatureTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, bom: true, skip_empty_lines: true, relax_quotes: false }) as typeof records;
  } catch (e) {
    throw new Error(`${source}: not valid CSV (${(e as Error).message})`);
  }
  if (records.length === 0) throw new Error(`${source}: empty file, expected a header row`);
  const header = records[0].record.map((h) => h.trim());
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    if (index.has(h)) throw new Error(`${source}: column "${h}" appears twice in the header`);
    index.set(h, i);
  });
  const nf = model.numFeature;
  const cols = model.featureNames.map((name) => {
    const i = index.get(name);
    if (i === undefined) {
      const expected = model.hasFeatureNames ? `the model's feature_names: ${model.featureNames.join(', ')}` : `f0..f${nf - 1} (the model has no feature_names)`;
      throw new Error(`${source}: no column "${name}" in the header; feature columns must be ${expected}`);
    }
    return i;
  });
  const count = records.length - 1;
  const data = new Float32Array(count * nf);
  for (let r = 0; r < count; r++) {
    const { record, info } = records[r + 1];
    for (let j = 0; j < nf; j++) {
      const cell = record[cols[j]];
      const v = cell === undefined ? undefined : parseCell(cell);
      if (v === undefined) {
        throw new Error(`${source}: row ${r + 1} (line ${info.lines}), column "${model.featureNames[j]}": ${cell === undefined ? 'cell is absent' : `${JSON.stringify(cell)} is not a number`}`);
      }
      data[r * nf + j] = v;
    }
  }
  return { count, data };
}

export function formatScores(values: Float32Array, count: number, width: number, prefix: string): string {
  const lines: string[] = new Array(count + 1);
  lines[0] = Array.from({ length: width }, (_, k) => `${prefix}${k}`).join(',');
  const cells: string[] = new Array(width);
  for (let r = 0; r < count; r++) {
    for (let k = 0; k < width; k++) cells[k] = String(values[r * width + k]);
    lines[r + 1] = cells.join(',');
  }
  return lines.join('\n') + '\n';
}

export async function scoreCommand(opts: ScoreOptions): Promise<void> {
  const engine = (opts.engine ?? 'wasm') as Engine;
  if (engine !== 'wasm' && engine !== 'js') throw new Error(`--engine must be wasm or js, got "${String(opts.engine)}"`);
  const model = loadXgboostModel(opts.model);
  let text: string;
  try {
    text = readFileSync(opts.input, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${opts.input}: cannot read input (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
  }
  const { count, data } = readFeatures(text, model, opts.input);
  // A one-shot run would otherwise score with V8's baseline (Liftoff) code and
  // compile the optimised code in the middle of the timed call: compile it
  // optimised, up front. Only affects modules compiled after this point, which
  // is the first in this process (a module compiled earlier keeps its tiers).
  if (engine === 'wasm') setFlagsFromString('--no-liftoff --no-wasm-lazy-compilation');
  const scorer = createTreeEnsemble(model, { engine, capacity: Math.max(1, Math.min(count, 65536)) });

  const started = process.hrtime.bigint();
  const values = scoreAll(scorer, data, count, !!opts.margin);
  const ns = Number(process.hrtime.bigint() - started);

  const width = opts.margin ? model.numGroup : model.numOutputs;
  const csv = formatScores(values, count, width, opts.margin ? 'margin' : 'pred');
  if (opts.output) {
    try {
      writeFileSync(opts.output, csv);
    } catch (e) {
      throw new Error(`${opts.output}: cannot write output (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  } else {
    await new Promise<void>((resolve, reject) => process.stdout.write(csv, (err) => (err ? reject(err) : resolve())));
  }
  const perRow = count > 0 ? ns / count : 0;
  process.stderr.write(`scored ${count} rows in ${(ns / 1e6).toFixed(3)} ms (${perRow.toFixed(1)} ns/row)\n`);
}
