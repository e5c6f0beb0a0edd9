// What the SQL front end knows by name: connectors and their options, SET
// keys (Flink's and ganglion's), aggregates and functions (with what to say
// for the ones it does not run), and the coercion of option text to values.
import type { Pos } from '../expr/parse.js';
import { fail } from './problem.js';

export const SOURCE_CONNECTORS = ['synthetic', 'file', 'websocket', 'mqtt'];
export const SINK_CONNECTORS = ['jsonl', 'stdout', 'websocket', 'mqtt'];
export const CONNECTOR_ALIASES: Record<string, string> = { ws: 'websocket', print: 'stdout', filesystem: 'file' };
export const OTHER_CONNECTORS: Record<string, string> = {
  kafka: 'the kafka connector is not supported: ganglion reads websocket, mqtt, file and synthetic sources',
  'upsert-kafka': 'the upsert-kafka connector is not supported: ganglion reads websocket, mqtt, file and synthetic sources',
  datagen: "the datagen connector is not supported; ganglion's generator is 'connector' = 'synthetic'",
  blackhole: 'the blackhole connector is not supported: a sink writes somewhere (jsonl, stdout, websocket, mqtt)',
  jdbc: 'the jdbc connector is not supported',
};

export type OptionType = 'string' | 'number' | 'int' | 'bool' | 'duration' | 'size' | 'list';

/** Options per source connector: SQL key → [config key path, type]. Keys compare with '-' and '_' alike. */
export const SOURCE_OPTIONS: Record<string, Record<string, [string, OptionType]>> = {
  synthetic: {
    rate: ['rate', 'number'], instruments: ['instruments', 'int'], keys: ['instruments', 'int'], zipf: ['zipf', 'number'], seed: ['seed', 'int'],
    start: ['start', 'string'], events: ['events', 'int'], out_of_order: ['out_of_order', 'number'], max_delay: ['max_delay', 'duration'],
    late: ['late', 'number'], anomalies: ['anomalies', 'number'],
    'burst.every': ['burst.every', 'duration'], 'burst.length': ['burst.length', 'duration'], 'burst.factor': ['burst.factor', 'number'],
  },
  file: { path: ['path', 'string'] },
  websocket: {
    host: ['host', 'string'], port: ['port', 'int'], path: ['path', 'string'], auth_token: ['auth_token', 'string'],
    max_frame_bytes: ['max_frame_bytes', 'size'], native: ['native', 'string'], allowed_hosts: ['allowed_hosts', 'list'], allowed_origins: ['allowed_origins', 'list'],
  },
  mqtt: {
    url: ['url', 'string'], topic: ['topics', 'list'], qos: ['qos', 'int'], client_id: ['client_id', 'string'], session_expiry: ['session_expiry', 'duration'],
    clean: ['clean', 'bool'], retained: ['retained', 'string'], username: ['username', 'string'], password: ['password', 'string'],
    'tls.ca': ['tls.ca', 'string'], 'tls.cert': ['tls.cert', 'string'], 'tls.key': ['tls.key', 'string'], 'tls.reject_unauthorized': ['tls.reject_unauthorized', 'bool'],
  },
};

/** Options every source table takes, placed outside the source (the stream's settings). */
export const STREAM_OPTIONS: Record<string, [string, OptionType]> = {
  'timestamp.unit': ['event_time.unit', 'string'], 'json.timestamp_unit': ['event_time.unit', 'string'],
  'source.idle_timeout': ['event_time.idle_timeout', 'duration'],
  'validation.max_age': ['validation.max_age', 'duration'], 'validation.max_future': ['validation.max_future', 'duration'],
  'validation.on_invalid': ['validation.on_invalid', 'string'],
  'key_dictionary.max_keys': ['key_dictionary.max_keys', 'int'], 'key_dictionary.max_key_bytes': ['key_dictionary.max_key_bytes', 'size'],
  'key_dictionary.max_bytes': ['key_dictionary.max_bytes', 'size'],
};

