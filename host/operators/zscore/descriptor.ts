// `type: zscore`: per-key z-score anomaly check (registry kind `zscore`).
// Docs: docs/operators/zscore.md.
import { z } from 'zod';
import { fieldRef, name, positiveInt } from '../../config/primitives.js';
import { eventHead, num } from '../../output/json.js';
import { OUT_ANOMALY } from '../../records.js';
import { defineOperator, toNs, type OperatorConfig, type OperatorContext } from '../descriptor.js';
import { createZScore, zscoreMinSamples, ZSCORE_MAX_WINDOW, type ZScoreOptions } from './zscore.js';

const entry = z
  .strictObject({
    type: z.literal('zscore'),
    name,
    field: fieldRef,
    /** ewma: exponentially weighted mean/variance; window: the last `window` samples. */
    mode: z.enum(['ewma', 'window']).default('ewma'),
    alpha: z.number().gt(0, 'expected alpha in (0, 1]').max(1, 'expected alpha in (0, 1]').default(0.05),
    window: z.number().int().min(2, 'expected a window of at least 2 samples').max(ZSCORE_MAX_WINDOW, `expected a window of at most ${ZSCORE_MAX_WINDOW} samples`).default(100),
    threshold: z.number().gt(0).default(3),
    /** Default zscoreMinSamples(mode, window): 30, at most the window. */
    min_samples: z.number().int().min(1).optional(),
    direction: z.enum(['both', 'above', 'below']).default('both'),
    /** Moves of at most this much from the mean never alert, whatever z is (flat series). */
    epsilon: z.number().min(0).default(0),
    /** Emit every scored event (dashboards), not only anomalies. */
    emit_all: z.boolean().default(false),
    /** Most keys tracked per partition. */
    capacity: positiveInt.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.mode === 'window' && o.min_samples !== undefined && o.min_samples > o.window) {
      ctx.addIssue({ code: 'custom', path: ['min_samples'], message: `expected min_samples at most the window (${o.window}): the window holds no more samples` });
    }
  })
  .overwrite((o) => ({ ...o, min_samples: o.min_samples ?? zscoreMinSamples(o.mode, o.window) }));

export type ZscoreYaml = Omit<z.output<typeof entry>, 'min_samples'> & { min_samples: number };

/** The registry factory: the plan's config, plus what the partition decides (op, record width, output room). */
function createZScoreOperator(config: OperatorConfig, ctx: OperatorContext) {
  const o = config as unknown as ZScoreOptions;
  return createZScore(ctx.engine, ctx, {
    ...o, op: ctx.op, fieldCount: ctx.fieldCount,
    ttlNs: toNs('ttlNs', config.ttlNs),
    outputCapacity: o.outputCapacity ?? Math.max(4096, ctx.maxBatch),
  } as ZScoreOptions);
}

export const zscoreDescriptor = defineOperator<ZscoreYaml>({
  type: 'zscore',
  schema: entry as unknown as z.ZodType<ZscoreYaml>,
  docs: 'docs/operators/zscore.md',
  outputs: [{ kind: 'anomaly', code: OUT_ANOMALY, alert: 'always' }],
  kinds: { zscore: createZScoreOperator },
  reads: (o) => [{ path: ['field'], ref: o.field, accepts: 'number_or_enrichment' }],
  plan: (o, ctx) => ({
    kind: 'zscore', name: o.name, field: ctx.field(o.field), mode: o.mode,
    ...(o.mode === 'ewma' ? { alpha: o.alpha } : { window: o.window }),
    threshold: o.threshold, minSamples: o.min_samples, direction: o.direction,
    epsilon: o.epsilon, emitAll: o.emit_all, ...(o.capacity === undefined ? {} : { capacity: o.capacity }),
  }),
  meta: (o) => ({ name: o.name, type: 'zscore', threshold: o.threshold }),
  format: (r, kind, meta, env) => ({
    ...eventHead(meta.name, kind, env.key, r),
    value: num(r.values[0]), mean: num(r.values[1]), stddev: num(r.values[2]), z: num(r.values[3]), count: num(r.values[4]),
    threshold: meta.threshold ?? 0,
    seq: r.seq.toString(),
  }),
  summary: (o) => `z-score of ${o.field} (${o.mode === 'ewma' ? `ewma α=${o.alpha}` : `last ${o.window}`}), |z| ≥ ${o.threshold} after ${o.min_samples} samples, ${o.direction}`,
  state: (o, per) => `${per}: ${o.mode === 'ewma' ? 'running mean and variance' : `the last ${o.window} samples`}${o.capacity ? `, at most ${o.capacity} keys per partition` : ''}`,
});
