// Compiled expressions: errors point at the place; the generated WASM and the
// JS twin keep the same records and store the same bytes on random programs
// over records full of NULLs, ±0, huge and tiny values; and the values agree
// with DuckDB evaluating the same SQL over the same rows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DuckDBInstance } from '@duckdb/node-api';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { IN_FIELDS, inputStride, writeInput } from '../../../host/records.js';
import { checkExpr, type ExprEnv } from '../../../host/expr/check.js';
import { ExprError } from '../../../host/expr/parse.js';
import { exprProgram } from '../../../host/expr/program.js';
import { JsExprProgram } from '../../../host/expr/js.js';
import { WasmExprProgram, emitProgram } from '../../../host/expr/wasm.js';
import { mulberry32 } from '../../parity/region_parity.js';

const NAMES = ['AAPL', 'MSFT', 'XOM', 'BRK.B', "O'NEIL"];
const ids = new Map(NAMES.map((n, i) => [n, i + 1]));
const env: ExprEnv = {
  fields: [
    { name: 'ts', type: 'timestamp', slot: -1 },
    { name: 'price', type: 'double', slot: 0 },
    { name: 'qty', type: 'double', slot: 1 },
    { name: 'side', type: 'double', slot: 2 },
    { name: 'instrument', type: 'string', slot: 3 },
  ],
  intern: (s) => { if (!ids.has(s)) ids.set(s, ids.size + 1); return ids.get(s)!; },
};
const FIELDS = 6; // price, qty, side, instrument, and two output slots
const STRIDE = inputStride(FIELDS);
const T0 = 1767623400_000_000_000n;

interface Row { price: number; qty: number; side: number; instrument: string | null; ts: bigint }

function rows(n: number, seed: number): Row[] {
  const rnd = mulberry32(seed);
  const special = [NaN, 0, -0, 1e308, -1e308, 5e-324, 1, -1, 0.5, -2.5, 2.5];
  const pick = () => (rnd() < 0.25 ? special[Math.floor(rnd() * special.length)] : Math.round((rnd() - 0.3) * 2000) / 8);
  return Array.from({ length: n }, (_, i) => ({
    price: pick(), qty: pick(), side: rnd() < 0.1 ? NaN : rnd() < 0.5 ? 1 : -1,
    instrument: rnd() < 0.1 ? null : NAMES[Math.floor(rnd() * NAMES.length)],
    ts: T0 + BigInt(i) * 1_000_000n,
  }));
}

// ── random expressions, rendered for ganglion and for DuckDB from one tree ──

type G = { ours: string; duck: string };
const both = (s: string): G => ({ ours: s, duck: s });
const wrap = (f: (x: string) => string, ...a: G[]): G => ({ ours: f(a.map((x) => x.ours).join('\u0000')), duck: f(a.map((x) => x.duck).join('\u0000')) });
const join = (parts: Array<G | string>): G => ({
  ours: parts.map((p) => (typeof p === 'string' ? p : p.ours)).join(''),
  duck: parts.map((p) => (typeof p === 'string' ? p : p.duck)).join(''),
});

