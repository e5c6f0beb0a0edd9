// SQL WHERE on a window view: planned as the window's own `where` (the job's
// other views see every event), and the windows are DuckDB's for the same
// query over the same file (NULL prices included: SQL WHERE drops a NULL
// condition, and so must ganglion).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ganglion as spawnGanglion, ganglionExit as ganglion } from '../../helpers/ganglion.js';
import { finalWindows, readOutputs } from '../../helpers/outputs.js';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/trades_file.js';

const T0 = 1767623400000;
const KEYS = ['AAPL', 'MSFT', 'XOM', 'NVDA'];

function input(seed: number, n: number): string[] {
  const r = rng(seed);
  let ts = T0;
  return Array.from({ length: n }, () => {
    ts += 1 + Math.floor(r() * 20);
    const price = r() < 0.05 ? null : Math.round((50 + r() * 150) * 100) / 100;
    return JSON.stringify({ ts, instrument: KEYS[Math.floor(r() * KEYS.length)], price, qty: 1 + Math.floor(r() * 300) });
  });
}

const table = (events: string) => `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE NOT NULL,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
`;

const WHEREs = [
  "t.price * qty > 15000 AND instrument <> 'XOM'",
  "price IS NULL OR instrument IN ('AAPL', 'NVDA') AND qty BETWEEN 50 AND 150",
  'NOT (price > 120) AND COALESCE(price, 0) >= 0',
];

