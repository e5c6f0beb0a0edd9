// Damage to a running pipeline's disks and data directory, done from outside
// the process: `ganglion run` is spawned, its files are damaged (a full disk,
// a flipped byte, deleted checkpoints, a removed data directory), and the
// restart must either recover everything it acknowledged (compared with an
// uninterrupted run) or refuse to start, naming what is lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { tempDir, smallDisk } from '../../helpers/tmp.js';
import { BIN, CLI_ENV, killAll, spawnRun } from '../../helpers/ganglion.js';
import { freePort } from '../../../bench/free_port.js';
import { decodeCheckpoint } from '../../../host/checkpoint/checkpoint_store.js';

// DAMAGE_EVENTS scales the synthetic scenarios up for a figure run (the suite keeps them small).
const EVENTS = Number(process.env.DAMAGE_EVENTS ?? 300_000);

/**
 * DAMAGE_FIGURES=1: one JSON line per scenario on stdout, for the issue's
 * figure: what was done, what ganglion said (its lines matching `said`), and
 * what is missing after it (acknowledged events or uninterrupted-run outputs).
 */
function figure(scenario: string, done: string, stderr: string, said: RegExp, missing: string): void {
  if (!process.env.DAMAGE_FIGURES) return;
  const lines = stderr.split('\n').filter((l) => said.test(l)).map((l) => l.replace(/\/tmp\/[^ ]*\//g, '…/').trim());
  process.stdout.write(JSON.stringify({ scenario, done, said: [...new Set(lines)], missing }) + '\n');
}

/** Outputs (by id) of the uninterrupted run that `got` lacks. */
function missingOutputs(expected: Buffer, got: Buffer): number {
  const ids = (b: Buffer) => b.toString('utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
  const have = new Set(ids(got));
  return ids(expected).filter((id) => !have.has(id)).length;
}

interface Opts { out: string; events?: number; rate?: number; interval?: string; log?: string; mode?: string; onFailure?: string }

function pipeline(dir: string, o: Opts): string {
  const file = join(dir, `p-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `
name: damage
sources: [{ type: synthetic, rate: ${o.rate ?? 0}, events: ${o.events ?? EVENTS}, instruments: 200, seed: 9, start: "2026-01-05T14:30:00Z", out_of_order: 0.02, late: 0.001 }]
schema: { type: trades }
event_time: { out_of_orderness: 5ms, allowed_lateness: 10ms, idle_timeout: 0s }
operators:
  - { type: window, name: vwap, window: tumbling, size: 20ms, field: price, weight: qty, aggregates: [count, sum, vwap] }
sinks: [{ type: jsonl, path: ${o.out} }]
delivery: { mode: ${o.mode ?? 'exactly_once'}, checkpoint: { interval: ${o.interval ?? '100ms'}, keep: 2${o.onFailure ? `, on_failure: ${o.onFailure}` : ''} }${o.log ? `, log: ${o.log}` : ''} }
partitions: 1
memory: 32MiB
`);
  return file;
}

function start(file: string, dataDir: string, args: string[] = []): { child: ChildProcess; stderr: () => string } {
  const g = spawnRun(file, dataDir, { args });
  return { child: g.child, stderr: () => g.stderr };
}

function exit(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

async function run(file: string, dataDir: string, args: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const p = start(file, dataDir, args);
  const code = await exit(p.child);
  return { code, stderr: p.stderr() };
}

async function until(what: string | (() => string), ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const checkpoints = (dataDir: string) => (existsSync(join(dataDir, 'checkpoints')) ? readdirSync(join(dataDir, 'checkpoints')).filter((n) => n.endsWith('.ckpt')).sort() : []);
const segments = (dataDir: string) => readdirSync(join(dataDir, 'log')).filter((n) => n.endsWith('.log')).sort();

function newestCheckpointSeq(dataDir: string): bigint {
  const name = checkpoints(dataDir).at(-1)!;
  const path = join(dataDir, 'checkpoints', name);
  return BigInt(decodeCheckpoint(readFileSync(path), path).meta.logSeq);
}

/** The records entries of the last log segment: where each starts and the seqs it holds (read from the documented entry header). */
function recordEntries(dataDir: string, segment = segments(dataDir).at(-1)!): { path: string; entries: Array<{ at: number; from: bigint; to: bigint }> } {
  const path = join(dataDir, 'log', segment);
  const buf = readFileSync(path);
  const entries: Array<{ at: number; from: bigint; to: bigint }> = [];
  for (let at = 8; at + 32 <= buf.length;) {
    const len = buf.readUInt32LE(at);
    if (len < 32 || at + len > buf.length) break;
    const kind = buf.readUInt16LE(at + 24);
    const from = buf.readBigUInt64LE(at + 8);
    if (kind === 1 || kind === 4) entries.push({ at, from, to: from + BigInt(buf.readUInt32LE(at + 28)) });
    at += len;
  }
  return { path, entries };
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] ^= 0x20;
  writeFileSync(path, bytes);
}

// A failed assertion must not leave a run (some feeds are endless) behind.
test.after.each(async () => { await killAll(); });

let reference: Buffer | null = null;
/** The output of an uninterrupted run (the same for every scenario: same pipeline, same feed). */
async function uninterrupted(): Promise<Buffer> {
  if (reference) return reference;
  const dir = tempDir();
  const out = join(dir.path, 'out.jsonl');
  const r = await run(pipeline(dir.path, { out }), join(dir.path, 'data'));
  assert.is(r.code, 0, r.stderr);
  reference = readFileSync(out);
  assert.ok(reference.length > 1_000_000, `the reference run writes outputs (${reference.length} bytes)`);
  dir.remove();
  return reference;
}

test('sink on a full disk: a non-zero exit naming the file and the error; after space is freed the restart writes the uninterrupted bytes', async () => {
  const expected = await uninterrupted();
  const dir = tempDir();
  const disk = smallDisk(512 * 1024);
  try {
    const out = join(disk.path, 'out.jsonl');
    const file = pipeline(dir.path, { out });
    const full = await run(file, join(dir.path, 'data'));
    assert.is.not(full.code, 0, `a run that could not write its outputs exits non-zero: ${full.stderr}`);
    assert.match(full.stderr, `writing ${out} failed (no space left on device)`);
    assert.match(full.stderr, /stopping \(delivery\.checkpoint\.on_failure: stop\)/);
    execFileSync('mount', ['-o', 'remount,size=64m', disk.path]);
    const again = await run(file, join(dir.path, 'data'));
    assert.is(again.code, 0, again.stderr);
    const got = readFileSync(out);
    assert.is(got.length, expected.length, 'same size as the uninterrupted run');
    assert.ok(got.equals(expected), 'byte-identical to the uninterrupted run');
    figure('5: sink on a full disk (on_failure: stop)', `JSONL sink on a 512 KiB tmpfs; then remount 64 MiB and restart`, `exit ${full.code}: ${full.stderr}\n${again.stderr}`,
      /no space left|^exit|recover|resumed/, `${missingOutputs(expected, got)} of ${expected.toString().split('\n').length - 1} outputs of the uninterrupted run (byte-identical: ${got.equals(expected)})`);
  } finally { await killAll(); disk.remove(); dir.remove(); }
});

// ── an external WebSocket producer that resends what was not acknowledged ──

const T0 = Date.parse('2026-01-05T14:30:00Z');
const FRAME = 2000;

function wsPipeline(dir: string, port: number, out: string, interval: string, onFailure = 'stop'): string {
  const file = join(dir, `ws-${interval}-${onFailure}.yaml`);
  writeFileSync(file, `
name: ws_damage
sources: [{ type: ws, host: 127.0.0.1, port: ${port}, native: false }]
schema: { type: trades }
event_time: { out_of_orderness: 0s, idle_timeout: 0s }
operators: [{ type: window, name: n, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }]
sinks: [{ type: jsonl, path: ${out}, kinds: [window] }]
delivery: { mode: exactly_once, checkpoint: { interval: ${interval}, on_failure: ${onFailure} } }
partitions: 1
memory: 16MiB
`);
  return file;
}

/** Frame k: FRAME trades, instrument I<j % 10>, qty k+1, one per ms of event time. */
const frame = (k: number) => Array.from({ length: FRAME }, (_, j) => JSON.stringify({ ts: T0 + k * FRAME + j, instrument: `I${j % 10}`, price: 100 + (j % 7), qty: k + 1, side: 'buy' })).join('\n');

/** Window start (ms) → sum of qty over frames first..last: what an exactly-once run must output. */
function expectedSums(first: number, last: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let k = first; k <= last; k++) for (let j = 0; j < FRAME; j++) { const w = `${Math.floor((T0 + k * FRAME + j) / 1000) * 1000}`; m.set(w, (m.get(w) ?? 0) + k + 1); }
  return m;
}

function outputSums(out: string): Map<string, number> {
  const got = new Map<string, number>();
  for (const l of readFileSync(out, 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(l) as { window: { start_ns: string }; values: { sum: number } };
    const w = `${BigInt(o.window.start_ns) / 1_000_000n}`;
    got.set(w, (got.get(w) ?? 0) + o.values.sum);
  }
  return got;
}

/** Events the windows before the END event counted. */
function countedEvents(out: string): number {
  let n = 0;
  for (const l of readFileSync(out, 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(l) as { window: { start_ns: string }; values: { count: number } };
    if (BigInt(o.window.start_ns) / 1_000_000n < BigInt(T0 + 3_600_000)) n += o.values.count;
  }
  return n;
}

function assertSums(out: string, expected: Map<string, number>, context: () => string): void {
  const got = outputSums(out);
  const wrong = [...expected].filter(([w, n]) => got.get(w) !== n);
  assert.is(wrong.length, 0, `windows whose qty sum differs (window, expected, got): ${wrong.slice(0, 3).map(([w, n]) => `${w} ${n} ${got.get(w)}`).join('; ')} (${wrong.length} in all); ${context()}`);
  assert.is(got.size, expected.size, 'no window beyond the input');
}

/** Sends frames first..last (stopping at the first refusal), 8 unacknowledged at most; resolves with the acks once all are answered or the connection closes. */
function produce(port: number, first: number, last: number): Promise<{ acked: number[]; refused: string[] }> {
  return new Promise((resolve) => {
    const acked: number[] = [], refused: string[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ingest?seq=${first}`);
    let next = first;
    const done = () => resolve({ acked, refused });
    ws.on('open', () => { for (let i = 0; i < 8 && next <= last; i++) ws.send(frame(next++)); });
    ws.on('message', (m) => {
      const a = JSON.parse(String(m)) as { ack: number; ok: boolean; reason?: string; retry?: boolean };
      if (a.ok) acked.push(a.ack); else refused.push(`${a.ack}: ${a.retry ? 'retry' : 'final'}: ${a.reason}`);
      if (refused.length === 0 && next <= last) ws.send(frame(next++));
      if (acked.length + refused.length === next - first && (refused.length > 0 || next > last)) ws.close();
    });
    ws.on('close', done);
    ws.on('error', done);
  });
}

/** One event an hour ahead: the watermark closes every window before it. */
function sendEnd(port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ingest?seq=1000000`);
    ws.on('open', () => ws.send(JSON.stringify({ ts: T0 + 3_600_000, instrument: 'END', price: 1, qty: 1, side: 'buy' })));
    ws.on('message', () => { ws.close(); resolve(); });
    ws.on('error', reject);
  });
}

test('ingest log on a full disk: frames are refused, never acknowledged; the resent ones and the acknowledged ones are each counted once', async () => {
  const dir = tempDir();
  const disk = smallDisk(640 * 1024);
  try {
    const port = await freePort();
    const out = join(dir.path, 'out.jsonl');
    // The log, not a checkpoint, meets the full disk.
    const file = wsPipeline(dir.path, port, out, '1h');
    const first = start(file, join(disk.path, 'data'));
    await until('the ws source', () => /running ws_damage/.test(first.stderr()));
    const life1 = await produce(port, 0, 10_000);
    const code1 = await exit(first.child);
    assert.ok(life1.refused.length > 0, `frames were refused once the disk was full (acked ${life1.acked.length}): ${first.stderr()}`);
    assert.match(life1.refused.join('\n'), /no space left on device/);
    assert.ok(life1.refused.every((r) => / retry: /.test(r)), `every refusal tells the producer to resend: ${life1.refused[0]}`);
    assert.is.not(code1, 0, `the pipeline stops non-zero on a full disk: ${first.stderr()}`);
    assert.match(first.stderr(), /no space left on device/);
    // The producer keeps every unacknowledged frame and resends it: acks are in order, so from the first gap on.
    const acked = new Set(life1.acked);
    let resendFrom = 0;
    while (acked.has(resendFrom)) resendFrom++;
    assert.ok(resendFrom > 0, 'some frames were acknowledged before the disk filled');
    for (const k of life1.acked) if (k >= resendFrom) assert.unreachable(`frame ${k} acked after an unacked one`);

    execFileSync('mount', ['-o', 'remount,size=64m', disk.path]);
    const second = start(file, join(disk.path, 'data'));
    await until('the restart', () => /running ws_damage/.test(second.stderr()));
    const LAST = resendFrom + 5;
    const life2 = await produce(port, resendFrom, LAST);
    assert.equal(life2.refused, []);
    assert.is(life2.acked.length, LAST - resendFrom + 1);
    await sendEnd(port);
    // SIGTERM drains: every epoch up to the END event's (which closes the windows) reaches the sink.
    second.child.kill('SIGTERM');
    assert.is(await exit(second.child), 0, second.stderr());
    assertSums(out, expectedSums(0, LAST), () => `resent ${resendFrom}..${LAST}: ${second.stderr()}`);
    figure('5: ingest log on a full disk', `data dir on a 640 KiB tmpfs, WebSocket producer; frames refused are resent after remount 64 MiB and restart`,
      `${life1.refused.slice(0, 1).map((r) => `refusal ack ${r}`).join('')}\nexit ${code1}: ${first.stderr()}`, /no space left|^exit|refusal/,
      `${(LAST + 1) * FRAME - countedEvents(out)} of ${life1.acked.length * FRAME} acknowledged events (+ ${(LAST + 1 - life1.acked.length) * FRAME} resent); counted ${countedEvents(out)}, expected ${(LAST + 1) * FRAME}`);
  } finally { await killAll(); disk.remove(); dir.remove(); }
});

test('sink on a full disk with on_failure: continue: the run goes on, and once there is room the sink catches up; every window once', async () => {
  const dir = tempDir();
  const disk = smallDisk(128 * 1024);
  try {
    const port = await freePort();
    const out = join(disk.path, 'out.jsonl');
    const p = start(wsPipeline(dir.path, port, out, '100ms', 'continue'), join(dir.path, 'data'));
    await until('the ws source', () => /running ws_damage/.test(p.stderr()));
    const life = await produce(port, 0, 59);
    assert.is(life.acked.length, 60, `the log is not on the full disk: every frame acknowledged (${life.refused[0]})`);
    await until(() => `the sink to fail: ${p.stderr()}`, () => /no space left on device.*continuing/.test(p.stderr()));
    assert.match(p.stderr(), `writing ${out} failed (no space left on device)`);
    assert.is(p.child.exitCode, null, 'still running');
    execFileSync('mount', ['-o', 'remount,size=64m', disk.path]);
    const more = await produce(port, 60, 64);
    assert.is(more.acked.length, 5);
    await sendEnd(port);
    p.child.kill('SIGTERM');
    assert.is(await exit(p.child), 0, p.stderr());
    assertSums(out, expectedSums(0, 64), () => p.stderr());
    figure('5: sink on a full disk (on_failure: continue)', 'JSONL sink on a 128 KiB tmpfs, 60 frames; remount 64 MiB, 5 more frames', p.stderr(), /no space left/,
      `${65 * FRAME - countedEvents(out)} of ${65 * FRAME} acknowledged events`);
  } finally { await killAll(); disk.remove(); dir.remove(); }
});

test('the issue\'s case: a flipped byte in covered entries, 100,000 more events acknowledged, SIGKILL before the next checkpoint: nothing acknowledged is missing', async () => {
  const dir = tempDir();
  try {
    const port = await freePort();
    const out = join(dir.path, 'out.jsonl');
    const data = join(dir.path, 'data');
    const first = start(wsPipeline(dir.path, port, out, '100ms'), data);
    await until('the ws source', () => /running ws_damage/.test(first.stderr()));
    const life1 = await produce(port, 0, 19);
    assert.is(life1.acked.length, 20);
    await until('a checkpoint of every frame', () => checkpoints(data).length > 0 && newestCheckpointSeq(data) > 20n * BigInt(FRAME));
    first.child.kill('SIGKILL');
    await exit(first.child);
    const committed = newestCheckpointSeq(data);
    const { path, entries } = recordEntries(data);
    const victim = entries.find((e) => e.from > 1n && e.to <= committed)!;
    flipByte(path, victim.at + 48);

    // No checkpoint in the next two lives: the second is killed with 100,000 acknowledged events only in the log.
    const file = wsPipeline(dir.path, port, out, '1h');
    const second = start(file, data);
    await until('the restart', () => /running ws_damage/.test(second.stderr()));
    assert.match(second.stderr(), `seqs ${victim.from}..${victim.to - 1n}`);
    const life2 = await produce(port, 20, 69);
    assert.is(life2.acked.length, 50, `100,000 events acknowledged: ${life2.refused[0]}`);
    second.child.kill('SIGKILL');
    await exit(second.child);

    const third = start(file, data);
    await until('the second restart', () => /running ws_damage/.test(third.stderr()));
    await sendEnd(port);
    third.child.kill('SIGTERM');
    assert.is(await exit(third.child), 0, third.stderr());
    assertSums(out, expectedSums(0, 69), () => `${second.stderr()} / ${third.stderr()}`);
    figure('6: flipped byte under the checkpoint, 100,000 more acked, SIGKILL', 'byte flipped in a covered records entry of the last segment; restart; 50 frames (100,000 events) acked; SIGKILL before any checkpoint; restart',
      `${second.stderr()}\n${third.stderr()}`, /gone from the log|damaged|recover|cut/, `${70 * FRAME - countedEvents(out)} of ${70 * FRAME} acknowledged events`);
  } finally { await killAll(); dir.remove(); }
});

test('a flipped byte in log entries a checkpoint covers: reported, and the restart writes the uninterrupted bytes (no seq reused)', async () => {
  const expected = await uninterrupted();
  const dir = tempDir();
  const out = join(dir.path, 'out.jsonl');
  const data = join(dir.path, 'data');
  // Flat out, like the reference: the feed's batches (and so the outputs) do not depend on the clock.
  const file = pipeline(dir.path, { out, interval: '30ms' });
  const first = await run(file, data);
  assert.is(first.code, 0, first.stderr);
  assert.ok(checkpoints(data).length > 0, 'checkpoints were taken');
  const committed = newestCheckpointSeq(data);
  // The last entry below the checkpoint's seq, in whichever segment holds it.
  const found = segments(data).map((seg) => recordEntries(data, seg)).map(({ path, entries }) => ({ path, victim: entries.filter((e) => e.to <= committed).at(-1) })).filter((x) => x.victim).at(-1);
  assert.ok(found, `an entry below the checkpoint's seq ${committed}`);
  const { path } = found;
  const victim = found.victim!;
  flipByte(path, victim.at + 48);
  const again = await run(file, data);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, `seqs ${victim.from}..${victim.to - 1n} (${victim.to - victim.from} events) are gone from the log, but checkpoint`);
  const got = readFileSync(out);
  assert.is(got.length, expected.length, 'same size as the uninterrupted run');
  assert.ok(got.equals(expected), 'byte-identical to the uninterrupted run');
  figure('6: flipped byte in entries a checkpoint covers (synthetic feed)', 'byte flipped in the last records entry below the newest checkpoint; restart', again.stderr, /gone from the log|recover|resumed/,
    `${missingOutputs(expected, got)} outputs of the uninterrupted run (byte-identical: ${got.equals(expected)})`);
  dir.remove();
});

