// Random SQL jobs with filters and projections, run by `ganglion replay` and by
// DuckDB over the same file: every window of every view, every aggregate. A
// seeded generator picks, per view, the window (TUMBLE / HOP / SESSION, group
// or table-valued form), the aggregates, what they aggregate (a column, an
// expression, a computed column of the table, or a computed column of a
// projection view the view reads FROM), and a WHERE of its own (or none). Six views per job, so every job
// has several views with different WHEREs over the same events (each applies
// to its own view only) and expressions computed by derive operators in front
// of their windows. The input is in event-time order with distinct
// timestamps and no NULLs in what is aggregated (a window over a NULL value
// gives NULL, where SQL's aggregates skip it), so no event is late and
// FIRST_VALUE/LAST_VALUE have one answer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ganglionExit as ganglion } from '../../helpers/ganglion.js';
import { finalSessions, finalWindows, readOutputs } from '../../helpers/outputs.js';
import { tempDir } from '../../helpers/tmp.js';
import { randomWindowQuery, WINDOW_AGGS, type WindowQuery } from '../../helpers/window_queries.js';
import { rng } from '../../helpers/trades_file.js';

const KEYS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN'];
const T0 = 1767623400000; // ms

function input(seed: number, n: number): string[] {
  const r = rng(seed);
  const lines: string[] = [];
  let ts = T0;
  for (let i = 0; i < n; i++) {
    ts += r() < 0.03 ? 2000 + Math.floor(r() * 6000) : 1 + Math.floor(r() * 40);
    const k = KEYS[Math.floor(r() * r() * KEYS.length)];
    const price = Math.round((100 + r() * 50) * 100) / 100, qty = 1 + Math.floor(r() * 500), fx = Math.round((0.8 + r() * 0.4) * 1e4) / 1e4;
    // A NULL fx now and then: only conditions read it (IS NULL, COALESCE), never an aggregate.
    lines.push(JSON.stringify({ n: i + 1, ts, instrument: k, price, qty, fx: r() < 0.05 ? null : fx }));
  }
  return lines;
}

/** The projection view every job declares; views may read it FROM instead of the table. */
const ENRICHED = {
  sql: `CREATE VIEW enriched AS SELECT *, price * qty * COALESCE(fx, 1) AS notional, CASE WHEN qty >= 250 THEN 'block' ELSE 'lot' END AS lot, ABS(price - 125) AS dist FROM trades;`,
  duck: `SELECT *, price * qty * coalesce(fx, 1) AS notional, CASE WHEN qty >= 250 THEN 'block' ELSE 'lot' END AS lot, abs(price - 125) AS dist FROM ev`,
};

/** What a view aggregates: the SQL (same text in both engines) and whether it needs the projection view. */
const VALUES: Array<{ sql: string; enriched?: boolean }> = [
  { sql: 'price' }, { sql: 'qty' },
  { sql: 'price * qty' }, { sql: 'CASE WHEN qty > 250 THEN price ELSE qty END' }, { sql: 'ROUND(price / 7, 2)' },
  { sql: 'GREATEST(price, qty) - LEAST(price, qty)' }, { sql: 'COALESCE(fx, 0) * 100' },
  { sql: 'notional', enriched: true }, { sql: 'dist', enriched: true }, { sql: 'notional / qty', enriched: true },
  // A computed column of the table (CREATE TABLE ... mid AS ...): a derive operator first in the job.
  { sql: 'mid' }, { sql: 'mid - price' },
];

/** WHEREs (same text in both engines); `enriched` ones name a computed column. */
const WHERES: Array<{ sql: string; enriched?: boolean }> = [
  { sql: 'qty > 200' }, { sql: "instrument <> 'AAPL'" }, { sql: "instrument IN ('MSFT', 'NVDA', 'NOPE')" },
  { sql: 'price BETWEEN 110 AND 140 AND qty < 400' }, { sql: "fx IS NULL OR fx > 1.0 OR instrument = 'TSLA'" },
  { sql: 'NOT (qty < 100) AND COALESCE(fx, 0) < 1.1' }, { sql: 'price * qty > 30000' },
  { sql: "lot = 'block'", enriched: true }, { sql: 'notional BETWEEN 10000 AND 50000', enriched: true },
];

