// The pipeline file, as a zod schema. Everything a runtime needs to build a
// pipeline is here, with defaults filled in and units resolved: durations are
// bigint nanoseconds, sizes are byte counts. Objects are strict so a typo
// ("sizee") is an error rather than a silently ignored setting. Messages are
// phrased "expected ..."; the loader adds where (file:line:col, path) and what
// was found. Cross-field checks that need the whole file (unknown fields,
// missing model files, references between operators) live in semantic.ts.
import { z } from 'zod';
import { OPERATORS, type OperatorYamlConfig } from '../operators/index.js';
import { OUTPUT_KINDS } from '../operators/outputs.js';
import { BUILTIN_TYPE_NAMES } from './builtin.js';
import { duration, name, positiveInt, size } from './primitives.js';

export { duration, fieldRef, name, positiveInt, size } from './primitives.js';
export { OUTPUT_KINDS };

const port = z.number().int().min(0).max(65535);
const qos = z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected a QoS of 0, 1 or 2' });

const tls = z.strictObject({
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  reject_unauthorized: z.boolean().default(true),
});

// ── sources ─────────────────────────────────────────────────────────────────

/** The input stream a source feeds (a name under `streams:`); absent: the first stream. */
const streamOfSource = { stream: name.optional() };

/**
 * A secret, given literally or as `${NAME}`: read from the environment variable
 * NAME when the file is loaded, so pipeline files need not hold secrets.
 */
const secret = z.string().min(1).transform((text, ctx) => {
  const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(text);
  if (!m) return text;
  const value = process.env[m[1]];
  if (value === undefined || value === '') {
    ctx.addIssue({ code: 'custom', message: `expected the environment variable ${m[1]} to be set (it holds this secret)` });
    return z.NEVER;
  }
  return value;
});

/** Host names (Host header) and origins (Origin header) a listener accepts besides its defaults; "*" = any. */
const allowList = z.array(z.string().min(1)).optional();

export const wsSource = z.strictObject({
  type: z.literal('ws'),
  name: name.optional(),
  ...streamOfSource,
  /** Loopback by default; any other address needs an auth_token (semantic.ts). */
  host: z.string().default('127.0.0.1'),
  port: port.default(8080),
  path: z.string().startsWith('/', 'expected a path starting with "/"').default('/ingest'),
  auth_token: secret.optional(),
  /** Largest frame accepted, default 1 MiB: larger ones are nacked, closed with 1009, counted and dead-lettered. */
  max_frame_bytes: size.pipe(z.number().min(1, 'expected a frame limit of at least 1 byte, like "1MiB"')).default(1024 * 1024),
  allowed_hosts: allowList,
  allowed_origins: allowList,
  /** uWebSockets.js when installed (auto), always (true) or never (false: the `ws` package). */
  native: z.union([z.boolean(), z.literal('auto')], { error: 'expected true, false or "auto"' }).default('auto'),
});

export const mqttTopic = z.strictObject({
  topic: z.string().min(1),
  format: z.enum(['json', 'flatbuffers']).default('json'),
  qos: qos.default(1),
});

export const mqttSource = z.strictObject({
  type: z.literal('mqtt'),
  name: name.optional(),
  ...streamOfSource,
  url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, 'expected a broker URL like "mqtt://127.0.0.1:1883"'),
  topics: z.array(mqttTopic).min(1, 'expected at least one topic'),
  client_id: z.string().min(1).optional(),
  /** MQTT 5 session expiry: how long the broker keeps our subscriptions and QoS 1/2 messages while we are away. */
  session_expiry: duration.default(3_600_000_000_000n),
  clean: z.boolean().default(false),
  /** Retained messages: ignore (default: never ingested) or process (ingested once per new subscription). */
  retained: z.enum(['ignore', 'process']).default('ignore'),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: tls.optional(),
});