test('every checkpoint corrupt, then every checkpoint deleted, over a log that still starts at seq 1: the whole log is replayed, the uninterrupted bytes', async () => {
  const expected = await uninterrupted();
  const dir = tempDir();
  const out = join(dir.path, 'out.jsonl');
  const data = join(dir.path, 'data');
  const file = pipeline(dir.path, { out, interval: '30ms' });
  const first = await run(file, data);
  assert.is(first.code, 0, first.stderr);
  assert.ok(checkpoints(data).length > 0, 'checkpoints were taken');
  assert.is(BigInt(segments(data)[0].slice(0, 20)), 1n, 'the log starts at seq 1');
  for (const c of checkpoints(data)) flipByte(join(data, 'checkpoints', c), 100);
  const corrupt = await run(file, data);
  assert.is(corrupt.code, 0, corrupt.stderr);
  assert.match(corrupt.stderr, /skipping checkpoint: .*CRC mismatch/);
  assert.match(corrupt.stderr, /replaying \d+ events from the ingest log \(seq 1 on, no checkpoint\)/);
  const got = readFileSync(out);
  assert.ok(got.equals(expected), 'byte-identical to the uninterrupted run');
  figure('7: every checkpoint corrupt, log intact from seq 1', 'byte flipped in each checkpoint; restart', corrupt.stderr, /skipping checkpoint|replay/,
    `${missingOutputs(expected, got)} outputs of the uninterrupted run (byte-identical: ${got.equals(expected)})`);

  rmSync(join(data, 'checkpoints'), { recursive: true });
  const deleted = await run(file, data);
  assert.is(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stderr, /replaying \d+ events from the ingest log \(seq 1 on, no checkpoint\)/);
  const again = readFileSync(out);
  assert.ok(again.equals(expected), 'byte-identical to the uninterrupted run');
  figure('7: every checkpoint deleted, log intact from seq 1', 'checkpoints directory removed; restart', deleted.stderr, /replay/,
    `${missingOutputs(expected, again)} outputs of the uninterrupted run (byte-identical: ${again.equals(expected)})`);
  dir.remove();
});

