// SQL OVER aggregates → the `over` operator: what each frame form becomes,
// the seed query of issue 17 with its event-time order made explicit in
// `ganglion explain`, and what cannot be planned refused at its place.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../../host/config/errors.js';
import { parsePipeline } from '../../../host/config/load.js';
import type { PipelineConfig } from '../../../host/config/types.js';
import { logicalPlan, planText } from '../../../host/plan/logical_plan.js';
import { planPipeline } from '../../../host/pipeline/plan.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const TRADES = `CREATE TABLE trades (ts TIMESTAMP(3), instrument STRING, price DOUBLE NOT NULL, qty DOUBLE, side STRING, trader STRING, account STRING, asset_class STRING,
  WATERMARK FOR ts AS ts - INTERVAL '200' MILLISECOND) WITH ('connector' = 'file', 'path' = 'in.jsonl');\n`;

const sql = (text: string): PipelineConfig => parsePipeline(text, 'job.sql', { baseDir: ROOT });
function problems(text: string): string[] {
  try { sql(text); } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.line}:${i.column} ${i.message.split('\n')[0]}`);
  }
  return [];
}
const op = (c: PipelineConfig, i = 0) => c.operators[i] as unknown as Record<string, unknown>;

test("the seed query: RANGE INTERVAL '1' DAY PRECEDING without ORDER BY, keyed by its PARTITION BY", () => {
  const c = sql(`${TRADES}CREATE VIEW limits AS SELECT trader, SUM(qty) OVER (PARTITION BY trader, asset_class RANGE INTERVAL '1' DAY PRECEDING) AS daily_notional FROM trades;`);
  assert.equal(op(c), { name: 'limits', type: 'over', field: 'qty', aggregates: ['sum'], order_by: 'ts', range: 86_400_000_000_000n });
  assert.equal(c.key as unknown, ['trader', 'asset_class']);
});

test('RANGE BETWEEN INTERVAL ... AND CURRENT ROW, ROWS BETWEEN n ..., several aggregates of one window, WHERE the operator\'s own', () => {
  const w = "OVER (PARTITION BY instrument ORDER BY ts RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW)";
  const c = sql(`${TRADES}CREATE VIEW m AS SELECT instrument, ts, COUNT(price) ${w} AS n, SUM(price) ${w} AS s, MIN(price) ${w}, MAX(price) ${w}, AVG(price) ${w} AS a FROM trades;`);
  assert.equal(op(c), { name: 'm', type: 'over', field: 'price', aggregates: ['count', 'sum', 'min', 'max', 'mean'], order_by: 'ts', range: 60_000_000_000n });
  const r = sql(`${TRADES}CREATE VIEW r AS SELECT instrument, AVG(qty) OVER (PARTITION BY instrument ORDER BY ts ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS a FROM trades WHERE instrument <> 'XOM';`);
  assert.equal(r.operators.map((o) => [o.name, o.type]), [['r', 'over']]);
  assert.equal(op(r), { name: 'r', type: 'over', field: 'qty', aggregates: ['mean'], order_by: 'ts', rows: 99, where: `("instrument" <> 'XOM')` });
  // COUNT(*) counts the rows with a value of the column: planned when the column is NOT NULL.
  const n = sql(`${TRADES}CREATE VIEW n AS SELECT instrument, COUNT(*) OVER (PARTITION BY instrument ROWS 5 PRECEDING) AS c, SUM(price) OVER (PARTITION BY instrument ROWS 5 PRECEDING) AS s FROM trades;`);
  assert.equal(op(n).aggregates, ['count', 'sum']);
});

test('explain shows the event-time order the short form leaves implicit', () => {
  const c = sql(`${TRADES}CREATE VIEW limits AS SELECT trader, SUM(qty) OVER (PARTITION BY trader, asset_class RANGE INTERVAL '1' DAY PRECEDING) AS daily_notional FROM trades;`);
  const text = planText(logicalPlan(c, planPipeline(c)));
  assert.match(text, 'limits  [over] sum of qty OVER (PARTITION BY key ORDER BY ts RANGE BETWEEN 1d PRECEDING AND CURRENT ROW)');
  assert.match(text, 'key trader|asset_class');
  assert.match(text, 'outputs over, late');
});

