// Window results against a SQL engine that is not ours (issue 14 figure,
// items 3-4): the same JSONL file through `ganglion replay` (1 and 3
// partitions) and `ganglion run` with a file source gives the same window
// outputs, and those equal DuckDB's batch result over the file: tumbling
// (time_bucket), hopping (bucket arithmetic) and session windows (gaps and
// islands with LAG); count, sum, min, max, mean, vwap. Counts exactly,
// floats within 1e-9 relative.
//
// Lateness is part of the definition, per event in input order: the
// watermark at an event is max(event time of every line up to and including
// it) − out_of_orderness (DuckDB: a running max over the line number `n`).
// An event is in a time window's final result iff watermark ≤ end + allowed
// lateness; a tumbling/hopping event goes to `late` iff that fails for every
// window holding it. A session event can only be late if watermark >
// ts + gap + lateness; such an event with no other event of its key within
// the gap is late for sure, one with neighbours depends on the sessions alive
// at that moment (not a SQL question), and so does an event within the gap of
// an earlier one whose session may be past its lateness already: keys with
// such events are left out of the session comparison, their late events only
// bounded.
// Before the fix, replay moved the watermark once per 1 MiB chunk: late
// events were folded into windows and in-order session events evicted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { tempDir } from '../../helpers/tmp.js';
import { tradesLines } from '../../helpers/trades_file.js';
import { finalSessions, finalWindows, ganglion, readOutputs, type Out } from '../../helpers/ganglion_cli.js';

const OOO = 500, LATENESS = 1000, TUM = 1000, HOP_SIZE = 4000, HOP_SLIDE = 1000, GAP = 2000;
const AGGS = '[count, sum, min, max, mean, vwap]';
const OPERATORS = `schema: { type: trades }
event_time: { unit: ms, out_of_orderness: ${OOO}ms, allowed_lateness: ${LATENESS}ms, idle_timeout: 0s }
operators:
  - { name: tum, type: window, window: tumbling, size: ${TUM}ms, field: price, weight: qty, aggregates: ${AGGS} }
  - { name: hop, type: window, window: sliding, size: ${HOP_SIZE}ms, slide: ${HOP_SLIDE}ms, field: price, weight: qty, aggregates: ${AGGS} }
  - { name: ses, type: window, window: session, gap: ${GAP}ms, field: price, weight: qty, aggregates: ${AGGS} }
`;

const dir = tempDir('ganglion-sql-');
let db: DuckDBConnection;

test.before(async () => {
  db = await (await DuckDBInstance.create(':memory:')).connect();
});
test.after(() => dir.remove());

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjects();
}

interface Results { outs: Out[]; windowLines: string[] }