export const syntheticSource = z.strictObject({
  type: z.literal('synthetic'),
  name: name.optional(),
  ...streamOfSource,
  /** Events per second; 0 = flat out. */
  rate: z.number().min(0).default(100_000),
  /** Number of distinct keys (instruments, accounts, traders). */
  instruments: positiveInt.default(1000),
  /** Zipf exponent of key popularity. */
  zipf: z.number().min(0).max(5).default(1.1),
  seed: z.number().int().default(1),
  /** First event time: an ISO timestamp, or "now" (the wall clock at start). */
  start: z.union([z.literal('now'), z.iso.datetime({ offset: true, precision: undefined })], { error: 'expected "now" or an ISO timestamp like "2026-01-05T14:30:00Z"' }).default('now'),
  /** Stop after this many events (absent: run until stopped). */
  events: positiveInt.optional(),
  /** Fraction of events delivered out of order, and how far back they may go. */
  out_of_order: z.number().min(0).max(1).default(0.01),
  max_delay: duration.default(200_000_000n),
  /** Fraction of events arriving later than the pipeline's allowed lateness. */
  late: z.number().min(0).max(1).default(0.0005),
  /** Fraction of events that start an anomaly: a price spike (trades, quotes) or a fraud burst (payments). */
  anomalies: z.number().min(0).max(1).default(0.0002),
  /** Bursts: every `every` of event time, the rate is multiplied by `factor` for `length`. */
  burst: z.strictObject({ every: duration, length: duration, factor: z.number().min(1) }).optional(),
});

export const fileSource = z.strictObject({
  type: z.literal('file'),
  name: name.optional(),
  ...streamOfSource,
  path: z.string().min(1),
  /** absent: from the extension (.jsonl/.json → jsonl, .fb/.bin → flatbuffers, .csv → csv). */
  format: z.enum(['jsonl', 'flatbuffers', 'csv']).optional(),
});

export const source = z.discriminatedUnion('type', [wsSource, mqttSource, syntheticSource, fileSource]);

// ── schema, key, event time, validation ─────────────────────────────────────

export const schemaSection = z.strictObject({
  type: z.enum([...BUILTIN_TYPE_NAMES, 'custom']),
  /** Numeric fields. custom: all of them; built-in: appended after the type's own. */
  fields: z.array(name).default([]),
  /** Id fields (strings interned to numbers: keys, validation), for custom types or extra fields. */
  strings: z.array(name).default([]),
  /** schema field → another name it arrives under (added to the type's JSON aliases). */
  mapping: z.record(name, z.string().min(1)).default({}),
  /** Numeric fields computed on ingest, e.g. notional = price × qty. */
  derived: z.array(z.strictObject({ name, multiply: z.tuple([name, name]) })).default([]),
});

export const eventTime = z.strictObject({
  field: name.default('ts'),
  /**
   * Unit of numeric timestamps in JSON ("auto": inferred from magnitude). A declared unit also rejects values
   * before 1973-03-03 or past 2262 in it (bad_timestamp: ms sent as ns would land in 1970). ISO-8601 text is always accepted.
   */
  unit: z.enum(['auto', 'ns', 'us', 'ms', 's']).default('auto'),
  /** Watermark = max event time seen − out_of_orderness. */
  out_of_orderness: duration.default(0n),
  /** Windows stay open for revisions this long after the watermark passes their end; later events go to the late output. */
  allowed_lateness: duration.default(0n),
  /** A partition with no input for this long stops holding the watermark back (and its open windows fire on the clock). */
  idle_timeout: duration.default(10_000_000_000n),
});

const range = z
  .strictObject({ min: z.number().optional(), max: z.number().optional() })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'expected min <= max' });

export const validation = z.strictObject({
  required: z.array(name).default([]),
  ranges: z.record(name, range).default({}),
  allowed: z.record(name, z.array(z.union([z.string(), z.number()])).min(1)).default({}),
  /** Events older than this (event time versus the host clock) are rejected. */
  max_age: duration.optional(),
  /** Clock-skew window: events this far in the future are rejected. */
  max_future: duration.optional(),
  max_length: z.record(name, positiveInt).default({}),
  /** dead_letter: the event goes to the dead-letter output; reject: the whole frame is refused (nack). */
  on_invalid: z.enum(['dead_letter', 'reject']).default('dead_letter'),
});

/**
 * Bounds on the key dictionary (every distinct key and string id seen over the
 * pipeline's life). A new string past them is a dead letter (key_too_long,
 * key_dictionary_full); the rest of its frame is processed.
 */
export const keyDictionary = z
  .strictObject({
    max_keys: positiveInt.default(1_000_000),
    max_key_bytes: size.default(256),
    max_bytes: size.default(64 * 1024 * 1024),
  })
  .superRefine((k, ctx) => {
    if (k.max_key_bytes < 1) ctx.addIssue({ code: 'custom', path: ['max_key_bytes'], message: 'expected at least 1 byte' });
    if (k.max_key_bytes > k.max_bytes) ctx.addIssue({ code: 'custom', path: ['max_key_bytes'], message: `expected at most max_bytes (${k.max_bytes})` });
  });

