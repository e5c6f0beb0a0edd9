// The SQL parser: statements and expressions it reads, and where and how it
// reports what it cannot (file:line:col, the line, a caret, what was expected).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseExpr, type Expr } from '../../../host/expr/parse.js';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../../host/config/errors.js';
import { parseScript, parseScriptPartly, parseSqlExpr } from '../../../host/sql/parser.js';
import { translateSql } from '../../../host/sql/load.js';
import { parsePipeline } from '../../../host/config/load.js';
import { lineCol } from '../../../host/sql/errors.js';

/** An expression without its positions, to compare trees. */
const shape = (e: Expr): unknown => JSON.parse(JSON.stringify(e, (k, v) => (k === 'pos' || k === 'namePos' ? undefined : typeof v === 'bigint' ? `${v}n` : v)));

/** The problems of `sql` as "line:col message" (first line of each), plus the full text. */
function problems(sql: string): { at: string[]; text: string } {
  try {
    translateSql(sql, 'job.sql');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { at: e.issues.map((i) => `${i.line}:${i.column} ${i.message.split('\n')[0]}`), text: e.message };
  }
  return { at: [], text: '' };
}

const TRADES = `CREATE TABLE trades (ts TIMESTAMP(3), instrument STRING, price DOUBLE, qty DOUBLE, side STRING, trader STRING, account STRING, asset_class STRING,
  WATERMARK FOR ts AS ts - INTERVAL '200' MILLISECOND) WITH ('connector' = 'file', 'path' = 'in.jsonl');\n`;

test('statements of every kind parse, with comments of both forms', () => {
  const s = parseScript(`-- a job
    SET 'execution.checkpointing.interval' = '5s';
    /* the input
       stream */
    CREATE TABLE IF NOT EXISTS t (
      ts TIMESTAMP(3) NOT NULL, k VARCHAR(16) NOT NULL CHECK (k IN ('a', 'b')), x DOUBLE, n AS x * x,
      PRIMARY KEY (k) NOT ENFORCED,
      WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
    ) WITH ('connector' = 'synthetic', 'rate' = '10');
    CREATE TABLE out WITH ('connector' = 'stdout');
    CREATE MODEL m WITH ('path' = 'm.json');
    CREATE VIEW v AS SELECT k, COUNT(*) AS c FROM t GROUP BY k, TUMBLE(ts, INTERVAL '1' SECOND);
    INSERT INTO out SELECT * FROM v;`);
  assert.equal(s.map((x) => x.kind), ['set', 'create_table', 'create_table', 'create_model', 'create_view', 'insert']);
  const t = s[1] as Extract<(typeof s)[number], { kind: 'create_table' }>;
  assert.equal(t.columns.map((c) => c.name.v), ['ts', 'k', 'x', 'n']);
  assert.equal(t.columns[1].type, { name: 'VARCHAR', params: [16], pos: t.columns[1].type!.pos });
  assert.ok(t.columns[3].computed);
  assert.equal(t.primaryKey!.columns.map((c) => c.v), ['k']);
  assert.is(t.watermark!.column.v, 'ts');
  assert.equal(t.options.entries.map((o) => [o.key, o.value]), [['connector', 'synthetic'], ['rate', '10']]);
});

test("Flink's statement-set wrappers are accepted and dropped", () => {
  const insert = 'INSERT INTO o SELECT * FROM v;';
  assert.equal(parseScript(`EXECUTE STATEMENT SET BEGIN ${insert} ${insert} END;`).map((x) => x.kind), ['insert', 'insert']);
  assert.equal(parseScript(`BEGIN STATEMENT SET; ${insert} END;`).map((x) => x.kind), ['insert']);
});

test('expressions parse to the same trees as host/expr, so compiled expressions are shared', () => {
  for (const src of [
    'a + b * c - d / 2 % 3', 'NOT a > 1 AND b < 2 OR c = 3', 'x BETWEEN 1 AND 2', 'x NOT IN (1, 2, NULL)', 'x IS NOT NULL',
    "CASE WHEN x > 0 THEN 'up' ELSE 'down' END", 'CASE x WHEN 1 THEN 2 END', "ts - INTERVAL '1.5' SECOND", 'ROUND(-x, 2)', 'COALESCE(a, b, 0)', '-(-x)',
  ]) assert.equal(shape(parseSqlExpr(src)), shape(parseExpr(src)), src);
});

