// `type: over`: SQL's OVER aggregation (Flink's bounded OVER window) per key:
// for every event, count/sum/min/max/mean of a field over the key's rows in
// [ts - range, ts] (`range: 1d`, peers included) or over its last n + 1 rows
// (`rows: 100`). One `over` output per event, emitted once the watermark has
// passed the event (so the frame is complete); late events go to the late
// output. Registry kind `over`. Docs: docs/operators/over.md.
import { z } from 'zod';
import { duration, name, positiveInt } from '../../config/primitives.js';
import { formatDuration } from '../../config/units.js';
import { eventHead, isoNs, num, outputId } from '../../output/json.js';
import { AGG, OUT_LATE, OUT_OVER } from '../../records.js';
import { defineOperator, toNs, type OperatorConfig, type OperatorContext } from '../descriptor.js';
import { LATE_REASONS } from '../window/descriptor.js';
import { createOver, OVER_AGGREGATES, type OverFrame } from './over.js';

const entry = z
  .strictObject({
    type: z.literal('over'),
    name,
    /** The aggregated field. */
    field: name,
    /** The order of the frame: the stream's event-time field, the only order an OVER frame has (optional; SQL writes it). */
    order_by: name.optional(),
    aggregates: z.array(z.enum(OVER_AGGREGATES)).min(1, 'expected at least one aggregate'),
    /** RANGE frame: the rows with ts in [ts - range, ts] (SQL `RANGE BETWEEN INTERVAL ... PRECEDING AND CURRENT ROW`). */
    range: duration.optional(),
    /** ROWS frame: the n rows before the event and the event (SQL `ROWS BETWEEN n PRECEDING AND CURRENT ROW`). */
    rows: z.number().int().min(0).max(1 << 24).optional(),
    /** Most keys per partition (default 16,384). */
    capacity: positiveInt.max(1 << 24).optional(),
    /** Most rows held per partition: frames plus rows waiting for the watermark (default 262,144; 32 bytes each, 48 with min or max). */
    row_capacity: positiveInt.max((1 << 30) - 1).optional(),
    /** Most rows waiting for the watermark at once (default 16,384; sizes the output area). */
    max_pending: positiveInt.max(1 << 24).optional(),
  })
  .superRefine((o, ctx) => {
    if ((o.range === undefined) === (o.rows === undefined)) {
      ctx.addIssue({ code: 'custom', path: o.range === undefined ? ['range'] : ['rows'], message: 'expected exactly one of range (a duration: RANGE frame) or rows (a count: ROWS frame)', params: { missing: o.range === undefined } });
    }
  });

export type OverYaml = z.output<typeof entry>;

function createOverOperator(config: OperatorConfig, ctx: OperatorContext) {
  const frame = config.frame as OverFrame;
  return createOver(ctx.engine, ctx, {
    op: ctx.op, fieldCount: ctx.fieldCount, field: config.field as number, frame,
    ...(frame === 'range' ? { rangeNs: toNs('rangeNs', config.rangeNs)! } : { rows: config.rows as number }),
    aggregates: config.aggregates as string[],
    outOfOrderNs: toNs('outOfOrderNs', config.outOfOrderNs), allowedLatenessNs: toNs('allowedLatenessNs', config.allowedLatenessNs),
    maxBatch: ctx.maxBatch,
    ...(config.capacity === undefined ? {} : { capacity: config.capacity as number }),
    ...(config.rowCapacity === undefined ? {} : { rowCapacity: config.rowCapacity as number }),
    ...(config.maxPending === undefined ? {} : { maxPending: config.maxPending as number }),
  });
}

/** `RANGE 1d` / `ROWS 100` for summaries and explain. */
export function overFrameText(o: Pick<OverYaml, 'range' | 'rows'>): string {
  return o.range !== undefined ? `RANGE BETWEEN ${formatDuration(o.range)} PRECEDING AND CURRENT ROW` : `ROWS BETWEEN ${o.rows} PRECEDING AND CURRENT ROW`;
}

export const overDescriptor = defineOperator<OverYaml>({
  type: 'over',
  schema: entry,
  docs: 'docs/operators/over.md',
  outputs: [
    { kind: 'over', code: OUT_OVER, alert: 'never' },
    { kind: 'late', code: OUT_LATE, alert: 'never' },
  ],
  kinds: { over: createOverOperator },
  reads: (o) => [{ path: ['field'], ref: o.field, accepts: 'number' }],
  check(o, ctx) {
    if (o.order_by !== undefined && o.order_by !== ctx.fields.time) {
      ctx.add(['order_by'], `expected the event-time field ${ctx.fields.time}: an OVER frame is in event-time order`, o.order_by);
    }
  },
  plan: (o, ctx) => ({
    kind: 'over', name: o.name, field: ctx.field(o.field),
    ...(o.range !== undefined ? { frame: 'range', rangeNs: o.range } : { frame: 'rows', rows: o.rows }),
    aggregates: o.aggregates,
    outOfOrderNs: ctx.eventTime.out_of_orderness, allowedLatenessNs: ctx.eventTime.allowed_lateness,
    ...(o.capacity === undefined ? {} : { capacity: o.capacity }),
    ...(o.row_capacity === undefined ? {} : { rowCapacity: o.row_capacity }),
    ...(o.max_pending === undefined ? {} : { maxPending: o.max_pending }),
  }),
  meta: (o) => ({ name: o.name, type: 'over', aggregates: o.aggregates }),
  format(r, kind, meta, env) {
    if (kind === 'late') {
      const fields: Record<string, number | null> = {};
      env.fields.forEach((f, i) => { if (i < r.values.length) fields[f] = num(r.values[i]); });
      return { ...eventHead(meta.name, kind, env.key, r), reason: LATE_REASONS[r.aux] ?? `code_${r.aux}`, fields, seq: r.seq.toString() };
    }
    const values: Record<string, number | null> = {};
    for (const a of meta.aggregates ?? []) values[a] = num(r.values[AGG[a]]);
    return {
      id: outputId(meta.name, kind, env.key, r.end, r.seq),
      kind,
      op: meta.name,
      key: env.key,
      ts: isoNs(r.end),
      ts_ns: r.end.toString(),
      frame: { start: isoNs(r.start), start_ns: r.start.toString() },
      values,
      seq: r.seq.toString(),
    };
  },
  summary: (o) => `${o.aggregates.join(', ')} of ${o.field} OVER (PARTITION BY key ORDER BY ${o.order_by ?? 'event time'} ${overFrameText(o)}), one row per event once the watermark passes it`,
  state: (o, per, lateness) => `${per}: ${o.range !== undefined ? `the rows of the last ${formatDuration(o.range)}` : `the last ${o.rows! + 1} rows`}` +
    ` plus those waiting for the watermark (+ ${formatDuration(lateness)} allowed lateness), at most ${o.row_capacity ?? 1 << 18} rows and ${o.capacity ?? 1 << 14} keys per partition`,
});