/** The window aggregates without the sample ones (this generator predates them; its seeds draw from these ten). */
const AGGS = WINDOW_AGGS.filter((a) => a.name !== 'var_samp' && a.name !== 'stddev_samp');

function query(r: () => number, name: string): WindowQuery {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const value = pick(VALUES);
  const where = r() < 0.75 ? pick(WHERES) : undefined;
  const enriched = value.enriched || where?.enriched || r() < 0.2;
  const from = enriched ? 'enriched' : 'trades', dfrom = enriched ? 'en' : 'ev';
  const aggs = AGGS.filter((a) => r() < 0.45 && !(a.name === 'vwap' && value.sql !== 'price'));
  if (aggs.length === 0) aggs.push(AGGS[1]);
  return randomWindowQuery(r, name, aggs, value.sql, { from, duckFrom: dfrom, where: where?.sql });
}

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

for (const seed of [1, 2, 3, 4]) {
  test(`random window queries with WHEREs and projections (seed ${seed}) give DuckDB's results`, async () => {
    const dir = tempDir('ganglion-sql-duck-expr-');
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      const events = join(dir.path, 'events.jsonl');
      writeFileSync(events, input(seed, 4000).join('\n') + '\n');
      const r = rng(seed * 104729);
      const queries = Array.from({ length: 6 }, (_, i) => query(r, `q${i}`));
      const readsEnriched = queries.some((q) => q.sql.includes('enriched'));
      const job = join(dir.path, 'job.sql');
      writeFileSync(job, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE, fx DOUBLE, mid AS (price + qty) / 2,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
${readsEnriched ? ENRICHED.sql : ''}
${queries.map((q) => `${q.sql}\nSET 'operator.${q.name}.capacity' = '2048';`).join('\n')}\n`);
      const out = join(dir.path, 'out.jsonl');
      const run = await ganglion(['replay', job, '--input', events, '--output', out]);
      assert.is(run.code, 0, run.stderr);
      const outs = readOutputs(out);
      assert.is(outs.filter((o) => o.kind === 'late' || o.kind === 'dead_letter').length, 0, 'nothing late or refused in an ordered input');
      await db.run(`CREATE TABLE ev AS SELECT *, (price + qty) / 2 AS mid FROM read_json('${events}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE', fx: 'DOUBLE'})`);
      await db.run(`CREATE TABLE en AS ${ENRICHED.duck}`);
      let filtered = 0;
      for (const q of queries) {
        const want = (await db.runAndReadAll(q.duck)).getRowObjects();
        const ms = (v: unknown) => BigInt(v as bigint) * 1_000_000n;
        const got = q.kind === 'session' ? finalSessions(outs, q.name) : finalWindows(outs, q.name);
        const keyOf = (w: Record<string, unknown>) => (q.kind === 'session' ? `${w.k}|${ms(w.ws)}|${ms(w.we)}` : `${w.k}|${ms(w.ws)}`);
        const expected = new Map(want.map((w) => [keyOf(w), w]));
        assert.is(got.size, expected.size, `${q.name} (${q.sql}): ${got.size} windows, DuckDB ${expected.size}`);
        for (const [k, w] of expected) {
          const g = got.get(k);
          assert.ok(g, `${q.name}: window ${k} missing (${q.sql})`);
          for (const a of q.aggs) {
            const gv = g!.values![a] as number, wv = Number(w[a]);
            assert.ok(close(gv, wv, a === 'variance' || a === 'stddev' ? 1e-7 : 1e-9), `${q.name} ${k} ${a}: ganglion ${gv}, DuckDB ${wv} (${q.sql})`);
          }
        }
        if (q.sql.includes(' WHERE ')) filtered++;
      }
      assert.ok(filtered >= 2, `several views with their own WHERE (${filtered})`);
    } finally {
      db.closeSync();
      instance.closeSync();
      dir.remove();
    }
  });
}

test.run();
