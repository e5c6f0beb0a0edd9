// `type: dedup`: drops an event whose (key, id) was already seen within a TTL
// of event time (resent trades, payment retries, at-least-once upstreams).
// A filter: it emits no output records; the operators after it see only the
// first occurrences, and every drop is counted (the `ganglion_dropped_events_total`
// metric of the operator). Registry kind `dedup`. Docs: docs/operators/dedup.md.
import { z } from 'zod';
import { formatDuration } from '../../config/units.js';
import { duration, name, positiveInt } from '../../config/primitives.js';
import { defineOperator, toNs, type OperatorConfig, type OperatorContext } from '../descriptor.js';
import { createDedup } from './dedup.js';

const entry = z
  .strictObject({
    type: z.literal('dedup'),
    name,
    /** The id field (a string id such as trade_id, or a number): an event repeats one with the same key and id. */
    id: name,
    /** How long (event time, by the watermark) a first occurrence keeps its repeats out. */
    ttl: duration,
    /** Most (key, id) identities remembered per partition; size it for ttl × events per second. Default 262,144. */
    capacity: positiveInt.max(1 << 28).optional(),
  })
  .refine((o) => o.ttl > 0n, { path: ['ttl'], message: 'expected a ttl greater than 0 (how long a first occurrence keeps its repeats out, e.g. "10m")' });

export type DedupYaml = z.output<typeof entry>;

function createDedupOperator(config: OperatorConfig, ctx: OperatorContext) {
  return createDedup(ctx.engine, ctx, {
    op: ctx.op, fieldCount: ctx.fieldCount, field: config.field as number, ttlNs: toNs('ttlNs', config.ttlNs)!,
    ...(config.capacity === undefined ? {} : { capacity: config.capacity as number }),
  });
}

export const dedupDescriptor = defineOperator<DedupYaml>({
  type: 'dedup',
  schema: entry,
  docs: 'docs/operators/dedup.md',
  outputs: [],
  kinds: { dedup: createDedupOperator },
  reads: (o) => [{ path: ['id'], ref: o.id, accepts: 'field' }],
  plan: (o, ctx) => ({ kind: 'dedup', name: o.name, field: ctx.field(o.id), ttlNs: o.ttl, ...(o.capacity === undefined ? {} : { capacity: o.capacity }) }),
  meta: (o) => ({ name: o.name, type: 'dedup' }),
  format: () => { throw new Error('dedup emits no output records'); },
  summary: (o) => `drop an event whose (key, ${o.id}) was seen in the last ${formatDuration(o.ttl)} of event time`,
  state: (o, per) => `${per} and ${o.id}: the first occurrence's time, kept ${formatDuration(o.ttl)} past it, at most ${o.capacity ?? 262144} per partition`,
});