test('a flipped byte in acknowledged entries no checkpoint covers: refused naming the seqs; --truncate-corrupt goes on and says what it lost', async () => {
  const dir = tempDir();
  const out = join(dir.path, 'out.jsonl');
  const data = join(dir.path, 'data');
  const file = pipeline(dir.path, { out, rate: 150_000, interval: '1h' });
  const first = start(file, data);
  await until(() => `log entries (${recordEntries(data).entries.length} so far): ${first.stderr()}`, () => existsSync(join(data, 'log')) && segments(data).length > 0 && recordEntries(data).entries.length >= 4);
  first.child.kill('SIGKILL');
  await exit(first.child);
  const { path, entries } = recordEntries(data);
  const victim = entries[1]; // entries follow it: damage in the middle, not a torn tail
  flipByte(path, victim.at + 48);
  const before = readFileSync(path);

  const refused = await run(file, data);
  assert.is.not(refused.code, 0, refused.stderr);
  assert.match(refused.stderr, `damaged at byte ${victim.at} (CRC mismatch): acknowledged events seqs ${victim.from}..${victim.to - 1n} (${victim.to - victim.from} events) are lost (no checkpoint covers them)`);
  assert.match(refused.stderr, /Refusing to start/);
  assert.match(refused.stderr, /delivery\.log\.truncate_corrupt: true or run with --truncate-corrupt/);
  assert.ok(readFileSync(path).equals(before), 'a refused start leaves the log as it was');

  const last = entries.at(-1)!.to;
  const cut = await run(file, data, ['--truncate-corrupt']);
  assert.is(cut.code, 0, cut.stderr);
  assert.match(cut.stderr, `cut at ${path} at byte ${victim.at} (CRC mismatch) (truncate_corrupt): acknowledged events seqs ${victim.from}..`);
  const lost = /acknowledged events seqs (\d+)\.\.(\d+)/.exec(cut.stderr.slice(cut.stderr.indexOf('truncate_corrupt)')))!;
  assert.ok(BigInt(lost[2]) >= last - 1n, `the report covers every seq the log held after the damage (to ${last - 1n}): ${lost[0]}`);
  figure('6/8: flipped byte in acknowledged entries no checkpoint covers', 'SIGKILL with no checkpoint; byte flipped in the second records entry; restart', `exit ${refused.code}: ${refused.stderr}`, /Refusing|lost|^exit/, 'refused to start (nothing cut)');
  figure('8: the same with --truncate-corrupt', 'restart with --truncate-corrupt', `exit ${cut.code}: ${cut.stderr}`, /truncate_corrupt|^exit/, `the lost seqs ${lost[1]}..${lost[2]} named on stderr`);

  // The config key is real too: validate accepts it.
  const keyed = pipeline(dir.path, { out, log: '{ truncate_corrupt: true }' });
  const v = execFileSync(process.execPath, [BIN, 'validate', keyed], { encoding: 'utf8', env: CLI_ENV });
  assert.match(v, /ok/);
  dir.remove();
});

