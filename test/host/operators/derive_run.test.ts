// `type: derive` and an operator's own `where` from outside: `ganglion replay`
// (both engines, 1 and 3 partitions) of a YAML pipeline over a trade file with
// NULL prices: a derive computes notional and a CASE, three windows read the
// derived fields, two of them with their own `where` (each sees only its
// events, the others every event), and a limit on a derived field. Every
// window and every flagged event must be DuckDB's over the same file. And the
// mistakes a user makes with derived fields are refused at their place.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/trades_file.js';
import { ganglion, ganglionExit } from '../../helpers/ganglion.js';
import { finalWindows, readOutputs } from '../../helpers/outputs.js';
import { compareWindows } from '../../helpers/sql_reference.js';

const T0 = 1_767_623_400_000;
const KEYS = ['AAPL', 'MSFT', 'XOM', 'NVDA'];

function feed(seed: number, n: number): string[] {
  const r = rng(seed);
  let ts = T0;
  return Array.from({ length: n }, () => {
    ts += 1 + Math.floor(r() * 5);
    const price = r() < 0.05 ? null : Math.round((50 + r() * 150) * 100) / 100;
    return JSON.stringify({ ts, instrument: KEYS[Math.floor(r() * KEYS.length)], price, qty: 1 + Math.floor(r() * 300), side: r() < 0.5 ? 'buy' : 'sell' });
  });
}

const pipeline = (extra: string) => `name: derive_run
schema: { type: trades }
event_time: { unit: ms, out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - name: enrich
    type: derive
    fields:
      notional: "price * qty"
      lot: "CASE WHEN qty >= 200 THEN 'block' WHEN qty >= 50 THEN 'round' ELSE 'odd' END"
      buy: "side = 1"
      notional0: "COALESCE(price, 0) * qty"
  - { name: all_1s, type: window, window: tumbling, size: 1s, field: notional0, aggregates: [count, sum, max] }
  - { name: blocks_1s, type: window, window: tumbling, size: 1s, field: notional0, aggregates: [count, sum, min], where: "lot = 'block' AND instrument <> 'XOM'" }
  - { name: buys_1s, type: window, window: sliding, size: 2s, slide: 500ms, field: qty, aggregates: [count, sum], where: "buy = 1 OR notional IS NULL" }
  - { name: big, type: limit, field: notional, above: 40000, emit: every, where: "lot <> 'odd'" }
${extra}`;

