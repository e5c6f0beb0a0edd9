// The replay / run / DuckDB comparison behind test/host/cli/replay_sql.test.ts
// and scripts/replay_sql_figure.ts (the semantics are described in the test).
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ganglionExit } from './ganglion.js';
import { finalSessions, finalWindows, readOutputs, type Out } from './outputs.js';

export const OOO = 500, LATENESS = 1000, TUM = 1000, HOP_SIZE = 4000, HOP_SLIDE = 1000, GAP = 2000;
const AGGS = '[count, sum, min, max, mean, vwap]';
const OPERATORS = `schema: { type: trades }
event_time: { unit: ms, out_of_orderness: ${OOO}ms, allowed_lateness: ${LATENESS}ms, idle_timeout: 0s }
operators:
  - { name: tum, type: window, window: tumbling, size: ${TUM}ms, field: price, weight: qty, aggregates: ${AGGS} }
  - { name: hop, type: window, window: sliding, size: ${HOP_SIZE}ms, slide: ${HOP_SLIDE}ms, field: price, weight: qty, aggregates: ${AGGS} }
  - { name: ses, type: window, window: session, gap: ${GAP}ms, field: price, weight: qty, aggregates: ${AGGS} }
`;

async function rows(db: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjects();
}

interface Results { outs: Out[]; windowLines: string[] }

/** replay (1 and 3 partitions) and run over `input`; asserts they agree and returns the 1-partition replay. */
async function throughGanglion(dir: string, name: string, input: string): Promise<Results> {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, `name: ${name}\n${OPERATORS}partitions: 1\n`);
  const one = join(dir, `${name}-replay1.jsonl`), three = join(dir, `${name}-replay3.jsonl`);
  let r = await ganglionExit(['replay', p, '--input', input, '--output', one]);
  assert.is(r.code, 0, r.stderr);
  r = await ganglionExit(['replay', p, '--input', input, '--output', three, '--partitions', '3']);
  assert.is(r.code, 0, r.stderr);
  const runOut = join(dir, `${name}-run.jsonl`);
  const rp = join(dir, `${name}-run.yaml`);
  writeFileSync(rp, `name: ${name}_run\nsources: [{ type: file, path: ${JSON.stringify(input)} }]\n${OPERATORS}partitions: 1\n`
    + `sinks: [{ type: jsonl, path: ${JSON.stringify(runOut)}, kinds: [window, revision, late] }]\ndelivery: { mode: exactly_once, checkpoint: { interval: 0s } }\n`);
  r = await ganglionExit(['run', rp, '--data-dir', join(dir, `${name}-data`), '--no-status']);
  assert.is(r.code, 0, r.stderr);

  const outs = readOutputs(one);
  const windowLines = outs.filter((o) => ['window', 'revision', 'late'].includes(o.kind)).map((o) => JSON.stringify(o));
  assert.ok(windowLines.length > 0);
  sameLines(readOutputs(runOut).map((o) => JSON.stringify(o)), windowLines, 'run with a file source writes exactly what replay writes');
  const sorted = (l: string[]) => [...l].sort();
  sameLines(sorted(readOutputs(three).filter((o) => o.kind !== 'dead_letter').map((o) => JSON.stringify(o))), sorted(windowLines), '3 partitions give the same outputs as 1');
  return { outs, windowLines };
}

/** Line lists equal; on a difference, says where (the lists are too long to print whole). */
function sameLines(got: string[], want: string[], what: string): void {
  const i = got.findIndex((l, j) => l !== want[j]);
  const at = i < 0 && got.length !== want.length ? Math.min(got.length, want.length) : i;
  assert.ok(at < 0, `${what}: ${got.length} vs ${want.length} lines, first difference at line ${at + 1}:\n  got  ${got[at]}\n  want ${want[at]}`);
}

const MS = 1_000_000n;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

const WINDOW_AGGREGATES = [['sum', 's'], ['min', 'mn'], ['max', 'mx'], ['mean', 'av'], ['vwap', 'vw']] as const;