test('checkpoints gone after retention removed the log start: refused naming the seqs; --start-over sets the old state aside and starts afresh', async () => {
  const expected = await uninterrupted();
  const dir = tempDir();
  const out = join(dir.path, 'out.jsonl');
  const data = join(dir.path, 'data');
  // Paced and endless, so that checkpoints (and retention after each) happen while the log rolls; stopped once retention ran.
  const file = pipeline(dir.path, { out, rate: 150_000, events: 100_000_000, log: '{ segment_size: 64KiB, retention: 1ms }' });
  const first = start(file, data);
  await until('retention to remove the first segment', () => { const s = existsSync(join(data, 'log')) ? segments(data) : []; return s.length > 0 && BigInt(s[0].slice(0, 20)) > 1n; });
  first.child.kill('SIGTERM');
  assert.is(await exit(first.child), 0, first.stderr());
  const segs = segments(data);
  assert.ok(segs.length > 0, `the log has segments: ${readdirSync(join(data, 'log'))}; ${first.stderr()}`);
  const firstSeq = BigInt(segs[0].slice(0, 20));
  assert.ok(firstSeq > 1n, `retention removed early segments (log starts at ${firstSeq})`);
  const written = readFileSync(out);

  // Every checkpoint corrupt.
  for (const c of checkpoints(data)) flipByte(join(data, 'checkpoints', c), 100);
  const corrupt = await run(file, data);
  assert.is.not(corrupt.code, 0, corrupt.stderr);
  assert.match(corrupt.stderr, /no usable checkpoint in .* \(unusable: checkpoint .*CRC mismatch/, corrupt.stderr);
  assert.match(corrupt.stderr, `starts at seq ${firstSeq} (retention deleted the segments before it): acknowledged events seqs 1..${firstSeq - 1n}`);
  assert.match(corrupt.stderr, /--start-over/);
  assert.ok(readFileSync(out).equals(written), 'the committed output is untouched');
  figure('7: every checkpoint corrupt, retention removed the log start', `byte flipped in each checkpoint; log starts at seq ${firstSeq}; restart`, `exit ${corrupt.code}: ${corrupt.stderr}`, /Refusing|no usable|lost|^exit/, 'refused to start; committed output untouched');

  // Every checkpoint deleted.
  rmSync(join(data, 'checkpoints'), { recursive: true });
  const deleted = await run(file, data);
  assert.is.not(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stderr, `(none found), and the ingest log`);
  assert.match(deleted.stderr, `acknowledged events seqs 1..${firstSeq - 1n} (${firstSeq - 1n} events) cannot be replayed, so the committed outputs of jsonl0`);
  assert.ok(readFileSync(out).equals(written), 'the committed output is untouched');
  figure('7: every checkpoint deleted, retention removed the log start', 'checkpoints directory removed; restart', `exit ${deleted.code}: ${deleted.stderr}`, /Refusing|none found|cannot be replayed|^exit/, 'refused to start; committed output untouched');

  // Flat out, like the reference run.
  const over = await run(pipeline(dir.path, { out, log: '{ segment_size: 64KiB, retention: 1ms }' }), data, ['--start-over']);
  assert.is(over.code, 0, over.stderr);
  assert.match(over.stderr, /starting over \(--start-over\): moved .* to .*discarded-/);
  const aside = readdirSync(dir.path).find((n) => n.startsWith('out.jsonl.discarded-'));
  assert.ok(aside && readFileSync(join(dir.path, aside)).equals(written), 'the old output is set aside, not deleted');
  // The synthetic feed starts again from its first event: the same bytes as an uninterrupted run.
  assert.ok(readFileSync(out).equals(expected));
  figure('7: the same with --start-over', 'restart with --start-over', over.stderr, /start-over|moved/, 'old state and output moved aside (not deleted)');
  dir.remove();
});

test('the newest checkpoint corrupt, retention running: the older checkpoint still has its log, the restart recovers from it (the committed output kept)', async () => {
  const dir = tempDir();
  const out = join(dir.path, 'out.jsonl');
  const data = join(dir.path, 'data');
  const file = pipeline(dir.path, { out, rate: 150_000, events: 100_000_000, log: '{ segment_size: 64KiB, retention: 1ms }' });
  const first = start(file, data);
  await until('retention to remove segments after two checkpoints', () => { const s = existsSync(join(data, 'log')) ? segments(data) : []; return checkpoints(data).length >= 2 && s.length > 0 && BigInt(s[0].slice(0, 20)) > 1n; });
  first.child.kill('SIGTERM');
  assert.is(await exit(first.child), 0, first.stderr());
  const written = readFileSync(out);
  const names = checkpoints(data);
  assert.is(names.length, 2, 'keep: 2');
  flipByte(join(data, 'checkpoints', names.at(-1)!), 100);
  const again = start(file, data);
  await until(() => `the restart: ${again.stderr()}`, () => /running damage|Refusing/.test(again.stderr()) || again.child.exitCode !== null);
  again.child.kill('SIGTERM');
  const code = await exit(again.child);
  assert.not.match(again.stderr(), /Refusing/);
  assert.is(code, 0, again.stderr());
  assert.match(again.stderr(), /skipping checkpoint: .*CRC mismatch/);
  const got = readFileSync(out);
  assert.ok(got.length >= written.length && got.subarray(0, written.length).equals(written), 'every output committed before is still there, byte for byte');
  figure('7: the newest checkpoint corrupt, retention running (keep: 2)', 'byte flipped in the newest checkpoint; restart', again.stderr(), /skipping checkpoint|replay|Refusing/,
    `${missingOutputs(written, got)} of ${written.toString().split('\n').length - 1} committed outputs`);
  dir.remove();
});

test('data directory removed while running: the restart refuses, naming the output it would disown', async () => {
  const dir = tempDir();
  const out = join(dir.path, 'out.jsonl');
  const data = join(dir.path, 'data');
  // A feed that outlasts the test: the run only stops by failing.
  const file = pipeline(dir.path, { out, rate: 150_000, events: 100_000_000 });
  const first = start(file, data);
  await until('a checkpoint', () => checkpoints(data).length >= 1);
  rmSync(data, { recursive: true, force: true });
  // The next group commit finds its segment deleted (or a checkpoint write its directory gone, if that comes first):
  // the run fails rather than acknowledge into a file nobody can read.
  const code = await exit(first.child);
  assert.is.not(code, 0, first.stderr());
  assert.match(first.stderr(), /was deleted while running \(was the data directory removed\?\)|ENOENT: no such file or directory.*; stopping/, first.stderr());
  const size = statSync(out).size;
  assert.ok(size > 0);
  const again = await run(file, data);
  assert.is.not(again.code, 0, again.stderr);
  // A checkpoint the dying process still wrote (into a directory it recreated) names the seq the log should go on from.
  if (checkpoints(data).length > 0) assert.match(again.stderr, /checkpoint .* continues the ingest log at seq \d+, but .* holds no log segment: every event acknowledged after seq \d+ is lost/);
  else assert.match(again.stderr, `holds no ingest log and no usable checkpoint, yet the sinks already hold committed output: jsonl0 (${size} bytes in ${out})`);
  assert.match(again.stderr, /Refusing to start/);
  assert.is(statSync(out).size, size, 'the output is untouched');
  figure('7: data directory removed while running', 'rm -rf of the data dir under a running pipeline; restart', `exit ${code}: ${first.stderr()}\nexit ${again.code}: ${again.stderr}`, /deleted while running|ENOENT|Refusing|holds no|lost|^exit/, 'run stopped non-zero; restart refused; output untouched');
  dir.remove();
});

test.run();
