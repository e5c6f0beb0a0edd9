// Several named input streams in a pipeline file: the `streams:` section
// (name → schema, key, event time, validation), sources naming the stream they
// feed, operators naming the stream they read; the single-`schema:` form is
// one stream called `input`. Problems point at the place in the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parsePipeline, type ConfigIssue } from '../../../host/config/load.js';
import { keyTypeProblem, streamFields, streamsOf } from '../../../host/config/streams.js';
import { pipelineIssues } from '../../../host/config/stream_semantic.js';
import { planPipeline } from '../../../host/pipeline/plan.js';
import { logicalPlan, planText } from '../../../host/plan/logical_plan.js';
import { inputStride } from '../../../host/records.js';

const TWO = `name: tq
sources:
  - { type: file, path: t.jsonl, stream: trades }
  - { type: file, path: q.jsonl, stream: quotes }
streams:
  trades: { schema: { type: trades } }
  quotes:
    schema: { type: quotes, derived: [{ name: spread_x, multiply: [bid, ask] }] }
    event_time: { unit: ms, out_of_orderness: 10ms, idle_timeout: 2s }
event_time: { unit: ms, out_of_orderness: 5ms }
operators:
  - { name: tvol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }
  - { name: tz, type: zscore, field: tvol.sum }
  - { name: qmid, type: window, window: tumbling, size: 1s, field: ask, input: quotes, aggregates: [count, mean] }
  - { name: qz, type: limit, field: qmid.mean, above: 100, input: quotes }
`;