test('the SQL-only call forms: COUNT(*), DISTINCT, OVER with frames', () => {
  const e = parseSqlExpr("SUM(x) OVER (PARTITION BY a, b ORDER BY ts RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW)") as Record<string, any>;
  assert.is(e.over.partitionBy.length, 2);
  assert.is(e.over.frame.unit, 'range');
  assert.is(e.over.frame.start.kind, 'preceding');
  assert.is(e.over.frame.end.kind, 'current');
  // The seed's short form: no ORDER BY, one bound.
  const short = parseSqlExpr("SUM(notional_amount) OVER (PARTITION BY trader_id, asset_class RANGE INTERVAL '1' DAY PRECEDING)") as Record<string, any>;
  assert.is(short.over.orderBy.length, 0);
  assert.is(short.over.frame.start.value.ns, 86_400_000_000_000n);
  const rows = parseSqlExpr('AVG(x) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)') as Record<string, any>;
  assert.is(rows.over.frame.unit, 'rows');
  assert.is(rows.over.frame.start.value.value, 9);
  assert.is((parseSqlExpr('COUNT(DISTINCT k)') as Record<string, any>).distinct, true);
  assert.is((parseSqlExpr("INTERVAL '1.5 minutes'") as Record<string, any>).ns, 90_000_000_000n);
  assert.is((parseSqlExpr('COUNT(*)') as Record<string, any>).args[0].name, '*');
});

test('the table-valued window form and the group-window form', () => {
  const [v] = parseScript("CREATE VIEW v AS SELECT k, window_start, window_end, SUM(x) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '5' SECOND)) GROUP BY k, window_start, window_end") as any[];
  assert.is(v.query.from.k, 'tvf');
  assert.is(v.query.from.fn, 'HOP');
  assert.is(v.query.from.timeCol.v, 'ts');
  assert.is(v.query.from.args.length, 2);
  const [c] = parseScript("CREATE VIEW c AS SELECT * FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' HOUR)) x") as any[];
  assert.is(c.query.from.fn, 'CUMULATE');
  assert.is(c.query.from.alias.v, 'x');
});

test('a parse error names line:col, the line and a caret, and what was expected', () => {
  const sql = "SET 'pipeline.name' = 'x';\nCREATE VIEW v AS\n  SELECT k COUNT(*) FROM t;";
  const p = problems(sql);
  assert.equal(p.at, ['3:17 expected FROM after the select list (or "," before another column), found "("']);
  assert.ok(p.text.includes('job.sql:3:17 '));
  assert.ok(p.text.endsWith(`\n    SELECT k COUNT(*) FROM t;\n  ${' '.repeat(16)}^`), p.text);
});

test('every statement that fails is reported, and the others are still checked', () => {
  const p = problems(`${TRADES}CREATE VIEW a AS SELECT k FROM;
CREATE VIEW b AS SELECT instrument, SUM(prise) FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
CREATE VIEW c AS SELECT * FROM a WHERE x > 1;
DROP TABLE trades;
CREATE VIEW d AS SELECT instrument, COUNT(*) FROM tradez GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);`);
  assert.equal(p.at, [
    '3:31 expected a table or view name after FROM, found ";" (the end of the statement)',
    '4:41 unknown column prise (did you mean "price"?) (columns of trades: ts, instrument, price, qty, side, trader, account, asset_class)',
    '6:1 DROP is not supported: a job script declares its tables afresh each run',
    '7:51 unknown table or view "tradez" (did you mean "trades"?) (declared: trades)',
  ]);
});

test('lexical errors: unterminated strings and comments, stray characters', () => {
  assert.equal(problems("SET 'a = 1;").at, ["1:5 unterminated string: expected a closing '"]);
  assert.equal(problems('SET a = 1; /* open').at, ['1:12 unterminated comment: expected */ to close the /* comment']);
  assert.equal(problems('SET a = 1 & 2;').at, ['1:11 unexpected character "&"']);
});

