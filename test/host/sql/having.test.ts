// HAVING on window queries, run by ganglion (`ganglion replay` of a .sql job)
// and by DuckDB on the same file: exactly the windows DuckDB's HAVING keeps,
// with their values, on tumbling, HOP and SESSION windows, with conditions over
// selected aggregates, aliases, aggregates only HAVING names, a view's own
// WHERE next to its HAVING, NULLs
// (VAR_SAMP of one event) and VWAP. The input is in event-time order, so no
// window is revised (revisions under HAVING: test/host/operators/having.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ganglionExit as ganglion } from '../../helpers/ganglion.js';
import { finalSessions, finalWindows, readOutputs } from '../../helpers/outputs.js';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/trades_file.js';

const KEYS = ['AAPL', 'MSFT', 'NVDA', 'TSLA'];

function input(seed: number, n: number): string[] {
  const r = rng(seed);
  let ts = 1767623400000;
  return Array.from({ length: n }, (_, i) => {
    ts += r() < 0.03 ? 1500 + Math.floor(r() * 3000) : 1 + Math.floor(r() * 60);
    return JSON.stringify({ n: i + 1, ts, instrument: KEYS[Math.floor(r() * r() * KEYS.length)], price: Math.round((100 + r() * 10) * 100) / 100, qty: 1 + Math.floor(r() * 300) });
  });
}

interface Case { name: string; kind: 'tumbling' | 'sliding' | 'session'; sql: string; duck: string; aggs: string[] }

const TUMBLE = (sel: string, having: string) => `SELECT instrument, ${sel} FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '250' MILLISECOND) HAVING ${having}`;
const DTUMBLE = (sel: string, having: string) => `SELECT instrument AS k, (ts // 250) * 250 AS ws, ${sel} FROM ev GROUP BY k, ws HAVING ${having}`;

const CASES: Case[] = [
  { name: 'busy', kind: 'tumbling', sql: TUMBLE('COUNT(*) AS c', 'COUNT(*) > 6'), duck: DTUMBLE('count(*) AS count', 'count(*) > 6'), aggs: ['count'] },
  // An alias, and an aggregate (COUNT) only HAVING names: computed and output too.
  { name: 'rich', kind: 'tumbling', sql: TUMBLE('AVG(price) AS ap', 'ap >= 105 AND COUNT(*) BETWEEN 2 AND 9'), duck: DTUMBLE('avg(price) AS mean, count(*) AS count', 'avg(price) >= 105 AND count(*) BETWEEN 2 AND 9'), aggs: ['mean', 'count'] },
  // NULL is not TRUE: one-event windows (VAR_SAMP NULL) are dropped by the comparison, kept by IS NULL.
  { name: 'spread', kind: 'tumbling', sql: TUMBLE('STDDEV_SAMP(price) AS sd', 'STDDEV_SAMP(price) > 2.5 OR VAR_SAMP(price) IS NULL'), duck: DTUMBLE('stddev_samp(price) AS stddev_samp, var_samp(price) AS var_samp', 'stddev_samp(price) > 2.5 OR var_samp(price) IS NULL'), aggs: ['stddev_samp', 'var_samp'] },
  // A view's own WHERE and its HAVING together: the window sees only the events WHERE keeps, HAVING filters its outputs.
  { name: 'bigbusy', kind: 'tumbling', sql: `SELECT instrument, COUNT(*) AS c FROM trades WHERE qty > 150 GROUP BY instrument, TUMBLE(ts, INTERVAL '250' MILLISECOND) HAVING COUNT(*) > 3`, duck: `SELECT instrument AS k, (ts // 250) * 250 AS ws, count(*) AS count FROM ev WHERE qty > 150 GROUP BY k, ws HAVING count(*) > 3`, aggs: ['count'] },
  {
    name: 'hop', kind: 'sliding',
    sql: `SELECT instrument, HOP_END(ts, INTERVAL '100' MILLISECOND, INTERVAL '400' MILLISECOND), SUM(price * qty) / SUM(qty) AS vwap, MAX(price) FROM trades GROUP BY instrument, HOP(ts, INTERVAL '100' MILLISECOND, INTERVAL '400' MILLISECOND) HAVING MAX(price) - MIN(price) > 4 AND SUM(price * qty) / SUM(qty) < 106`,
    duck: `SELECT instrument AS k, (ts // 100) * 100 - j * 100 AS ws, sum(price * qty) / sum(qty) AS vwap, max(price) AS max, min(price) AS min FROM ev CROSS JOIN range(0, 4) AS t(j) GROUP BY k, ws HAVING max(price) - min(price) > 4 AND sum(price * qty) / sum(qty) < 106`,
    aggs: ['vwap', 'max', 'min'],
  },
  {
    name: 'sess', kind: 'session',
    sql: `SELECT instrument, window_start, window_end, SUM(qty) AS vol, LAST_VALUE(qty) AS lq FROM TABLE(SESSION(TABLE trades PARTITION BY instrument, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY instrument, window_start, window_end HAVING vol > 20000 OR lq < 5`,
    duck: `WITH marks AS (SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY instrument ORDER BY ts) >= 1000 THEN 1 ELSE 0 END AS brk FROM ev),
      islands AS (SELECT *, sum(brk) OVER (PARTITION BY instrument ORDER BY ts ROWS UNBOUNDED PRECEDING) AS sid FROM marks)
      SELECT instrument AS k, min(ts) AS ws, max(ts) + 1000 AS we, sum(qty) AS sum, arg_max(qty, ts) AS last FROM islands GROUP BY k, sid HAVING sum(qty) > 20000 OR arg_max(qty, ts) < 5`,
    aggs: ['sum', 'last'],
  },
];

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-7 * Math.max(1, Math.abs(a), Math.abs(b));