/**
 * ganglion's final windows of `op` against DuckDB's rows: the same keys (by
 * `keyOf`), the same count, and each aggregate (name, DuckDB column) within 1e-9.
 */
export function compareWindows(op: string, got: Map<string, Out>, want: Record<string, unknown>[], keyOf: (r: Record<string, unknown>) => string,
  aggregates: ReadonlyArray<readonly [string, string]> = WINDOW_AGGREGATES): void {
  const expected = new Map(want.map((r) => [keyOf(r), r]));
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !expected.has(k));
  assert.equal({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${op}: the same windows as DuckDB (${got.size} vs ${expected.size})`);
  for (const [k, w] of expected) {
    const v = got.get(k)!.values!;
    assert.is(v.count, Number(w.c), `${op} ${k} count`);
    for (const [name, col] of aggregates) {
      assert.ok(close(v[name] as number, w[col] as number), `${op} ${k} ${name}: ganglion ${v[name]}, DuckDB ${w[col]}`);
    }
  }
}

const seqs = (outs: Out[], op: string) => new Set(outs.filter((o) => o.kind === 'late' && o.op === op).map((o) => Number(o.seq)));
const numbers = (r: Record<string, unknown>[]) => new Set(r.map((x) => Number(x.n)));

export interface Checked { outs: Out[]; sessions: Map<string, Out>; windows: Record<string, number>; late: Record<string, number>; sessionKeys: number; keys: number }

/**
 * Everything above for one input file (written to `dir`, with a line number
 * `n` added to each line), against the DuckDB connection `db`; throws
 * (uvu assert) on the first difference.
 */
export async function checkAgainstDuckDb(db: DuckDBConnection, dir: string, name: string, lines: string[], minSessionKeys: number): Promise<Checked> {
  // `n`: the line number, so SQL knows the input order (ganglion ignores the field; its seq is n as no line is rejected).
  const input = join(dir, `${name}.jsonl`);
  writeFileSync(input, lines.map((l, i) => `{"n":${i + 1},${l.slice(1)}`).join('\n') + '\n');
  const { outs } = await throughGanglion(dir, name, input);

  await db.run(`CREATE OR REPLACE TABLE ev AS
    SELECT n, ts, instrument AS k, price, qty,
           max(ts) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - ${OOO} AS wm
    FROM read_json('${input}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
  const aggs = `count(*) AS c, sum(price) AS s, min(price) AS mn, max(price) AS mx, avg(price) AS av, sum(price * qty) / sum(qty) AS vw`;

  // Tumbling: time_bucket; an event counts iff wm ≤ end + lateness.
  await db.run(`CREATE OR REPLACE TABLE tum AS SELECT *, epoch_ms(time_bucket(INTERVAL ${TUM} MILLISECONDS, epoch_ms(ts))) AS ws FROM ev`);
  const tum = await rows(db, `SELECT k, ws, ${aggs} FROM tum WHERE wm <= ws + ${TUM + LATENESS} GROUP BY k, ws`);
  const tumLate = await rows(db, `SELECT n FROM tum WHERE wm > ws + ${TUM + LATENESS}`);
  const wkey = (r: Record<string, unknown>) => `${r.k}|${BigInt(r.ws as bigint) * MS}`;
  compareWindows('tum', finalWindows(outs, 'tum'), tum, wkey);
  assert.equal(seqs(outs, 'tum'), numbers(tumLate), 'tum: late outputs are exactly the events SQL finds beyond the allowed lateness');

  // Hopping: each event in size/slide windows starting at bucket − j·slide.
  await db.run(`CREATE OR REPLACE TABLE hop AS
    SELECT ev.*, epoch_ms(time_bucket(INTERVAL ${HOP_SLIDE} MILLISECONDS, epoch_ms(ts))) - j * ${HOP_SLIDE} AS ws,
           epoch_ms(time_bucket(INTERVAL ${HOP_SLIDE} MILLISECONDS, epoch_ms(ts))) + ${HOP_SIZE} AS last_end
    FROM ev CROSS JOIN range(0, ${HOP_SIZE / HOP_SLIDE}) AS t(j)`);
  const hop = await rows(db, `SELECT k, ws, ${aggs} FROM hop WHERE wm <= ws + ${HOP_SIZE + LATENESS} GROUP BY k, ws`);
  const hopLate = await rows(db, `SELECT DISTINCT n FROM hop WHERE wm > last_end + ${LATENESS}`);
  compareWindows('hop', finalWindows(outs, 'hop'), hop, wkey);
  assert.equal(seqs(outs, 'hop'), numbers(hopLate), 'hop: late outputs are exactly the events beyond the lateness of every window holding them');

  // Sessions: gaps and islands over the events that cannot be late.
  await db.run(`CREATE OR REPLACE TABLE ses_ev AS
    SELECT e.*, wm > ts + ${GAP + LATENESS} AS maybe_late,
           NOT EXISTS (SELECT 1 FROM ev o WHERE o.k = e.k AND o.n <> e.n AND abs(o.ts - e.ts) < ${GAP}) AS isolated
    FROM ev e`);
  const lateForSure = await rows(db, `SELECT n FROM ses_ev WHERE maybe_late AND isolated`);
  const maybeLate = await rows(db, `SELECT n FROM ses_ev WHERE maybe_late`);
  const ses = await rows(db, `
    WITH fragile AS (
      SELECT k FROM ses_ev WHERE maybe_late AND NOT isolated
      UNION
      -- an event within the gap of an earlier one whose session may already be past its lateness
      SELECT e.k FROM ses_ev e JOIN ses_ev o ON o.k = e.k AND o.n < e.n AND abs(o.ts - e.ts) < ${GAP} AND e.wm > o.ts + ${GAP + LATENESS}),
    kept AS (SELECT * FROM ses_ev WHERE NOT maybe_late AND k NOT IN (SELECT k FROM fragile)),
    marks AS (SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY k ORDER BY ts, n) >= ${GAP} THEN 1 ELSE 0 END AS brk FROM kept),
    islands AS (SELECT *, sum(brk) OVER (PARTITION BY k ORDER BY ts, n ROWS UNBOUNDED PRECEDING) AS sid FROM marks)
    SELECT k, min(ts) AS ws, max(ts) + ${GAP} AS we, ${aggs} FROM islands GROUP BY k, sid`);
  const compared = new Set(ses.map((r) => r.k as string));
  const sessions = finalSessions(outs, 'ses');
  const gotSessions = new Map([...sessions].filter(([k]) => compared.has(k.split('|')[0])));
  compareWindows('ses', gotSessions, ses, (r) => `${r.k}|${BigInt(r.ws as bigint) * MS}|${BigInt(r.we as bigint) * MS}`);
  const sesLate = seqs(outs, 'ses');
  for (const n of numbers(lateForSure)) assert.ok(sesLate.has(n), `ses: isolated event n=${n} beyond gap + lateness is late`);
  const maybe = numbers(maybeLate);
  for (const n of sesLate) assert.ok(maybe.has(n), `ses: event n=${n} is late only if wm > ts + gap + lateness`);
  assert.ok(compared.size >= minSessionKeys, `sessions of ${compared.size} keys compared`);
  // No event may be refused for want of state: in-order sessions are never evicted.
  assert.is(outs.filter((o) => o.kind === 'late' && o.reason !== 'beyond_allowed_lateness').length, 0, 'no state_evicted');
  const keys = new Set(outs.filter((o) => o.key !== undefined).map((o) => o.key)).size;
  return {
    outs, sessions, sessionKeys: compared.size, keys,
    windows: { tum: tum.length, hop: hop.length, ses: ses.length },
    late: { tum: tumLate.length, hop: hopLate.length, ses: sesLate.size },
  };
}

