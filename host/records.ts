// Binary records shared by the host, the rings and the WASM operators.
// assembly/shared/records.ts mirrors these offsets; a test checks they agree.
//
// Input record (one event in a partition's input ring), stride = 24 + 8·F,
// where F is the field count of the record's stream (see below):
//
//   0        8        16       20       24                      24+8F
//   ┌────────┬────────┬────────┬────────┬────────┬─────┬────────┐
//   │ ts i64 │ seq u64│ key u32│flags u32│ f0 f64 │ ... │ fF-1   │
//   └────────┴────────┴────────┴────────┴────────┴─────┴────────┘
//   ts    event time, nanoseconds since the epoch (exact: never a JS number)
//   seq   ingest-log sequence number (0 when the pipeline has no log)
//   key   interned key id (the host's key dictionary maps strings to u32)
//   flags bit 0: control record (barrier/watermark; see FLAG_*)
//         bit 1: on a watermark control record, the stream is idle (FLAG_IDLE)
//         bits 8-15: the record's stream (index into the pipeline's streams;
//         0 for single-stream pipelines, so their flags stay 0), others 0
//   f*    the numeric fields of the record's stream, in schema order
//
// Several streams (trades and quotes, payments and labels) have their own
// schemas, hence their own field counts and strides. A partition has one input
// ring whose slots are the widest stream's stride (host/pipeline/plan.ts:
// PipelinePlan.stride); a narrower stream's record fills the front of its slot
// and leaves the rest NaN. One ring keeps the interleaving of the streams in
// ingest order, which is what makes per-stream watermarks, barriers and replay
// deterministic, at the cost of the padding:
//
//   slot (stride = max over streams)
//   ┌─────────────── header 24 B ──────────┬─ trades: f0..f5 ─────────────┐
//   │ ts │ seq │ key │ flags (stream 0)    │ price qty side ...            │
//   ├──────────────────────────────────────┼──── quotes: f0..f3 ─┬────────┤
//   │ ts │ seq │ key │ flags (stream 1)    │ bid ask ...         │ NaN pad│
//   └──────────────────────────────────────┴─────────────────────┴────────┘
//
// Output record (what every operator emits), fixed 128 bytes:
//
//   0         4        8        12       16        24        32        40 ............ 128
//   ┌─────────┬────────┬────────┬────────┬─────────┬─────────┬─────────┬──────────────┐
//   │ kind u32│ op u32 │ key u32│ aux u32│start i64│ end i64 │ seq u64 │ v0..v10 f64  │
//   └─────────┴────────┴────────┴────────┴─────────┴─────────┴─────────┴──────────────┘
//   kind  OUT_* below (OUT_MARKER: an epoch marker, never reaches a sink)
//   op    operator index within the pipeline
//   aux   kind-specific: revision number, class count, late reason
//   start/end  event-time bounds (window) or the event's ts twice (anomaly, score, late)
//   seq   the input seq that produced it (with op, kind, key, start: the stable output id)
//   v*    window: count,sum,min,max,mean,variance,stddev,first,last,vwap,var_samp
//         (stddev_samp = √var_samp: no twelfth slot; aggregateValue reads it)
//         anomaly: value,mean,stddev,z,count   score: pred0..   late: the event's f0..

export const IN_HEADER_BYTES = 24;
export const IN_TS = 0;
export const IN_SEQ = 8;
export const IN_KEY = 16;
export const IN_FLAGS = 20;
export const IN_FIELDS = 24;

export const FLAG_CONTROL = 1;
/** On a watermark control record: its stream has had no input for its idle timeout (see docs/design/streams.md). */
export const FLAG_IDLE = 2;
export const STREAM_SHIFT = 8;
/** Most streams a pipeline can have (the stream index is 8 bits of the flags). */
export const MAX_STREAMS = 256;

/** The stream index a record's flags carry. */
export function streamOfFlags(flags: number): number {
  return (flags >>> STREAM_SHIFT) & 0xff;
}

export function streamFlags(stream: number): number {
  return stream << STREAM_SHIFT;
}

