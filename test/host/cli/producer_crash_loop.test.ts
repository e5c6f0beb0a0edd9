// The crash loop from outside: a separate producer process resending every
// unacknowledged frame (bench/resend_producer.ts), `ganglion run` SIGKILLed
// repeatedly, some kills inside checkpoint writes (GANGLION_TEST_CHECKPOINT_PAUSE_MS
// widens them). exactly_once: the output is byte-identical to an
// uninterrupted run's; at_least_once: no window missing or short.
// The figure run (scripts/crash-loop-figures.ts) does the same at ≥ 1 M events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { crashLoopRun, windowCounts, type CrashLoopOptions } from '../../../bench/crash_loop.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';

const FRAMES = 400, BATCH = 500; // 200,000 events

test('ws exactly_once: 8 SIGKILLs (some mid checkpoint write) under a resending producer write the bytes of an uninterrupted run', async () => {
  const dir = tempDir();
  const base: CrashLoopOptions = { dir: dir.path, mode: 'exactly_once', transport: 'ws', frames: FRAMES, batch: BATCH, rate: 80, kills: 0, producer: 'crash-ws', seed: 3, checkpointPauseMs: 10 };
  const ref = await crashLoopRun(base, 'ref');
  const expected = readFileSync(ref.outputPath);
  assert.ok(expected.length > 100_000, 'the run produces outputs');
  const run = await crashLoopRun({ ...base, kills: 8 }, 'run');
  assert.is(run.kills, 8);
  assert.ok(run.killsInCheckpointWrite >= 1, `a kill landed inside a checkpoint write (${run.killsInCheckpointWrite})`);
  assert.ok((run.producer.resent as number) > 0, 'the producer had to resend');
  const got = readFileSync(run.outputPath);
  assert.is(got.length, expected.length, 'same size');
  assert.ok(got.equals(expected), 'byte-identical');
  dir.remove();
});

test('ws at_least_once without a producer id: 4 SIGKILLs lose no window and no event', async () => {
  const dir = tempDir();
  const base: CrashLoopOptions = { dir: dir.path, mode: 'at_least_once', transport: 'ws', frames: FRAMES / 2, batch: BATCH, rate: 80, kills: 0, seed: 5, checkpointPauseMs: 10 };
  const expected = windowCounts(readFileSync((await crashLoopRun(base, 'ref')).outputPath));
  const got = windowCounts(readFileSync((await crashLoopRun({ ...base, kills: 4 }, 'run')).outputPath));
  const short = [...expected].filter(([k, n]) => (got.get(k) ?? 0) < n);
  assert.is(short.length, 0, `windows missing or short: ${short.slice(0, 3).join(' ')}`);
  dir.remove();
});

test('mqtt exactly_once with producer/seq properties: SIGKILLs and a broker restart write the bytes of an uninterrupted run', async () => {
  const broker = await startMosquitto({ persistence: true });
  const dir = tempDir();
  try {
    const base: CrashLoopOptions = { dir: dir.path, mode: 'exactly_once', transport: 'mqtt', broker, frames: FRAMES / 2, batch: BATCH, rate: 60, kills: 0, producer: 'crash-mqtt', seed: 9, checkpointPauseMs: 10 };
    const ref = await crashLoopRun(base, 'ref');
    const expected = readFileSync(ref.outputPath);
    const run = await crashLoopRun({ ...base, kills: 3, brokerRestartsAt: [1] }, 'run');
    assert.is(run.brokerRestarts, 1);
    const got = readFileSync(run.outputPath);
    assert.is(got.length, expected.length, 'same size');
    assert.ok(got.equals(expected), 'byte-identical');
  } finally {
    await broker.stop();
    dir.remove();
  }
});

test.run();
