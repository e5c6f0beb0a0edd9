// Nothing lost on the file path under backpressure (issue 14 item 3), driven
// from outside: ganglion replay and ganglion run (file source) over ~200k
// realistic lines, with a window slow enough that the partition's input ring
// fills and the reader must wait. Every input line must come out as a window
// count, a late output or a dead letter, and the process must exit 0.
// Before the fix a batch overran ring + staging, the throw was swallowed
// (at_most_once acks first) and ~2 % of the lines vanished with exit code 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { tradesLines } from '../../helpers/trades_file.js';
import { ganglionExit } from '../../helpers/ganglion.js';
import { finalWindows, readOutputs, type Out } from '../../helpers/outputs.js';

const LINES = 200_000;
const dir = tempDir('ganglion-bp-');
const input = join(dir.path, 'trades.jsonl');
const lines = tradesLines({ seed: 11, lines: LINES, instruments: 100, startMs: 1_767_623_400_000, rate: 2000, outOfOrder: 0.03, maxDelayMs: 800, late: 0.002, lateByMs: 5000, malformed: 0.001 });
writeFileSync(input, lines.join('\n') + '\n');

// t1s: the window whose counts are checked. h10: 100 overlapping windows per
// event, which makes the partition slower than the reader (backpressure).
const OPERATORS = `
event_time: { unit: ms, out_of_orderness: 1s, allowed_lateness: 1s, idle_timeout: 0s }
operators:
  - { name: t1s, type: window, window: tumbling, size: 1s, field: price, weight: qty, aggregates: [count, vwap, max] }
  - { name: h10, type: window, window: sliding, size: 10s, slide: 100ms, capacity: 16384, field: price, aggregates: [count, sum] }
memory: 384MiB
partitions: 1
`;

/** Per operator: window counts + late outputs; plus dead letters. */
function account(outs: Out[], deadLetters: number): void {
  const late = outs.filter((o) => o.kind === 'late' && o.op === 't1s').length;
  let counted = 0;
  for (const o of finalWindows(outs, 't1s').values()) counted += o.values!.count as number;
  assert.ok(deadLetters > 100, `malformed lines reached the dead-letter queue (${deadLetters})`);
  assert.ok(late > 100, `late events came out as late (${late})`);
  assert.is(counted + late + deadLetters, LINES, `windows ${counted} + late ${late} + dead letters ${deadLetters} = every input line`);
}

test('replay: every line is counted, late or a dead letter; exit 0; terminates', async () => {
  const p = join(dir.path, 'replay.yaml');
  writeFileSync(p, `name: bp_replay\nschema: { type: trades }\n${OPERATORS}`);
  const out = join(dir.path, 'replay-out.jsonl');
  const r = await ganglionExit(['replay', p, '--input', input, '--output', out], 120_000);
  assert.is(r.timedOut, false, 'replay terminates');
  assert.is(r.code, 0, r.stderr);
  const outs = readOutputs(out);
  account(outs, outs.filter((o) => o.kind === 'dead_letter').length);
});

test('run with a file source: the same accounting, through the ingest log and a JSONL sink', async () => {
  const p = join(dir.path, 'run.yaml');
  const out = join(dir.path, 'run-out.jsonl');
  writeFileSync(p, `name: bp_run\nsources: [{ type: file, path: ${JSON.stringify(input)} }]\nschema: { type: trades }\n${OPERATORS}sinks: [{ type: jsonl, path: ${JSON.stringify(out)}, kinds: [window, revision, late] }]\ndelivery: { mode: exactly_once, checkpoint: { interval: 0s } }\n`);
  const data = join(dir.path, 'data');
  const r = await ganglionExit(['run', p, '--data-dir', data, '--no-status'], 120_000);
  assert.is(r.timedOut, false, 'run ends with its file');
  assert.is(r.code, 0, r.stderr);
  const dead = readFileSync(join(data, 'dead-letters.jsonl'), 'utf8').trimEnd().split('\n').length;
  account(readOutputs(out), dead);
});

test.after(() => dir.remove());
test.run();