function gen(seed: number) {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const lit = (): G => {
    const v = pick([0, 1, 2, -3, 0.5, 2.5, 100, 1e300, 7.25]);
    return { ours: String(v), duck: `CAST(${v} AS DOUBLE)` };
  };
  // DuckDB keeps NaN as a value; ganglion reads it as NULL: nn() maps DuckDB's NaN to NULL after every step.
  const nn = (g: G): G => ({ ours: g.ours, duck: `nn(${g.duck})` });
  const dbl = (d: number): G => nn(dbl0(d));
  const dbl0 = (d: number): G => {
    if (d <= 0) return rnd() < 0.7 ? both(pick(['price', 'qty', 'side'])) : lit();
    const a = () => dbl(d - 1);
    switch (Math.floor(rnd() * 16)) {
      case 0: case 1: return join(['(', a(), ` ${pick(['+', '-', '*'])} `, a(), ')']);
      case 2: return join(['(', a(), ' / ', a(), ')']);
      case 3: return join(['(', a(), ' % ', a(), ')']);
      case 4: return join(['-(', a(), ')']);
      case 5: return join([`${pick(['ABS', 'FLOOR', 'CEIL'])}(`, a(), ')']);
      case 6: return rnd() < 0.5 ? join(['ROUND(', a(), ')']) : join(['ROUND(', a(), `, ${pick([0, 1, 2, -1])})`]);
      case 7: return join(['SQRT(ABS(', a(), '))']);
      case 8: return join(['LN(ABS(', a(), ') + 1)']);
      case 9: return join(['POWER(', a(), `, ${pick([0, 1, 2, 3])})`]);
      case 10: return join(['COALESCE(', a(), ', ', rnd() < 0.3 ? both('NULL') : a(), ', ', a(), ')']);
      case 11: return join([`${pick(['LEAST', 'GREATEST'])}(`, a(), ', ', a(), rnd() < 0.5 ? join([', ', a()]) : '', ')']);
      case 12: return join(['CASE WHEN ', bool(d - 1), ' THEN ', a(), ' ELSE ', a(), ' END']);
      case 13: return join(['CASE WHEN ', bool(d - 1), ' THEN ', a(), rnd() < 0.5 ? join([' WHEN ', bool(d - 1), ' THEN ', a()]) : '', ' END']);
      case 14: return join(['EXP(', a(), ' / 100)']);
      default: return a();
    }
  };
  const bool = (d: number): G => {
    const x = () => dbl(Math.max(0, d - 1));
    const b = () => bool(d - 1);
    switch (Math.floor(rnd() * (d <= 0 ? 5 : 12))) {
      case 0: case 1: return join(['(', x(), ` ${pick(['=', '<>', '<', '<=', '>', '>='])} `, x(), ')']);
      case 2: return both(`(instrument ${pick(['=', '<>'])} '${pick(NAMES).replace("'", "''")}')`);
      case 3: return both(`(instrument ${rnd() < 0.5 ? 'NOT ' : ''}IN ('AAPL', 'XOM'${rnd() < 0.3 ? ', NULL' : ''}))`);
      case 4: return join(['(', x(), ` IS ${rnd() < 0.5 ? 'NOT ' : ''}NULL)`]);
      case 5: return join(['(NOT ', b(), ')']);
      case 6: case 7: return join(['(', b(), ` ${pick(['AND', 'OR'])} `, b(), ')']);
      case 8: return join(['(', x(), ` ${rnd() < 0.3 ? 'NOT ' : ''}BETWEEN `, x(), ' AND ', x(), ')']);
      case 9: return join(['(', x(), ' IN (', x(), ', ', rnd() < 0.3 ? both('NULL') : x(), '))']);
      case 10: return both(pick(['TRUE', 'FALSE']));
      default: return join(['(', x(), ' > ', x(), ')']);
    }
  };
  return { dbl, bool };
}

/** Runs a program in both engines over the rows; returns kept row indexes and the two output slots' raw values. */
function runBoth(filter: string | undefined, projections: string[], data: Row[]) {
  const program = exprProgram(env, { ...(filter ? { filter } : {}), projections: projections.map((source, i) => ({ slot: 4 + i, source })) });
  const module = new WebAssembly.Module(emitProgram(program));
  const results = (['wasm', 'js'] as const).map((engine) => {
    const rt = createPartitionRuntime(8 << 20);
    const at = rt.alloc.alloc(data.length * STRIDE);
    const view = new DataView(rt.memory.buffer);
    data.forEach((r, i) => writeInput(view, at + i * STRIDE, r.ts, BigInt(i), 0, [r.price, r.qty, r.side, r.instrument === null ? NaN : ids.get(r.instrument)!, -7, -7]));
    const run = engine === 'wasm' ? new WasmExprProgram(rt.memory, module) : new JsExprProgram(rt.memory, program);
    const kept = run.run(at, data.length, STRIDE);
    const bytes = new Uint8Array(rt.memory.buffer, at, kept * STRIDE).slice();
    const out = Array.from({ length: kept }, (_, i) => ({
      row: Number(view.getBigUint64(at + i * STRIDE + 8, true)),
      values: projections.map((_, j) => view.getFloat64(at + i * STRIDE + IN_FIELDS + 8 * (4 + j), true)),
    }));
    return { kept, bytes, out };
  });
  return results;
}

async function duck() {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run('CREATE MACRO nn(x) AS CASE WHEN isnan(x) THEN NULL ELSE x END');
  return c;
}

