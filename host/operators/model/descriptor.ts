// `type: model`: scores each event with an XGBoost tree ensemble. The registry
// kind is `tree_ensemble` (the kernel's name: it scores any tree ensemble of
// that shape); this descriptor is the one place the two names meet.
// Docs: docs/operators/tree_ensemble.md.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { fieldRef, name } from '../../config/primitives.js';
import { eventHead, num } from '../../output/json.js';
import { OUT_SCORE } from '../../records.js';
import { atThreshold, defineOperator } from '../descriptor.js';
import { createTreeEnsembleOperator } from './tree_ensemble.js';

const entry = z.strictObject({
  type: z.literal('model'),
  name,
  /** XGBoost JSON model (save_model("m.json")); relative paths are relative to the pipeline file. */
  model: z.string().min(1),
  /** One per model feature, in the model's order. */
  features: z.array(fieldRef).min(1, 'expected at least one feature'),
  /** Scores at or above this are alerts. */
  threshold: z.number().default(0.5),
  /** alerts: emit only scores at or above the threshold; all: every scored event. */
  emit: z.enum(['alerts', 'all']).default('alerts'),
  output: z.enum(['probability', 'margin']).default('probability'),
  /** Scoring engine for this model; absent: the pipeline's (wasm, or js under `run --engine js`). */
  engine: z.enum(['wasm', 'js']).optional(),
});

export type ModelYaml = z.output<typeof entry>;

/** Reads an XGBoost JSON model's feature count; a string is the reason it could not. */
export function modelFeatureCount(file: string): number | string {
  if (!existsSync(file)) return `model file not found: ${file}`;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return `model file is not valid JSON (${(e as Error).message}): ${file}`;
  }
  const n = (doc as { learner?: { learner_model_param?: { num_feature?: string } } })?.learner?.learner_model_param?.num_feature;
  if (n === undefined || !/^\d+$/.test(String(n))) return `model file is not an XGBoost JSON model (no learner.learner_model_param.num_feature): ${file}`;
  return Number(n);
}

export const modelDescriptor = defineOperator<ModelYaml>({
  type: 'model',
  schema: entry,
  docs: 'docs/operators/tree_ensemble.md',
  outputs: [{ kind: 'score', code: OUT_SCORE, alert: 'threshold' }],
  kinds: { tree_ensemble: createTreeEnsembleOperator },
  reads: (o) => o.features.map((ref, j) => ({ path: ['features', j], ref, accepts: 'number_or_enrichment' as const })),
  check(o, ctx) {
    const count = modelFeatureCount(resolve(ctx.baseDir, o.model));
    if (typeof count === 'string') ctx.add(['model'], `expected an XGBoost JSON model: ${count}`, JSON.stringify(o.model));
    else if (count !== o.features.length) ctx.add(['features'], `expected ${count} features (the model takes ${count})`, `${o.features.length}`);
  },
  resolvePaths(o, baseDir) {
    if (!isAbsolute(o.model)) o.model = resolve(baseDir, o.model);
  },
  // emit and threshold stay on the output side (meta): the kernel emits every
  // score and the pipeline keeps the alerts of an `emit: alerts` model.
  plan: (o, ctx) => ({
    kind: 'tree_ensemble', name: o.name, model: isAbsolute(o.model) ? o.model : resolve(ctx.baseDir, o.model),
    features: o.features.map((f) => ctx.field(f)),
    ...(o.output === 'margin' ? { output: 'margin' } : {}), ...(o.engine ? { engine: o.engine } : {}),
  }),
  meta: (o) => ({ name: o.name, type: 'model', threshold: o.threshold, ...(o.emit === 'alerts' ? { alertsOnly: true } : {}) }),
  format(r, kind, meta, env) {
    const threshold = meta.threshold ?? 0.5;
    const score = num(r.values[0]);
    const classes = Math.min(r.aux, r.values.length);
    return {
      ...eventHead(meta.name, kind, env.key, r),
      score,
      ...(classes > 1 ? { scores: Array.from(r.values.subarray(0, classes), num) } : {}),
      threshold,
      alert: atThreshold(score, threshold),
      seq: r.seq.toString(),
    };
  },
  summary: (o) => `XGBoost ${relative(process.cwd(), o.model) || o.model} (${o.features.length} features), ${o.output} ≥ ${o.threshold} is an alert, emit ${o.emit}`,
  state: () => 'none (stateless)',
});
