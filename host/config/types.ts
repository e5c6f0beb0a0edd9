// The types a runtime builds a pipeline from, plus the few derived facts every
// consumer of a config needs (record field order, key fields, partitions), so
// they are computed in one place.
import type { z } from 'zod';
import type { ValidationRule } from '../ingest/validation.js';
import type { EventType } from '../schema/event_types.js';
import { builtinType, extendType, isNumeric } from './builtin.js';
import type * as S from './schema.js';

/** A validated pipeline with defaults applied: durations in bigint ns, sizes in bytes. */
export type PipelineConfig = z.output<typeof S.pipeline>;
/** What a pipeline file may contain (durations as text, defaults optional). */
export type PipelineInput = z.input<typeof S.pipeline>;

export type SourceConfig = PipelineConfig['sources'][number];
export type OperatorConfig = PipelineConfig['operators'][number];
export type WindowOperatorConfig = Extract<OperatorConfig, { type: 'window' }>;
export type SinkConfig = PipelineConfig['sinks'][number];

/**
 * One event on the library path (`pipeline.push`) and from the synthetic feed:
 * a flat object keyed by the incoming field names. Event time is bigint ns
 * (exact), or whatever `event_time.unit` says for decoded JSON.
 */
export type InputEvent = Record<string, string | number | bigint | boolean | null | undefined>;

export interface EventFields {
  /** The event type the codecs decode with (built-in, extended or custom). */
  type: EventType;
  /** Every record field, in record order. */
  all: string[];
  /** Fields operators can aggregate (numbers, trade side), derived fields included. */
  numbers: string[];
  /** Id fields (interned strings: instruments, accounts, ...). */
  strings: string[];
  /** Key fields; the key string is their values joined by compositeKey ("|"). */
  key: string[];
  /** Event-time field. */
  time: string;
  /** Derived fields and the two fields each multiplies, for the runtime to fill after decoding. */
  derived: { field: number; multiply: [number, number] }[];
}

export function eventFields(config: PipelineConfig): EventFields {
  return streamEventFields(config.name, config);
}

/**
 * The record fields of one input stream (`stream` carries its schema, key and
 * event_time; a PipelineConfig is its own first stream). `typeName` names a
 * custom type: the pipeline's name for its first stream, the stream's otherwise.
 */
export function streamEventFields(typeName: string, stream: Pick<PipelineConfig, 'schema' | 'key' | 'event_time'>): EventFields {
  const s = stream.schema;
  const base = s.type === 'custom' ? undefined : builtinType(s.type);
  const type = extendType(base, s.type === 'custom' ? typeName : base!.name, {
    numbers: s.fields,
    strings: s.strings,
    mapping: s.mapping,
    derived: s.derived.map((d) => d.name),
  });
  const all = type.fields.map((f) => f.name);
  const numbers = type.fields.filter(isNumeric).map((f) => f.name);
  const strings = type.fields.filter((f) => f.kind === 'id').map((f) => f.name);
  const derived = s.derived.map((d) => ({ field: all.indexOf(d.name), multiply: [all.indexOf(d.multiply[0]), all.indexOf(d.multiply[1])] as [number, number] }));
  return { type, all, numbers, strings, key: stream.key ?? [...type.defaultKey], time: stream.event_time.field, derived };
}

/** The validation section as the rule list host/ingest/validation.ts compiles. */
export function validationRules(config: Pick<PipelineConfig, 'validation'>): ValidationRule[] {
  const v = config.validation;
  const rules: ValidationRule[] = [];
  if (v.required.length > 0) rules.push({ rule: 'required', fields: [...v.required] });
  for (const [field, r] of Object.entries(v.ranges)) rules.push({ rule: 'range', field, ...(r.min === undefined ? {} : { min: r.min }), ...(r.max === undefined ? {} : { max: r.max }) });
  for (const [field, values] of Object.entries(v.allowed)) rules.push({ rule: 'allowed', field, values: [...values] });
  for (const [field, max] of Object.entries(v.max_length)) rules.push({ rule: 'length', field, max });
  if (v.max_age !== undefined || v.max_future !== undefined) {
    rules.push({
      rule: 'timestamp_window',
      ...(v.max_age === undefined ? {} : { pastMs: Number(v.max_age) / 1e6 }),
      ...(v.max_future === undefined ? {} : { futureMs: Number(v.max_future) / 1e6 }),
    });
  }
  return rules;
}


/** `price` → { field: 'price' }; `vol_1m.sum` → { op: 'vol_1m', aggregate: 'sum' }. */
export type FieldRef = { field: string } | { op: string; aggregate: string };

export function parseRef(ref: string): FieldRef {
  const dot = ref.indexOf('.');
  return dot < 0 ? { field: ref } : { op: ref.slice(0, dot), aggregate: ref.slice(dot + 1) };
}

/** WebAssembly pages (64 KiB) for the configured memory per partition. */
export function memoryPages(config: PipelineConfig): number {
  return Math.ceil(config.memory / 65536);
}