/** replay (1 and 3 partitions) and run over `input`; asserts they agree and returns the 1-partition replay. */
async function throughGanglion(name: string, input: string): Promise<Results> {
  const p = join(dir.path, `${name}.yaml`);
  writeFileSync(p, `name: ${name}\n${OPERATORS}partitions: 1\n`);
  const one = join(dir.path, `${name}-replay1.jsonl`), three = join(dir.path, `${name}-replay3.jsonl`);
  let r = await ganglion(['replay', p, '--input', input, '--output', one]);
  assert.is(r.code, 0, r.stderr);
  r = await ganglion(['replay', p, '--input', input, '--output', three, '--partitions', '3']);
  assert.is(r.code, 0, r.stderr);
  const runOut = join(dir.path, `${name}-run.jsonl`);
  const rp = join(dir.path, `${name}-run.yaml`);
  writeFileSync(rp, `name: ${name}_run\nsources: [{ type: file, path: ${JSON.stringify(input)} }]\n${OPERATORS}partitions: 1\n`
    + `sinks: [{ type: jsonl, path: ${JSON.stringify(runOut)}, kinds: [window, revision, late] }]\ndelivery: { mode: exactly_once, checkpoint: { interval: 0s } }\n`);
  r = await ganglion(['run', rp, '--data-dir', join(dir.path, `${name}-data`), '--no-status']);
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

function compare(op: string, got: Map<string, Out>, want: Record<string, unknown>[], keyOf: (r: Record<string, unknown>) => string): void {
  const expected = new Map(want.map((r) => [keyOf(r), r]));
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !expected.has(k));
  assert.equal({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${op}: the same windows as DuckDB (${got.size} vs ${expected.size})`);
  for (const [k, w] of expected) {
    const v = got.get(k)!.values!;
    assert.is(v.count, Number(w.c), `${op} ${k} count`);
    for (const [name, col] of [['sum', 's'], ['min', 'mn'], ['max', 'mx'], ['mean', 'av'], ['vwap', 'vw']] as const) {
      assert.ok(close(v[name] as number, w[col] as number), `${op} ${k} ${name}: ganglion ${v[name]}, DuckDB ${w[col]}`);
    }
  }
}

const seqs = (outs: Out[], op: string) => new Set(outs.filter((o) => o.kind === 'late' && o.op === op).map((o) => Number(o.seq)));
const numbers = (r: Record<string, unknown>[]) => new Set(r.map((x) => Number(x.n)));

/** Everything above for one input file; returns the late sets for extra checks. */
async function checkAgainstDuckDb(name: string, lines: string[], minSessionKeys: number): Promise<{ outs: Out[]; sessions: Map<string, Out> }> {
  // `n`: the line number, so SQL knows the input order (ganglion ignores the field; its seq is n as no line is rejected).
  const input = join(dir.path, `${name}.jsonl`);
  writeFileSync(input, lines.map((l, i) => `{"n":${i + 1},${l.slice(1)}`).join('\n') + '\n');
  const { outs } = await throughGanglion(name, input);

  await db.run(`CREATE OR REPLACE TABLE ev AS
    SELECT n, ts, instrument AS k, price, qty,
           max(ts) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - ${OOO} AS wm
    FROM read_json('${input}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
  const aggs = `count(*) AS c, sum(price) AS s, min(price) AS mn, max(price) AS mx, avg(price) AS av, sum(price * qty) / sum(qty) AS vw`;

  // Tumbling: time_bucket; an event counts iff wm ≤ end + lateness.
  await db.run(`CREATE OR REPLACE TABLE tum AS SELECT *, epoch_ms(time_bucket(INTERVAL ${TUM} MILLISECONDS, epoch_ms(ts))) AS ws FROM ev`);
  const tum = await rows(`SELECT k, ws, ${aggs} FROM tum WHERE wm <= ws + ${TUM + LATENESS} GROUP BY k, ws`);
  const tumLate = await rows(`SELECT n FROM tum WHERE wm > ws + ${TUM + LATENESS}`);
  const wkey = (r: Record<string, unknown>) => `${r.k}|${BigInt(r.ws as bigint) * MS}`;
  compare('tum', finalWindows(outs, 'tum'), tum, wkey);
  assert.equal(seqs(outs, 'tum'), numbers(tumLate), 'tum: late outputs are exactly the events SQL finds beyond the allowed lateness');

  // Hopping: each event in size/slide windows starting at bucket − j·slide.
  await db.run(`CREATE OR REPLACE TABLE hop AS
    SELECT ev.*, epoch_ms(time_bucket(INTERVAL ${HOP_SLIDE} MILLISECONDS, epoch_ms(ts))) - j * ${HOP_SLIDE} AS ws,
           epoch_ms(time_bucket(INTERVAL ${HOP_SLIDE} MILLISECONDS, epoch_ms(ts))) + ${HOP_SIZE} AS last_end
    FROM ev CROSS JOIN range(0, ${HOP_SIZE / HOP_SLIDE}) AS t(j)`);
  const hop = await rows(`SELECT k, ws, ${aggs} FROM hop WHERE wm <= ws + ${HOP_SIZE + LATENESS} GROUP BY k, ws`);
  const hopLate = await rows(`SELECT DISTINCT n FROM hop WHERE wm > last_end + ${LATENESS}`);
  compare('hop', finalWindows(outs, 'hop'), hop, wkey);
  assert.equal(seqs(outs, 'hop'), numbers(hopLate), 'hop: late outputs are exactly the events beyond the lateness of every window holding them');

  // Sessions: gaps and islands over the events that cannot be late.
  await db.run(`CREATE OR REPLACE TABLE ses_ev AS
    SELECT e.*, wm > ts + ${GAP + LATENESS} AS maybe_late,
           NOT EXISTS (SELECT 1 FROM ev o WHERE o.k = e.k AND o.n <> e.n AND abs(o.ts - e.ts) < ${GAP}) AS isolated
    FROM ev e`);
  const lateForSure = await rows(`SELECT n FROM ses_ev WHERE maybe_late AND isolated`);
  const maybeLate = await rows(`SELECT n FROM ses_ev WHERE maybe_late`);
  const ses = await rows(`
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
  compare('ses', gotSessions, ses, (r) => `${r.k}|${BigInt(r.ws as bigint) * MS}|${BigInt(r.we as bigint) * MS}`);
  const sesLate = seqs(outs, 'ses');
  for (const n of numbers(lateForSure)) assert.ok(sesLate.has(n), `ses: isolated event n=${n} beyond gap + lateness is late`);
  const maybe = numbers(maybeLate);
  for (const n of sesLate) assert.ok(maybe.has(n), `ses: event n=${n} is late only if wm > ts + gap + lateness`);
  assert.ok(compared.size >= minSessionKeys, `sessions of ${compared.size} keys compared`);
  // No event may be refused for want of state: in-order sessions are never evicted.
  assert.is(outs.filter((o) => o.kind === 'late' && o.reason !== 'beyond_allowed_lateness').length, 0, 'no state_evicted');
  return { outs, sessions };
}

test('random trades (seeded): replay = run = 3 partitions = DuckDB, with late events within and beyond the lateness', async () => {
  for (const seed of [3]) {
    const lines = tradesLines({ seed, lines: 10_000, instruments: 30, startMs: 1_767_623_400_000, rate: 300, outOfOrder: 0.05, maxDelayMs: 1400, late: 0.004, lateByMs: 3000 });
    const { outs } = await checkAgainstDuckDb(`random${seed}`, lines, 10);
    assert.ok(outs.some((o) => o.kind === 'revision' && o.op === 'tum'), 'some events were late within the lateness (revisions)');
    assert.ok(outs.some((o) => o.kind === 'late' && o.op === 'tum'), 'some were beyond it');
  }
});

test('hand-picked: a 5 s late event with 1 s allowed is late, not folded in; a bridging event merges two sessions', async () => {
  const T0 = 1_767_623_400_000;
  const base: Array<[string, number]> = [];
  for (let t = 0; t <= 20_000; t += 250) base.push(['A', t]);
  for (const t of [1000, 1500, 6000, 12_000]) base.push(['B', t]);
  for (const t of [15_000, 18_000]) base.push(['C', t]);
  base.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  // Inserted right after key A's event at the given time: [after, key, ts].
  const inserts: Array<[number, string, number]> = [
    [8000, 'A', 7600],   // 400 ms behind: within out_of_orderness
    [10_000, 'A', 8900], // window [8 s, 9 s) fired at wm 9.5 s; within lateness: a revision
    [12_000, 'A', 7000], // 5 s behind, 1 s allowed: late for [7 s, 8 s); still in hop [7 s, 11 s) and A's open session
    [14_000, 'B', 4000], // B's sessions long gone: late for every operator
    [18_250, 'C', 16_500], // bridges C's sessions [15 s, 17 s) (fired, still within lateness) and [18 s, 20 s)
  ];
  const stream: Array<[string, number]> = [];
  for (const e of base) {
    stream.push(e);
    for (const [after, k, ts] of inserts) if (e[0] === 'A' && e[1] === after) stream.push([k, ts]);
  }
  const lines = stream.map(([k, t], i) => `{"ts":${T0 + t},"instrument":"${k}","price":${(100 + i * 0.37).toFixed(2)},"qty":${10 + (i % 7)}}`);
  const nOf = (k: string, t: number) => stream.findIndex(([kk, tt], i) => kk === k && tt === t && i > 0 && stream.slice(0, i).some(([, x]) => x > t)) + 1;
  const { outs, sessions } = await checkAgainstDuckDb('handpicked', lines, 2); // B and C (A has a 5 s late event inside its session)

  const late = (op: string) => seqs(outs, op);
  assert.ok(late('tum').has(nOf('A', 7000)), 'A@7s, 5 s late: tumbling late');
  assert.not.ok(late('hop').has(nOf('A', 7000)), 'A@7s still counts in hop [7 s, 11 s) (watermark 11.5 s ≤ 11 s + 1 s)');
  assert.not.ok(late('ses').has(nOf('A', 7000)), 'A@7s joins A\'s open session');
  for (const op of ['tum', 'hop', 'ses']) assert.ok(late(op).has(nOf('B', 4000)), `B@4s late for ${op}`);
  const tum = finalWindows(outs, 'tum');
  assert.is(tum.get(`A|${BigInt(T0 + 7000) * MS}`)!.values!.count, 5, 'window [7 s, 8 s) of A: its four in-order events and the one 400 ms behind, not the 5 s late one');
  assert.is(tum.get(`A|${BigInt(T0 + 8000) * MS}`)!.values!.count, 5, 'window [8 s, 9 s) of A: revised with the event within lateness');
  const c = [...sessions].filter(([k]) => k.startsWith('C|'));
  assert.equal(c.map(([k, o]) => [k, o.values!.count]), [[`C|${BigInt(T0 + 15_000) * MS}|${BigInt(T0 + 20_000) * MS}`, 3]], 'C: one merged session');
});

test.run();