for (const [i, where] of WHEREs.entries()) {
  test(`WHERE ${where}: the window's own where, DuckDB's windows`, async () => {
    const dir = tempDir('ganglion-sql-where-');
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      const events = join(dir.path, 'events.jsonl');
      writeFileSync(events, input(i + 1, 4000).join('\n') + '\n');
      const job = join(dir.path, 'job.sql');
      writeFileSync(job, table(events) + `CREATE VIEW w AS SELECT instrument, TUMBLE_START(ts, INTERVAL '1' SECOND) AS ws, COUNT(*) AS c, SUM(qty) AS s
  FROM trades AS t WHERE ${where} GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);\n`);
      const explain = await ganglion(['explain', job]);
      assert.is(explain.code, 0, explain.stderr);
      const out = join(dir.path, 'out.jsonl');
      const run = await ganglion(['replay', job, '--input', events, '--output', out]);
      assert.is(run.code, 0, run.stderr);
      const outs = readOutputs(out);
      assert.is(outs.filter((o) => o.kind === 'late' || o.kind === 'dead_letter').length, 0, 'nothing late or refused');
      await db.run(`CREATE TABLE t AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
      const want = (await db.runAndReadAll(`SELECT instrument AS k, (ts // 1000) * 1000 AS ws, count(*) AS c, sum(qty) AS s FROM t WHERE ${where} GROUP BY k, ws`)).getRowObjects();
      const kept = want.reduce((a, w) => a + Number(w.c), 0);
      assert.ok(kept > 200 && kept < 3800, `the WHERE keeps some and drops some (${kept})`);
      const got = finalWindows(outs, 'w');
      assert.is(got.size, want.length, 'as many windows as DuckDB');
      for (const w of want) {
        const g = got.get(`${w.k}|${BigInt(w.ws as bigint) * 1_000_000n}`);
        assert.ok(g, `window ${w.k} ${w.ws}`);
        assert.is(g!.values!.count, Number(w.c), `${w.k} ${w.ws} count`);
        assert.is(g!.values!.sum, Number(w.s), `${w.k} ${w.ws} sum`);
      }
    } finally {
      db.closeSync();
      instance.closeSync();
      dir.remove();
    }
  });
}

// Several views, each with its own WHERE (and one without): each window is its
// own query's (the WHERE is the window's own, the other views see every
// event), and a filtered view read by two others adds its WHERE to theirs.
test('several views each with its own WHERE: every window is DuckDB\'s for its own query', async () => {
  const dir = tempDir('ganglion-sql-where2-');
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const events = join(dir.path, 'events.jsonl');
    writeFileSync(events, input(9, 5000).join('\n') + '\n');
    const job = join(dir.path, 'job.sql');
    writeFileSync(job, table(events) + `CREATE VIEW a AS SELECT instrument, TUMBLE_START(ts, INTERVAL '1' SECOND) AS ws, COUNT(*) AS c, SUM(qty) AS s
  FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
CREATE VIEW b AS SELECT instrument, TUMBLE_START(ts, INTERVAL '1' SECOND) AS ws, COUNT(*) AS c, SUM(qty) AS s
  FROM trades WHERE qty > 100 AND instrument <> 'XOM' GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
CREATE VIEW c AS SELECT instrument, window_start, window_end, COUNT(*) AS c, SUM(qty) AS s
  FROM TABLE(TUMBLE(TABLE trades, DESCRIPTOR(ts), INTERVAL '1' SECOND)) WHERE price IS NULL OR price < 80 GROUP BY instrument, window_start, window_end;
CREATE VIEW cheap AS SELECT * FROM trades WHERE instrument <> 'MSFT';
CREATE VIEW d AS SELECT instrument, TUMBLE_START(ts, INTERVAL '1' SECOND) AS ws, COUNT(*) AS c, SUM(qty) AS s
  FROM cheap GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
CREATE VIEW e AS SELECT instrument, TUMBLE_START(ts, INTERVAL '1' SECOND) AS ws, COUNT(*) AS c, SUM(qty) AS s
  FROM cheap WHERE price < 120 GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
`);
    // explain: each window prints its own condition (the filtered view's ANDed in).
    const explain = spawnGanglion(['explain', job]);
    assert.is(await explain.exited, 0, explain.stderr);
    assert.match(explain.stdout, /b  \[window\] .* over the events where \(\("qty" > 100\) AND \("instrument" <> 'XOM'\)\)/);
    assert.match(explain.stdout, /e  \[window\] .* over the events where \(\("instrument" <> 'MSFT'\)\) AND \("price" < 120\) \(the others/);
    assert.not.match(explain.stdout, /a  \[window\] [^\n]* over the events/);
    const out = join(dir.path, 'out.jsonl');
    const run = await ganglion(['replay', job, '--input', events, '--output', out]);
    assert.is(run.code, 0, run.stderr);
    const outs = readOutputs(out);
    assert.is(outs.filter((o) => o.kind === 'late' || o.kind === 'dead_letter').length, 0, 'nothing late or refused');
    await db.run(`CREATE TABLE t AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
    const views: Array<[string, string]> = [
      ['a', 'TRUE'], ['b', "qty > 100 AND instrument <> 'XOM'"], ['c', 'price IS NULL OR price < 80'],
      ['d', "instrument <> 'MSFT'"], ['e', "instrument <> 'MSFT' AND price < 120"],
    ];
    const sizes: number[] = [];
    for (const [v, where] of views) {
      const want = (await db.runAndReadAll(`SELECT instrument AS k, (ts // 1000) * 1000 AS ws, count(*) AS c, sum(qty) AS s FROM t WHERE ${where} GROUP BY k, ws`)).getRowObjects();
      const got = finalWindows(outs, v);
      assert.is(got.size, want.length, `${v}: as many windows as DuckDB`);
      for (const w of want) {
        const g = got.get(`${w.k}|${BigInt(w.ws as bigint) * 1_000_000n}`);
        assert.ok(g, `${v}: window ${w.k} ${w.ws}`);
        assert.is(g!.values!.count, Number(w.c), `${v}: ${w.k} ${w.ws} count`);
        assert.is(g!.values!.sum, Number(w.s), `${v}: ${w.k} ${w.ws} sum`);
      }
      sizes.push(want.reduce((a, w) => a + Number(w.c), 0));
    }
    assert.is(new Set(sizes).size, sizes.length, `each view counts other events (${sizes.join(', ')})`);
  } finally {
    db.closeSync();
    instance.closeSync();
    dir.remove();
  }
});

test.run();
