// Random SQL window queries with their DuckDB twins, for the seeded
// generators of test/host/sql/duckdb.test.ts and duckdb_expr.test.ts: the
// window (TUMBLE / HOP / SESSION, group-window or table-valued form, sizes)
// is drawn here, the aggregated value and the WHERE by the caller.

/** A window aggregate as ganglion's SQL writes it and as DuckDB computes it. */
export interface WindowAgg { name: string; sql: (c: string) => string; duck: (c: string) => string }

export const WINDOW_AGGS: WindowAgg[] = [
  { name: 'count', sql: () => 'COUNT(*)', duck: () => 'count(*)' },
  { name: 'sum', sql: (c) => `SUM(${c})`, duck: (c) => `sum(${c})` },
  { name: 'min', sql: (c) => `MIN(${c})`, duck: (c) => `min(${c})` },
  { name: 'max', sql: (c) => `MAX(${c})`, duck: (c) => `max(${c})` },
  { name: 'mean', sql: (c) => `AVG(${c})`, duck: (c) => `avg(${c})` },
  { name: 'variance', sql: (c) => `VAR_POP(${c})`, duck: (c) => `var_pop(${c})` },
  { name: 'stddev', sql: (c) => `STDDEV_POP(${c})`, duck: (c) => `stddev_pop(${c})` },
  { name: 'first', sql: (c) => `FIRST_VALUE(${c})`, duck: (c) => `arg_min(${c}, ts)` },
  { name: 'last', sql: (c) => `LAST_VALUE(${c})`, duck: (c) => `arg_max(${c}, ts)` },
  { name: 'vwap', sql: () => 'SUM(price * qty) / SUM(qty)', duck: () => 'sum(price * qty) / sum(qty)' },
  { name: 'var_samp', sql: (c) => `VAR_SAMP(${c})`, duck: (c) => `var_samp(${c})` },
  { name: 'stddev_samp', sql: (c) => `STDDEV_SAMP(${c})`, duck: (c) => `stddev_samp(${c})` },
];

export interface WindowQuery { name: string; sql: string; duck: string; kind: 'tumbling' | 'sliding' | 'session'; aggs: string[] }

/** Where a query reads: the SQL table or view, DuckDB's table, and a WHERE both understand. */
export interface QuerySource { from: string; duckFrom: string; where?: string }

/**
 * A window query of `aggs` over `value`, keyed by instrument, its window drawn
 * from `r`; DuckDB's query gives one row per window (k, ws[, we], aggregates).
 */
export function randomWindowQuery(r: () => number, name: string, aggs: WindowAgg[], value: string, src: QuerySource = { from: 'trades', duckFrom: 'ev' }): WindowQuery {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const kind = pick(['tumbling', 'sliding', 'session'] as const);
  const tvf = r() < 0.5;
  const sel = aggs.map((a) => `${a.sql(value)} AS ${a.name}_v`).join(', ');
  const dsel = aggs.map((a) => `${a.duck(value)} AS ${a.name}`).join(', ');
  const { from, duckFrom } = src;
  const w = src.where ? ` WHERE ${src.where}` : '';
  const ms = (x: number) => `INTERVAL '${x}' MILLISECOND`;
  let sql: string, duck: string;
  if (kind === 'tumbling') {
    const size = pick([100, 250, 1000, 3000]);
    sql = tvf
      ? `SELECT instrument, window_start, window_end, ${sel} FROM TABLE(TUMBLE(TABLE ${from}, DESCRIPTOR(ts), ${ms(size)}))${w} GROUP BY instrument, window_start, window_end`
      : `SELECT instrument, TUMBLE_START(ts, ${ms(size)}) AS ws, ${sel} FROM ${from}${w} GROUP BY instrument, TUMBLE(ts, ${ms(size)})`;
    duck = `SELECT instrument AS k, (ts // ${size}) * ${size} AS ws, ${dsel} FROM ${duckFrom}${w} GROUP BY k, ws`;
  } else if (kind === 'sliding') {
    const slide = pick([100, 250, 500]), size = slide * pick([2, 3, 4, 8]);
    sql = tvf
      ? `SELECT instrument, window_start, window_end, ${sel} FROM TABLE(HOP(TABLE ${from}, DESCRIPTOR(ts), ${ms(slide)}, ${ms(size)}))${w} GROUP BY instrument, window_start, window_end`
      : `SELECT instrument, HOP_END(ts, ${ms(slide)}, ${ms(size)}) AS we, ${sel} FROM ${from}${w} GROUP BY instrument, HOP(ts, ${ms(slide)}, ${ms(size)})`;
    duck = `SELECT instrument AS k, (ts // ${slide}) * ${slide} - j * ${slide} AS ws, ${dsel} FROM ${duckFrom} CROSS JOIN range(0, ${size / slide}) AS t(j)${w} GROUP BY k, ws`;
  } else {
    const gap = pick([500, 1000, 2500]);
    sql = tvf
      ? `SELECT instrument, window_start, window_end, ${sel} FROM TABLE(SESSION(TABLE ${from} PARTITION BY instrument, DESCRIPTOR(ts), ${ms(gap)}))${w} GROUP BY instrument, window_start, window_end`
      : `SELECT instrument, SESSION_START(ts, ${ms(gap)}) AS ws, ${sel} FROM ${from}${w} GROUP BY instrument, SESSION(ts, ${ms(gap)})`;
    // Sessions over the events the WHERE keeps.
    duck = `WITH kept AS (SELECT * FROM ${duckFrom}${w}),
      marks AS (SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY instrument ORDER BY ts) >= ${gap} THEN 1 ELSE 0 END AS brk FROM kept),
      islands AS (SELECT *, sum(brk) OVER (PARTITION BY instrument ORDER BY ts ROWS UNBOUNDED PRECEDING) AS sid FROM marks)
      SELECT instrument AS k, min(ts) AS ws, max(ts) + ${gap} AS we, ${dsel} FROM islands GROUP BY k, sid`;
  }
  return { name, sql: `CREATE VIEW ${name} AS ${sql};`, duck, kind, aggs: aggs.map((a) => a.name) };
}
