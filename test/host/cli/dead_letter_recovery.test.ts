// Dead letters are part of an exactly-once pipeline's output: a JSONL sink
// without `kinds` interleaves them with the window results. After a SIGKILL
// with frames holding rejects past the last checkpoint, the recovered output
// must be the uninterrupted run's, dead letters at the same places (not all
// sent again up front). Wall-clock fields of a dead letter (`received_at`,
// `received_at_ns`) and `origin` (it names the producer's connection) differ
// between two separate runs by nature and are left out of the comparison.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { tempDir } from '../../helpers/tmp.js';
import { killAll, spawnRun } from '../../helpers/ganglion.js';
import { freePort } from '../../../bench/free_port.js';
import { decodeCheckpoint } from '../../../host/checkpoint/checkpoint_store.js';

const T0 = Date.parse('2026-01-05T14:30:00Z');
const FRAME = 500;
const FRAMES = 30;
/** Frames with a rejected line; 20 and 23 come after the first life's last checkpoint. */
const WITH_REJECTS = new Set([3, 8, 20, 23]);

function pipeline(dir: string, port: number, out: string, interval: string): string {
  const file = join(dir, `p-${interval}.yaml`);
  writeFileSync(file, `
name: dlq_order
sources: [{ type: ws, host: 127.0.0.1, port: ${port}, native: false }]
schema: { type: trades }
event_time: { out_of_orderness: 0s, idle_timeout: 0s }
operators: [{ type: window, name: n, window: tumbling, size: 100ms, field: qty, aggregates: [count, sum] }]
sinks: [{ type: jsonl, path: ${out} }]
delivery: { mode: exactly_once, checkpoint: { interval: ${interval} } }
partitions: 1
memory: 16MiB
`);
  return file;
}

/** Frame k: FRAME trades one ms apart (a 100 ms window closes every fifth of a frame); some hold a line that is not JSON. */
function frame(k: number): string {
  const lines = Array.from({ length: FRAME }, (_, j) => JSON.stringify({ ts: T0 + k * FRAME + j, instrument: `I${j % 10}`, price: 100 + (j % 7), qty: k + 1, side: 'buy' }));
  if (WITH_REJECTS.has(k)) lines.splice(FRAME / 2, 0, `{"ts":${T0 + k * FRAME},"instrument":"BAD${k}",`);
  return lines.join('\n');
}

/** Sends frames first..last one at a time, each after the previous one's ack. */
function produce(port: number, first: number, last: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ingest?seq=${first}`);
    let next = first, acked = 0;
    ws.on('open', () => ws.send(frame(next++)));
    ws.on('message', (m) => {
      const a = JSON.parse(String(m)) as { ok: boolean; reason?: string; accepted?: number };
      if ((a.accepted ?? 0) === 0) { reject(new Error(`frame ${next - 1} refused: ${a.reason}`)); ws.close(); return; }
      acked++;
      if (next <= last) ws.send(frame(next++)); else ws.close();
    });
    ws.on('close', () => resolve(acked));
    ws.on('error', reject);
  });
}

/** One event an hour ahead: the watermark closes every window before it. */
const produceEnd = (port: number) => new Promise<void>((resolve, reject) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ingest?seq=1000000`);
  ws.on('open', () => ws.send(JSON.stringify({ ts: T0 + 3_600_000, instrument: 'END', price: 1, qty: 1, side: 'buy' })));
  ws.on('message', () => { ws.close(); resolve(); });
  ws.on('error', reject);
});

const exit = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

async function until(what: () => string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function started(file: string, data: string): Promise<{ child: ChildProcess; stderr: () => string }> {
  const g = spawnRun(file, data);
  await until(() => `the ws source: ${g.stderr}`, () => /running dlq_order/.test(g.stderr));
  return { child: g.child, stderr: () => g.stderr };
}

function checkpointSeq(data: string): bigint {
  const dir = join(data, 'checkpoints');
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.ckpt')).sort() : [];
  if (names.length === 0) return 0n;
  const path = join(dir, names.at(-1)!);
  return BigInt(decodeCheckpoint(readFileSync(path), path).meta.logSeq);
}

/** The output lines, a dead letter's receive time and origin left out. */
function normalized(out: string): string[] {
  return readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    if (o.kind === 'dead_letter') { delete o.received_at; delete o.received_at_ns; delete o.origin; }
    return JSON.stringify(o);
  });
}

test.after.each(async () => { await killAll(); });

test('exactly_once: dead letters after the last checkpoint come out where an uninterrupted run puts them', async () => {
  const dir = tempDir();
  try {
    // The uninterrupted run.
    const port = await freePort();
    const refOut = join(dir.path, 'ref.jsonl');
    const ref = await started(pipeline(dir.path, port, refOut, '1h'), join(dir.path, 'ref-data'));
    assert.is(await produce(port, 0, FRAMES - 1), FRAMES);
    await produceEnd(port);
    ref.child.kill('SIGTERM');
    assert.is(await exit(ref.child), 0, ref.stderr());
    const expected = normalized(refOut);
    const deadAt = expected.flatMap((l, i) => (l.includes('"kind":"dead_letter"') ? [i] : []));
    assert.is(deadAt.length, WITH_REJECTS.size, 'one dead letter per damaged frame');
    assert.ok(deadAt.every((i) => i > 0 && i < expected.length - 1), `dead letters between window results: ${deadAt}`);

    // Life 1: frames 0..14, checkpointed; SIGKILL.
    const out = join(dir.path, 'out.jsonl');
    const data = join(dir.path, 'data');
    const p2 = await freePort();
    const first = await started(pipeline(dir.path, p2, out, '100ms'), data);
    assert.is(await produce(p2, 0, 14), 15);
    const logged = 15n * BigInt(FRAME) + 1n;
    await until(() => `a checkpoint of frames 0..14 (${checkpointSeq(data)})`, () => checkpointSeq(data) >= logged);
    first.child.kill('SIGKILL');
    await exit(first.child);
    // Life 2: no checkpoint; frames 15..29 (two of them with rejects) acknowledged, then SIGKILL.
    const noCheckpoint = pipeline(dir.path, p2, out, '1h');
    const second = await started(noCheckpoint, data);
    assert.is(await produce(p2, 15, FRAMES - 1), FRAMES - 15);
    await until(() => 'the dead-letter file to hold all four', () => existsSync(join(data, 'dead-letters.jsonl')) && readFileSync(join(data, 'dead-letters.jsonl'), 'utf8').split('\n').filter(Boolean).length === WITH_REJECTS.size);
    second.child.kill('SIGKILL');
    await exit(second.child);
    // Life 3: recovers (replays frames 15..29 from the log), then ends the windows.
    const third = await started(noCheckpoint, data);
    await produceEnd(p2);
    third.child.kill('SIGTERM');
    assert.is(await exit(third.child), 0, third.stderr());
    assert.match(third.stderr(), /sent 2 dead letters again/);

    const got = normalized(out);
    const gotDeadAt = got.flatMap((l, i) => (l.includes('"kind":"dead_letter"') ? [i] : []));
    assert.equal(gotDeadAt, deadAt, 'dead letters at the lines of the uninterrupted run');
    assert.is(got.length, expected.length);
    assert.equal(got, expected, 'the recovered output is the uninterrupted one');
  } finally { await killAll(); dir.remove(); }
});

test.run();