async function loadRows(c: Awaited<ReturnType<typeof duck>>, data: Row[]): Promise<void> {
  await c.run('CREATE OR REPLACE TABLE t (rid INTEGER, price DOUBLE, qty DOUBLE, side DOUBLE, instrument VARCHAR)');
  const sql = (v: number) => (Number.isNaN(v) ? 'NULL' : Object.is(v, -0) ? "CAST('-0.0' AS DOUBLE)" : `CAST('${v}' AS DOUBLE)`);
  const values = data.map((r, i) => `(${i}, ${sql(r.price)}, ${sql(r.qty)}, ${sql(r.side)}, ${r.instrument === null ? 'NULL' : `'${r.instrument.replace("'", "''")}'`})`);
  await c.run(`INSERT INTO t VALUES ${values.join(', ')}`);
}

const same = (a: number, b: number | null) => (b === null ? Number.isNaN(a) : a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));

test('parse and type errors point at the place, with a caret and did-you-mean', () => {
  const err = (src: string) => { try { checkExpr(src, env); } catch (e) { return (e as ExprError).format('job.sql', 3, 10); } return 'no error'; };
  assert.match(err('price > > 3'), /^job\.sql:4:19: expected a value, a field or a function, found >\n  price > > 3\n {10}\^$/);
  assert.match(err('pricee * 2'), /unknown field "pricee" .*did you mean "price"\?/);
  assert.match(err("instrument < 'AAPL'"), /strings compare only with = and <>/);
  assert.match(err('LAG(price) > 1'), /LAG is not supported in expressions/);
  assert.match(err('SUM(qty)'), /SUM is an aggregate/);
  assert.match(err('ROUND(price, qty)'), /d must be a constant/);
  assert.match(err("price + 'x'"), /\+ is not defined for double and string/);
  assert.match(err('CASE WHEN price > 1 THEN 1 ELSE instrument END'), /CASE results: the values mix double and string/);
  assert.match(err("ts > INTERVAL '1' FORTNIGHT"), /expected an interval unit/);
  assert.match(err('(price + 1'), /expected "\)" to close the parenthesis, found the end of the expression/);
  assert.throws(() => exprProgram(env, { filter: 'price + 1' }), /expected a condition/);
  assert.throws(() => exprProgram(env, { projections: [{ slot: 4, source: "ts - INTERVAL '1' SECOND" }] }), /a timestamp cannot be stored/);
});

test('hand-picked semantics: NULL, division by zero, overflow, ±0, ROUND, three-valued logic (both engines)', () => {
  const data: Row[] = [
    { price: 10, qty: 0, side: 1, instrument: 'AAPL', ts: T0 },
    { price: NaN, qty: 2, side: -1, instrument: null, ts: T0 + 1n },
    { price: -0, qty: 0, side: NaN, instrument: 'XOM', ts: T0 + 2n },
    { price: 1e308, qty: 10, side: 1, instrument: "O'NEIL", ts: T0 + 3n },
    { price: 2.5, qty: -2.5, side: -1, instrument: 'MSFT', ts: T0 + 4n },
    { price: 0.49999999999999994, qty: 1.005, side: 1, instrument: 'AAPL', ts: T0 + 5n },
  ];
  const cases: Array<[string, Array<number | null>]> = [
    ['price / qty', [Infinity, null, null, 1e307, -1, 0.49999999999999994 / 1.005]],
    ['price % qty', [null, null, null, 1e308 % 10, 0, 0.49999999999999994]],
    ['price * qty', [0, null, -0, Infinity, -6.25, 0.49999999999999994 * 1.005]],
    ['ROUND(price)', [10, null, -0, 1e308, 3, 0]],
    ['ROUND(qty, 2)', [0, 2, 0, 10, -2.5, 1]],
    ['ROUND(-price)', [-10, null, 0, -1e308, -3, -0]],
    ['CASE WHEN price = 0 THEN 1 ELSE 0 END', [0, 0, 1, 0, 0, 0]],
    ['COALESCE(price, qty, -1)', [10, 2, -0, 1e308, 2.5, 0.49999999999999994]],
    ['LEAST(price, qty, NULL)', [0, 2, -0, 10, -2.5, 0.49999999999999994]],
    ['GREATEST(price, side)', [10, -1, -0, 1e308, 2.5, 1]],
    ['CASE WHEN side > 0 AND price > 1 THEN 1 WHEN side > 0 OR price > 1 THEN 2 END', [1, null, null, 1, 2, 2]],
    ["CASE WHEN instrument IN ('AAPL', NULL) THEN 1 WHEN NOT (instrument IN ('AAPL', NULL)) THEN 0 END", [1, null, null, null, null, 1]],
    ['CASE WHEN price BETWEEN 0 AND 10 THEN 1 ELSE 0 END', [1, 0, 1, 0, 1, 1]],
    ['CASE WHEN price IS NULL THEN 1 ELSE 0 END', [0, 1, 0, 0, 0, 0]],
    ['LN(qty)', [null, Math.log(2), null, Math.log(10), null, Math.log(1.005)]],
    ['POWER(price, 2)', [100, null, 0, Infinity, 6.25, 0.49999999999999994 ** 2]],
    ['EXP(qty * 100)', [1, Math.exp(200), 1, Infinity, Math.exp(-250), Math.exp(1.005 * 100)]],
  ];
  for (const [src, want] of cases) {
    const [w, j] = runBoth(undefined, [src], data);
    assert.ok(Buffer.from(w.bytes).equals(Buffer.from(j.bytes)), `${src}: engines wrote different bytes`);
    w.out.forEach((o, i) => assert.ok(same(o.values[0], want[i]), `${src}, row ${i}: got ${o.values[0]}, want ${want[i]}`));
  }
  // NULL is stored as the canonical NaN; -0 stays -0.
  const [w] = runBoth(undefined, ['price / qty', 'ROUND(-price)'], data);
  const view = new DataView(w.bytes.buffer);
  assert.is(view.getUint32(STRIDE + IN_FIELDS + 8 * 4 + 4, true), 0x7ff80000);
  assert.ok(Object.is(w.out[0].values[1], -10) && Object.is(w.out[5].values[1], -0));
});

