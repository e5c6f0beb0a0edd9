// External crash loop: `ganglion run` (bin/ganglion.js, compiled) fed by a
// SEPARATE producer process (bench/resend_producer.ts) that resends every
// unacknowledged frame, while ganglion is SIGKILLed again and again, some
// kills landing inside a checkpoint write, and (MQTT) the broker restarted.
// The JSONL output is compared with an uninterrupted run of the same feed:
// exactly_once must write the very same bytes, at_least_once must miss no
// output. Used by test/host/cli/producer_crash_loop.test.ts (small) and the
// figure run (scripts/crash-loop-figures.ts, ≥ 1 M events, ≥ 20 kills).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free_port.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'ganglion.js');
const PRODUCER = join(ROOT, 'bench', 'resend_producer.ts');

export interface CrashLoopOptions {
  dir: string;
  mode: 'exactly_once' | 'at_least_once';
  transport: 'ws' | 'mqtt';
  /** MQTT: the broker (tests pass test/helpers/mosquitto.ts with persistence). */
  broker?: { url: string; restart(): Promise<void> };
  frames: number;
  batch: number;
  /** Producer frames per second (spreads the feed over the kills). */
  rate: number;
  kills: number;
  /** MQTT: restart the broker before these kill numbers. */
  brokerRestartsAt?: number[];
  /** Producer id: exactly_once needs one; at_least_once runs without (plain at-least-once). */
  producer?: string;
  seed: number;
  /** Passed to ganglion: pause after each part of a checkpoint file (ms), so kills land in writes. */
  checkpointPauseMs?: number;
  log?: (line: string) => void;
}

export interface CrashLoopResult {
  outputPath: string;
  kills: number;
  /** Kills with a checkpoint .tmp file present: the process died mid checkpoint write. */
  killsInCheckpointWrite: number;
  brokerRestarts: number;
  producer: Record<string, unknown>;
  seconds: number;
}

interface Proc { child: ChildProcess; err: () => string; exit: Promise<number | string> }

function spawnProc(cmd: string, args: string[], env: Record<string, string | undefined> = {}): Proc {
  const full: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) full[k] = v;
  const child = spawn(cmd, args, { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '', out = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => (out += d));
  // 'close', not 'exit': the output is complete only once stdio is closed. A signal death resolves with its name.
  const exit = new Promise<number | string>((r) => child.once('close', (c, sig) => r(c ?? sig ?? 'unknown')));
  return { child, err: () => err + out, exit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pipelineFile(o: CrashLoopOptions, port: number, outName: string): string {
  const source = o.transport === 'ws'
    // The ws engine: uWS cannot bind a port with connections in TIME_WAIT, so a restarted uWS would need another port.
    ? `{ type: ws, host: 127.0.0.1, port: ${port}, native: false }`
    : `{ type: mqtt, url: "${o.broker!.url}", client_id: crash-${outName}, topics: [{ topic: crash/${outName}, format: json, qos: 1 }] }`;
  const file = join(o.dir, `${outName}.yaml`);
  writeFileSync(file, `
name: crash_loop
sources: [${source}]
schema: { type: trades }
key: instrument
event_time: { out_of_orderness: 5ms, allowed_lateness: 20ms, idle_timeout: 0s }
operators:
  - { type: window, name: bars, window: tumbling, size: 100ms, field: price, weight: qty, aggregates: [count, sum, vwap, min, max] }
  - { type: zscore, name: pz, field: price, threshold: 3, min_samples: 30 }
sinks: [{ type: jsonl, path: ${join(o.dir, outName + '.jsonl')} }]
delivery: { mode: ${o.mode}, checkpoint: { interval: 200ms, keep: 2 } }
partitions: 2
memory: 64MiB
`);
  return file;
}

function startGanglion(file: string, dataDir: string, o: CrashLoopOptions): Proc {
  const env: Record<string, string | undefined> = { GANGLION_FROM_SOURCE: undefined };
  if (o.checkpointPauseMs) env.GANGLION_TEST_CHECKPOINT_PAUSE_MS = String(o.checkpointPauseMs);
  return spawnProc(process.execPath, [BIN, 'run', file, '--data-dir', dataDir, '--no-status'], env);
}

async function waitLog(p: Proc, text: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!p.err().includes(text)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`ganglion exited before "${text}": ${p.err()}`);
    if (Date.now() > end) throw new Error(`ganglion did not log "${text}" within ${ms} ms: ${p.err()}`);
    await sleep(10);
  }
}

function startProducer(o: CrashLoopOptions, target: string, topic: string | undefined): Proc {
  const args = ['--import', 'tsx', PRODUCER, '--target', target, '--frames', String(o.frames), '--batch', String(o.batch), '--rate', String(o.rate), '--window', '16', '--give-up-ms', '120000'];
  if (topic) args.push('--topic', topic);
  if (o.producer) args.push('--producer', o.producer);
  return spawnProc(process.execPath, args);
}

/**
 * A checkpoint file is being written by the process started at `since`: a
 * .tmp written to within the last 50 ms (a killed write leaves its .tmp
 * behind until the next successful checkpoint, which must not count).
 */
