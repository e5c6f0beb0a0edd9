// SQL window queries run by ganglion against the same queries run by DuckDB
// over the same input file: every window of every key, every aggregate. The
// queries come from a small seeded generator (window kind and form ×
// aggregates × column), several per job. The input is in event-time order
// with distinct timestamps, so no event is late and FIRST_VALUE/LAST_VALUE
// (by event time in ganglion) have one answer; ganglion's replay fires the
// windows still open at the end, as a batch engine sees them.
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

/** Events in ts order, distinct ts unless `ties` (then about a third repeat the previous ts); bursts and pauses so sessions open and close. */
function input(seed: number, n: number, ties = false): string[] {
  const r = rng(seed), tie = rng(seed + 1000);
  const lines: string[] = [];
  let ts = T0;
  for (let i = 0; i < n; i++) {
    const step = r() < 0.03 ? 2000 + Math.floor(r() * 6000) : 1 + Math.floor(r() * 40);
    if (!(ties && i > 0 && tie() < 0.35)) ts += step;
    const k = KEYS[Math.floor(r() * r() * KEYS.length)];
    const price = Math.round((100 + r() * 50) * 100) / 100, qty = 1 + Math.floor(r() * 500);
    lines.push(JSON.stringify({ n: i + 1, ts, instrument: k, price, qty, side: r() < 0.5 ? 'buy' : 'sell' }));
  }
  return lines;
}

const AGGS = WINDOW_AGGS;

function query(r: () => number, name: string): WindowQuery {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const column = pick(['price', 'qty']);
  const aggs = AGGS.filter((a) => r() < 0.45 && !(a.name === 'vwap' && column !== 'price'));
  if (aggs.length === 0) aggs.push(AGGS[0]);
  return randomWindowQuery(r, name, aggs, column);
}

/** Aggregates compared, and how many one-event windows (VAR_SAMP NULL) were seen: the generator must reach every aggregate. */
const covered = new Set<string>();
let nullSamples = 0;

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

