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
import { dirname, isAbsolute, resolve } from 'node:path';
import type { PipelineConfig, WindowOperatorConfig } from '../config/types.js';
import { eventFields, parseRef, type EventFields } from '../config/types.js';
import type { OperatorMeta } from '../output/format.js';
import type { OperatorConfig as RegistryConfig } from '../operators/registry.js';
import { AGG, inputStride, type AggregateName } from '../records.js';
import { keyTypeProblem, operatorInputs, streamFields, streamsOf, type StreamConfig } from '../config/streams.js';

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
  /** Operator name → emit only alerts (models with emit: alerts). */
  alertsOnly: Set<string>;
}

export class PlanError extends Error {}

export function planPipeline(config: PipelineConfig, baseDir = process.cwd()): PipelinePlan {
  const fields = eventFields(config);
  const streamConfigs = streamsOf(config);
  const streams = streamConfigs.map((st, index) => {
    const f = index === 0 ? fields : streamFields(config, index);
    return { name: st.name, index, fields: f, recordFields: [...f.all], eventTime: st.event_time };
  });
  const recordFields = streams[0].recordFields;
  const windows = new Map<string, WindowOperatorConfig>();
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
    const w = windows.get(r.op);
    if (!w || windowStream.get(r.op) !== stream) throw new PlanError(`operator ${who}: '${ref}' must name a window operator listed before it that reads the same stream (${streams[stream].name})`);
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

  // First pass: resolve references (this fixes the record layout).
  const resolved = config.operators.map((o, i) => {
    const input = inputsOf[i][0];
    switch (o.type) {
      case 'window': {
        windows.set(o.name, o);
        windowStream.set(o.name, input);
        const value = o.field === undefined ? 0 : fieldOf(o.field, o.name, input);
        const weight = o.weight === undefined ? undefined : fieldOf(o.weight, o.name, input);
        return { o, value, weight };
      }
      case 'zscore':
      case 'limit':
        return { o, value: fieldOf(o.field, o.name, input) };
      case 'model':
        return { o, features: o.features.map((f) => fieldOf(f, o.name, input)) };
    }
  });

  const operators: RegistryConfig[] = resolved.map((r, i) => physicalOperator(r, streams[inputsOf[i][0]].eventTime));
  function physicalOperator(r: (typeof resolved)[number], et: StreamConfig['event_time']): RegistryConfig {
    const o = r.o;
    switch (o.type) {
      case 'window': {
        const common = {
          name: o.name,
          valueField: (r as { value: number }).value,
          ...(o.aggregates.includes('vwap') && (r as { weight?: number }).weight !== undefined
            ? { priceField: (r as { value: number }).value, qtyField: (r as { weight: number }).weight }
            : {}),
          capacity: o.capacity,
          allowedLatenessNs: et.allowed_lateness,
          // Per-event watermark (max event time so far − out_of_orderness) in
          // each window, so lateness is decided per event in input order and
          // never by how the input was cut into frames or chunks; the ingest
          // side tops up partitions that lag the global maximum
          // (PartitionSet catch-up), so N partitions equal one.
          eventTime: 'local',
          outOfOrderNs: et.out_of_orderness,
          enrich: enrich.get(o.name) ?? [],
          aggregates: o.aggregates,
        };
        switch (o.window) {
          case 'tumbling': return { kind: 'tumbling', ...common, sizeNs: o.size! };
          case 'sliding': return { kind: 'sliding', ...common, sizeNs: o.size!, slideNs: o.slide! };
          case 'session': return { kind: 'session', ...common, gapNs: o.gap! };
          case 'count': return { kind: 'count', ...common, count: o.count!, countSlide: o.count_slide ?? o.count! };
        }
        throw new PlanError('unknown window type');
      }
      case 'zscore':
        return {
          kind: 'zscore', name: o.name, field: (r as { value: number }).value, mode: o.mode,
          ...(o.mode === 'ewma' ? { alpha: o.alpha } : { window: o.window }),
          threshold: o.threshold, minSamples: o.min_samples, direction: o.direction,
          epsilon: o.epsilon, emitAll: o.emit_all, ...(o.capacity === undefined ? {} : { capacity: o.capacity }),
        };
      case 'limit':
        return {
          kind: 'limit', name: o.name, field: (r as { value: number }).value, emit: o.emit, hysteresis: o.hysteresis,
          ...(o.above === undefined ? {} : { above: o.above }), ...(o.below === undefined ? {} : { below: o.below }),
        };
      case 'model': {
        const path = isAbsolute(o.model) ? o.model : resolve(baseDir, o.model);
        return { kind: 'tree_ensemble', name: o.name, model: path, features: (r as { features: number[] }).features, ...(o.output === 'margin' ? { margin: true } : {}), ...(o.engine ? { engine: o.engine } : {}) };
      }
    }
  }

  const meta: OperatorMeta[] = config.operators.map((o): OperatorMeta => {
    switch (o.type) {
      case 'window': return { name: o.name, type: 'window', aggregates: o.aggregates };
      case 'zscore': return { name: o.name, type: 'zscore', threshold: o.threshold };
      case 'limit': return { name: o.name, type: 'limit' };
      case 'model': return { name: o.name, type: 'model', threshold: o.threshold };
    }
  }).map((m, i): OperatorMeta => (inputsOf[i][0] === 0 ? m : { ...m, fields: streams[inputsOf[i][0]].fields.all }));

  const alertsOnly = new Set(config.operators.filter((o) => o.type === 'model' && o.emit === 'alerts').map((o) => o.name));
  const streamPlans: StreamPlan[] = streams.map((st) => ({ ...st, fieldCount: st.recordFields.length, stride: inputStride(st.recordFields.length) }));
  const fieldCount = Math.max(...streamPlans.map((st) => st.fieldCount));
  return { config, fields, recordFields, fieldCount, stride: inputStride(fieldCount), streams: streamPlans, operators, inputs: inputsOf, meta, alertsOnly };
}

export function baseDirOf(file: string | undefined): string {
  return file ? dirname(resolve(file)) : process.cwd();
}