export const SELECTION_OPTIONS: Record<string, [string, OptionType]> = { kinds: ['kinds', 'list'] };
export const SINK_OPTIONS: Record<string, Record<string, [string, OptionType]>> = {
  jsonl: { path: ['path', 'string'], 'rotate.size': ['rotate.size', 'size'], 'rotate.age': ['rotate.age', 'duration'], fsync: ['fsync', 'bool'], ...SELECTION_OPTIONS },
  stdout: { ...SELECTION_OPTIONS },
  websocket: { topic: ['topic', 'string'], ...SELECTION_OPTIONS },
  mqtt: {
    url: ['url', 'string'], topic: ['topic', 'string'], qos: ['qos', 'int'], retain: ['retain', 'bool'], client_id: ['client_id', 'string'],
    username: ['username', 'string'], password: ['password', 'string'], 'tls.ca': ['tls.ca', 'string'], 'tls.cert': ['tls.cert', 'string'], 'tls.key': ['tls.key', 'string'],
    'tls.reject_unauthorized': ['tls.reject_unauthorized', 'bool'], ...SELECTION_OPTIONS,
  },
};

/** SET keys: Flink's names where Flink has the setting, and ganglion's own (the YAML paths). */
export const SET_KEYS: Record<string, [string, OptionType]> = {
  'execution.checkpointing.interval': ['delivery.checkpoint.interval', 'duration'],
  'execution.checkpointing.mode': ['delivery.mode', 'string'],
  'state.checkpoints.num-retained': ['delivery.checkpoint.keep', 'int'],
  'state.checkpoints.dir': ['delivery.checkpoint.dir', 'string'],
  'table.exec.emit.allow-lateness': ['event_time.allowed_lateness', 'duration'],
  'table.exec.source.idle-timeout': ['event_time.idle_timeout', 'duration'],
  'parallelism.default': ['partitions', 'string'],
  'pipeline.name': ['name', 'string'],
  name: ['name', 'string'], description: ['description', 'string'], partitions: ['partitions', 'string'], memory: ['memory', 'size'],
  'event_time.unit': ['event_time.unit', 'string'], 'event_time.out_of_orderness': ['event_time.out_of_orderness', 'duration'],
  'event_time.allowed_lateness': ['event_time.allowed_lateness', 'duration'], 'event_time.idle_timeout': ['event_time.idle_timeout', 'duration'],
  'delivery.mode': ['delivery.mode', 'string'], 'delivery.checkpoint.interval': ['delivery.checkpoint.interval', 'duration'],
  'delivery.checkpoint.dir': ['delivery.checkpoint.dir', 'string'], 'delivery.checkpoint.keep': ['delivery.checkpoint.keep', 'int'],
  'delivery.checkpoint.on_failure': ['delivery.checkpoint.on_failure', 'string'], 'delivery.log.dir': ['delivery.log.dir', 'string'],
  'delivery.log.segment_size': ['delivery.log.segment_size', 'size'], 'delivery.log.retention': ['delivery.log.retention', 'duration'],
  'delivery.log.retention_bytes': ['delivery.log.retention_bytes', 'size'], 'delivery.log.truncate_corrupt': ['delivery.log.truncate_corrupt', 'bool'],
  'delivery.producer_expiry': ['delivery.producer_expiry', 'duration'],
  'validation.max_age': ['validation.max_age', 'duration'], 'validation.max_future': ['validation.max_future', 'duration'],
  'validation.on_invalid': ['validation.on_invalid', 'string'],
  'key_dictionary.max_keys': ['key_dictionary.max_keys', 'int'], 'key_dictionary.max_key_bytes': ['key_dictionary.max_key_bytes', 'size'],
  'key_dictionary.max_bytes': ['key_dictionary.max_bytes', 'size'],
  'server.host': ['server.host', 'string'], 'server.port': ['server.port', 'int'], 'server.dashboard': ['server.dashboard', 'bool'],
  'server.metrics': ['server.metrics', 'bool'], 'server.allowed_hosts': ['server.allowed_hosts', 'list'], 'server.allowed_origins': ['server.allowed_origins', 'list'],
};

/** Flink-only settings people carry over, refused with why (rather than ignored). */
export const SET_REFUSED: Record<string, string> = {
  'execution.runtime-mode': "'execution.runtime-mode': ganglion runs streaming only",
  'table.exec.state.ttl': "'table.exec.state.ttl': state is bounded by the windows themselves; set 'operator.<name>.capacity' for a window's state",
  'table.exec.mini-batch.enabled': "'table.exec.mini-batch.enabled': ganglion always processes in batches",
  'sql-client.execution.result-mode': "'sql-client.execution.result-mode' is a SQL client setting; results go to the sink tables",
};

