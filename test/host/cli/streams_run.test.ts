// Two input streams through one pipeline, from outside: `ganglion run` with a
// trades file and a quotes file (different schemas, event times ten seconds
// apart, each with its own out-of-orderness and lateness), each feeding its
// own window operator over three partitions. The results must be what DuckDB
// computes over the same files, each stream with its own watermark (max event
// time so far in its file − its out_of_orderness): a watermark shared between
// the streams would make the earlier stream's events late.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { BIN, CLI_ENV, ganglionExit } from '../../helpers/ganglion.js';
import { finalWindows, readOutputs, type Out } from '../../helpers/outputs.js';
import { tradesLines } from '../../helpers/trades_file.js';
import { tempDir } from '../../helpers/tmp.js';
import { compareWindows } from '../../helpers/sql_reference.js';

const dir = tempDir('ganglion-streams-');
const START = Date.parse('2026-01-05T14:30:00Z');
const T = { ooo: 500, lateness: 1000, size: 1000 };
const Q = { ooo: 200, lateness: 300, size: 2000 };

const numbered = (lines: string[]) => lines.map((l, i) => `{"n":${i + 1},${l.slice(1)}`);
const trades = numbered(tradesLines({ seed: 11, lines: 20_000, instruments: 40, startMs: START, rate: 1000, outOfOrder: 0.05, maxDelayMs: 400, late: 0.01, lateByMs: 2500 }));
// Quotes: another walk, ten seconds later, as bid/ask/sizes (a different schema and stride).
const quotes = numbered(tradesLines({ seed: 12, lines: 12_000, instruments: 40, startMs: START + 10_000, rate: 800, outOfOrder: 0.05, maxDelayMs: 150, late: 0.01, lateByMs: 1000 })
  .map((l) => {
    const t = JSON.parse(l) as { ts: number; instrument: string; price: number; qty: number };
    return JSON.stringify({ ts: t.ts, instrument: t.instrument, bid: Math.round((t.price - 0.01) * 1e6) / 1e6, ask: t.price, bid_size: t.qty, ask_size: t.qty + 100 });
  }));
const tradesFile = join(dir.path, 'trades.jsonl'), quotesFile = join(dir.path, 'quotes.jsonl');
writeFileSync(tradesFile, trades.join('\n') + '\n');
writeFileSync(quotesFile, quotes.join('\n') + '\n');

const out = join(dir.path, 'out.jsonl');
const yaml = join(dir.path, 'p.yaml');
writeFileSync(yaml, `name: two_streams
sources:
  - { type: file, path: ${JSON.stringify(tradesFile)}, stream: trades }
  - { type: file, path: ${JSON.stringify(quotesFile)}, stream: quotes }
streams:
  trades:
    schema: { type: trades }
    event_time: { unit: ms, out_of_orderness: ${T.ooo}ms, allowed_lateness: ${T.lateness}ms, idle_timeout: 0s }
  quotes:
    schema: { type: quotes }
    event_time: { unit: ms, out_of_orderness: ${Q.ooo}ms, allowed_lateness: ${Q.lateness}ms, idle_timeout: 0s }
operators:
  - { name: px, type: window, window: tumbling, size: ${T.size}ms, field: price, aggregates: [count, sum, min, max, mean] }
  - { name: ask, type: window, window: tumbling, size: ${Q.size}ms, field: ask, input: quotes, aggregates: [count, sum, min, max, mean] }
sinks: [{ type: jsonl, path: ${JSON.stringify(out)} }]
delivery: { mode: exactly_once, checkpoint: { interval: 0s } }
partitions: 3
`);

let db: DuckDBConnection;
test.before(async () => { db = await (await DuckDBInstance.create(':memory:')).connect(); });


/** The windows and late events of one stream, as SQL computes them with the stream's own watermark. */
async function reference(file: string, field: string, p: { ooo: number; lateness: number; size: number }) {
  await db.run(`CREATE OR REPLACE TABLE ev AS
    SELECT n, ts, instrument AS k, ${field} AS v,
           max(ts) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - ${p.ooo} AS wm,
           epoch_ms(time_bucket(INTERVAL ${p.size} MILLISECONDS, epoch_ms(ts))) AS ws
    FROM read_json('${file}', format = 'newline_delimited', columns = {n: 'BIGINT', ts: 'BIGINT', instrument: 'VARCHAR', ${field}: 'DOUBLE'})`);
  const windows = (await db.runAndReadAll(`SELECT k, ws, count(*) AS c, sum(v) AS s, min(v) AS mn, max(v) AS mx, avg(v) AS av FROM ev WHERE wm <= ws + ${p.size + p.lateness} GROUP BY k, ws`)).getRowObjects();
  const late = Number((await db.runAndReadAll(`SELECT count(*) AS c FROM ev WHERE wm > ws + ${p.size + p.lateness}`)).getRowObjects()[0].c);
  return { windows, late };
}

function compare(op: string, outs: Out[], want: Awaited<ReturnType<typeof reference>>): void {
  compareWindows(op, finalWindows(outs, op), want.windows, (r) => `${r.k}|${BigInt(r.ws as bigint) * 1_000_000n}`,
    [['sum', 's'], ['min', 'mn'], ['max', 'mx'], ['mean', 'av']]);
}

test('trades and quotes from two files, each through its own window: what DuckDB computes per stream', async () => {
  const r = await ganglionExit(['run', yaml, '--data-dir', join(dir.path, 'data'), '--no-status', '--port', '0']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped: 32000 events/);
  const outs = readOutputs(out);
  const t = await reference(tradesFile, 'price', T);
  const q = await reference(quotesFile, 'ask', Q);
  assert.ok(t.late > 0 && q.late > 0, 'both files have late events');
  compare('px', outs, t);
  compare('ask', outs, q);
  assert.ok(outs.filter((o) => o.op === 'ask' && o.kind === 'window').length > 100);
  const lateQuote = outs.find((o) => o.op === 'ask' && o.kind === 'late') as Out & { fields: Record<string, number> };
  assert.ok(typeof lateQuote.fields.ask === 'number' && !('price' in lateQuote.fields), 'a late quote carries the quote fields');
});

test('explain shows both streams, their sources and their operators', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [BIN, 'explain', yaml], { env: CLI_ENV, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /stream trades {2}schema trades, key instrument/);
  assert.match(r.stdout, /stream quotes {2}schema quotes, key instrument\n {2}event time ts \(ms\): watermark = max − 200ms/);
  assert.match(r.stdout, /ask {2}\[window\][^\n]*\n {2}◄ records from quotes: reads ask/);
  const dot = spawnSync(process.execPath, [BIN, 'explain', yaml, '--format', 'dot'], { env: CLI_ENV, encoding: 'utf8' });
  assert.match(dot.stdout, /"stream:quotes" -> "op:ask"/);
  assert.match(dot.stdout, /"stream:trades" -> "op:px"/);
});

test.run();