test('unsupported SQL says so precisely, at its place', () => {
  const cases: Array<[string, string]> = [
    ['SELECT * FROM trades;', '3:1 a query on its own has nowhere to send its results'],
    ['CREATE VIEW v AS SELECT instrument, LAG(price) OVER (PARTITION BY instrument ORDER BY ts) FROM trades;', '3:37 `LAG` is not supported; a per-key previous value needs MATCH_RECOGNIZE (next issue)'],
    ['CREATE VIEW v AS SELECT * FROM trades t JOIN trades u ON t.ts = u.ts;', '3:41 joins are not supported yet (issue 17)'],
    ['CREATE VIEW v AS SELECT price FROM trades ORDER BY price;', '3:43 ORDER BY on a query is not supported'],
    ["CREATE VIEW v AS SELECT CAST(price AS INT) FROM trades;", '3:25 CAST is not supported'],
    ["CREATE VIEW v AS SELECT instrument FROM trades WHERE instrument LIKE 'A%';", '3:65 LIKE is not supported'],
    ["CREATE VIEW v AS SELECT instrument, SUM(price) OVER (PARTITION BY instrument RANGE INTERVAL '1' MONTH PRECEDING) FROM trades;", "3:97 expected an interval unit"],
  ];
  for (const [stmt, want] of cases) {
    const p = problems(TRADES + stmt);
    assert.ok(p.at.length >= 1 && p.at[0].startsWith(want), `${stmt}\n  got  ${p.at[0]}\n  want ${want}`);
  }
});

test('misspelt keywords: did you mean, and never a silent alias', () => {
  assert.equal(problems('CRATE TABLE x (a INT);').at, ['1:1 expected a statement (CREATE TABLE, CREATE VIEW, CREATE MODEL, INSERT INTO, SET), found CRATE (did you mean "CREATE"?)']);
  assert.equal(problems('CREATE TABEL x (a INT);').at, ['1:8 expected TABLE, VIEW or MODEL after CREATE, found TABEL (did you mean "TABLE"?)']);
  assert.equal(problems(`${TRADES}CREATE VIEW v AS SELECT price FORM trades;`).at, ['3:31 "FORM" would be read as an alias here (did you mean "FROM"?); write AS FORM for an alias']);
  assert.equal(problems(`${TRADES}CREATE VIEW v AS SELECT price FROM trades GRUOP BY x;`).at, ['3:43 "GRUOP" would be read as an alias here (did you mean "GROUP"?); write AS GRUOP for an alias']);
});

test('line and column count from 1; columns in the caret line match', () => {
  assert.equal(lineCol('ab\ncd', 4), { line: 2, column: 2, lineStart: 3 });
  const r = parseScriptPartly('SET a = 1;\n\n  CREATE VIEW;');
  assert.is(r.problems.length, 1);
  assert.equal(lineCol('SET a = 1;\n\n  CREATE VIEW;', r.problems[0].pos.offset), { line: 3, column: 14, lineStart: 12 });
});

test('damaged scripts always give positioned problems, never a crash', () => {
  // Seeded: delete, duplicate or swap tokens of the examples, and check every
  // outcome is a config or a ConfigError whose problems all have a place.
  let seed = 12345;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const root = new URL('../../../examples/', import.meta.url).pathname;
  const scripts = ['market-surveillance.sql', 'payment-fraud.sql', 'position-limits.sql'].map((f) => readFileSync(root + f, 'utf8'));
  let failed = 0;
  for (let i = 0; i < 300; i++) {
    const words = scripts[i % 3].split(/(\s+)/);
    for (let k = 0; k < 1 + Math.floor(next() * 3); k++) {
      const at = Math.floor(next() * words.length), r = next();
      if (r < 0.4) words.splice(at, 1);
      else if (r < 0.7) words.splice(at, 0, words[Math.floor(next() * words.length)]);
      else { const j = Math.floor(next() * words.length); [words[at], words[j]] = [words[j], words[at]]; }
    }
    const text = words.join('');
    try {
      parsePipeline(text, 'fuzz.sql', { baseDir: root });
    } catch (e) {
      assert.ok(e instanceof ConfigError, `not a ConfigError for:\n${text}\n${(e as Error).stack}`);
      for (const issue of e.issues) assert.ok(issue.line >= 1 && issue.column >= 1 && issue.message.includes('^'), `no place: ${issue.message}`);
      failed++;
    }
  }
  assert.ok(failed > 100, `${failed} of 300 damaged scripts were refused`);
});

test.run();