test('derived fields and per-operator where: windows and limit flags equal DuckDB, both engines, 1 and 3 partitions', async () => {
  const dir = tempDir('ganglion-derive-');
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const input = join(dir.path, 'trades.jsonl');
    writeFileSync(input, feed(5, 6000).join('\n') + '\n');
    await db.run(`CREATE TABLE ev AS SELECT row_number() OVER () AS n, ts, instrument AS k, price, qty, CASE side WHEN 'buy' THEN 1.0 ELSE -1.0 END AS side
      FROM read_json('${input}', format = 'newline_delimited', columns = {ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE', side: 'VARCHAR'})`);
    await db.run(`CREATE TABLE d AS SELECT *, price * qty AS notional,
      CASE WHEN qty >= 200 THEN 'block' WHEN qty >= 50 THEN 'round' ELSE 'odd' END AS lot, CASE WHEN side = 1 THEN 1.0 ELSE 0.0 END AS buy,
      coalesce(price, 0) * qty AS notional0 FROM ev`);
    const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjects();
    const tum = (aggs: string, where: string) => rows(`SELECT k, (ts // 1000) * 1000 AS ws, count(*) AS c, ${aggs} FROM d WHERE ${where} GROUP BY k, ws`);
    // A window over a NULL value gives NULL (NaN propagates, docs/operators/windows.md), SQL's SUM skips it: the windows aggregate COALESCE(price, 0) * qty.
    const all = await tum('sum(notional0) AS s, max(notional0) AS mx', 'TRUE');
    const blocks = await tum('sum(notional0) AS s, min(notional0) AS mn', "lot = 'block' AND k <> 'XOM'");
    const buys = await rows(`SELECT k, (ts // 500) * 500 - j * 500 AS ws, count(*) AS c, sum(qty) AS s FROM d CROSS JOIN range(0, 4) AS t(j)
      WHERE buy = 1 OR notional IS NULL GROUP BY k, ws`);
    const big = new Set((await rows(`SELECT n FROM d WHERE notional > 40000 AND lot <> 'odd'`)).map((r) => Number(r.n)));
    const blockEvents = blocks.reduce((a, w) => a + Number(w.c), 0);
    assert.ok(blockEvents > 500 && blockEvents < 4000 && big.size > 50, `the conditions keep some and drop some (${blockEvents} block events, ${big.size} big)`);
    const wkey = (r: Record<string, unknown>) => `${r.k}|${BigInt(r.ws as bigint) * 1_000_000n}`;

    const yaml = join(dir.path, 'p.yaml');
    writeFileSync(yaml, pipeline(''));
    const explain = ganglion(['explain', yaml]);
    assert.is(await explain.exited, 0, explain.stderr);
    assert.match(explain.stdout, /writes notional: f64 \(enrich\), lot: string \(enrich\), buy: f64 \(enrich\), notional0: f64 \(enrich\)/);
    assert.match(explain.stdout, /carrying notional: f64 \(enrich\), lot: string \(enrich\), buy: f64 \(enrich\), notional0: f64 \(enrich\)/);
    assert.match(explain.stdout, /over the events where lot = 'block' AND instrument <> 'XOM'/);
    let reference: string | undefined;
    for (const [engine, partitions] of [['wasm', '1'], ['js', '1'], ['wasm', '3']]) {
      const out = join(dir.path, `out-${engine}-${partitions}.jsonl`);
      const r = await ganglionExit(['replay', yaml, '--input', input, '--output', out, '--engine', engine, '--partitions', partitions]);
      assert.is(r.code, 0, r.stderr);
      const outs = readOutputs(out);
      assert.equal(outs.filter((o) => o.kind === 'late' || o.kind === 'dead_letter'), [], 'nothing late or refused');
      compareWindows('all_1s', finalWindows(outs, 'all_1s'), all, wkey, [['sum', 's'], ['max', 'mx']]);
      compareWindows('blocks_1s', finalWindows(outs, 'blocks_1s'), blocks, wkey, [['sum', 's'], ['min', 'mn']]);
      compareWindows('buys_1s', finalWindows(outs, 'buys_1s'), buys, wkey, [['sum', 's']]);
      const flagged = outs.filter((o) => o.kind === 'anomaly' && o.op === 'big').map((o) => Number(o.seq));
      const missing = [...big].filter((n) => !flagged.includes(n)), extra = flagged.filter((n) => !big.has(n));
      assert.equal({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${engine}/${partitions}: the limit flags exactly DuckDB's events (${flagged.length} vs ${big.size})`);
      assert.is(flagged.length, big.size, 'each once');
      // Both engines and any partition count write the same outputs.
      const lines = outs.map((o) => JSON.stringify(o)).sort().join('\n');
      if (reference === undefined) reference = lines;
      else assert.ok(lines === reference, `${engine}/${partitions}: the same outputs as wasm/1`);
    }
  } finally {
    db.closeSync();
    instance.closeSync();
    dir.remove();
  }
});

test('derived-field mistakes are refused at their place', async () => {
  const dir = tempDir('ganglion-derive-bad-');
  try {
    const yaml = join(dir.path, 'bad.yaml');
    const cases: Array<[string, RegExp[]]> = [
      // A window reading a derived field before the derive.
      [`name: d
schema: { type: trades }
operators:
  - { name: w, type: window, window: tumbling, size: 1s, field: notional, aggregates: [sum] }
  - { name: e, type: derive, fields: { notional: "price * qty" } }
`, [/bad\.yaml:4:\d+/, /expected a numeric field/, /notional/]],
      // Misspelt field, with did-you-mean and the column in the expression.
      [`name: d
schema: { type: trades }
operators:
  - { name: e, type: derive, fields: { notional: "price * qtty" } }
  - { name: w, type: window, window: tumbling, size: 1s, field: notional, aggregates: [sum] }
`, [/bad\.yaml:4:\d+/, /unknown field "qtty"/, /did you mean "qty"/i, /column 9 of the expression/]],
      // A sibling field of the same derive.
      [`name: d
schema: { type: trades }
operators:
  - { name: e, type: derive, fields: { notional: "price * qty", twice: "notional * 2" } }
  - { name: w, type: window, window: tumbling, size: 1s, field: twice, aggregates: [sum] }
`, [/unknown field "notional"/, /second derive/]],
      // A name that is already a field; a timestamp value.
      [`name: d
schema: { type: trades }
operators:
  - { name: e, type: derive, fields: { price: "price * 2", later: "ts + INTERVAL '1' SECOND" } }
  - { name: w, type: window, window: tumbling, size: 1s, field: qty, aggregates: [sum] }
`, [/"price" is already a field here/, /a timestamp cannot be stored/]],
      // A window with its own where cannot enrich the others.
      [`name: d
schema: { type: trades }
operators:
  - { name: w, type: window, window: tumbling, size: 1s, field: qty, aggregates: [sum], where: "qty > 10" }
  - { name: z, type: zscore, field: w.sum }
`, [/bad\.yaml:5:\d+/, /window without its own where/]],
      // A bad where on an operator.
      [`name: d
schema: { type: trades }
operators:
  - { name: w, type: window, window: tumbling, size: 1s, field: qty, aggregates: [sum], where: "qty + 1" }
`, [/bad\.yaml:4:\d+/, /condition/]],
    ];
    for (const [text, want] of cases) {
      writeFileSync(yaml, text);
      const r = await ganglionExit(['validate', yaml]);
      assert.is.not(r.code, 0, text);
      for (const re of want) assert.match(r.stderr, re, `${text}\n${r.stderr}`);
    }
  } finally {
    dir.remove();
  }
});

test.run();
