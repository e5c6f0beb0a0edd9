// The operator list (host/operators/index.ts) is what the YAML schema, the
// semantic checks, planning, the registry, formatting, alerts and explain use:
// each descriptor's pieces are consistent, a pipeline file reaches every
// operator through it (dedup included), and defaults have one home.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parsePipeline, type ConfigIssue } from '../../../host/config/load.js';
import { OPERATORS } from '../../../host/operators/index.js';
import { ALERT_KINDS, isAlert, isAlertOutput, KIND_NAMES, OUTPUT_KINDS } from '../../../host/operators/outputs.js';
import { operatorKinds } from '../../../host/operators/registry.js';
import { planPipeline } from '../../../host/pipeline/plan.js';
import { OUT_ANOMALY, OUT_LATE, OUT_REVISION, OUT_SCORE, OUT_WINDOW } from '../../../host/records.js';
import { ZSCORE_MIN_SAMPLES } from '../../../host/operators/zscore/zscore.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

const HEAD = `name: t
schema: { type: trades, strings: [trade_id] }
operators:
`;

function load(operators: string) {
  return parsePipeline(HEAD + operators, 'p.yaml', { baseDir: ROOT });
}

function issues(operators: string): ConfigIssue[] {
  try {
    load(operators);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  assert.unreachable('expected a ConfigError');
  return [];
}

test('every descriptor: a unique YAML type, registered kinds, a docs page, output kinds the sinks accept', () => {
  const types = OPERATORS.map((d) => d.type);
  assert.equal(types, ['window', 'zscore', 'limit', 'model', 'dedup', 'filter', 'derive', 'over']);
  assert.is(new Set(types).size, types.length);
  for (const d of OPERATORS) {
    for (const kind of Object.keys(d.kinds)) assert.ok(operatorKinds().includes(kind), `${d.type}: registry kind ${kind}`);
    assert.ok(existsSync(join(ROOT, d.docs)), `${d.type}: ${d.docs}`);
    for (const o of d.outputs) {
      assert.ok(OUTPUT_KINDS.includes(o.kind), `${d.type}: ${o.kind}`);
      assert.is(KIND_NAMES[o.code], o.kind);
    }
  }
  // The order sinks, errors and explain list them in: record codes, then dead letters.
  assert.equal(OUTPUT_KINDS, ['window', 'revision', 'anomaly', 'score', 'late', 'over', 'dead_letter']);
  assert.equal([KIND_NAMES[OUT_WINDOW], KIND_NAMES[OUT_REVISION], KIND_NAMES[OUT_ANOMALY], KIND_NAMES[OUT_SCORE], KIND_NAMES[OUT_LATE]],
    ['window', 'revision', 'anomaly', 'score', 'late']);
});

test('an unknown operator type is refused with the types of the list', () => {
  const [i] = issues('  - { name: x, type: dedupe, id: trade_id, ttl: 1m }\n');
  assert.match(i.path, 'operators[0].type');
  for (const t of ['window', 'zscore', 'limit', 'model', 'dedup', 'filter', 'over']) assert.match(i.message, t);
});

test('the alert rule: anomalies always, scores at or above the threshold, nothing else', () => {
  assert.equal([...ALERT_KINDS].sort(), ['anomaly', 'score']);
  assert.ok(isAlert('anomaly', undefined, NaN));
  assert.ok(isAlert('score', { threshold: 0.8 }, 0.8));
  assert.not.ok(isAlert('score', { threshold: 0.8 }, 0.79));
  assert.not.ok(isAlert('score', {}, NaN));
  assert.ok(isAlert('score', {}, 0.5), 'default threshold 0.5');
  assert.not.ok(isAlert('window', undefined, 1e9));
  assert.not.ok(isAlert('late', undefined, 1));
  assert.ok(isAlertOutput({ kind: 'anomaly' }));
  assert.ok(isAlertOutput({ kind: 'score', alert: true }));
  assert.not.ok(isAlertOutput({ kind: 'score', alert: false }));
  assert.not.ok(isAlertOutput({ kind: 'window', alert: true }), 'only a kind that can alert');
  assert.not.ok(isAlertOutput({ kind: 'dead_letter' }));
});

test('z-score min_samples: one default (30, at most the window), the same as the operator API', () => {
  assert.is(ZSCORE_MIN_SAMPLES, 30);
  const plan = (yaml: string) => planPipeline(load(yaml), ROOT).operators[0];
  assert.is(plan('  - { name: z, type: zscore, field: price }\n').minSamples, 30);
  assert.is(plan('  - { name: z, type: zscore, field: price, mode: window, window: 20 }\n').minSamples, 20);
  assert.is(plan('  - { name: z, type: zscore, field: price, mode: window, window: 64 }\n').minSamples, 30);
  assert.is(plan('  - { name: z, type: zscore, field: price, min_samples: 5 }\n').minSamples, 5);
  const [i] = issues('  - { name: z, type: zscore, field: price, mode: window, window: 20, min_samples: 21 }\n');
  assert.is(i.path, 'operators[0].min_samples');
  assert.match(i.message, 'expected min_samples at most the window (20)');
});

test('dedup from a pipeline file: the id field resolves to its record slot, ttl in ns, capacity passed on', () => {
  const c = load('  - { name: dedup_trades, type: dedup, id: trade_id, ttl: 10m, capacity: 4096 }\n  - { name: w, type: window, window: tumbling, size: 1s, field: qty, aggregates: [sum] }\n');
  const p = planPipeline(c, ROOT);
  assert.equal(p.operators[0], { kind: 'dedup', name: 'dedup_trades', field: p.recordFields.indexOf('trade_id'), ttlNs: 600_000_000_000n, capacity: 4096 });
  assert.equal(p.meta[0], { name: 'dedup_trades', type: 'dedup' });
  // A numeric id (a sequence number) is an id too.
  assert.is(planPipeline(load('  - { name: d, type: dedup, id: qty, ttl: 1s }\n'), ROOT).operators[0].field, p.recordFields.indexOf('qty'));
});

test('dedup config errors point at the line', () => {
  let [i] = issues('  - { name: d, type: dedup, id: trade_idd, ttl: 1m }\n');
  assert.is(i.path, 'operators[0].id');
  assert.match(i.message, 'expected a field (a number or a string id)');
  assert.match(i.message, 'trade_id');
  [i] = issues('  - { name: d, type: dedup, id: trade_id, ttl: 0s }\n');
  assert.is(i.path, 'operators[0].ttl');
  assert.match(i.message, 'expected a ttl greater than 0');
  [i] = issues('  - { name: d, type: dedup, id: trade_id }\n');
  assert.is(i.path, 'operators[0].ttl');
  [i] = issues('  - { name: d, type: dedup, id: trade_id, ttl: 1m, ttl_ms: 5 }\n');
  assert.match(i.message, 'unknown key "ttl_ms"');
});

test('model output: margin reaches the scoring operator (it was planned under a key the factory did not read)', () => {
  const model = 'examples/models/xgb_fraud_binary.json';
  const feats = '[price, qty, price, qty, price, qty, price, qty]';
  const c = load(`  - { name: m, type: model, model: ${model}, features: ${feats}, output: margin }\n`);
  assert.is(planPipeline(c, ROOT).operators[0].output, 'margin');
  const d = load(`  - { name: m, type: model, model: ${model}, features: ${feats} }\n`);
  assert.is(planPipeline(d, ROOT).operators[0].output, undefined, 'probability is the operator default');
  assert.is(planPipeline(d, ROOT).meta[0].alertsOnly, true, 'emit: alerts (the default) keeps only alerts');
});

test.run();
