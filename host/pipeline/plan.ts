// From a validated pipeline config to what the runtime builds: the record
// layout (schema fields, then one slot per field a derive operator computes,
// then one slot per window aggregate that a later operator reads), the
// serialisable operator configs the partition workers
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
import { keyTypeProblem, operatorInputs, streamFields, streamsOf, type StreamConfig } from '../config/streams.js';
import { fieldsSeen } from '../config/derived.js';
import { scopeConfig } from '../operators/scope.js';

/**
 * One input stream as the runtime lays it out: its record fields (schema
 * fields, then the enrichment slots of the windows that read it) and its own
 * stride. The ring slot is the widest stream's (host/records.ts).
 */
export interface StreamPlan {
  name: string;
  index: number;
  fields: EventFields;
  recordFields: string[];
  fieldCount: number;
  stride: number;
  eventTime: StreamConfig['event_time'];
}

export interface PipelinePlan {
  config: PipelineConfig;
  /** The first stream's (the only one of most pipelines). */
  fields: EventFields;
  /** Every f64 field of a first-stream record, in order: schema fields, then enrichment slots (`op.agg`). */
  recordFields: string[];
  /** Fields of the widest stream's records: the ring slot holds this many (stride = 24 + 8·fieldCount). */
  fieldCount: number;
  stride: number;
  /** Every input stream, in declaration order (index = the stream bits of a record's flags). */
  streams: StreamPlan[];
  operators: RegistryConfig[];
  /** Per operator, the stream indexes it reads, in input order ([0] for most). */
  inputs: number[][];
  meta: OperatorMeta[];
}

export class PlanError extends Error {}

export function planPipeline(config: PipelineConfig, baseDir = process.cwd()): PipelinePlan {
  const fields = eventFields(config);
  // Derived fields (derive operators) right after the schema fields, so a field's slot is its index in what an operator sees.
  const seen = fieldsSeen(config);
  const streams = streamsOf(config).map((st, index) => {
    const f = index === 0 ? fields : streamFields(config, index);
    return { name: st.name, index, fields: f, recordFields: [...f.all, ...seen.derived[index].map((w) => w.name)], eventTime: st.event_time };
  });
  const recordFields = streams[0].recordFields;
  const windows = new Map<string, readonly string[]>();
  const windowStream = new Map<string, number>();
  const enrich = new Map<string, Array<{ aggregate: number; field: number }>>();
  const inputsOf = config.operators.map((o) => {
    const inputs = operatorInputs(config, o);
    const bad = inputs.findIndex((i) => i < 0);
    if (bad >= 0) throw new PlanError(`operator ${o.name}: unknown input stream '${(o as { input?: string; inputs?: string[] }).inputs?.[bad] ?? (o as { input?: string }).input}' (streams: ${streams.map((st) => st.name).join(', ')})`);
    if (inputs.length > 2) throw new PlanError(`operator ${o.name}: at most two inputs, got ${inputs.length}`);
    if (inputs.length === 2) {
      const problem = keyTypeProblem(streams[inputs[0]], streams[inputs[1]]);
      if (problem) throw new PlanError(`operator ${o.name} reads ${streams[inputs[0]].name} and ${streams[inputs[1]].name}: ${problem}`);
    }
    return inputs;
  });

  const fieldOf = (ref: string, who: string, stream = 0): number => {
    const { recordFields, fields } = streams[stream];
    const r = parseRef(ref);
    if ('field' in r) {
      const i = recordFields.indexOf(r.field);
      if (i < 0) throw new PlanError(`operator ${who}: unknown field '${r.field}' in stream ${streams[stream].name} (fields: ${fields.all.join(', ')})`);
      return i;
    }
    if (!windows.has(r.op) || windowStream.get(r.op) !== stream) throw new PlanError(`operator ${who}: '${ref}' must name a window operator listed before it that reads the same stream (${streams[stream].name})`);
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
    if (offered) { windows.set(o.name, offered); windowStream.set(o.name, inputsOf[i][0]); }
    for (const r of d.reads(o)) fieldOf(r.ref, o.name, inputsOf[i][0]);
  });

  const operators: RegistryConfig[] = config.operators.map((o, i) => {
    const planned = descriptors[i].plan(o, {
      field: (ref) => fieldOf(ref, o.name, inputsOf[i][0]),
      enrichment: () => enrich.get(o.name) ?? [],
      // Each operator lives in its (first) input stream's event time.
      eventTime: streams[inputsOf[i][0]].eventTime,
      baseDir,
      fields: seen.perOperator[i],
    });
    // An operator's own `where`: it sees only the events the condition holds for, the others are untouched.
    const where = (o as { where?: unknown }).where;
    return o.type !== 'filter' && typeof where === 'string' ? { ...planned, scope: scopeConfig(where, seen.perOperator[i]) } : planned;
  });
  const meta: OperatorMeta[] = config.operators.map((o, i): OperatorMeta => {
    const m = descriptors[i].meta(o);
    // A late event carries the fields of its own stream.
    return inputsOf[i][0] === 0 ? m : { ...m, fields: streams[inputsOf[i][0]].fields.all };
  });
  const streamPlans: StreamPlan[] = streams.map((st) => ({ ...st, fieldCount: st.recordFields.length, stride: inputStride(st.recordFields.length) }));
  const fieldCount = Math.max(...streamPlans.map((st) => st.fieldCount));
  return { config, fields, recordFields, fieldCount, stride: inputStride(fieldCount), streams: streamPlans, operators, inputs: inputsOf, meta };
}

export function baseDirOf(file: string | undefined): string {
  return file ? dirname(resolve(file)) : process.cwd();
}
