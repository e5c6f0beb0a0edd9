// The input streams of a pipeline, as every layer sees them: the list (one
// stream named `input` for a pipeline written with a top-level `schema:`),
// which stream a source feeds and which streams an operator reads. A config
// built by hand (library use, tests) may lack `streams`: it is then its own
// single stream.
import { DEFAULT_STREAM } from './schema.js';
import { streamEventFields, type EventFields, type OperatorConfig, type PipelineConfig, type SourceConfig } from './types.js';

export type StreamConfig = PipelineConfig['streams'][number];

export function streamsOf(config: PipelineConfig): StreamConfig[] {
  const declared = (config as Partial<PipelineConfig>).streams;
  // The top level is the first stream's view; a config derived by editing it (replay's, a test's) edits the first stream.
  if (declared && declared.length > 0) {
    const [first, ...rest] = declared;
    return [{ ...first, schema: config.schema, key: config.key, event_time: config.event_time, validation: config.validation }, ...rest];
  }
  return [{ name: DEFAULT_STREAM, schema: config.schema, key: config.key, event_time: config.event_time, validation: config.validation, declared: false }];
}

/** The record fields of stream `index` (a custom type is named after the pipeline for the first stream, after the stream otherwise). */
export function streamFields(config: PipelineConfig, index: number): EventFields {
  const s = streamsOf(config)[index];
  return streamEventFields(index === 0 ? config.name : s.name, s);
}

/** Index of the stream called `name`; absent name: the first stream. -1 when there is no such stream. */
export function streamIndex(config: PipelineConfig, name: string | undefined): number {
  if (name === undefined) return 0;
  return streamsOf(config).findIndex((s) => s.name === name);
}

/** The stream a source feeds. */
export function sourceStream(config: PipelineConfig, source: SourceConfig): number {
  return streamIndex(config, (source as { stream?: string }).stream);
}

/**
 * The streams an operator reads, in input order: `input: quotes` → [quotes];
 * nothing → [the first stream]. A two-input operator (host/operators/
 * operator.ts TwoInputOperator) lists two.
 */
export function operatorInputs(config: PipelineConfig, op: OperatorConfig): number[] {
  const o = op as { input?: string; inputs?: string[] };
  if (o.inputs && o.inputs.length > 0) return o.inputs.map((n) => streamIndex(config, n));
  return [streamIndex(config, o.input)];
}

/**
 * Why one operator cannot read both streams keyed as they are (undefined: it
 * can). Both sides of a key must intern to the same key id, so land in the
 * same partition: as many key fields, of the same kinds (an id string on one
 * side and a number on the other never give equal key strings).
 */
export function keyTypeProblem(a: { name: string; fields: EventFields }, b: { name: string; fields: EventFields }): string | undefined {
  const kinds = (s: { fields: EventFields }) => s.fields.key.map((k) => s.fields.type.fields.find((f) => f.name === k)?.kind ?? 'unknown');
  const ka = kinds(a), kb = kinds(b);
  const show = (s: { name: string; fields: EventFields }, k: string[]) => `${s.name} is keyed by ${s.fields.key.map((f, i) => `${f} (${k[i] === 'id' ? 'string' : k[i]})`).join(', ')}`;
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return `incompatible keys: ${show(a, ka)}, ${show(b, kb)}`;
  return undefined;
}
