import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { BIN, CLI_ENV as env } from '../../helpers/ganglion.js';

function pipeline(dir: string): string {
  const file = join(dir, 'p.yaml');
  writeFileSync(file, `
name: rl
sources: [{ type: synthetic, rate: 0, events: 60000, instruments: 40, seed: 9, start: "2026-01-05T14:30:00Z", out_of_order: 0.02, late: 0.001 }]
schema: { type: trades }
event_time: { out_of_orderness: 5ms, allowed_lateness: 20ms, idle_timeout: 0s }
operators:
  - { type: window, name: vwap, window: tumbling, size: 10ms, field: price, weight: qty, aggregates: [count, vwap] }
sinks: [{ type: jsonl, path: ${join(dir, 'live.jsonl')}, kinds: [window] }]
delivery: { mode: exactly_once, checkpoint: { interval: 0s } }
partitions: 1
`);
  return file;
}

test('replay --from/--to reprocesses the retained ingest log: the whole range gives the live windows, ids included', () => {
  const dir = tempDir();
  const file = pipeline(dir.path);
  execFileSync(process.execPath, [BIN, 'run', file, '--data-dir', join(dir.path, 'data'), '--no-status'], { env, stdio: 'ignore' });
  const live = readFileSync(join(dir.path, 'live.jsonl'), 'utf8').trim().split('\n');
  assert.ok(live.length > 100);
  execFileSync(process.execPath, [BIN, 'replay', file, '--from', '2026-01-05T00:00:00Z', '--to', '2026-01-06T00:00:00Z', '--data-dir', join(dir.path, 'data'), '--output', join(dir.path, 'all.jsonl')], { env, stdio: 'ignore' });
  const all = readFileSync(join(dir.path, 'all.jsonl'), 'utf8').trim().split('\n').filter((l) => JSON.parse(l).kind === 'window');
  assert.equal(all, live);

  // A range: only windows of events in it, each with its live id.
  const first = JSON.parse(live[0]).window.start_ns as string;
  const from = BigInt(first), to = from + 20_000_000n;
  execFileSync(process.execPath, [BIN, 'replay', file, '--from', String(from), '--to', String(to), '--data-dir', join(dir.path, 'data'), '--output', join(dir.path, 'part.jsonl')], { env, stdio: 'ignore' });
  const part = readFileSync(join(dir.path, 'part.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((o) => o.kind === 'window');
  assert.ok(part.length > 0);
  for (const o of part) assert.ok(BigInt(o.window.start_ns) >= from && BigInt(o.window.end_ns) <= to + 10_000_000n, `window ${o.id} lies in the range`);
  const liveIds = new Set(live.map((l) => JSON.parse(l).id));
  assert.ok(part.filter((o) => liveIds.has(o.id)).length >= part.length - 40, 'ids are the live ids (windows cut by the range edge excepted)');
  dir.remove();
});

test('replay --from without a log says where it looked', () => {
  const dir = tempDir();
  const file = pipeline(dir.path);
  let err = '';
  try {
    execFileSync(process.execPath, [BIN, 'replay', file, '--from', '2026-01-05T00:00:00Z', '--data-dir', join(dir.path, 'nothing')], { env, stdio: 'pipe' });
  } catch (e) { err = String((e as { stderr: Buffer }).stderr); }
  assert.match(err, /no ingest log at .*nothing\/log/);
  dir.remove();
});

test.run();
