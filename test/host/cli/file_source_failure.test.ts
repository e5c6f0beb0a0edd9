// A failure on the file path is loud (issue 14 item 3): a file the source
// cannot read whole ends `ganglion run` with a non-zero exit and a message
// naming the file and the place, instead of a run that never ends (before the
// fix the reader's error was swallowed: no message, and the run waited
// forever for the source to end).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { ganglionExit } from '../../helpers/ganglion.js';

function pipeline(dir: string, input: string): string {
  const p = join(dir, `p-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, `name: file_fail
sources: [{ type: file, path: ${JSON.stringify(input)} }]
schema: { type: trades }
event_time: { unit: ms, idle_timeout: 0s }
operators:
  - { name: t1s, type: window, window: tumbling, size: 1s, field: price, aggregates: [count] }
sinks: [{ type: jsonl, path: ${JSON.stringify(join(dir, 'out.jsonl'))} }]
delivery: { mode: at_most_once }
partitions: 1
`);
  return p;
}

test('run: a truncated FlatBuffers file exits non-zero naming the file and byte', async () => {
  const dir = tempDir();
  const input = join(dir.path, 'events.fb');
  // A length prefix promising 16 bytes, then 3.
  writeFileSync(input, Buffer.from([16, 0, 0, 0, 1, 2, 3]));
  const r = await ganglionExit(['run', pipeline(dir.path, input), '--data-dir', join(dir.path, 'data'), '--no-status'], 30_000);
  assert.is(r.timedOut, false, `run ended by itself (stderr: ${r.stderr})`);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, `${input}: truncated FlatBuffers batch at byte 0`);
  assert.not.match(r.stderr, /\n\s+at /, 'a message, not a stack trace');
  dir.remove();
});

test('run: an input path that cannot be read exits non-zero with the reason', async () => {
  const dir = tempDir();
  const input = join(dir.path, 'a-directory');
  mkdirSync(input);
  const r = await ganglionExit(['run', pipeline(dir.path, input), '--data-dir', join(dir.path, 'data'), '--no-status'], 30_000);
  assert.is(r.timedOut, false, `run ended by itself (stderr: ${r.stderr})`);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, `file source ${input}: EISDIR`);
  dir.remove();
});

test('replay: an input that cannot be read exits non-zero and says the output is incomplete', async () => {
  const dir = tempDir();
  const input = join(dir.path, 'a-directory');
  mkdirSync(input);
  const r = await ganglionExit(['replay', pipeline(dir.path, input), '--input', input, '--output', join(dir.path, 'r.jsonl')], 30_000);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /failed, the output is incomplete: EISDIR/);
  dir.remove();
});

test.run();
