// `type: filter` from outside: `ganglion run` (a real process, both engines)
// on a pipeline file with a filter in front of a tumbling window over a
// recorded trade file. The windows must be exactly DuckDB's over the same
// file with the same WHERE. And a bad condition is refused by `ganglion
// validate` at the place: the YAML value's line and column, and the column in
// the condition.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/trades_file.js';
import { ganglionExit } from '../../helpers/ganglion.js';
import { finalWindows, readOutputs } from '../../helpers/outputs.js';
import { ConfigError, parsePipeline } from '../../../host/config/load.js';
import { planPipeline } from '../../../host/pipeline/plan.js';

const T0 = 1_767_623_400_000; // 2026-01-05T14:30:00Z, ms
const INSTRUMENTS = ['AAPL', 'MSFT', 'XOM', 'NVDA', 'TSLA'];
const WHERE = "price * qty > 20000 AND instrument <> 'XOM' OR side = -1 AND qty BETWEEN 100 AND 200";

function feed(seed: number, n: number): string[] {
  const r = rng(seed);
  const lines: string[] = [];
  let ts = T0;
  for (let i = 0; i < n; i++) {
    ts += Math.floor(r() * 6);
    const instrument = INSTRUMENTS[Math.floor(r() * INSTRUMENTS.length)];
    lines.push(JSON.stringify({ ts, instrument, price: Math.round((50 + r() * 150) * 100) / 100, qty: 1 + Math.floor(r() * 300), side: r() < 0.5 ? 'buy' : 'sell' }));
  }
  return lines;
}

const pipeline = (input: string, out: string, where: string) => `name: filter_run
sources:
  - { type: file, path: ${JSON.stringify(input)} }
schema: { type: trades }
event_time: { unit: ms, out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - name: big_trades
    type: filter
    where: ${JSON.stringify(where)}
  - { name: vol_1s, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum, max] }
partitions: 2
sinks: [{ type: jsonl, path: ${JSON.stringify(out)} }]
`;

test('filter then tumbling window: windows equal DuckDB with the same WHERE, on both engines', async () => {
  const dir = tempDir('ganglion-filter-');
  try {
    const input = join(dir.path, 'trades.jsonl');
    writeFileSync(input, feed(11, 6000).join('\n') + '\n');
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    await db.run(`CREATE TABLE ev AS SELECT ts, instrument, price, qty, CASE side WHEN 'buy' THEN 1.0 ELSE -1.0 END AS side
      FROM read_json('${input}', format = 'newline_delimited', columns = {ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE', side: 'VARCHAR'})`);
    const want = (await db.runAndReadAll(`SELECT instrument AS k, epoch_ms(time_bucket(INTERVAL 1 SECOND, epoch_ms(ts))) AS ws, count(*) AS c, sum(qty) AS s, max(qty) AS m
      FROM ev WHERE ${WHERE} GROUP BY 1, 2`)).getRowObjects();
    const total = Number((await db.runAndReadAll('SELECT count(*) AS c FROM ev')).getRowObjects()[0].c);
    const kept = want.reduce((a, w) => a + Number(w.c), 0);
    assert.ok(kept > total / 10 && kept < total * 0.9, `the WHERE keeps some and drops some (${kept} of ${total})`);
    assert.ok(want.some((w) => w.k === 'XOM'), 'XOM trades kept by the OR branch');
    db.closeSync();

    for (const engine of ['wasm', 'js']) {
      const out = join(dir.path, `out-${engine}.jsonl`);
      const yaml = join(dir.path, `filter-${engine}.yaml`);
      writeFileSync(yaml, pipeline(input, out, WHERE));
      const r = await ganglionExit(['run', yaml, '--data-dir', join(dir.path, `data-${engine}`), '--no-status', '--engine', engine]);
      assert.is(r.code, 0, r.stderr);
      const outs = readOutputs(out);
      assert.equal(outs.filter((o) => o.kind === 'late'), [], `${engine}: no late events`);
      const got = finalWindows(outs, 'vol_1s');
      assert.is(got.size, want.length, `${engine}: as many windows as DuckDB`);
      for (const w of want) {
        const o = got.get(`${w.k}|${BigInt(w.ws as bigint) * 1_000_000n}`);
        assert.ok(o, `${engine}: window ${w.k} ${w.ws}`);
        assert.is(o!.values!.count, Number(w.c), `${engine}: ${w.k} ${w.ws} count`);
        assert.is(o!.values!.sum, Number(w.s), `${engine}: ${w.k} ${w.ws} sum`);
        assert.is(o!.values!.max, Number(w.m), `${engine}: ${w.k} ${w.ws} max`);
      }
    }
  } finally {
    dir.remove();
  }
});

test('a bad condition is refused at its place: file:line:col of the value, the column in the condition', async () => {
  const dir = tempDir('ganglion-filter-bad-');
  try {
    const yaml = join(dir.path, 'bad.yaml');
    writeFileSync(yaml, pipeline(join(dir.path, 'none.jsonl'), join(dir.path, 'out.jsonl'), 'price * qtty > 1000'));
    const r = await ganglionExit(['validate', yaml]);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /bad\.yaml:9:12/, r.stderr);
    assert.match(r.stderr, /unknown field "qtty"/);
    assert.match(r.stderr, /did you mean "qty"/i);
    assert.match(r.stderr, /column 9 of the condition/);

    writeFileSync(yaml, pipeline(join(dir.path, 'none.jsonl'), join(dir.path, 'out.jsonl'), 'price + 1'));
    const r2 = await ganglionExit(['validate', yaml]);
    assert.is.not(r2.code, 0);
    assert.match(r2.stderr, /bad\.yaml:9:12/, r2.stderr);
    assert.match(r2.stderr, /condition|bool/i, r2.stderr);
  } finally {
    dir.remove();
  }
});

test('a filter on a second stream names that stream\'s fields (checked and planned against them)', () => {
  const yaml = (where: string) => `name: two
sources: [{ type: synthetic, rate: 10, stream: trades }]
streams:
  trades: { schema: { type: trades } }
  quotes: { schema: { type: quotes } }
event_time: { unit: ms, out_of_orderness: 5ms }
operators:
  - { name: qf, type: filter, where: "${where}", input: quotes }
  - { name: qmid, type: window, window: tumbling, size: 1s, field: ask, input: quotes, aggregates: [count, mean] }
`;
  const plan = planPipeline(parsePipeline(yaml("ask - bid > 0.5 AND instrument = 'AAPL'"), 'p.yaml'));
  const f = plan.operators[0] as unknown as { fields: Array<{ name: string; slot: number }>; strings: string[] };
  const quotes = plan.streams[1].recordFields;
  assert.is(f.fields.find((x) => x.name === 'ask')!.slot, quotes.indexOf('ask'), 'slots of the quotes record');
  assert.equal(f.strings, ['AAPL']);
  try {
    parsePipeline(yaml('qty > 1'), 'p.yaml');
    assert.unreachable('qty is a trades field');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match((e as Error).message, /p\.yaml:8:\d+ operators\[0\]\.where: unknown field "qty" \(fields: ts, instrument, bid, ask/);
  }
});

test.run();
