// Exactly-once with two input streams: a child `ganglion run` fed trades and
// quotes by two synthetic sources (each the only source of its stream, so it
// resumes after what the ingest log holds of that stream) is killed with
// SIGKILL at random moments and restarted; what it writes must be what an
// uninterrupted run writes: every window, revision, anomaly and late event
// once, none missing, none twice. The interleaving of the two streams in the
// log depends on timing, so the global sequence numbers (and the output ids
// built from them) differ between runs; everything else is compared.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, CLI_ENV } from '../../helpers/ganglion.js';
import { tempDir } from '../../helpers/tmp.js';

const TRADES = 800_000, QUOTES = 500_000;

function pipeline(dir: string): string {
  const file = join(dir, 'p.yaml');
  writeFileSync(file, `
name: crash_streams
sources:
  - { type: synthetic, stream: trades, rate: 0, events: ${TRADES}, instruments: 200, seed: 5, start: "2026-01-05T14:30:00Z", out_of_order: 0.02, late: 0.001, anomalies: 0.0005 }
  - { type: synthetic, stream: quotes, rate: 0, events: ${QUOTES}, instruments: 200, seed: 9, start: "2026-01-05T14:30:00Z", out_of_order: 0.02, late: 0.001 }
streams:
  trades: { schema: { type: trades }, event_time: { out_of_orderness: 5ms, allowed_lateness: 20ms, idle_timeout: 0s } }
  quotes: { schema: { type: quotes }, event_time: { out_of_orderness: 2ms, allowed_lateness: 10ms, idle_timeout: 0s } }
operators:
  - { type: window, name: vwap, window: tumbling, size: 20ms, field: price, weight: qty, aggregates: [count, sum, vwap, min, max] }
  - { type: zscore, name: pz, field: price, threshold: 5, min_samples: 30 }
  - { type: window, name: ask, input: quotes, window: tumbling, size: 50ms, field: ask, aggregates: [count, mean, max] }
sinks: [{ type: jsonl, path: ${join(dir, 'out.jsonl')} }]
delivery: { mode: exactly_once, checkpoint: { interval: 150ms, keep: 2 } }
partitions: 2
memory: 64MiB
`);
  return file;
}

function logBytes(dataDir: string): number {
  const dir = join(dataDir, 'log');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

function start(file: string, dataDir: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'run', file, '--data-dir', dataDir, '--no-status'], { env: CLI_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
}

function exit(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

async function runToEnd(file: string, dataDir: string): Promise<string> {
  const child = start(file, dataDir);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const code = await exit(child);
  assert.is(code, 0, `ganglion run exited ${code}: ${err}`);
  return err;
}

/** Every output without what depends on the interleaving of the streams (seq, id), sorted. */
function outputs(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => {
    const { id: _id, seq: _seq, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return JSON.stringify(rest);
  }).sort();
}

test('exactly_once with two streams: SIGKILLs and restarts write what an uninterrupted run writes', async () => {
  const ref = tempDir();
  const log = await runToEnd(pipeline(ref.path), join(ref.path, 'data'));
  assert.match(log, new RegExp(`stopped: ${TRADES + QUOTES} events`));
  const expected = outputs(join(ref.path, 'out.jsonl'));
  for (const op of ['vwap', 'pz', 'ask']) assert.ok(expected.some((l) => l.includes(`"op":"${op}"`)), `${op} has outputs`);

  const dir = tempDir();
  const file = pipeline(dir.path), data = join(dir.path, 'data');
  let s = 3;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let hits = 0;
  for (let i = 0; i < 6; i++) {
    const child = start(file, data);
    // Killed once its log has grown past a random mark (while it ingests, replays or checkpoints): under
    // load a life may take seconds to log anything, so a wall-clock moment could hit before any work.
    child.stderr!.resume();
    const mark = logBytes(data) + 1e6 + rand() * 8e6;
    while (child.exitCode === null && logBytes(data) < mark) await new Promise((r) => setTimeout(r, 20));
    if (child.exitCode === null) { child.kill('SIGKILL'); hits++; }
    await exit(child);
  }
  const last = await runToEnd(file, data);
  assert.ok(hits >= 4, `kills hit a running process (${hits})`);
  assert.match(last, /recovering: replaying \d+ events|resumed from checkpoint/, `the last life recovered: ${last}`);
  const got = outputs(join(dir.path, 'out.jsonl'));
  const missing = expected.filter((l, i) => got[i] !== l);
  assert.is(got.length, expected.length, `as many outputs (${got.length} vs ${expected.length})`);
  assert.is(missing.length, 0, `outputs differ, first: ${missing[0]}`);
  ref.remove();
  dir.remove();
});

test.run();