test('random programs: WASM and the JS twin keep the same records and write the same bytes; values equal DuckDB', async () => {
  const data = rows(400, 99);
  const c = await duck();
  await loadRows(c, data);
  let compared = 0, keptSome = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const g = gen(seed);
    const filter = g.bool(3), p1 = g.dbl(3), p2 = g.dbl(2);
    let results;
    try {
      results = runBoth(filter.ours, [p1.ours, p2.ours], data);
    } catch (e) {
      assert.unreachable(`seed ${seed}: ${(e as Error).message}\n  filter ${filter.ours}\n  ${p1.ours}\n  ${p2.ours}`);
      return;
    }
    const [w, j] = results;
    assert.is(w.kept, j.kept, `seed ${seed}: kept ${w.kept} vs ${j.kept}`);
    assert.ok(Buffer.from(w.bytes).equals(Buffer.from(j.bytes)), `seed ${seed}: engines wrote different bytes\n  ${filter.ours}\n  ${p1.ours}\n  ${p2.ours}`);
    if (w.kept > 0) keptSome++;
    const duckRows = (await c.runAndReadAll(`SELECT rid, ${p1.duck}, ${p2.duck} FROM t WHERE ${filter.duck} ORDER BY rid`)).getRows();
    assert.is(duckRows.length, w.kept, `seed ${seed}: DuckDB keeps ${duckRows.length} rows, ganglion ${w.kept}\n  ${filter.duck}`);
    w.out.forEach((o, i) => {
      assert.is(o.row, Number(duckRows[i][0]), `seed ${seed}: row order`);
      for (let k = 0; k < 2; k++) {
        const d = duckRows[i][k + 1] as number | null;
        assert.ok(same(o.values[k], d === null ? null : Number(d)), `seed ${seed}, row ${o.row}: ${[p1, p2][k].ours} = ${o.values[k]}, DuckDB ${d}`);
      }
      compared++;
    });
  }
  assert.ok(compared > 1000 && keptSome > 20, `only ${compared} values compared over ${keptSome} programs`);
  c.closeSync();
});

test('timestamps and intervals compare and shift in both engines', () => {
  const data = rows(50, 3);
  const [w, j] = runBoth(`ts >= ts - INTERVAL '1' SECOND AND ts + INTERVAL '0.5' SECOND > ts AND ts - ts < INTERVAL '1' NANOSECOND`, ['CASE WHEN ts IS NULL THEN 1 ELSE 0 END'], data);
  assert.is(w.kept, 50);
  assert.ok(Buffer.from(w.bytes).equals(Buffer.from(j.bytes)));
  const [w2] = runBoth(`ts > ts + INTERVAL '1' MILLISECOND`, [], data);
  assert.is(w2.kept, 0);
});

test.run();
