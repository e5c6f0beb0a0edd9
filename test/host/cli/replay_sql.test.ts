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
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { tempDir } from '../../helpers/tmp.js';
import { tradesLines } from '../../helpers/trades_file.js';
import { finalWindows, type Out } from '../../helpers/outputs.js';
import { checkAgainstDuckDb as check } from '../../helpers/sql_reference.js';

const dir = tempDir('ganglion-sql-');
let db: DuckDBConnection;
test.before(async () => { db = await (await DuckDBInstance.create(':memory:')).connect(); });
test.after(() => dir.remove());
const checkAgainstDuckDb = (name: string, lines: string[], minSessionKeys: number) => check(db, dir.path, name, lines, minSessionKeys);
const MS = 1_000_000n;
const seqs = (outs: Out[], op: string) => new Set(outs.filter((o) => o.kind === 'late' && o.op === op).map((o) => Number(o.seq)));

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
