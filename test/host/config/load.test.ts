import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadPipeline, parsePipeline, type ConfigIssue } from '../../../host/config/load.js';
import { eventFields, validationRules } from '../../../host/config/types.js';

const MINIMAL = `name: t
sources:
  - type: synthetic
    seed: 1
schema:
  type: trades
operators:
  - name: vwap_1s
    type: window
    window: tumbling
    size: 1s
    field: price
    weight: qty
    aggregates: [count, vwap]
`;

function issues(text: string, file = 'p.yaml'): ConfigIssue[] {
  try {
    parsePipeline(text, file, { baseDir: '/nonexistent' });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  assert.unreachable('expected a ConfigError');
  return [];
}

test('a minimal pipeline loads with defaults and exact units', () => {
  const c = parsePipeline(MINIMAL, 'p.yaml');
  assert.is(c.name, 't');
  assert.is(c.delivery.mode, 'exactly_once');
  assert.is(c.delivery.checkpoint.interval, 10_000_000_000n);
  assert.is(c.delivery.checkpoint.keep, 3);
  assert.is(c.event_time.idle_timeout, 10_000_000_000n);
  assert.is(c.memory, 64 * 1024 * 1024);
  assert.is(c.partitions, 'auto');
  assert.equal(c.sinks, [{ type: 'stdout' }]);
  const op = c.operators[0];
  assert.is(op.type === 'window' && op.size, 1_000_000_000n);
  const src = c.sources[0];
  assert.is(src.type === 'synthetic' && src.rate, 100_000);
});

test('key_dictionary: defaults, sizes in units, and bounds checked', () => {
  assert.equal(parsePipeline(MINIMAL, 'p.yaml').key_dictionary, { max_keys: 1_000_000, max_key_bytes: 256, max_bytes: 64 * 1024 * 1024 });
  assert.equal(parsePipeline(MINIMAL + 'key_dictionary: { max_keys: 5000, max_key_bytes: 1KiB, max_bytes: 10MiB }\n', 'p.yaml').key_dictionary, { max_keys: 5000, max_key_bytes: 1024, max_bytes: 10 * 1024 * 1024 });
  const bad = issues(MINIMAL + 'key_dictionary: { max_keys: 0, max_key_bytes: 2MiB, max_bytes: 1MiB, max: 3 }\n');
  assert.equal(bad.map((i) => i.path).sort(), ['key_dictionary.max', 'key_dictionary.max_key_bytes', 'key_dictionary.max_keys']);
  const big = issues(MINIMAL + 'key_dictionary: { max_key_bytes: 2MiB, max_bytes: 1MiB }\n');
  assert.equal(big.map((i) => [i.path, i.message]), [['key_dictionary.max_key_bytes', 'expected at most max_bytes (1048576)']]);
  assert.equal(issues(MINIMAL + 'key_dictionary: { max_key_bytes: 0 }\n').map((i) => i.path), ['key_dictionary.max_key_bytes']);
});

test('a wrong duration is reported at its line and column with what was found', () => {
  const [i, ...rest] = issues(MINIMAL.replace('size: 1s', 'size: 1 second'));
  assert.is(rest.length, 0);
  assert.is(i.line, 11);
  assert.is(i.column, 11);
  assert.is(i.path, 'operators[0].size');
  assert.match(i.message, /expected a duration like "500ms"/);
  assert.is(i.found, '"1 second"');
});

test('unknown keys are errors with a suggestion, pointing at the key', () => {
  const typo = issues(MINIMAL.replace('    size: 1s', '    sise: 1s'));
  const unknown = issues(MINIMAL.replace('    size: 1s', '    size: 1s\n    sizee: 2s'));
  assert.is(unknown[0].path, 'operators[0].sizee');
  assert.is(unknown[0].line, 12);
  assert.is(unknown[0].column, 5);
  assert.match(unknown[0].message, /unknown key "sizee" \(did you mean "size"\?\)/);
  assert.ok(typo.some((i) => i.path === 'operators[0].sise' && /unknown key "sise" \(did you mean "size"\?\)/.test(i.message)));
});

test('a bad enum value lists the choices and suggests the nearest', () => {
  const [i] = issues(MINIMAL.replace('type: trades', 'type: trade'));
  assert.is(i.path, 'schema.type');
  assert.is(i.line, 6);
  assert.match(i.message, /one of "trades", "quotes", "payments", "custom" \(did you mean "trades"\?\)/);
  assert.is(i.found, '"trade"');
});

test('an unknown source type names the valid ones', () => {
  const [i] = issues(MINIMAL.replace('type: synthetic', 'type: kafka'));
  assert.is(i.path, 'sources[0].type');
  assert.is(i.line, 3);
  assert.match(i.message, /expected one of ws, mqtt, synthetic, file/);
});

test('a missing required key is reported on its parent', () => {
  const list = issues(MINIMAL.replace('    size: 1s\n', ''));
  assert.is(list.length, 1);
  assert.is(list[0].path, 'operators[0].size');
  assert.match(list[0].message, /missing required key "size" \(a tumbling window needs a size\)/);
  assert.is(list[0].line, 8);
});

test('window settings are checked against the window type', () => {
  const [a] = issues(MINIMAL.replace('window: tumbling', 'window: sliding').replace('size: 1s', 'size: 1s\n    slide: 300ms'));
  assert.is(a.path, 'operators[0].slide');
  assert.match(a.message, /divides the size evenly/);
  const [b] = issues(MINIMAL.replace('    weight: qty\n', ''));
  assert.match(b.message, /missing required key "weight" \(vwap needs the volume field/);
});

test('every problem is reported at once, in file order', () => {
  const list = issues(MINIMAL.replace('name: t', 'name: 1bad').replace('size: 1s', 'size: soon').replace('seed: 1', 'seed: x'));
  assert.equal(list.map((i) => i.path), ['name', 'sources[0].seed', 'operators[0].size']);
  assert.ok(list[0].line < list[1].line && list[1].line < list[2].line);
});

test('semantic checks: unknown fields, references and sinks, with suggestions', () => {
  const text = MINIMAL.replace('field: price', 'field: prce') + `  - name: vol_z
    type: zscore
    field: vwap_1s.sum
  - name: later
    type: limit
    field: nope.sum
    above: 1
sinks:
  - type: stdout
    operators: [vwap1s]
`;
  const list = issues(text);
  assert.equal(list.map((i) => i.path), ['operators[0].field', 'operators[1].field', 'operators[2].field', 'sinks[0].operators[0]']);
  assert.match(list[0].message, /expected a numeric field \(one of: price, qty, side\) \(did you mean "price"\?\)/);
  assert.match(list[1].message, /aggregates window "vwap_1s" computes \(count, vwap\)/);
  assert.match(list[2].message, /no window operator "nope"/);
  assert.match(list[3].message, /did you mean "vwap_1s"/);
  assert.is(list[0].line, 12);
});

test('a window referenced before it is declared is an error', () => {
  const text = MINIMAL.replace('operators:\n', 'operators:\n  - { name: z, type: zscore, field: vwap_1s.vwap }\n');
  const [i] = issues(text);
  assert.is(i.path, 'operators[0].field');
  assert.match(i.message, /declared later/);
});

test('model operators: the file must exist and take as many features as listed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-config-'));
  writeFileSync(join(dir, 'm.json'), JSON.stringify({ learner: { learner_model_param: { num_feature: '3' } } }));
  const base = MINIMAL + '  - { name: m, type: model, model: m.json, features: [price, qty] }\n';
  writeFileSync(join(dir, 'p.yaml'), base);
  assert.throws(() => loadPipeline(join(dir, 'p.yaml')), (e: unknown) => e instanceof ConfigError && /operators\[1\]\.features: expected 3 features \(the model takes 3\), found 2/.test(e.message));
  writeFileSync(join(dir, 'p.yaml'), base.replace('[price, qty]', '[price, qty, vwap_1s.vwap]'));
  const c = loadPipeline(join(dir, 'p.yaml'));
  const m = c.operators[1];
  assert.is(m.type === 'model' && m.model, join(dir, 'm.json'));
  writeFileSync(join(dir, 'p.yaml'), base.replace('m.json', 'missing.json'));
  assert.throws(() => loadPipeline(join(dir, 'p.yaml')), /operators\[1\]\.model: expected an XGBoost JSON model: model file not found/);
});

