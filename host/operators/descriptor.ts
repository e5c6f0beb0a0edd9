// One home per operator. A descriptor says everything the rest of ganglion
// needs to know about an operator type, so that adding one means: its
// AssemblyScript kernel, its folder here (engine wrapper, JS twin,
// descriptor.ts), its tests, and one line in host/operators/index.ts.
//
// The list of descriptors drives the YAML schema (the operator union), the
// semantic checks, planning (record layout and the serialisable registry
// configs), the partition registry (kind → factory), output formatting, alert
// classification, the sink/dashboard/CLI filters and `ganglion explain`.
//
// Two names per operator, on purpose: the YAML `type` (what a user writes:
// `window`, `model`) and the registry kinds (what a partition instantiates:
// `tumbling`, `tree_ensemble`). A descriptor owns both and the mapping
// between them (`plan` returns the registry config, `kinds` the factories).
import type { z } from 'zod';
import type { Engine, Operator, OperatorRuntime } from './operator.js';
import type { AggregateName, OutputRecord } from '../records.js';
import type { EventFields } from '../config/types.js';

/** What every operator entry of a pipeline file has. */
export interface OperatorYaml {
  type: string;
  name: string;
}

/** A partition's serialisable config of one operator instance (it crosses postMessage). */
export interface OperatorConfig {
  /** Registry key, e.g. 'keysum', 'tumbling'. */
  kind: string;
  /** Everything else is the operator's own configuration. */
  [option: string]: unknown;
}

/** Where a partition creates an operator: its runtime plus its place in the pipeline. */
export interface OperatorContext extends OperatorRuntime {
  /** Operator index within the pipeline (written into every output record). */
  op: number;
  partition: number;
  engine: Engine;
  /** Input record layout: stride = 24 + 8·fieldCount (host/records.ts). */
  fieldCount: number;
  stride: number;
  /** Most records one process() call receives: size output areas for it. */
  maxBatch: number;
}

export type OperatorFactory = (config: OperatorConfig, ctx: OperatorContext) => Operator;

/** A field reference an operator entry makes, where it is in the entry, and what it may name. */
export interface FieldRead {
  /** Path inside the operator entry, e.g. ['field'] or ['features', 2]. */
  path: (string | number)[];
  ref: string;
  /**
   * number: a numeric field of the schema; number_or_enrichment: that or
   * `<earlier window>.<aggregate>` (the key's current window, written into the
   * record by the window); field: any schema field (numbers and string ids).
   */
  accepts: 'number' | 'number_or_enrichment' | 'field';
}

/** What the semantic checks give a descriptor's own `check`. */
export interface CheckContext {
  /** Index of the operator in `operators` (issue paths start ['operators', index]). */
  index: number;
  eventTime: { out_of_orderness: bigint; allowed_lateness: bigint };
  /** Directory relative paths in the file resolve against. */
  baseDir: string;
  /**
   * Keys the pipeline's synthetic sources feed, with a sentence saying so, if
   * they tell; partitions the keys spread over.
   */
  keys?: { count: number; from: string; partitions: number };
  /** The fields of the stream the operator reads (names, which are string ids, the event-time field). */
  fields: Pick<EventFields, 'all' | 'numbers' | 'strings' | 'time'>;
  add(path: (string | number)[], message: string, found?: string): void;
}

/** What planning gives a descriptor's `plan`. */
export interface PlanContext {
  /** Record field index of a reference this operator declared in `reads` (resolved before any plan runs). */
  field(ref: string): number;
  /** The enrichment slots later operators asked of this operator (a window writes them as it processes). */
  enrichment(): Array<{ aggregate: number; field: number }>;
  eventTime: { out_of_orderness: bigint; allowed_lateness: bigint };
  baseDir: string;
  /** The fields of the stream the operator reads (record order: slot = index in `all`). */
  fields: Pick<EventFields, 'all' | 'numbers' | 'strings' | 'time'>;
}

/** One output kind an operator emits. */
export interface OutputKindSpec {
  /** Output kind name (JSON `kind`, sink `kinds`, topic `{kind}`). */
  kind: string;
  /** OUT_* code of the 128-byte output record (host/records.ts). */
  code: number;
  /**
   * never: not an alert; always: every one is (anomaly); threshold: when its
   * first value is at or above the operator's threshold (score).
   */
  alert: 'never' | 'always' | 'threshold';
}

