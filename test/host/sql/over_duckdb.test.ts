// SQL OVER aggregates run by ganglion (`ganglion replay`) against the same
// frames computed by DuckDB over the same input file: every output row of
// every event, RANGE (INTERVAL ... PRECEDING AND CURRENT ROW, and the seed's
// short form without ORDER BY) and ROWS (n PRECEDING AND CURRENT ROW). The
// input has many equal timestamps per key (peers: a RANGE frame holds them
// all) and events out of order within the watermark's bound, so none is late.
// ROWS frames order peers by arrival (the line number n), as ganglion does.
// One view has its own WHERE (the frames hold only the rows it keeps).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ganglionExit as ganglion } from '../../helpers/ganglion.js';
import { readOutputs } from '../../helpers/outputs.js';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/trades_file.js';

const KEYS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'XOM', 'JPM'];
const T0 = 1767623400000; // ms

/** Skewed keys, a 1 ms clock that often stands still (ties), up to 40 ms of disorder, fractional prices. */
function input(seed: number, n: number): string[] {
  const r = rng(seed);
  const lines: string[] = [];
  let clock = T0;
  for (let i = 0; i < n; i++) {
    clock += r() < 0.6 ? 0 : 1 + Math.floor(r() * 4);
    const ts = clock - (r() < 0.3 ? Math.floor(r() * 40) : 0);
    const k = KEYS[Math.floor(r() * r() * KEYS.length)];
    const price = Math.round((100 + r() * 50) * 100) / 100, qty = 1 + Math.floor(r() * 500);
    lines.push(JSON.stringify({ n: i + 1, ts, instrument: k, price, qty, side: r() < 0.5 ? 'buy' : 'sell' }));
  }
  return lines;
}

interface Q { name: string; sql: string; duck: string; aggs: string[]; filtered?: boolean }

