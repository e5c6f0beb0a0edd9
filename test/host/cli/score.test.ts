import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { parseCell, readFeatures, scoreCommand } from '../../../host/cli/score.js';
import { loadXgboostModel } from '../../../host/model/xgboost.js';
import { BIN, CLI_ENV } from '../../helpers/ganglion.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const FIX = join(ROOT, 'test/fixtures/xgb/');
const dir = mkdtempSync(join(tmpdir(), 'ganglion-score-'));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'score', ...args], { cwd: ROOT, encoding: 'utf8', env: CLI_ENV });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const csv = (text: string) => parse(text, { columns: true }) as Record<string, string>[];
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('fraud fixture through the CLI: pred0 per row, one timing line on stderr', () => {
  const { code, out, err } = cli('--model', FIX + 'xgb_fraud_binary.json', '--input', FIX + 'xgb_fraud_binary.cases.csv');
  assert.is(code, 0, err);
  const want = csv(readFileSync(FIX + 'xgb_fraud_binary.cases.csv', 'utf8'));
  const got = csv(out);
  assert.is(out.split('\n')[0], 'pred0');
  assert.is(got.length, 1000);
  got.forEach((r, i) => near(Number(r.pred0), Number(want[i].pred0), `row ${i}`));
  assert.match(err, /^scored 1000 rows in \d+\.\d{3} ms \(\d+\.\d ns\/row\)\n$/);
});

test('--margin --output with the JS engine: named features, reordered and extra columns', () => {
  // Reverse the columns and add unrelated ones: features are found by name.
  const src = csv(readFileSync(FIX + 'multi_softprob.cases.csv', 'utf8')).slice(0, 60);
  const names = ['px', 'qty', 'spread', 'imbalance', 'vol'];
  const input = join(dir, 'named.csv');
  writeFileSync(input, ['account,' + [...names].reverse().join(',') + ',note', ...src.map((r, i) => `acc${i},${[...names].reverse().map((n) => r[n]).join(',')},"x, y"`)].join('\n') + '\n');
  const output = join(dir, 'named.out.csv');
  const { code, out, err } = cli('--model', FIX + 'multi_softprob.json', '--input', input, '--margin', '--output', output, '--engine', 'js');
  assert.is(code, 0, err);
  assert.is(out, '');
  assert.match(err, /^scored 60 rows in /);
  const text = readFileSync(output, 'utf8');
  assert.is(text.split('\n')[0], 'margin0,margin1,margin2');
  csv(text).forEach((r, i) => { for (let g = 0; g < 3; g++) near(Number(r['margin' + g]), Number(src[i]['margin' + g]), `row ${i} margin${g}`); });
});

test('multi:softmax prints the class index', async () => {
  const output = join(dir, 'softmax.out.csv');
  await scoreCommand({ model: FIX + 'multi_softmax.json', input: FIX + 'multi_softmax.cases.csv', output });
  const want = csv(readFileSync(FIX + 'multi_softmax.cases.csv', 'utf8'));
  const got = csv(readFileSync(output, 'utf8'));
  assert.is(got.length, want.length);
  got.forEach((r, i) => { assert.is(Object.keys(r).join(), 'pred0'); assert.is(r.pred0, String(Number(want[i].pred0))); });
});

test('cells: empty, nan and inf are values XGBoost accepts; anything else is refused', () => {
  assert.ok(Number.isNaN(parseCell('')));
  assert.ok(Number.isNaN(parseCell(' NaN ')));
  assert.is(parseCell('-1.5e3'), -1500);
  assert.is(parseCell('.5'), 0.5);
  assert.is(parseCell('-inf'), -Infinity);
  for (const bad of ['abc', '1,5', '0x10', '1e', '--1', '12abc', 'true']) assert.is(parseCell(bad), undefined, bad);
});

test('bad rows and columns: precise error, exit 1, no stack trace', () => {
  const model = loadXgboostModel(FIX + 'xgb_fraud_binary.json');
  const header = 'f0,f1,f2,f3,f4,f5,f6,f7';
  assert.throws(() => readFeatures(`${header}\n1,2,3,4,5,6,7,8\n1,2,3,x4,5,6,7,8\n`, model, 'in.csv'), /in\.csv: row 2 \(line 3\), column "f3": "x4" is not a number/);
  assert.throws(() => readFeatures('f0,f1\n1,2\n', model, 'in.csv'), /in\.csv: no column "f2" in the header; feature columns must be f0\.\.f7 \(the model has no feature_names\)/);
  assert.throws(() => readFeatures(`${header},f0\n`, model, 'in.csv'), /in\.csv: column "f0" appears twice/);
  assert.throws(() => readFeatures(`${header}\n1,2,3\n`, model, 'in.csv'), /in\.csv: not valid CSV \(Invalid Record Length/);
  assert.throws(() => readFeatures('', model, 'in.csv'), /in\.csv: empty file/);
  const named = loadXgboostModel(FIX + 'binary_logistic_named.json');
  assert.throws(() => readFeatures('f0,f1,f2,f3,f4,f5\n', named, 'in.csv'), /no column "amount" in the header; feature columns must be the model's feature_names: amount, velocity/);

  const input = join(dir, 'bad.csv');
  writeFileSync(input, `id,${header}\n7,1,2,3,4,5,6,7,8\n8,1,2,3,4,5,6,7,8\n9,1,2,3,4,5,six,7,8\n`);
  const r = cli('--model', FIX + 'xgb_fraud_binary.json', '--input', input);
  assert.is(r.code, 1);
  assert.is(r.out, '');
  assert.is(r.err, `ganglion: ${input}: row 3 (line 4), column "f5": "six" is not a number\n`);

  const trunc = join(dir, 'trunc.json');
  writeFileSync(trunc, readFileSync(FIX + 'xgb_fraud_binary.json', 'utf8').slice(0, 9000));
  const t = cli('--model', trunc, '--input', input);
  assert.is(t.code, 1);
  assert.match(t.err, new RegExp(`^ganglion: ${trunc}: not valid JSON \\(.*\\); is the file complete\\?\\n$`));

  const unsupported = join(dir, 'obj.json');
  const doc = JSON.parse(readFileSync(FIX + 'xgb_fraud_binary.json', 'utf8'));
  doc.learner.objective.name = 'reg:quantileerror';
  writeFileSync(unsupported, JSON.stringify(doc));
  const u = cli('--model', unsupported, '--input', input);
  assert.is(u.code, 1);
  assert.match(u.err, new RegExp(`^ganglion: ${unsupported}: unsupported objective "reg:quantileerror"`));
  assert.not.match(u.err + t.err + r.err, /\n\s+at /);

  const missing = cli('--model', FIX + 'xgb_fraud_binary.json', '--input', join(dir, 'absent.csv'));
  assert.is(missing.err, `ganglion: ${join(dir, 'absent.csv')}: cannot read input (no such file)\n`);
  const engine = cli('--model', FIX + 'xgb_fraud_binary.json', '--input', input, '--engine', 'gpu');
  assert.is(engine.err, 'ganglion: --engine must be wasm or js, got "gpu"\n');
});

test('zero rows: header only', async () => {
  const input = join(dir, 'empty.csv');
  writeFileSync(input, 'f0,f1,f2,f3,f4,f5,f6,f7\n');
  const output = join(dir, 'empty.out.csv');
  await scoreCommand({ model: FIX + 'xgb_fraud_binary.json', input, output, margin: true });
  assert.is(readFileSync(output, 'utf8'), 'margin0\n');
});

test.run();