// ── operators ───────────────────────────────────────────────────────────────

/**
 * One entry per operator type of the operator list (host/operators/index.ts);
 * each descriptor owns its entry's schema and defaults.
 */
/** Operator types that take their own `where:` (not the ones that drop or write records for the chain: filter, dedup, derive). */
const SCOPED_TYPES = new Set(['window', 'zscore', 'limit', 'model', 'over']);

export const operator = z.discriminatedUnion(
  'type',
  // Every entry may name the input stream it reads (`input: quotes`, a name under `streams:`; absent: the
  // first stream); a two-input operator names both (`inputs: [trades, quotes]`).
  OPERATORS.map((d) => {
    const entry = d.schema as unknown as z.ZodObject;
    return d.inputs === 2
      ? entry.safeExtend({ inputs: z.tuple([name, name], { error: 'expected the two input streams, like [trades, quotes]' }) })
      : SCOPED_TYPES.has(d.type)
        // Its own condition: the operator sees only the events it holds for, the others see every event (host/operators/scope.ts).
        ? entry.safeExtend({ input: name.optional(), where: z.string({ error: 'expected a condition as a string, e.g. "price * qty > 1000000"' }).min(1, 'expected a condition, e.g. "price * qty > 1000000"').optional() })
        : entry.safeExtend({ input: name.optional() });
  }) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<OperatorYamlConfig & { input?: string; inputs?: [string, string]; where?: string }>;

// ── sinks ───────────────────────────────────────────────────────────────────


const selection = {
  /** Output kinds this sink receives (default: all). */
  kinds: z.array(z.enum(OUTPUT_KINDS as [string, ...string[]])).min(1).optional(),
  /** Operators whose outputs this sink receives (default: all). */
  operators: z.array(name).min(1).optional(),
};

const TEMPLATE = /^([^{}]|\{(op|kind|key|pipeline)\})+$/;
const template = z.string().regex(TEMPLATE, 'expected a topic template using only {op}, {kind}, {key} and {pipeline}');

export const wsSink = z.strictObject({
  type: z.literal('ws'),
  name: name.optional(),
  /** Clients subscribe to topics; each output is published on this template's expansion. */
  topic: template.default('{kind}/{op}'),
  ...selection,
});

export const mqttSink = z.strictObject({
  type: z.literal('mqtt'),
  name: name.optional(),
  url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, 'expected a broker URL like "mqtt://127.0.0.1:1883"'),
  topic: template.default('ganglion/{pipeline}/{kind}/{op}/{key}'),
  qos: qos.default(1),
  retain: z.boolean().default(false),
  client_id: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: tls.optional(),
  ...selection,
});

export const jsonlSink = z.strictObject({
  type: z.literal('jsonl'),
  name: name.optional(),
  path: z.string().min(1),
  rotate: z.strictObject({ size: size.optional(), age: duration.optional() }).optional(),
  /** fsync on every flush (the checkpoint path always fsyncs before it commits a position). */
  fsync: z.boolean().default(false),
  ...selection,
});

export const stdoutSink = z.strictObject({
  type: z.literal('stdout'),
  name: name.optional(),
  ...selection,
});

export const sink = z.discriminatedUnion('type', [wsSink, mqttSink, jsonlSink, stdoutSink]);

// ── delivery, resources, server ─────────────────────────────────────────────

export const delivery = z.strictObject({
  mode: z.enum(['exactly_once', 'at_least_once', 'at_most_once']).default('exactly_once'),
  checkpoint: z
    .strictObject({
      interval: duration.default(10_000_000_000n),
      /** Relative to the data dir. */
      dir: z.string().min(1).default('checkpoints'),
      keep: positiveInt.default(3),
      on_failure: z.enum(['stop', 'continue']).default('stop'),
    })
    .prefault({}),
  log: z
    .strictObject({
      dir: z.string().min(1).default('log'),
      segment_size: size.default(64 * 1024 * 1024),
      retention: duration.default(86_400_000_000_000n),
      /** Also delete the oldest segments while the log is larger than this (absent: no size limit). Never what the newest checkpoint still needs. */
      retention_bytes: size.optional(),
      /** Damage that loses acknowledged events: false refuses to start, naming them; true cuts the log there and goes on without them. */
      truncate_corrupt: z.boolean().default(false),
    })
    .prefault({}),
  /** Forget a producer id (its resend protection) after this long without a frame from it; 0 = never. */
  producer_expiry: duration.default(604_800_000_000_000n),
});