export function inputStride(fieldCount: number): number {
  return IN_HEADER_BYTES + 8 * fieldCount;
}

export const OUT_BYTES = 128;
export const OUT_KIND = 0;
export const OUT_OP = 4;
export const OUT_KEY = 8;
export const OUT_AUX = 12;
export const OUT_START = 16;
export const OUT_END = 24;
export const OUT_SEQ = 32;
export const OUT_VALUES = 40;
export const OUT_VALUE_COUNT = 11;

export const OUT_WINDOW = 1;
export const OUT_REVISION = 2;
export const OUT_ANOMALY = 3;
export const OUT_SCORE = 4;
export const OUT_LATE = 5;
/** Not an output: a partition's end-of-epoch marker (seq = epoch), see host/pipeline/epochs.ts. */
export const OUT_MARKER = 6;
/** An OVER aggregation's row: start = its frame's first time, end = the event's ts, v* = count,sum,min,max,mean (host/operators/over/). */
export const OUT_OVER = 7;

/** Each aggregate's number: its bit in a window's aggregate mask, its enrichment
 *  code, and (0..10) its slot in a window output's values. */
export const AGG = {
  count: 0, sum: 1, min: 2, max: 3, mean: 4, variance: 5, stddev: 6, first: 7, last: 8, vwap: 9,
  /** Sample variance m2 / (n − 1) and standard deviation: NaN (null) for a one-event window. */
  var_samp: 10, stddev_samp: 11,
} as const;
export type AggregateName = keyof typeof AGG;
export const AGGREGATE_NAMES = Object.keys(AGG) as AggregateName[];

/** An aggregate's value in a window output record: its slot, except
 *  stddev_samp, which is √ of var_samp's slot (the record has 11 slots). */
export function aggregateValue(values: ArrayLike<number>, a: AggregateName): number {
  return a === 'stddev_samp' ? Math.sqrt(values[AGG.var_samp]) : values[AGG[a]];
}

export interface OutputRecord {
  kind: number;
  op: number;
  key: number;
  aux: number;
  start: bigint;
  end: bigint;
  seq: bigint;
  values: Float64Array;
}

export function readOutput(view: DataView, at: number): OutputRecord {
  const values = new Float64Array(OUT_VALUE_COUNT);
  for (let i = 0; i < OUT_VALUE_COUNT; i++) values[i] = view.getFloat64(at + OUT_VALUES + 8 * i, true);
  return {
    kind: view.getUint32(at + OUT_KIND, true),
    op: view.getUint32(at + OUT_OP, true),
    key: view.getUint32(at + OUT_KEY, true),
    aux: view.getUint32(at + OUT_AUX, true),
    start: view.getBigInt64(at + OUT_START, true),
    end: view.getBigInt64(at + OUT_END, true),
    seq: view.getBigUint64(at + OUT_SEQ, true),
    values,
  };
}

export function writeOutput(view: DataView, at: number, r: OutputRecord): void {
  view.setUint32(at + OUT_KIND, r.kind, true);
  view.setUint32(at + OUT_OP, r.op, true);
  view.setUint32(at + OUT_KEY, r.key, true);
  view.setUint32(at + OUT_AUX, r.aux, true);
  view.setBigInt64(at + OUT_START, r.start, true);
  view.setBigInt64(at + OUT_END, r.end, true);
  view.setBigUint64(at + OUT_SEQ, r.seq, true);
  for (let i = 0; i < OUT_VALUE_COUNT; i++) view.setFloat64(at + OUT_VALUES + 8 * i, r.values[i] ?? 0, true);
}

export function writeInput(view: DataView, at: number, ts: bigint, seq: bigint, key: number, fields: ArrayLike<number>, flags = 0): void {
  view.setBigInt64(at + IN_TS, ts, true);
  view.setBigUint64(at + IN_SEQ, seq, true);
  view.setUint32(at + IN_KEY, key, true);
  view.setUint32(at + IN_FLAGS, flags, true);
  for (let i = 0; i < fields.length; i++) view.setFloat64(at + IN_FIELDS + 8 * i, fields[i], true);
}
