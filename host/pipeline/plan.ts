// From a validated pipeline config to what the runtime builds: the record
// layout (schema fields, then one slot per window aggregate that a later
// operator reads), the serialisable operator configs the partition workers
// instantiate (host/operators/registry.ts), and the metadata the output
// formatter needs.
//
// Feature enrichment: a later operator may read `<window>.<aggregate>` of the
// same key (a z-score over 1 s volume, a model feature "amount_sum_1h", a
// limit on the 1-day notional). The window operator writes that aggregate of
// the key's current window, including the event itself, into a record slot
// reserved here, as it processes the event; operators run in pipeline order
// over the same batch in memory, so the next operator reads it as a field.
import { dirname, resolve } from 'node:path';
import type { PipelineConfig } from '../config/types.js';
import { eventFields, parseRef, type EventFields } from '../config/types.js';
import type { OperatorConfig as RegistryConfig, OperatorMeta } from '../operators/descriptor.js';
import { descriptorOf } from '../operators/index.js';
import { AGG, inputStride, type AggregateName } from '../records.js';

export interface PipelinePlan {
  config: PipelineConfig;
  fields: EventFields;
  /** Every f64 field of a record, in order: schema fields, then enrichment slots (`op.agg`). */
  recordFields: string[];
  fieldCount: number;
  stride: number;
  operators: RegistryConfig[];
  meta: OperatorMeta[];
}

export class PlanError extends Error {}

export function planPipeline(config: PipelineConfig, baseDir = process.cwd()): PipelinePlan {
  const fields = eventFields(config);
  const recordFields = [...fields.all];
  const windows = new Map<string, readonly string[]>();
  const enrich = new Map<string, Array<{ aggregate: number; field: number }>>();

  const fieldOf = (ref: string, who: string): number => {
    const r = parseRef(ref);
    if ('field' in r) {
      const i = recordFields.indexOf(r.field);
      if (i < 0) throw new PlanError(`operator ${who}: unknown field '${r.field}' (fields: ${fields.all.join(', ')})`);
      return i;
    }
    if (!windows.has(r.op)) throw new PlanError(`operator ${who}: '${ref}' must name a window operator listed before it`);
    if (!(r.aggregate in AGG)) throw new PlanError(`operator ${who}: '${r.aggregate}' is not an aggregate (one of ${Object.keys(AGG).join(', ')})`);
    let slot = recordFields.indexOf(ref);
    if (slot < 0) {
      slot = recordFields.push(ref) - 1;
      const list = enrich.get(r.op) ?? [];
      list.push({ aggregate: AGG[r.aggregate as AggregateName], field: slot });
      enrich.set(r.op, list);
    }
    return slot;
  };

  // First pass: resolve every reference, in pipeline order (this fixes the
  // record layout: an enrichment slot exists once a later operator reads it).
  const descriptors = config.operators.map((o) => descriptorOf(o.type));
  config.operators.forEach((o, i) => {
    const d = descriptors[i];
    const offered = d.enrichment?.(o);
    if (offered) windows.set(o.name, offered);
    for (const r of d.reads(o)) fieldOf(r.ref, o.name);
  });

  const et = config.event_time;
  const operators: RegistryConfig[] = config.operators.map((o, i) => descriptors[i].plan(o, {
    field: (ref) => fieldOf(ref, o.name),
    enrichment: () => enrich.get(o.name) ?? [],
    eventTime: et,
    baseDir,
  }));
  const meta: OperatorMeta[] = config.operators.map((o, i) => descriptors[i].meta(o));
  return { config, fields, recordFields, fieldCount: recordFields.length, stride: inputStride(recordFields.length), operators, meta };
}

export function baseDirOf(file: string | undefined): string {
  return file ? dirname(resolve(file)) : process.cwd();
}