test('what cannot be planned is refused at its place', () => {
  const cases: Array<[string, string]> = [
    ['CREATE VIEW v AS SELECT instrument, SUM(price) OVER (PARTITION BY instrument ORDER BY price ROWS 3 PRECEDING) FROM trades;', '3:87 OVER (...) is in event-time order: ORDER BY ts'],
    ['CREATE VIEW v AS SELECT instrument, SUM(price) OVER (ORDER BY ts ROWS 3 PRECEDING) FROM trades;', '3:48 not supported yet: OVER (...) without PARTITION BY'],
    ['CREATE VIEW v AS SELECT instrument, SUM(price) OVER (PARTITION BY instrument ROWS 3 PRECEDING), SUM(qty) OVER (PARTITION BY instrument ROWS 3 PRECEDING) FROM trades;', '3:101 not supported yet: OVER aggregates of different columns in one view'],
    ['CREATE VIEW v AS SELECT instrument, SUM(price) OVER (PARTITION BY instrument ROWS 3 PRECEDING), MAX(price) OVER (PARTITION BY instrument ROWS 4 PRECEDING) FROM trades;', '3:108 not supported yet: different OVER (...) windows in one view'],
    ['CREATE VIEW v AS SELECT instrument, STDDEV_POP(price) OVER (PARTITION BY instrument ROWS 3 PRECEDING) FROM trades;', '3:37 not supported yet: STDDEV_POP(...) OVER (...): the OVER operator keeps COUNT, SUM, MIN, MAX and AVG'],
    ['CREATE VIEW v AS SELECT instrument, COUNT(*) OVER (PARTITION BY instrument ROWS 3 PRECEDING) FROM trades;', '3:37 not supported yet: COUNT(*) OVER (...) alone'],
    ["CREATE VIEW v AS SELECT instrument, SUM(price) OVER (PARTITION BY instrument RANGE 5 PRECEDING) FROM trades;", '3:84 a RANGE frame over event time takes an INTERVAL'],
    ["CREATE VIEW v AS SELECT instrument, SUM(price) OVER (PARTITION BY instrument ROWS BETWEEN INTERVAL '1' SECOND PRECEDING AND CURRENT ROW) FROM trades;", '3:91 a ROWS frame takes a number of rows'],
    ["CREATE VIEW v AS SELECT instrument, side, SUM(price) OVER (PARTITION BY instrument ROWS 3 PRECEDING) FROM trades;", '3:37 not supported yet: selecting side next to OVER (...) aggregates'],
    ["CREATE VIEW v AS SELECT SUM(price) OVER (PARTITION BY trader ROWS 3 PRECEDING) FROM trades;\nCREATE VIEW w AS SELECT instrument, COUNT(*) FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);", '4:67 not supported yet: keying by (instrument) when view v (OVER PARTITION BY) keys by (trader)'],
    ['CREATE VIEW v AS SELECT instrument, SUM(side) OVER (PARTITION BY instrument ROWS 3 PRECEDING) FROM trades;', '3:41 SUM OVER needs a number, side is a string'],
  ];
  for (const [stmt, want] of cases) {
    const got = problems(TRADES + stmt);
    assert.ok(got.length >= 1 && got[0].startsWith(want), `${stmt}\n  got  ${got.join('\n       ')}\n  want ${want}`);
  }
});

test('YAML: exactly one of range and rows; order_by must be the event time', () => {
  const yaml = (o: string) => `name: p\nschema: { type: trades }\noperators:\n  - ${o}\n`;
  const issues = (text: string) => { try { parsePipeline(text, 'p.yaml', { baseDir: ROOT }); return []; } catch (e) { return (e as ConfigError).issues.map((i) => i.message); } };
  assert.equal(issues(yaml('{ name: d, type: over, field: price, aggregates: [sum], range: 1d }')), []);
  assert.equal(issues(yaml('{ name: d, type: over, field: price, aggregates: [sum, max], rows: 100 }')), []);
  assert.match(issues(yaml('{ name: d, type: over, field: price, aggregates: [sum] }')).join('\n'), 'expected exactly one of range');
  assert.match(issues(yaml('{ name: d, type: over, field: price, aggregates: [sum], range: 1d, rows: 3 }')).join('\n'), 'expected exactly one of range');
  assert.match(issues(yaml('{ name: d, type: over, field: price, aggregates: [sum], rows: 3, order_by: qty }')).join('\n'), 'expected the event-time field ts');
  assert.match(issues(yaml('{ name: d, type: over, field: price, aggregates: [vwap], rows: 3 }')).join('\n'), 'expected one of "count", "sum", "min", "max", "mean"');
});

test.run();
