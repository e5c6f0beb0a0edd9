// `replay --output` replaces the file (issue 15 item 2): a second replay of
// the same input to the same file leaves the same bytes, not two copies.
// Before the fix the sink appended, so a second run doubled the file with
// duplicate ids.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { tradesLines } from '../../helpers/trades_file.js';
import { ganglionExit } from '../../helpers/ganglion.js';

test('replaying twice to the same --output gives the same bytes', async () => {
  const dir = tempDir();
  const input = join(dir.path, 'in.jsonl');
  writeFileSync(input, tradesLines({ seed: 5, lines: 5000, instruments: 20, startMs: 1_767_623_400_000, rate: 500, outOfOrder: 0.05, maxDelayMs: 1500, late: 0.01, lateByMs: 4000, malformed: 0.002 }).join('\n') + '\n');
  const p = join(dir.path, 'p.yaml');
  writeFileSync(p, `name: twice
schema: { type: trades }
event_time: { unit: ms, out_of_orderness: 500ms, allowed_lateness: 1s, idle_timeout: 0s }
operators:
  - { name: t1s, type: window, window: tumbling, size: 1s, field: price, weight: qty, aggregates: [count, vwap] }
  - { name: s2s, type: window, window: session, gap: 2s, field: price, aggregates: [count, sum] }
  - { name: h4s, type: window, window: sliding, size: 4s, slide: 1s, field: price, aggregates: [count, sum] }
`);
  const out = join(dir.path, 'out.jsonl');
  // A stale file from something else is replaced too.
  writeFileSync(out, '{"stale":true}\n');
  let r = await ganglionExit(['replay', p, '--input', input, '--output', out]);
  assert.is(r.code, 0, r.stderr);
  const first = readFileSync(out);
  assert.not.match(first.toString(), /stale/);
  r = await ganglionExit(['replay', p, '--input', input, '--output', out]);
  assert.is(r.code, 0, r.stderr);
  const second = readFileSync(out);
  assert.ok(first.length > 1000);
  assert.is(second.length, first.length, 'the second run did not append');
  assert.ok(second.equals(first), 'same input, same bytes');
  // The operators' TypeScript twins run at another speed: dead letters still land in the same places.
  const js = join(dir.path, 'js.jsonl');
  r = await ganglionExit(['replay', p, '--input', input, '--output', js, '--engine', 'js']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(readFileSync(js).equals(first), 'the same bytes with --engine js');
  const ids = second.toString().trimEnd().split('\n').map((l) => JSON.parse(l).id as string);
  assert.is(new Set(ids).size, ids.length, 'no duplicate ids');
  dir.remove();
});

test.run();