function issues(text: string): ConfigIssue[] {
  try {
    parsePipeline(text, 'p.yaml', { baseDir: '/nonexistent' });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  assert.unreachable('expected a ConfigError');
  return [];
}
const where = (i: ConfigIssue) => `${i.line}:${i.column} ${i.path}: ${i.message}`;

test('the single-schema form is one stream called input, with the top-level settings', () => {
  const c = parsePipeline('name: one\nschema: { type: trades }\nkey: account\noperators: [{ name: w, type: window, window: count, count: 2, aggregates: [count] }]\n', 'p.yaml');
  assert.equal(c.streams.map((s) => [s.name, s.schema.type, s.key, s.declared]), [['input', 'trades', ['account'], false]]);
  const plan = planPipeline(c);
  assert.equal(plan.streams.map((s) => s.name), ['input']);
  assert.equal(plan.inputs, [[0]]);
  assert.is(plan.stride, plan.streams[0].stride);
});

test('streams: each with its schema, key and event time (inherited from the top level when absent); the first is the default', () => {
  const c = parsePipeline(TWO, 'p.yaml');
  assert.equal(streamsOf(c).map((s) => s.name), ['trades', 'quotes']);
  assert.is(c.schema.type, 'trades', 'the top-level view is the first stream');
  assert.is(c.streams[0].event_time.out_of_orderness, 5_000_000n, 'trades inherit the pipeline event_time');
  assert.is(c.streams[1].event_time.out_of_orderness, 10_000_000n);
  assert.is(c.streams[1].event_time.idle_timeout, 2_000_000_000n);
  assert.equal(streamFields(c, 1).key, ['instrument']);
});

test('the plan: per stream record fields and strides; the ring slot is the widest; operators read their stream', () => {
  const plan = planPipeline(parsePipeline(TWO, 'p.yaml'));
  const [t, q] = plan.streams;
  assert.equal(t.recordFields.slice(-1), ['tvol.sum'], 'enrichment slot on the trades records');
  assert.equal(q.recordFields.slice(-2), ['spread_x', 'qmid.mean'], 'derived field and enrichment slot on the quotes records');
  assert.is(t.stride, inputStride(t.recordFields.length));
  assert.is(q.stride, inputStride(q.recordFields.length));
  assert.is(plan.stride, Math.max(t.stride, q.stride));
  assert.equal(plan.inputs, [[0], [0], [1], [1]]);
  assert.is(plan.operators[2].valueField, q.recordFields.indexOf('ask'), 'field index within the quotes record');
  assert.is(plan.operators[2].outOfOrderNs, 10_000_000n, "the window uses its stream's out_of_orderness");
  assert.is(plan.operators[0].outOfOrderNs, 5_000_000n);
});

test('explain shows both streams, their sources and which operators read which', () => {
  const c = parsePipeline(TWO, 'p.yaml');
  const lp = logicalPlan(c, planPipeline(c));
  assert.equal(lp.streams.map((s) => [s.id, s.sources.map((x) => x.detail)]), [['stream:trades', ['t.jsonl']], ['stream:quotes', ['q.jsonl']]]);
  const records = lp.edges.filter((e) => e.carries === 'records').map((e) => `${e.from} -> ${e.to}`);
  assert.equal(records, ['stream:trades -> op:tvol', 'op:tvol -> op:tz', 'stream:quotes -> op:qmid', 'op:qmid -> op:qz']);
  const text = planText(lp);
  assert.match(text, /stream quotes {2}schema quotes, key instrument\n {2}event time ts \(ms\): watermark = max − 10ms/);
  assert.match(text, /qmid {2}\[window\][^\n]*\n {2}◄ records from quotes: reads ask/);
});

test('problems name their place: unknown stream, a field not in the stream read, a window of another stream, schema and streams both', () => {
  const bad = TWO
    .replace('stream: quotes }', 'stream: qoutes }')
    .replace('field: ask, input: quotes', 'field: price, input: quotes')
    .replace('field: qmid.mean, above: 100, input: quotes', 'field: tvol.sum, above: 100, input: quotes')
    .replace("{ name: tz, type: zscore, field: tvol.sum }", "{ name: tz, type: zscore, field: tvol.sum, input: trade }");
  assert.equal(issues(bad).map(where), [
    '4:42 sources[1].stream: expected a stream declared under streams (one of: trades, quotes) (did you mean "quotes"?)',
    '13:55 operators[1].input: expected a stream declared under streams (one of: trades, quotes) (did you mean "trades"?)',
    '14:68 operators[2].field: expected a numeric field (one of: bid, ask, bid_size, ask_size, spread_x)',
    '15:37 operators[3].field: expected a window operator that reads stream quotes: "tvol" reads trades (an operator reads the aggregates of earlier windows on its own stream)',
  ]);
  assert.equal(issues(TWO.replace('streams:', 'schema: { type: trades }\nstreams:')).map((i) => `${i.path}: ${i.message}`), ['streams: expected either schema (one input stream) or streams (several), not both']);
  assert.equal(issues(TWO.replace('  trades: { schema: { type: trades } }', '  trades: { schema: { type: trades }, key: tradr }')).map((i) => `${i.path}: ${i.message}`),
    ['streams.trades.key: expected a key field (one of: instrument, price, qty, side, trader, account, asset_class) (did you mean "trader"?)']);
});

test('two streams with incompatible keys cannot feed one two-input operator', () => {
  const c = parsePipeline(TWO.replace('  quotes:\n', '  quotes:\n    key: bid\n'), 'p.yaml');
  const t = { name: 'trades', fields: streamFields(c, 0) }, q = { name: 'quotes', fields: streamFields(c, 1) };
  assert.is(keyTypeProblem(t, q), 'incompatible keys: trades is keyed by instrument (string), quotes is keyed by bid (number)');
  const same = parsePipeline(TWO, 'p.yaml');
  assert.is(keyTypeProblem({ name: 'trades', fields: streamFields(same, 0) }, { name: 'quotes', fields: streamFields(same, 1) }), undefined);
  // The plan refuses an operator listing both.
  const joined = { ...c, operators: [{ ...c.operators[0], inputs: ['trades', 'quotes'] }] } as unknown as typeof c;
  assert.throws(() => planPipeline(joined), /operator tvol reads trades and quotes: incompatible keys/);
  // The checks of a file with a two-input entry (`inputs:`, which a two-input operator's descriptor accepts).
  const issues = pipelineIssues(joined, '/nonexistent').map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.ok(issues.includes('operators.0.inputs: expected two streams keyed alike (both sides of a key meet in one partition): incompatible keys: trades is keyed by instrument (string), quotes is keyed by bid (number)'), issues.join('\n'));
  const typo = { ...same, operators: [{ ...same.operators[0], inputs: ['trades', 'qoutes'] }] } as unknown as typeof c;
  assert.equal(pipelineIssues(typo, '/nonexistent').map((i) => `${i.path.join('.')}: ${i.message}`), ['operators.0.inputs.1: expected a stream declared under streams (one of: trades, quotes) (did you mean "quotes"?)']);
});

test.run();