test('JSON files: syntax errors and schema errors carry line and column', () => {
  const json = JSON.stringify({ name: 't', sources: [{ type: 'synthetic' }], schema: { type: 'trades' }, operators: [{ name: 'w', type: 'window', window: 'count', count: 0, aggregates: ['count'] }] }, null, 2);
  const [i] = issues(json, 'p.json');
  assert.is(i.path, 'operators[0].count');
  assert.is(i.line, json.split('\n').findIndex((l) => l.includes('"count": 0')) + 1);
  assert.match(i.message, /expected a number at least 1/);
  const [s] = issues('{\n  "name": "t",\n  "sources": [1,]\n}', 'p.json');
  assert.is(s.line, 3);
  assert.is(s.column, 17);
  assert.match(s.message, /invalid JSON: unexpected "\]"/);
  const [e] = issues('{"name": ', 'p.json');
  assert.match(e.message, /unexpected end of file/);
});

test('YAML syntax errors and duplicate keys are located', () => {
  const [d] = issues(MINIMAL + 'name: again\n');
  assert.match(d.message, /invalid YAML: Map keys must be unique/);
  assert.is(d.line, 15);
  const [y] = issues('name: t\nsources: [\n');
  assert.match(y.message, /invalid YAML/);
});

test('an unreadable file is an error without a stack', () => {
  assert.throws(() => loadPipeline('/nonexistent/p.yaml'), (e: unknown) => e instanceof ConfigError && e.message === '/nonexistent/p.yaml cannot read pipeline: file not found');
});