test("HAVING keeps exactly the windows DuckDB's HAVING keeps, with the same values", async () => {
  const dir = tempDir('ganglion-sql-having-');
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const events = join(dir.path, 'events.jsonl');
    writeFileSync(events, input(5, 5000).join('\n') + '\n');
    const job = join(dir.path, 'job.sql');
    writeFileSync(job, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
${CASES.map((c) => `CREATE VIEW ${c.name} AS ${c.sql};\nSET 'operator.${c.name}.capacity' = '2048';`).join('\n')}\n`);
    const out = join(dir.path, 'out.jsonl');
    const run = await ganglion(['replay', job, '--input', events, '--output', out]);
    assert.is(run.code, 0, run.stderr);
    const outs = readOutputs(out);
    assert.is(outs.filter((o) => o.kind !== 'window').length, 0, 'ordered input: windows only');
    await db.run(`CREATE TABLE ev AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
    for (const c of CASES) {
      const want = (await db.runAndReadAll(c.duck)).getRowObjects();
      const all = (await db.runAndReadAll(c.duck.replace(/HAVING[\s\S]*$/, ''))).getRowObjects().length;
      assert.ok(want.length >= 5 && want.length <= all - 5, `${c.name}: HAVING must keep some windows and drop some (${want.length} of ${all})`);
      const ms = (v: unknown) => BigInt(v as bigint) * 1_000_000n;
      const got = c.kind === 'session' ? finalSessions(outs, c.name) : finalWindows(outs, c.name);
      const keyOf = (w: Record<string, unknown>) => (c.kind === 'session' ? `${w.k}|${ms(w.ws)}|${ms(w.we)}` : `${w.k}|${ms(w.ws)}`);
      assert.equal([...got.keys()].sort(), want.map(keyOf).sort(), `${c.name}: the windows kept`);
      for (const w of want) {
        const g = got.get(keyOf(w))!;
        assert.equal(Object.keys(g.values!).sort(), [...c.aggs].sort(), `${c.name}: aggregates output`);
        for (const a of c.aggs) {
          const gv = g.values![a];
          if (w[a] === null) assert.is(gv, null, `${c.name} ${keyOf(w)} ${a}`);
          else assert.ok(gv !== null && close(gv, Number(w[a])), `${c.name} ${keyOf(w)} ${a}: ganglion ${gv}, DuckDB ${w[a]}`);
        }
      }
    }
  } finally {
    db.closeSync();
    instance.closeSync();
    dir.remove();
  }
});

test.run();
