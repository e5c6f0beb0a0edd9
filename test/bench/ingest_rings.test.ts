import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parsePipeline } from '../../host/config/load.js';
import { ringsPipelineDoc, RINGS_NAMES } from '../../bench/ingest_rings.bench.js';
import { E2eError } from '../../bench/service.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const example = join(root, 'examples', 'market-surveillance.yaml');
const dir = mkdtempSync(join(tmpdir(), 'rings-test-'));
const ports = { dir, wsPort: 40011, serverPort: 40012 };

test('the bench pipeline is the example\'s ingest half with one limit check that validation keeps from firing', () => {
  const doc = ringsPipelineDoc(example, ports, { type: 'ws', host: '127.0.0.1', port: 40011 });
  const config = parsePipeline(stringify(doc), join(dir, 'p.yaml')) as any;
  const ex = parsePipeline(readFileSync(example, 'utf8'), example) as any;
  assert.equal(config.operators.map((o: any) => [o.type, o.field, o.above]), [['limit', 'price', 1e7]]);
  assert.ok(ex.validation.ranges.price.max < config.operators[0].above);
  assert.equal(config.validation, ex.validation);
  assert.equal([config.schema, config.key, config.event_time, config.delivery.mode], [ex.schema, ex.key, ex.event_time, ex.delivery.mode]);
  assert.equal(config.sources.map((s: any) => [s.type, s.port]), [['ws', 40011]]);
  assert.equal([config.server.port, config.server.dashboard], [40012, false]);
  assert.ok(config.sinks.every((s: any) => s.type !== 'jsonl' || s.path.startsWith(dir)));
  assert.ok(config.delivery.checkpoint.dir.startsWith(dir));
});

test('an example whose validation would let the limit fire is refused, not measured', () => {
  const loose = join(dir, 'loose.yaml');
  writeFileSync(loose, 'name: x\nschema: { type: trades }\nvalidation: { ranges: { price: { min: 0 } } }\noperators: [{ name: a, type: limit, field: price, above: 1 }]\n');
  assert.throws(() => ringsPipelineDoc(loose, ports, { type: 'ws' }), (e: Error) => e instanceof E2eError && /price\.max below/.test(e.message));
});

test('result names say what they measure and are unique', () => {
  const names = Object.values(RINGS_NAMES);
  assert.ok(names.every((n) => n.startsWith('ingest→rings ')));
  assert.is(new Set(names).size, names.length);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