/** What the output side keeps of an operator to format and classify its outputs. */
export interface OperatorMeta {
  name: string;
  /** The operator's YAML type. */
  type: string;
  /** window: the aggregates to publish, in order. */
  aggregates?: readonly AggregateName[];
  /** window: its shape (`tumbling`, `cumulate`, ...). */
  window?: string;
  /** zscore threshold / model alert threshold. */
  threshold?: number;
  /** Only alerts of this operator leave the pipeline (a model with emit: alerts). */
  alertsOnly?: boolean;
  /** The record fields of the stream it reads, when not the first stream's (FormatContext.fields): what a late event carries. */
  fields?: readonly string[];
}

/** The key string and the record's numeric schema fields, for formatters. */
export interface FormatEnv {
  key: string;
  /** Numeric schema fields in record order (late events carry them). */
  fields: readonly string[];
}

export interface OperatorDescriptor<C extends OperatorYaml = OperatorYaml> {
  /** The YAML `type`. */
  readonly type: C['type'];
  /** The YAML entry: a strict zod object with `type: z.literal(type)`, defaults filled in. The one place defaults live. */
  readonly schema: z.ZodType<C>;
  /** Its page, relative to the repository root. */
  readonly docs: string;
  /** Output kinds it emits (late included, for windows). */
  readonly outputs: readonly OutputKindSpec[];
  /** Registry kinds it plans into, with their factories (the partition's name → constructor table). */
  readonly kinds: Readonly<Record<string, OperatorFactory>>;
  /**
   * Inputs it takes: 1 (default; the entry may name its stream, `input: quotes`)
   * or 2 (a two-input operator, TwoInputOperator in operator.ts: the entry
   * names both, `inputs: [trades, quotes]`, keyed alike).
   */
  readonly inputs?: 1 | 2;
  /** The fields it reads. */
  reads(c: C): FieldRead[];
  /** Aggregates later operators may read as `<name>.<aggregate>` (windows). */
  enrichment?(c: C): readonly string[];
  /**
   * Fields it computes into every record for the operators after it (derive),
   * with their types; `fields` is what the operator itself sees. The plan
   * reserves their slots right after the schema fields.
   */
  writes?(c: C, fields: Pick<EventFields, 'all' | 'numbers' | 'strings' | 'time'>): ReadonlyArray<{ name: string; type: 'double' | 'string' }>;
  /** Checks that need more than the entry (the semantic pass; references are checked from `reads`). */
  check?(c: C, ctx: CheckContext): void;
  /** After validation: make file paths absolute (relative to the pipeline file). */
  resolvePaths?(c: C, baseDir: string): void;
  /** The registry config a partition instantiates. */
  plan(c: C, ctx: PlanContext): OperatorConfig;
  /** What the output side keeps (thresholds, aggregate names). */
  meta(c: C): OperatorMeta;
  /** The JSON object of one of its output records (kind already known to be one of `outputs`). */
  format(r: OutputRecord, kind: string, meta: OperatorMeta, env: FormatEnv): Record<string, unknown>;
  /** For `ganglion explain`: one line of what it computes, and what state it keeps per key. */
  summary(c: C): string;
  state(c: C, per: string, lateness: bigint): string;
}

/**
 * String literals an operator config carries as `strings` (a filter's
 * `instrument = 'XOM'`) get their ids from the pipeline's key dictionary, as
 * `stringIds`, before the partitions start: records hold interned ids, so a
 * literal compares equal to a field only with the id that string has there.
 * Interned after a restore (a restored dictionary keeps its ids), never
 * logged: every start interns them again in the same order.
 */
export function internConfigStrings(operators: readonly OperatorConfig[], intern: (s: string) => number): OperatorConfig[] {
  return operators.map((o) => {
    let out = Array.isArray(o.strings) ? { ...o, stringIds: (o.strings as string[]).map(intern) } : o;
    // An operator's own `where` (host/operators/scope.ts) carries its literals the same way.
    const scope = o.scope as { strings?: string[] } | undefined;
    if (scope && Array.isArray(scope.strings)) out = { ...out, scope: { ...scope, stringIds: scope.strings.map(intern) } };
    return out;
  });
}

/** The threshold alert rule (scores): at or above the threshold, 0.5 by default. NaN and null are never alerts. */
export function atThreshold(value: number | null, threshold: number | undefined): boolean {
  return value !== null && value >= (threshold ?? 0.5);
}

/** Identity with the type checked: `export const zscore = defineOperator({ ... })`. */
export function defineOperator<C extends OperatorYaml>(d: OperatorDescriptor<C>): OperatorDescriptor<C> {
  return d;
}

/** Durations in registry configs arrive as bigint, integer number or digit string (JSON has no bigint). */
export function toNs(name: string, v: unknown): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new Error(`${name} must be an integer number of nanoseconds, got ${JSON.stringify(String(v))}`);
}