export const server = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(9464),
  dashboard: z.boolean().default(true),
  metrics: z.boolean().default(true),
  allowed_hosts: allowList,
  allowed_origins: allowList,
});

/** The key field, or several (joined with "|" into one key string). Default: the built-in type's key. */
const keyFields = z.union([name, z.array(name).min(1)], { error: 'expected a field name or a list of field names' }).transform((k) => (typeof k === 'string' ? [k] : k)).optional();

/**
 * One named input stream (`streams: { trades: {...}, quotes: {...} }`): its
 * own schema, key and event-time settings. event_time absent: the pipeline's
 * `event_time`; validation absent: none.
 */
export const streamSection = z.strictObject({
  schema: schemaSection,
  key: keyFields,
  event_time: eventTime.optional(),
  validation: validation.optional(),
});

/** The stream name of a pipeline written with one top-level `schema:`. */
export const DEFAULT_STREAM = 'input';

/** The pipeline file's top-level object, before its streams are normalised (the loader parses it section by section). */
export const pipelineObject = z.strictObject({
  name,
  description: z.string().optional(),
  /** Empty for a library pipeline fed with push(); `ganglion run` needs at least one. */
  sources: z.array(source).default([]),
  /** One input stream (named `input`); or `streams:` for several. */
  schema: schemaSection.optional(),
  /** Several named input streams, each with its schema, key and event time; the first is the default of sources and operators. */
  streams: z.record(name, streamSection).optional(),
  key: keyFields,
  event_time: eventTime.prefault({}),
  validation: validation.prefault({}),
  key_dictionary: keyDictionary.prefault({}),
  operators: z.array(operator).min(1, 'expected at least one operator'),
  sinks: z.array(sink).default([{ type: 'stdout' }]),
  delivery: delivery.prefault({}),
  /**
   * Partitions (one worker and one WASM instance each); "auto" = CPU cores − 1,
   * at least 1; "inline" = one partition run on the ingest thread (operator
   * chaining: no thread hop, the lowest latency, one core's throughput).
   */
  partitions: z.union([positiveInt, z.literal('auto'), z.literal('inline')], { error: 'expected a partition count (1, 2, ...), "auto" or "inline"' }).default('auto'),
  /** Shared memory per partition (rounded up to 64 KiB pages). */
  memory: size.default(64 * 1024 * 1024),
  server: server.optional(),
});

/**
 * The pipeline with its streams normalised: `streams` is always the list of
 * input streams (one, named `input`, for the single-`schema:` form), and the
 * top-level schema, key, event_time and validation are the first stream's, so
 * code that serves one stream reads them where it always did.
 */
export const pipeline = pipelineObject
  .superRefine((p, ctx) => {
    const streams = p.streams === undefined ? 0 : Object.keys(p.streams).length;
    if (p.schema === undefined && p.streams === undefined) ctx.addIssue({ code: 'custom', path: ['schema'], message: 'expected a schema (or streams: several named input streams)', params: { missing: true } });
    if (p.schema !== undefined && p.streams !== undefined) ctx.addIssue({ code: 'custom', path: ['streams'], message: 'expected either schema (one input stream) or streams (several), not both' });
    if (p.streams !== undefined && streams === 0) ctx.addIssue({ code: 'custom', path: ['streams'], message: 'expected at least one stream' });
    if (streams > 255) ctx.addIssue({ code: 'custom', path: ['streams'], message: 'expected at most 255 streams' });
    if (p.streams !== undefined && p.key !== undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'expected the key under each stream (streams: <name>: key:)' });
  })
  .transform(withStreams);


type PipelineObject = z.output<typeof pipelineObject>;

/** See `pipeline`: the streams as a list, the first one's settings at the top level. */
export function withStreams(p: PipelineObject) {
  const streams = p.streams
    ? Object.entries(p.streams).map(([streamName, st]) => ({
      name: streamName, schema: st.schema, key: st.key, event_time: st.event_time ?? p.event_time,
      validation: st.validation ?? p.validation, declared: true,
    }))
    : [{ name: DEFAULT_STREAM, schema: p.schema!, key: p.key, event_time: p.event_time, validation: p.validation, declared: false }];
  const first = streams[0];
  const { streams: _declared, ...rest } = p;
  return { ...rest, schema: first.schema, key: first.key, event_time: first.event_time, validation: first.validation, streams };
}
