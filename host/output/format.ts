// One JSON shape per output kind (documented with examples in docs/OUTPUTS.md),
// built from a 128-byte output record (host/records.ts) plus what the record
// cannot hold: the key string (from the key dictionary), the operator's name
// and the names of its aggregates or fields.
//
// Every object is built with its keys in one fixed order and holds no
// undefined/NaN/bigint, so JSON.stringify is deterministic: the same input log
// gives byte-identical output files (replays rely on it). The one
// non-deterministic figure, processing latency, is only present when the
// caller passes it (live runs), never in replays.
//
// Stable id: `${op}-${kind}-${key}-${start_ns}-${seq}` (revisions add
// `-r${n}`). Every part is a pure function of the input log, so a sink or a
// downstream consumer can de-duplicate outputs replayed after a recovery.
import { isUtf8 } from 'node:buffer';
import type { OutputRecord } from '../records.js';
import type { PipelineConfig } from '../config/types.js';
import { eventFields } from '../config/types.js';
import type { OperatorMeta } from '../operators/descriptor.js';
import { descriptorOf } from '../operators/index.js';
import { KIND_NAMES } from '../operators/outputs.js';
import { isoNs } from './json.js';

export { KIND_NAMES } from '../operators/outputs.js';
export { isoNs, outputId } from './json.js';
export type { OperatorMeta } from '../operators/descriptor.js';

/** An output kind: one an operator declares (host/operators/index.ts), or dead_letter. */
export type OutputKind = string;

export interface TimeBounds {
  start: string;
  end: string;
  start_ns: string;
  end_ns: string;
}

interface Common {
  id: string;
  kind: OutputKind;
  op: string;
  key: string;
}

export interface WindowOutput extends Common {
  kind: 'window' | 'revision';
  window: TimeBounds;
  /** revision: 1 for the first update after the window fired, 2 for the next, ... */
  revision?: number;
  /** The operator's aggregates, in the order the pipeline lists them. */
  values: Record<string, number | null>;
  seq: string;
  latency_ns?: number;
}

export interface AnomalyOutput extends Common {
  kind: 'anomaly';
  ts: string;
  ts_ns: string;
  /** zscore: the value and the statistics it was judged against. */
  value: number | null;
  mean?: number | null;
  stddev?: number | null;
  z?: number | null;
  count?: number | null;
  threshold?: number;
  /** limit: the configured bound and which side was crossed. */
  limit?: number | null;
  direction?: 'above' | 'below';
  seq: string;
  latency_ns?: number;
}

export interface ScoreOutput extends Common {
  kind: 'score';
  ts: string;
  ts_ns: string;
  score: number | null;
  /** Multi-class models: one score per class (score is the first). */
  scores?: (number | null)[];
  threshold: number;
  alert: boolean;
  seq: string;
  latency_ns?: number;
}

export interface LateOutput extends Common {
  kind: 'late';
  ts: string;
  ts_ns: string;
  reason: string;
  /** The event's numeric fields, by schema name. */
  fields: Record<string, number | null>;
  seq: string;
  latency_ns?: number;
}

export interface DeadLetterOutput {
  id: string;
  kind: 'dead_letter';
  origin: string;
  /** Stable reason code (`range`, `json_syntax`, ...): what the metrics count. */
  reason: string;
  /** Which rule failed and where, e.g. `"price" = -1 is outside [0, 1000000]`. */
  detail: string;
  /** The event's position in its frame; -1 when the whole frame was refused. */
  index: number;
  /** Absent in replays: a recorded input has no receive time. */
  received_at?: string;
  received_at_ns?: string;
  /** The offending frame or event exactly as received: UTF-8 text when it is valid UTF-8 text, else base64. */
  encoding: 'utf8' | 'base64';
  data: string;
  seq: string;
}

export type OutputEvent = WindowOutput | AnomalyOutput | ScoreOutput | LateOutput | DeadLetterOutput;

export interface FormatContext {
  /** Operators by index (the record's `op`). */
  operators: readonly OperatorMeta[];
  /** Numeric schema fields in record order (late events carry them). */
  fields: readonly string[];
  /** Interned key id → the original key string. */
  keyName(id: number): string;
}

/** The format context of a pipeline; keyName comes from the runtime's key dictionary. */
export function formatContext(config: PipelineConfig, keyName: (id: number) => string): FormatContext {
  const operators = config.operators.map((o) => descriptorOf(o.type).meta(o));
  return { operators, fields: eventFields(config).numbers, keyName };
}

export interface FormatOptions {
  /** Processing latency (emit time − receive time), live runs only. */
  latencyNs?: number;
}

/**
 * The JSON object of one output record: the operator's descriptor builds it
 * (host/operators/<op>/descriptor.ts), latency goes last. Throws on a kind or
 * operator it does not know (a runtime bug, not user input).
 */
export function formatOutput(r: OutputRecord, ctx: FormatContext, options: FormatOptions = {}): OutputEvent {
  const kind = KIND_NAMES[r.kind];
  const meta = ctx.operators[r.op];
  if (kind === undefined) throw new Error(`output record with unknown kind ${r.kind}`);
  if (meta === undefined) throw new Error(`output record from unknown operator index ${r.op}`);
  const out = descriptorOf(meta.type).format(r, kind, meta, { key: ctx.keyName(r.key), fields: meta.fields ?? ctx.fields });
  if (options.latencyNs !== undefined) out.latency_ns = Math.round(options.latencyNs);
  return out as unknown as OutputEvent;
}

export interface DeadLetterInput {
  /** The dead letter's number in its pipeline (1, 2, ...; it continues across restarts): the id. */
  n: number;
  origin: string;
  reason: string;
  detail: string;
  data: Uint8Array;
  binary: boolean;
  /** 0: no receive time (a replay of recorded input). */
  receivedAtNs: bigint;
  /** Ingest-log sequence the next accepted event gets (how far into the input stream it came). */
  seq: bigint;
  /** The event's index in its frame, -1 for the whole frame. */
  index: number;
}

export function formatDeadLetter(d: DeadLetterInput): DeadLetterOutput {
  const bytes = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
  // Text stays readable (and greppable); only bytes that are not UTF-8 text
  // (FlatBuffers frames, a text frame with invalid UTF-8) need base64.
  const text = !d.binary && isUtf8(bytes);
  return {
    id: `dead_letter-${d.n}`,
    kind: 'dead_letter',
    origin: d.origin,
    reason: d.reason,
    detail: d.detail,
    index: d.index,
    ...(d.receivedAtNs === 0n ? {} : { received_at: isoNs(d.receivedAtNs), received_at_ns: d.receivedAtNs.toString() }),
    encoding: text ? 'utf8' : 'base64',
    data: bytes.toString(text ? 'utf8' : 'base64'),
    seq: d.seq.toString(),
  };
}

/** One line of JSON (no newline). Deterministic because every shape is built in a fixed key order. */
export function serializeOutput(out: OutputEvent): string {
  return JSON.stringify(out);
}

/** Fields a topic template can use: {op}, {kind}, {key}, {pipeline}. */
export function expandTopic(template: string, out: OutputEvent, pipeline: string): string {
  const op = 'op' in out ? out.op : out.origin;
  const key = 'key' in out ? out.key : '';
  return template.replace(/\{(op|kind|key|pipeline)\}/g, (_, name: string) => {
    const v = name === 'op' ? op : name === 'kind' ? out.kind : name === 'key' ? key : pipeline;
    // MQTT wildcards and level separators inside a value would change the topic's meaning.
    return v.replace(/[+#/\u0000]/g, '_');
  });
}