for (const seed of [1, 2, 3, 4]) {
  test(`random window queries (seed ${seed}) give DuckDB's results`, async () => {
    const dir = tempDir('ganglion-sql-duck-');
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      const events = join(dir.path, 'events.jsonl');
      writeFileSync(events, input(seed, 4000).join('\n') + '\n');
      const r = rng(seed * 7919);
      const queries = Array.from({ length: 6 }, (_, i) => query(r, `q${i}`));
      const job = join(dir.path, 'job.sql');
      writeFileSync(job, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE, side STRING, trader STRING, account STRING, asset_class STRING,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
${queries.map((q) => `${q.sql}\nSET 'operator.${q.name}.capacity' = '2048';`).join('\n')}\n`);
      const out = join(dir.path, 'out.jsonl');
      const run = await ganglion(['replay', job, '--input', events, '--output', out]);
      assert.is(run.code, 0, run.stderr);
      const outs = readOutputs(out);
      assert.is(outs.filter((o) => o.kind === 'late' || o.kind === 'dead_letter').length, 0, 'nothing late or refused in an ordered input');
      await db.run(`CREATE TABLE ev AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
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
            const gv = g!.values![a] as number | null;
            // SQL's VAR_SAMP/STDDEV_SAMP of one row is NULL; so is ganglion's.
            covered.add(a);
            if (w[a] === null) { nullSamples++; assert.is(gv, null, `${q.name} ${k} ${a}: ganglion ${gv}, DuckDB NULL (${q.sql})`); continue; }
            const wv = Number(w[a]);
            assert.ok(gv !== null && close(gv, wv, /variance|stddev|samp/.test(a) ? 1e-7 : 1e-9), `${q.name} ${k} ${a}: ganglion ${gv}, DuckDB ${wv} (${q.sql})`);
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

test('the seeded queries compared every aggregate, and one-event windows for the sample aggregates', () => {
  assert.equal([...covered].sort(), AGGS.map((a) => a.name).sort());
  assert.ok(nullSamples > 0, 'no one-event window met VAR_SAMP/STDDEV_SAMP');
});

// FIRST_VALUE/LAST_VALUE on equal event times: ganglion keeps the earlier
// arrival as first and the later arrival as last (docs/operators/windows.md),
// which is DuckDB's arg_min/arg_max over (ts, arrival number).
test('FIRST_VALUE and LAST_VALUE break event-time ties by arrival, on every window kind', async () => {
  const dir = tempDir('ganglion-sql-duck-ties-');
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const events = join(dir.path, 'events.jsonl');
    const lines = input(21, 3000, true);
    writeFileSync(events, lines.join('\n') + '\n');
    const job = join(dir.path, 'job.sql');
    writeFileSync(job, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE, side STRING, trader STRING, account STRING, asset_class STRING,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
CREATE VIEW t AS SELECT instrument, FIRST_VALUE(price) AS f, LAST_VALUE(price) AS l FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '250' MILLISECOND);
CREATE VIEW h AS SELECT instrument, FIRST_VALUE(price) AS f, LAST_VALUE(price) AS l FROM trades GROUP BY instrument, HOP(ts, INTERVAL '100' MILLISECOND, INTERVAL '400' MILLISECOND);
CREATE VIEW s AS SELECT instrument, FIRST_VALUE(price) AS f, LAST_VALUE(price) AS l FROM trades GROUP BY instrument, SESSION(ts, INTERVAL '1' SECOND);
SET 'operator.t.capacity' = '2048';
SET 'operator.h.capacity' = '2048';\n`);
    const out = join(dir.path, 'out.jsonl');
    const run = await ganglion(['replay', job, '--input', events, '--output', out]);
    assert.is(run.code, 0, run.stderr);
    const outs = readOutputs(out);
    assert.is(outs.filter((o) => o.kind === 'late' || o.kind === 'dead_letter').length, 0);
    await db.run(`CREATE TABLE ev AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
    const fl = 'arg_min(price, (ts, n)) AS first, arg_max(price, (ts, n)) AS last';
    const duck = {
      t: `SELECT instrument AS k, (ts // 250) * 250 AS ws, ${fl} FROM ev GROUP BY k, ws`,
      h: `SELECT instrument AS k, (ts // 100) * 100 - j * 100 AS ws, ${fl} FROM ev CROSS JOIN range(0, 4) AS t(j) GROUP BY k, ws`,
      s: `WITH marks AS (SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY instrument ORDER BY ts, n) >= 1000 THEN 1 ELSE 0 END AS brk FROM ev),
        islands AS (SELECT *, sum(brk) OVER (PARTITION BY instrument ORDER BY ts, n ROWS UNBOUNDED PRECEDING) AS sid FROM marks)
        SELECT instrument AS k, min(ts) AS ws, max(ts) + 1000 AS we, ${fl} FROM islands GROUP BY k, sid`,
    };
    let tiedWindows = 0;
    const tiedAt = new Set((await db.runAndReadAll('SELECT instrument || \'|\' || ts AS t FROM ev GROUP BY instrument, ts HAVING count(*) > 1')).getRowObjects().map((r) => String(r.t)));
    for (const [name, sql] of Object.entries(duck)) {
      const want = (await db.runAndReadAll(sql)).getRowObjects();
      const ms = (v: unknown) => BigInt(v as bigint) * 1_000_000n;
      const got = name === 's' ? finalSessions(outs, name) : finalWindows(outs, name);
      const keyOf = (w: Record<string, unknown>) => (name === 's' ? `${w.k}|${ms(w.ws)}|${ms(w.we)}` : `${w.k}|${ms(w.ws)}`);
      assert.is(got.size, want.length, `${name}: ${got.size} windows, DuckDB ${want.length}`);
      for (const w of want) {
        const g = got.get(keyOf(w));
        assert.ok(g, `${name}: window ${keyOf(w)} missing`);
        assert.equal([g!.values!.first, g!.values!.last], [Number(w.first), Number(w.last)], `${name} ${keyOf(w)}`);
      }
      tiedWindows += want.length;
    }
    assert.ok(tiedAt.size > 300 && tiedWindows > 0, `${tiedAt.size} tied (key, ts): the ties must be there`);
  } finally {
    db.closeSync();
    instance.closeSync();
    dir.remove();
  }
});

// `view.column` in a per-event query is the key's current window including
// the event (a ganglion extension, docs/design/sql.md). Checked the same way:
// a limit on it flags exactly the events whose running window value DuckDB
// computes beyond the limit, with that value.
test('view.column reads the running window value: limits on it match DuckDB', async () => {
  const dir = tempDir('ganglion-sql-duck-enrich-');
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const events = join(dir.path, 'events.jsonl');
    writeFileSync(events, input(11, 4000).join('\n') + '\n');
    const job = join(dir.path, 'job.sql');
    writeFileSync(job, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE, side STRING, trader STRING, account STRING, asset_class STRING,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
CREATE VIEW w AS SELECT instrument, SUM(qty) AS volume FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
CREATE VIEW h AS SELECT instrument, COUNT(*) AS n FROM trades GROUP BY instrument, HOP(ts, INTERVAL '250' MILLISECOND, INTERVAL '1' SECOND);
CREATE VIEW big AS SELECT * FROM trades WHERE w.volume > 3000;
CREATE VIEW busy AS SELECT * FROM trades WHERE h.n > 12;
SET 'operator.w.capacity' = '2048';
SET 'operator.h.capacity' = '2048';\n`);
    const out = join(dir.path, 'out.jsonl');
    const run = await ganglion(['replay', job, '--input', events, '--output', out]);
    assert.is(run.code, 0, run.stderr);
    const outs = readOutputs(out);
    const flagged = (op: string) => new Set(outs.filter((o) => o.kind === 'anomaly' && o.op === op).map((o) => `${o.seq}:${o.value}`));
    await db.run(`CREATE TABLE ev AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
    const set = async (sql: string) => new Set((await db.runAndReadAll(sql)).getRowObjects().map((r) => `${r.n}:${Number(r.v)}`));
    const big = await set(`SELECT n, v FROM (SELECT n, sum(qty) OVER (PARTITION BY instrument, ts // 1000 ORDER BY n ROWS UNBOUNDED PRECEDING) AS v FROM ev) WHERE v > 3000`);
    // Sliding: the window that closes next after the event's pane, [pane end − size, pane end), up to the event.
    const busy = await set(`SELECT e.n, count(*) AS v FROM ev e JOIN ev o ON o.instrument = e.instrument AND o.n <= e.n
      AND o.ts >= (e.ts // 250) * 250 + 250 - 1000 GROUP BY e.n HAVING count(*) > 12`);
    assert.ok(big.size > 20 && busy.size > 20, `${big.size} and ${busy.size} flagged events: the limits must bite`);
    assert.equal([...flagged('big')].sort(), [...big].sort());
    assert.equal([...flagged('busy')].sort(), [...busy].sort());
  } finally {
    db.closeSync();
    instance.closeSync();
    dir.remove();
  }
});

test.run();
