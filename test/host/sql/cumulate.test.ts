// CUMULATE windows (FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), step,
// size))) run by `ganglion replay` and by DuckDB on the same file: every
// window [period start, period start + j·step) of every key, every aggregate,
// for several step/size pairs, with and without HAVING. The input is in
// event-time order, so nothing is late (out-of-order and late events:
// test/parity/cumulate_window.parity.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ganglionExit as ganglion } from '../../helpers/ganglion.js';
import { finalWindows, readOutputs } from '../../helpers/outputs.js';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/trades_file.js';

const KEYS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN'];

function input(seed: number, n: number): string[] {
  const r = rng(seed);
  let ts = 1767623400000 + 37;
  return Array.from({ length: n }, (_, i) => {
    ts += r() < 0.02 ? 1000 + Math.floor(r() * 4000) : 1 + Math.floor(r() * 30);
    return JSON.stringify({ n: i + 1, ts, instrument: KEYS[Math.floor(r() * r() * KEYS.length)], price: Math.round((100 + r() * 20) * 100) / 100, qty: 1 + Math.floor(r() * 400) });
  });
}

// [aggregate, SQL, DuckDB]; $ is the column.
const AGGS = [
  ['count', 'COUNT(*)', 'count(*)'], ['sum', 'SUM($)', 'sum($)'], ['min', 'MIN($)', 'min($)'], ['max', 'MAX($)', 'max($)'],
  ['mean', 'AVG($)', 'avg($)'], ['stddev', 'STDDEV_POP($)', 'stddev_pop($)'], ['var_samp', 'VAR_SAMP($)', 'var_samp($)'],
  ['first', 'FIRST_VALUE($)', 'arg_min($, (ts, n))'], ['last', 'LAST_VALUE($)', 'arg_max($, (ts, n))'],
] as const;

interface Q { name: string; step: number; size: number; column: string; aggs: typeof AGGS[number][]; having?: [string, string] }

const QUERIES: Q[] = [
  { name: 'c1', step: 100, size: 500, column: 'price', aggs: [...AGGS] },
  { name: 'c2', step: 250, size: 1000, column: 'qty', aggs: AGGS.filter((_, i) => i % 2 === 0) },
  { name: 'c3', step: 1000, size: 1000, column: 'price', aggs: [AGGS[0], AGGS[4]] },
  { name: 'c4', step: 50, size: 1000, column: 'qty', aggs: [AGGS[1], AGGS[8]], having: ['SUM(qty) > 3000', 'sum(qty) > 3000'] },
];

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-7 * Math.max(1, Math.abs(a), Math.abs(b));

test("CUMULATE windows give DuckDB's cumulative windows", async () => {
  const dir = tempDir('ganglion-sql-cumulate-');
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const events = join(dir.path, 'events.jsonl');
    writeFileSync(events, input(3, 4000).join('\n') + '\n');
    const ms = (x: number) => `INTERVAL '${x}' MILLISECOND`;
    const job = join(dir.path, 'job.sql');
    writeFileSync(job, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${events}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
${QUERIES.map((q) => `CREATE VIEW ${q.name} AS SELECT instrument, window_start, window_end, ${q.aggs.map((a) => a[1].replace('$', q.column)).join(', ')}
  FROM TABLE(CUMULATE(TABLE trades, DESCRIPTOR(ts), ${ms(q.step)}, ${ms(q.size)})) GROUP BY instrument, window_start, window_end${q.having ? ` HAVING ${q.having[0]}` : ''};
SET 'operator.${q.name}.capacity' = '2048';`).join('\n')}\n`);
    const out = join(dir.path, 'out.jsonl');
    const run = await ganglion(['replay', job, '--input', events, '--output', out]);
    assert.is(run.code, 0, run.stderr);
    const outs = readOutputs(out);
    assert.is(outs.filter((o) => o.kind !== 'window').length, 0, 'ordered input: windows only');
    assert.is(new Set(outs.map((o) => o.id)).size, outs.length, 'ids are unique (the windows of a period share their start)');
    await db.run(`CREATE TABLE ev AS SELECT * FROM read_json('${events}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
    for (const q of QUERIES) {
      const sel = q.aggs.map((a) => `${a[2].replace('$', q.column)} AS ${a[0]}`).join(', ');
      const duck = `SELECT instrument AS k, (ts // ${q.size}) * ${q.size} AS ws, (ts // ${q.size}) * ${q.size} + (j + 1) * ${q.step} AS we, ${sel}
        FROM ev CROSS JOIN range(0, ${q.size / q.step}) AS t(j) WHERE ts < (ts // ${q.size}) * ${q.size} + (j + 1) * ${q.step}
        GROUP BY k, ws, we${q.having ? ` HAVING ${q.having[1]}` : ''}`;
      const want = (await db.runAndReadAll(duck)).getRowObjects();
      const got = finalWindows(outs.filter((o) => o.op === q.name).map((o) => ({ ...o, window: { ...o.window!, start_ns: `${o.window!.start_ns}|${o.window!.end_ns}` } })), q.name);
      const key = (w: Record<string, unknown>) => `${w.k}|${BigInt(w.ws as bigint) * 1_000_000n}|${BigInt(w.we as bigint) * 1_000_000n}`;
      assert.ok(want.length > 100, `${q.name}: ${want.length} windows`);
      assert.equal([...got.keys()].sort(), want.map(key).sort(), `${q.name}: the windows`);
      for (const w of want) {
        const g = got.get(key(w))!;
        for (const [a] of q.aggs) {
          const gv = g.values![a];
          if (w[a] === null) assert.is(gv, null, `${q.name} ${key(w)} ${a}`);
          else assert.ok(gv !== null && close(gv, Number(w[a])), `${q.name} ${key(w)} ${a}: ganglion ${gv}, DuckDB ${w[a]}`);
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