const range = (ms: number) => `RANGE BETWEEN INTERVAL '${ms}' MILLISECOND PRECEDING AND CURRENT ROW`;
const QUERIES: Q[] = [
  {
    name: 'r250', aggs: ['count', 'sum', 'min', 'max', 'mean'],
    sql: `SELECT instrument, ts, ${['COUNT', 'SUM', 'MIN', 'MAX', 'AVG'].map((f) => `${f}(qty) OVER (PARTITION BY instrument ORDER BY ts ${range(250)}) AS ${f.toLowerCase()}_q`).join(', ')} FROM trades`,
    duck: `SELECT n, ${['count', 'sum', 'min', 'max', 'avg'].map((f) => `${f}(qty) OVER w AS ${f === 'avg' ? 'mean' : f}`).join(', ')} FROM ev WINDOW w AS (PARTITION BY instrument ORDER BY ts RANGE BETWEEN 250 PRECEDING AND CURRENT ROW)`,
  },
  {
    name: 'peers', aggs: ['sum', 'count'],
    sql: `SELECT instrument, SUM(price) OVER (PARTITION BY instrument ORDER BY ts ${range(0)}) AS s, COUNT(price) OVER (PARTITION BY instrument ORDER BY ts ${range(0)}) AS c FROM trades`,
    duck: 'SELECT n, sum(price) OVER w AS sum, count(price) OVER w AS count FROM ev WINDOW w AS (PARTITION BY instrument ORDER BY ts RANGE BETWEEN 0 PRECEDING AND CURRENT ROW)',
  },
  {
    name: 'seed', aggs: ['sum'],
    sql: "SELECT instrument, SUM(price) OVER (PARTITION BY instrument RANGE INTERVAL '1' SECOND PRECEDING) AS daily FROM trades",
    duck: 'SELECT n, sum(price) OVER (PARTITION BY instrument ORDER BY ts RANGE BETWEEN 1000 PRECEDING AND CURRENT ROW) AS sum FROM ev',
  },
  {
    name: 'rows9', aggs: ['sum', 'min', 'max', 'mean'],
    sql: `SELECT instrument, ${['SUM', 'MIN', 'MAX', 'AVG'].map((f) => `${f}(price) OVER (PARTITION BY instrument ORDER BY ts ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS ${f.toLowerCase()}_p`).join(', ')} FROM trades`,
    duck: 'SELECT n, sum(price) OVER w AS sum, min(price) OVER w AS min, max(price) OVER w AS max, avg(price) OVER w AS mean FROM ev WINDOW w AS (PARTITION BY instrument ORDER BY ts, n ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)',
  },
  {
    name: 'rows0', aggs: ['sum'],
    sql: 'SELECT instrument, SUM(qty) OVER (PARTITION BY instrument ORDER BY ts ROWS BETWEEN 0 PRECEDING AND CURRENT ROW) AS q FROM trades',
    duck: 'SELECT n, sum(qty) OVER (PARTITION BY instrument ORDER BY ts, n ROWS BETWEEN 0 PRECEDING AND CURRENT ROW) AS sum FROM ev',
  },
  {
    // The view's own WHERE (on the trade side, 'sell' = -1 inside): its frames hold only the rows it keeps; the other views still see every event.
    name: 'sells', aggs: ['sum', 'max'], filtered: true,
    sql: `SELECT instrument, SUM(qty) OVER (PARTITION BY instrument ORDER BY ts ${range(100)}) AS s, MAX(qty) OVER (PARTITION BY instrument ORDER BY ts ${range(100)}) AS m FROM trades WHERE side = 'sell' AND price > 110`,
    duck: "SELECT n, sum(qty) OVER w AS sum, max(qty) OVER w AS max FROM ev WHERE side = 'sell' AND price > 110 WINDOW w AS (PARTITION BY instrument ORDER BY ts RANGE BETWEEN 100 PRECEDING AND CURRENT ROW)",
  },
];

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

for (const seed of [1, 2]) {
  test(`OVER frames (seed ${seed}) give DuckDB's value for every event`, async () => {
    const dir = tempDir('ganglion-sql-over-');
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      const events = join(dir.path, 'events.jsonl');
      const lines = input(seed, 5000);
      writeFileSync(events, lines.join('\n') + '\n');
      const job = join(dir.path, 'job.sql');
      writeFileSync(job, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE, side STRING, trader STRING, account STRING, asset_class STRING,
  WATERMARK FOR ts AS ts - INTERVAL '50' MILLISECOND) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
${QUERIES.map((q) => `CREATE VIEW ${q.name} AS ${q.sql};\nSET 'operator.${q.name}.row_capacity' = '32768';\nSET 'operator.${q.name}.capacity' = '64';`).join('\n')}\n`);
      const out = join(dir.path, 'out.jsonl');
      const run = await ganglion(['replay', job, '--input', events, '--output', out]);
      assert.is(run.code, 0, run.stderr);
      const outs = readOutputs(out);
      assert.is(outs.filter((o) => o.kind === 'late' || o.kind === 'dead_letter').length, 0, 'nothing late or refused within the watermark bound');
      await db.run(`CREATE TABLE ev AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE', side: 'VARCHAR'})`);
      const ties = Number((await db.runAndReadAll('SELECT count(*) AS c FROM (SELECT instrument, ts FROM ev GROUP BY ALL HAVING count(*) > 1)')).getRowObjects()[0].c);
      assert.ok(ties > 100, `only ${ties} tied (key, ts) groups`);
      for (const q of QUERIES) {
        const want = new Map((await db.runAndReadAll(q.duck)).getRowObjects().map((w) => [String(w.n), w]));
        const got = outs.filter((o) => o.op === q.name && o.kind === 'over');
        if (!q.filtered) assert.is(want.size, lines.length);
        else assert.ok(want.size > 500 && want.size < lines.length / 2, `${q.name}: the WHERE keeps ${want.size} of ${lines.length}`);
        assert.is(got.length, want.size, `${q.name}: ${got.length} rows for ${want.size} events`);
        for (const g of got) {
          const w = want.get(String(g.seq));
          assert.ok(w, `${q.name}: seq ${g.seq} is no event`);
          const values = g.values as Record<string, number>;
          for (const a of q.aggs) {
            assert.ok(close(values[a], Number(w![a])), `${q.name} event ${g.seq} ${a}: ganglion ${values[a]}, DuckDB ${Number(w![a])}`);
          }
        }
      }
    } finally {
      db.closeSync();
      instance.closeSync();
      dir.remove();
    }
  });
}

test.run();
