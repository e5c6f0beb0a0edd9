// `type: limit`: a per-key threshold alert with crossing semantics (registry
// kind `limit`). Docs: docs/operators/limit.md.
import { z } from 'zod';
import { fieldRef, name } from '../../config/primitives.js';
import { eventHead, num } from '../../output/json.js';
import { OUT_ANOMALY } from '../../records.js';
import { defineOperator, toNs, type OperatorConfig, type OperatorContext } from '../descriptor.js';
import { createLimitCheck, LIMIT_BELOW, type LimitCheckOptions } from './limit_check.js';

const entry = z
  .strictObject({
    type: z.literal('limit'),
    name,
    field: fieldRef,
    above: z.number().optional(),
    below: z.number().optional(),
    /** crossing: one alert when a key goes beyond the limit (re-armed when it comes back); every: each breaching event. */
    emit: z.enum(['crossing', 'every']).default('crossing'),
    /** Re-arm only this fraction back inside the limit (no alert storms at the edge). */
    hysteresis: z.number().min(0, 'expected hysteresis as a fraction in [0, 1)').lt(1, 'expected hysteresis as a fraction in [0, 1)').default(0),
  })
  .refine((l) => l.above !== undefined || l.below !== undefined, { message: 'expected above or below (the limit)' });

export type LimitYaml = z.output<typeof entry>;

/** The registry factory: the plan's config, plus what the partition decides (op, record width, output room). */
function createLimitCheckOperator(config: OperatorConfig, ctx: OperatorContext) {
  const o = config as unknown as LimitCheckOptions;
  return createLimitCheck(ctx.engine, ctx, {
    ...o, op: ctx.op, fieldCount: ctx.fieldCount,
    ttlNs: toNs('ttlNs', config.ttlNs),
    outputCapacity: o.outputCapacity ?? Math.max(4096, ctx.maxBatch),
  } as LimitCheckOptions);
}

export const limitDescriptor = defineOperator<LimitYaml>({
  type: 'limit',
  schema: entry,
  docs: 'docs/operators/limit.md',
  outputs: [{ kind: 'anomaly', code: OUT_ANOMALY, alert: 'always' }],
  kinds: { limit: createLimitCheckOperator },
  reads: (o) => [{ path: ['field'], ref: o.field, accepts: 'number_or_enrichment' }],
  plan: (o, ctx) => ({
    kind: 'limit', name: o.name, field: ctx.field(o.field), emit: o.emit, hysteresis: o.hysteresis,
    ...(o.above === undefined ? {} : { above: o.above }), ...(o.below === undefined ? {} : { below: o.below }),
  }),
  meta: (o) => ({ name: o.name, type: 'limit' }),
  format: (r, kind, meta, env) => ({
    ...eventHead(meta.name, kind, env.key, r),
    value: num(r.values[0]), limit: num(r.values[1]), direction: r.aux === LIMIT_BELOW ? 'below' : 'above',
    seq: r.seq.toString(),
  }),
  summary: (o) => `${o.field}${o.above !== undefined ? ` > ${o.above}` : ''}${o.above !== undefined && o.below !== undefined ? ' or' : ''}${o.below !== undefined ? ` < ${o.below}` : ''}, alert on ${o.emit}${o.hysteresis ? `, hysteresis ${o.hysteresis}` : ''}`,
  state: (_o, per) => `${per}: keys in breach only`,
});
