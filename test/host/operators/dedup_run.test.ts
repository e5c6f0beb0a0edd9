// `type: dedup` from outside: `ganglion run` (a real process) on a pipeline
// file with a dedup in front of a tumbling window, over a recorded trade feed
// in which ~15 % of the lines are resends of an earlier trade (same
// instrument, trade_id and time; some right after it, some hundreds of lines
// later). The windows must be exactly DuckDB's over the feed with the resends
// removed (first occurrence of each (instrument, trade_id)), and /metrics must
// say how many the dedup dropped. The same trade_id on another instrument is
// another trade (the pipeline key is part of the identity).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { freePort } from '../../../bench/free_port.js';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/trades_file.js';
import { ganglionExit, startRunHttp } from '../../helpers/ganglion.js';
import { finalWindows, readOutputs } from '../../helpers/outputs.js';

const ORIGINALS = 4000;
const T0 = 1_767_623_400_000; // 2026-01-05T14:30:00Z, ms

/** Lines of the feed, each with its line number `n` (ganglion ignores it; SQL orders by it). */
function feed(seed: number): { lines: string[]; resends: number } {
  const r = rng(seed);
  const originals: string[] = [];
  const perInstrument = new Map<string, number>();
  const lines: string[] = [];
  let ts = T0, resends = 0;
  for (let i = 0; i < ORIGINALS; i++) {
    ts += Math.floor(r() * 6); // several trades may share a millisecond
    const instrument = `I${Math.floor(r() * r() * 12)}`;
    const id = (perInstrument.get(instrument) ?? 0) + 1; // T1, T2, ... per instrument: ids repeat across instruments
    perInstrument.set(instrument, id);
    const body = `"ts":${ts},"instrument":"${instrument}","trade_id":"T${id}","price":${(100 + r() * 10).toFixed(4)},"qty":${1 + Math.floor(r() * 500)}`;
    originals.push(body);
    lines.push(body);
    while (r() < 0.15) {
      const back = r() < 0.7 ? 1 + Math.floor(r() * 5) : 1 + Math.floor(r() * originals.length);
      lines.push(originals[Math.max(0, originals.length - back)]);
      resends++;
    }
  }
  return { lines: lines.map((l, i) => `{"n":${i + 1},${l}}`), resends };
}

const pipeline = (name: string, input: string, extra: string) => `name: ${name}
sources:
  - { type: file, path: ${JSON.stringify(input)} }
${extra}schema: { type: trades, strings: [trade_id] }
event_time: { unit: ms, out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - { name: dedup_trades, type: dedup, id: trade_id, ttl: 1h }
  - { name: vol_1s, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }
partitions: 2
`;

test('dedup drops exactly the resends: windows equal DuckDB over the deduplicated feed, and the drops are counted', async () => {
  const dir = tempDir('ganglion-dedup-');
  try {
    const { lines, resends } = feed(7);
    assert.ok(resends > 400, `the feed has resends (${resends})`);
    const input = join(dir.path, 'trades.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');

    // 1. A bounded run (file source only): stops by itself at the end of the file.
    const out = join(dir.path, 'out.jsonl');
    const yaml = join(dir.path, 'bounded.yaml');
    writeFileSync(yaml, pipeline('dedup_bounded', input, '') + `sinks: [{ type: jsonl, path: ${JSON.stringify(out)} }]\n`);
    const r = await ganglionExit(['run', yaml, '--data-dir', join(dir.path, 'data-bounded'), '--no-status']);
    assert.is(r.code, 0, r.stderr);
    const outs = readOutputs(out);
    assert.equal(outs.filter((o) => o.kind === 'late'), [], 'no resend reached the window (it would be late or double-counted)');
    const got = finalWindows(outs, 'vol_1s');

    const db = await (await DuckDBInstance.create(':memory:')).connect();
    await db.run(`CREATE TABLE ev AS SELECT * FROM read_json('${input}', format = 'newline_delimited',
      columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', trade_id: 'VARCHAR', price: 'DOUBLE', qty: 'DOUBLE'})`);
    await db.run(`CREATE TABLE first AS SELECT * FROM ev QUALIFY row_number() OVER (PARTITION BY instrument, trade_id ORDER BY n) = 1`);
    const dropped = Number((await db.runAndReadAll('SELECT (SELECT count(*) FROM ev) - (SELECT count(*) FROM first) AS d')).getRowObjects()[0].d);
    assert.is(dropped, resends, 'DuckDB finds the resends the feed made');
    const want = (await db.runAndReadAll(`SELECT instrument AS k, epoch_ms(time_bucket(INTERVAL 1 SECOND, epoch_ms(ts))) AS ws, count(*) AS c, sum(qty) AS s
      FROM first GROUP BY 1, 2`)).getRowObjects();
    assert.is(got.size, want.length, 'as many windows as DuckDB');
    for (const w of want) {
      const o = got.get(`${w.k}|${BigInt(w.ws as bigint) * 1_000_000n}`);
      assert.ok(o, `window ${w.k} ${w.ws}`);
      assert.is(o!.values!.count, Number(w.c), `${w.k} ${w.ws} count`);
      assert.is(o!.values!.sum, Number(w.s), `${w.k} ${w.ws} sum`);
    }
    db.closeSync();

    // 2. The same pipeline kept running (a ws source keeps it open): /metrics counts the drops per operator.
    const [httpPort, wsPort] = [await freePort(), await freePort()];
    const live = await startRunHttp(dir.path, pipeline('dedup_live', input, `  - { type: ws, port: ${wsPort} }\n`)
      + `server: { port: ${httpPort} }\nsinks: []\n`, httpPort, ['--no-status']);
    try {
      const series = `ganglion_dropped_events_total{operator="dedup_trades"}`;
      let seen = -1;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline && seen !== resends;) {
        const text = await (await fetch(`${live.http}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith(series + ' '));
        seen = line ? Number(line.slice(series.length + 1)) : -1;
        if (seen !== resends) await new Promise((res) => setTimeout(res, 100));
      }
      assert.is(seen, resends, 'ganglion_dropped_events_total of the dedup operator = the resends');
      const text = await (await fetch(`${live.http}/metrics`)).text();
      assert.ok(text.includes(`ganglion_dropped_events_total{operator="vol_1s"} 0`), 'a window drops nothing');
    } finally {
      assert.is(await live.stop(), 0, live.stderr);
    }
  } finally {
    dir.remove();
  }
});

test.run();