function checkpointWriting(dataDir: string, since: number): boolean {
  const dir = join(dataDir, 'checkpoints');
  if (!existsSync(dir)) return false;
  const now = Date.now();
  for (const n of readdirSync(dir)) {
    if (!n.endsWith('.tmp')) continue;
    try {
      const m = statSync(join(dir, n)).mtimeMs;
      if (m >= since && now - m < 50) return true;
    } catch { /* renamed meanwhile */ }
  }
  return false;
}

/**
 * One run: ganglion + producer, `kills` SIGKILLs (0 = the uninterrupted
 * reference), until the producer is done (WebSocket: every frame acked, so
 * durable) or, over MQTT, until `complete` says the output holds everything.
 */
export async function crashLoopRun(o: CrashLoopOptions, outName: string, complete?: (output: Buffer) => boolean): Promise<CrashLoopResult> {
  const started = performance.now();
  const log = o.log ?? (() => undefined);
  let s = o.seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 0x100000000);
  const port = await freePort();
  const file = pipelineFile(o, port, outName);
  const dataDir = join(o.dir, outName + '-data');
  const outputPath = join(o.dir, outName + '.jsonl');
  let g = startGanglion(file, dataDir, o);
  let life = Date.now();
  await waitLog(g, 'running crash_loop');
  const topic = o.transport === 'mqtt' ? `crash/${outName}` : undefined;
  const producer = startProducer(o, o.transport === 'ws' ? `ws://127.0.0.1:${port}/ingest` : o.broker!.url, topic);
  let kills = 0, inWrite = 0, brokerRestarts = 0;
  for (let k = 0; k < o.kills; k++) {
    if (o.brokerRestartsAt?.includes(k)) { await o.broker!.restart(); brokerRestarts++; log(`broker restarted before kill ${k + 1}`); }
    if (k % 3 === 2) {
      // Aim inside a checkpoint write: kill as soon as a .tmp appears.
      const end = Date.now() + 5000;
      while (!checkpointWriting(dataDir, life) && Date.now() < end && g.child.exitCode === null) await sleep(1);
    } else {
      await sleep(300 + rand() * 1200);
    }
    if (g.child.exitCode !== null) throw new Error(`ganglion exited by itself (${g.child.exitCode}): ${g.err()}`);
    const writing = checkpointWriting(dataDir, life);
    g.child.kill('SIGKILL');
    await g.exit;
    kills++;
    if (writing) inWrite++;
    log(`kill ${kills}${writing ? ' (inside a checkpoint write)' : ''}`);
    g = startGanglion(file, dataDir, o);
    life = Date.now();
    await waitLog(g, 'running crash_loop');
  }
  const code = await producer.exit;
  const summary = JSON.parse(producer.err().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}') as Record<string, unknown>;
  if (code !== 0) { g.child.kill('SIGKILL'); throw new Error(`producer failed (${code}): ${producer.err()}`); }
  if (!complete && o.transport === 'mqtt') {
    // A PUBACK is the broker's: ganglion has it all once the last window the last frame closes is out (SIGTERM then drains the rest).
    const marker = Buffer.from(`"start_ns":"${lastWindowStart(o)}"`);
    complete = (out) => out.includes(marker, Math.max(0, out.length - 4_000_000));
  }
  if (complete) {
    const end = Date.now() + 120_000;
    while (!(existsSync(outputPath) && complete(readFileSync(outputPath)))) {
      if (Date.now() > end) { g.child.kill('SIGKILL'); throw new Error(`the output did not complete within 120 s after the producer finished: ${g.err()}`); }
      if (g.child.exitCode !== null) throw new Error(`ganglion exited (${g.child.exitCode}): ${g.err()}`);
      await sleep(50);
    }
  }
  g.child.kill('SIGTERM');
  const exit = await g.exit;
  if (exit !== 0) throw new Error(`ganglion exited ${exit} on SIGTERM: ${g.err()}`);
  return { outputPath, kills, killsInCheckpointWrite: inWrite, brokerRestarts, producer: summary, seconds: (performance.now() - started) / 1000 };
}

/** Start (ns) of the last 100 ms window the feed's last event closes (producer defaults: start 1767623400 s, 100 µs apart). */
export function lastWindowStart(o: Pick<CrashLoopOptions, 'frames' | 'batch'>): bigint {
  const start = 1767623400000000000n, step = 100_000n, size = 100_000_000n;
  const watermark = start + BigInt(o.frames * o.batch - 1) * step - 5_000_000n;
  return start + ((watermark - size - start) / size) * size;
}

/** Output ids (window and other outputs), for "nothing missing". */
export function outputIds(buf: Buffer): Set<string> {
  const ids = new Set<string>();
  for (const line of buf.toString('utf8').split('\n')) if (line) ids.add((JSON.parse(line) as { id: string }).id);
  return ids;
}

/**
 * Window counts per (key, window start) for at_least_once: a resend may add
 * events to a window (counted twice), never remove one.
 */
export function windowCounts(buf: Buffer): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of buf.toString('utf8').split('\n')) {
    if (!line) continue;
    const o = JSON.parse(line) as { kind: string; op: string; key: string; window?: { start_ns: string }; values?: { count?: number } };
    if (o.kind === 'window' && o.op === 'bars') m.set(`${o.key}@${o.window!.start_ns}`, o.values!.count!);
  }
  return m;
}