/** The output kinds each operator type emits (docs/OUTPUTS.md), for routing INSERTs to sinks. */
export const OUTPUT_KINDS_BY_TYPE: Record<string, string[]> = {
  window: ['window', 'revision', 'late'], zscore: ['anomaly'], limit: ['anomaly'], model: ['score'],
};

export const AGGREGATES: Record<string, string> = {
  COUNT: 'count', SUM: 'sum', MIN: 'min', MAX: 'max', AVG: 'mean', VAR_POP: 'variance', STDDEV_POP: 'stddev', FIRST_VALUE: 'first', LAST_VALUE: 'last',
  VAR_SAMP: 'var_samp', STDDEV_SAMP: 'stddev_samp', VARIANCE: 'var_samp', STDDEV: 'stddev_samp',
};
export const AGGREGATES_NOT_YET: Record<string, string> = {
  COLLECT: 'COLLECT', LISTAGG: 'LISTAGG', ARRAY_AGG: 'ARRAY_AGG', MEDIAN: 'MEDIAN', PERCENTILE_CONT: 'PERCENTILE_CONT', APPROX_COUNT_DISTINCT: 'APPROX_COUNT_DISTINCT',
};
export const ROW_FUNCTIONS_NOT_SUPPORTED: Record<string, string> = {
  LAG: '`LAG` is not supported; a per-key previous value needs MATCH_RECOGNIZE (next issue)',
  LEAD: '`LEAD` is not supported: a stream cannot look ahead',
  ROW_NUMBER: '`ROW_NUMBER` is not supported yet (Top-N and deduplication queries) (issue 17)',
  RANK: '`RANK` is not supported yet (Top-N queries) (issue 17)',
  DENSE_RANK: '`DENSE_RANK` is not supported yet (Top-N queries) (issue 17)',
  PROCTIME: '`PROCTIME()` is not supported: ganglion computes in event time only (declare a WATERMARK)',
  NOW: '`NOW()` is not supported: results must not depend on the wall clock (replays are byte-identical)',
  CURRENT_TIMESTAMP: '`CURRENT_TIMESTAMP` is not supported: results must not depend on the wall clock',
};
export const WINDOW_BOUNDS: Record<string, { family: string; what: 'start' | 'end' }> = {
  TUMBLE_START: { family: 'TUMBLE', what: 'start' }, TUMBLE_END: { family: 'TUMBLE', what: 'end' }, TUMBLE_ROWTIME: { family: 'TUMBLE', what: 'end' },
  HOP_START: { family: 'HOP', what: 'start' }, HOP_END: { family: 'HOP', what: 'end' }, HOP_ROWTIME: { family: 'HOP', what: 'end' },
  SESSION_START: { family: 'SESSION', what: 'start' }, SESSION_END: { family: 'SESSION', what: 'end' }, SESSION_ROWTIME: { family: 'SESSION', what: 'end' },
};
export const KNOWN_FUNCTIONS = [...Object.keys(AGGREGATES), ...Object.keys(WINDOW_BOUNDS), 'TUMBLE', 'HOP', 'SESSION', 'CUMULATE', 'ZSCORE', 'PREDICT', 'CROSSES_ABOVE', 'CROSSES_BELOW', 'ABS'];

export function durationText(ns: bigint): string {
  for (const [unit, scale] of [['d', 86_400_000_000_000n], ['h', 3_600_000_000_000n], ['m', 60_000_000_000n], ['s', 1_000_000_000n], ['ms', 1_000_000n], ['us', 1_000n]] as const) {
    if (ns !== 0n && ns % scale === 0n) return `${ns / scale}${unit}`;
  }
  return `${ns}ns`;
}

export const norm = (k: string) => k.toLowerCase().replace(/-/g, '_');
export const lower = (s: string) => s.toLowerCase();

/** Option text as the config value its key needs; a bad one is a problem at `pos`. */
export function coerce(value: string, type: OptionType, pos: Pos, key: string): unknown {
  switch (type) {
    case 'string': case 'duration': case 'size': return value;
    case 'number': case 'int': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (type === 'int' && !Number.isInteger(n))) fail(`expected ${type === 'int' ? 'an integer' : 'a number'} for '${key}', found '${value}'`, pos);
      return n;
    }
    case 'bool': {
      const v = value.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') fail(`expected 'true' or 'false' for '${key}', found '${value}'`, pos);
      return v === 'true';
    }
    case 'list': return value.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  }
}
