import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCommand } from '../../../host/cli/validate.js';

const examples = new URL('../../../examples/', import.meta.url).pathname;

async function run(file: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await validateCommand({ file, out: (l) => out.push(l), err: (l) => err.push(l) });
  process.exitCode = 0;
  return { code, out, err };
}

test('a valid pipeline prints ok and exits 0', async () => {
  const r = await run(join(examples, 'market-surveillance.yaml'));
  assert.is(r.code, 0);
  assert.equal(r.out, ['ok']);
  assert.equal(r.err, []);
});

test('an invalid pipeline prints each problem at its place and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-validate-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: bad\nsources: [{ type: synthetic }]\nschema: { type: trades }\noperators:\n  - { name: w, type: window, window: tumbling, size: 5 seconds, aggregates: [count] }\n  - { name: z, type: zscore, field: pricee }\n');
  const r = await run(file);
  assert.is(r.code, 1);
  assert.equal(r.out, []);
  // One pass: the bad duration does not hide the bad field reference of the next operator.
  assert.equal(r.err, [
    `${file}:5:54 operators[0].size: expected a duration like "500ms", "5s", "1m", "1h" or "1d" (units ns, us, ms, s, m, h, d), found "5 seconds"`,
    `${file}:6:37 operators[1].field: expected a numeric field or <window operator>.<aggregate> (one of: price, qty, side) (did you mean "price"?), found "pricee"`,
    `2 problems in ${file}`,
  ]);
  writeFileSync(file, 'name: bad\nsources: [{ type: synthetic }]\nschema: { type: trades }\noperators:\n  - { name: z, type: zscore, field: pricee }\n');
  const s = await run(file);
  assert.equal(s.err, [`${file}:5:37 operators[0].field: expected a numeric field or <window operator>.<aggregate> (one of: price, qty, side) (did you mean "price"?), found "pricee"`, `1 problem in ${file}`]);
});

test('a missing file is one clear line, no stack', async () => {
  const r = await run('/nonexistent/pipeline.yaml');
  assert.is(r.code, 1);
  assert.equal(r.err, ['/nonexistent/pipeline.yaml cannot read pipeline: file not found', '1 problem in /nonexistent/pipeline.yaml']);
});

test.run();
