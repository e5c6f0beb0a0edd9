// Exactly-once end to end: a child `ganglion run` is killed with SIGKILL at
// random moments and restarted each time; its JSONL output must be
// byte-identical to an uninterrupted run. At-least-once: nothing missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { spawnRun } from '../../helpers/ganglion.js';

// Enough that 20 lives of 0.25–1.15 s (each restart replays from its checkpoint) do not finish the input.
const EVENTS = 2_500_000;

function pipeline(dir: string, mode: string): string {
  const file = join(dir, 'p.yaml');
  writeFileSync(file, `
name: crash
sources: [{ type: synthetic, rate: 0, events: ${EVENTS}, instruments: 300, seed: 5, start: "2026-01-05T14:30:00Z", out_of_order: 0.02, late: 0.001, anomalies: 0.0005 }]
schema: { type: trades }
event_time: { out_of_orderness: 5ms, allowed_lateness: 20ms, idle_timeout: 0s }
operators:
  - { type: window, name: vwap, window: tumbling, size: 20ms, field: price, weight: qty, aggregates: [count, sum, vwap, min, max] }
  - { type: zscore, name: pz, field: price, threshold: 5, min_samples: 30 }
sinks: [{ type: jsonl, path: ${join(dir, 'out.jsonl')} }]
delivery: { mode: ${mode}, checkpoint: { interval: 150ms, keep: 2 } }
partitions: 2
memory: 64MiB
`);
  return file;
}

function start(file: string, dataDir: string): ChildProcess {
  return spawnRun(file, dataDir).child;
}

function exit(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

async function runToEnd(file: string, dataDir: string): Promise<void> {
  const child = start(file, dataDir);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const code = await exit(child);
  assert.is(code, 0, `ganglion run exited ${code}: ${err}`);
}

/** Kills the child at `kills` random moments (seeded), then lets it finish. Returns how many kills hit a live run. */
async function runWithCrashes(file: string, dataDir: string, kills: number, seed: number): Promise<number> {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let hits = 0;
  for (let i = 0; i < kills; i++) {
    const child = start(file, dataDir);
    child.stderr!.resume();
    await new Promise((r) => setTimeout(r, 250 + rand() * 900));
    if (child.exitCode === null) { child.kill('SIGKILL'); hits++; }
    await exit(child);
  }
  await runToEnd(file, dataDir);
  return hits;
}

test('exactly_once: 20 SIGKILLs and restarts write the bytes of an uninterrupted run', async () => {
  const ref = tempDir();
  await runToEnd(pipeline(ref.path, 'exactly_once'), join(ref.path, 'data'));
  const expected = readFileSync(join(ref.path, 'out.jsonl'));
  assert.ok(expected.length > 10_000, 'the run produces outputs');

  const dir = tempDir();
  const hits = await runWithCrashes(pipeline(dir.path, 'exactly_once'), join(dir.path, 'data'), 20, 7);
  assert.ok(hits >= 20, `every kill hit a running process (${hits})`);
  assert.ok(existsSync(join(dir.path, 'out.jsonl')));
  const got = readFileSync(join(dir.path, 'out.jsonl'));
  assert.is(got.length, expected.length, 'same size');
  assert.ok(got.equals(expected), 'byte-identical');
  ref.remove();
  dir.remove();
});

test('at_least_once: crashes lose nothing', async () => {
  const ref = tempDir();
  await runToEnd(pipeline(ref.path, 'at_least_once'), join(ref.path, 'data'));
  const ids = (f: string) => new Set(readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string));
  const expected = ids(join(ref.path, 'out.jsonl'));
  const dir = tempDir();
  await runWithCrashes(pipeline(dir.path, 'at_least_once'), join(dir.path, 'data'), 5, 11);
  const got = ids(join(dir.path, 'out.jsonl'));
  const missing = [...expected].filter((id) => !got.has(id));
  assert.is(missing.length, 0, `missing outputs: ${missing.slice(0, 3).join(', ')}`);
  ref.remove();
  dir.remove();
});

test.run();