test('eventFields: record order, ids, key, derived fields', () => {
  const c = parsePipeline(MINIMAL.replace('type: trades', 'type: trades\n  derived:\n    - { name: notional, multiply: [price, qty] }').replace('schema:', 'key: [trader, asset_class]\nschema:'), 'p.yaml');
  const f = eventFields(c);
  assert.equal(f.all, ['instrument', 'price', 'qty', 'side', 'trader', 'account', 'asset_class', 'notional']);
  assert.equal(f.numbers, ['price', 'qty', 'side', 'notional']);
  assert.equal(f.key, ['trader', 'asset_class']);
  assert.equal(f.derived, [{ field: 7, multiply: [1, 2] }]);
  assert.is(f.type.stride, 24 + 8 * 8);
});

test('a custom schema builds its own event type', () => {
  const c = parsePipeline(MINIMAL.replace('type: trades', 'type: custom\n  fields: [temp, load]\n  strings: [sensor]\n  mapping: { temp: temperature }').replace('field: price\n    weight: qty\n    aggregates: [count, vwap]', 'field: temp\n    aggregates: [count, mean]').replace('type: synthetic\n    seed: 1', 'type: file\n    path: x.jsonl').replace('schema:', 'key: sensor\nschema:'), 'p.yaml');
  const f = eventFields(c);
  assert.equal(f.all, ['temp', 'load', 'sensor']);
  assert.equal(f.type.fields[0].aliases, ['temperature']);
  assert.equal(f.key, ['sensor']);
});

test('validation section becomes the ingest rule list', () => {
  const c = parsePipeline(MINIMAL + 'validation:\n  required: [price]\n  ranges: { price: { min: 0 } }\n  allowed: { side: [buy, sell] }\n  max_length: { instrument: 8 }\n  max_age: 1h\n  max_future: 5s\n', 'p.yaml');
  assert.equal(validationRules(c), [
    { rule: 'required', fields: ['price'] },
    { rule: 'range', field: 'price', min: 0 },
    { rule: 'allowed', field: 'side', values: ['buy', 'sell'] },
    { rule: 'length', field: 'instrument', max: 8 },
    { rule: 'timestamp_window', pastMs: 3_600_000, futureMs: 5000 },
  ]);
  const [i] = issues(MINIMAL + 'validation:\n  ranges: { instrument: { min: 0 } }\n');
  assert.match(i.message, /expected a numeric field/);
  assert.is(i.path, 'validation.ranges.instrument');
});

test.run();
