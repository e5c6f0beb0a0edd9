// End-to-end benchmark: the market-surveillance pipeline as a service, fed
// over loopback WebSocket by a separate load-generator process, against the
// same pipeline written with RxJS 7 + ws (bench/baselines/rxjs_surveillance.ts).
//
//   phase                      target                         what is read
//   ganglion, flat out         node bin/ganglion.js run tmp   events/s processed
//   RxJS, flat out             rxjs_surveillance.ts           events/s processed
//   ganglion, 100 K events/s   fresh process                  latency p50 … max
//   RxJS, 100 K events/s       fresh process                  latency p50 … max
//
// Every target is a fresh process (a backlog or a warm heap from one phase
// must not flatter or hurt the next), and both are read the same way: their
// GET /api/snapshot, polled every 250 ms. A snapshot describes the last
// completed second; the driver keeps the seconds that lie wholly inside the
// load (after the partial first second and, in full runs, one warm-up second)
// and reports
//   events/s   Δ eventsInTotal / Δ time between the first and last such second
//   p50…p99.9  the median over those seconds of each per-second percentile
//   max        the largest per-second max
//   p99 worst  the largest per-second p99 (what "sustained" has to survive)
// Latency is socket receive → sink emit as each process measures it.
//
// ganglion runs a temporary copy of examples/market-surveillance.yaml whose
// sources are replaced by one ws source on a free loopback port, whose server
// moves to another free port (dashboard off), and whose files go to a temp
// data dir. Everything the driver starts is killed at the end, also on error.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { compared, type BenchContext, type BenchResult } from './lib.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(root, 'examples', 'market-surveillance.yaml');
const LOADGEN = join(root, 'bench', 'loadgen.ts');
const BASELINE = join(root, 'bench', 'baselines', 'rxjs_surveillance.ts');
const GANGLION = join(root, 'bin', 'ganglion.js');
const PACED_RATE = 100_000;
/** Flat out: 1000-trade batches (throughput). Paced: 100-trade batches, 1000 frames/s, as a latency-minded producer sends. */
const MAX_BATCH = 1000;
const PACED_BATCH = 100;
const BASELINE_NAME = 'RxJS 7 + ws, same pipeline';

export const E2E_NAMES = [
  'e2e: market surveillance, FlatBuffers over loopback ws, flat out',
  'e2e: latency p50 at 100 K events/s', 'e2e: latency p95 at 100 K events/s', 'e2e: latency p99 at 100 K events/s',
  'e2e: latency p99.9 at 100 K events/s', 'e2e: latency max at 100 K events/s', 'e2e: latency p99 worst second at 100 K events/s',
  'e2e: achieved rate of the 100 K events/s run',
];

export class E2eError extends Error {}

// ── processes ───────────────────────────────────────────────────────────────

const running = new Set<ChildProcess>();
// Last resort: a crash of the driver itself must not leave services behind.
process.once('exit', () => { for (const c of running) c.kill('SIGKILL'); });

export interface Proc { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }

export function start(what: string, args: string[], cwd = root): Proc {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  running.add(child);
  let out = '', err = '';
  child.stdout!.on('data', (d) => { out += d; if (out.length > 1 << 20) out = out.slice(-(1 << 19)); });
  child.stderr!.on('data', (d) => { err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { running.delete(child); resolve(code); }));
  child.once('error', (e) => { err += `\n${what}: ${e.message}`; });
  return { child, out: () => out, err: () => err, exited };
}

/** SIGTERM, then SIGKILL if it has not gone within 3 s. */
export async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 3000);
  await p.exited;
  clearTimeout(timer);
}

const tail = (s: string, n = 1200) => (s.length > n ? '…' + s.slice(-n) : s).trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  try { return { status: res.status, body: JSON.parse(text) }; } catch { return { status: res.status, body: text }; }
}

// ── targets ─────────────────────────────────────────────────────────────────

export interface Target { name: string; ingest: string; snapshot: string; proc: Proc; cleanup(): void }

/** The example pipeline with a ws source, a private server port and a temp data dir. */
export function e2ePipeline(example: string, dataDir: string, wsPort: number, serverPort: number): string {
  const doc = parseYaml(readFileSync(example, 'utf8')) as Record<string, any>;
  doc.sources = [{ name: 'gateway', type: 'ws', host: '127.0.0.1', port: wsPort, path: '/ingest' }];
  doc.server = { ...(doc.server ?? {}), host: '127.0.0.1', port: serverPort, dashboard: false };
  doc.sinks = (doc.sinks ?? []).map((s: Record<string, any>) => (s.type === 'jsonl' ? { ...s, path: join(dataDir, 'out', `${s.name ?? 'sink'}.jsonl`) } : s));
  if (doc.delivery?.checkpoint?.dir) doc.delivery.checkpoint.dir = join(dataDir, 'checkpoints');
  return stringifyYaml(doc);
}

export async function waitReady(p: Proc, url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (p.child.exitCode !== null) {
      const err = tail(p.err() + '\n' + p.out());
      const hint = /unknown command|run\.js|pipeline\.js|createPipeline/.test(err) ? ' (`ganglion run` does not work yet in this tree)' : '';
      throw new E2eError(`${what} exited with code ${p.child.exitCode} before it was ready${hint}: ${err}`);
    }
    try { if ((await getJson(url)).status === 200) return; } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new E2eError(`${what} was not ready at ${url} after ${timeoutMs / 1000} s: ${tail(p.err())}`);
}

async function startGanglion(): Promise<Target> {
  if (!existsSync(EXAMPLE)) throw new E2eError(`${EXAMPLE} is missing`);
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-e2e-'));
  const [wsPort, serverPort] = [await freePort(), await freePort()];
  const file = join(dir, 'market-surveillance.yaml');
  writeFileSync(file, e2ePipeline(EXAMPLE, dir, wsPort, serverPort));
  const proc = start('ganglion run', [GANGLION, 'run', file, '--data-dir', dir, '--no-status'], dir);
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    await waitReady(proc, `http://127.0.0.1:${serverPort}/ready`, '`ganglion run`');
  } catch (e) {
    await stop(proc);
    cleanup();
    throw e;
  }
  return { name: 'ganglion', ingest: `ws://127.0.0.1:${wsPort}/ingest`, snapshot: `http://127.0.0.1:${serverPort}/api/snapshot`, proc, cleanup };
}

async function startRxjs(): Promise<Target> {
  const port = await freePort();
  const proc = start('RxJS baseline', ['--import', 'tsx', BASELINE, '--port', String(port), '--pipeline', EXAMPLE]);
  try {
    await waitReady(proc, `http://127.0.0.1:${port}/ready`, 'the RxJS baseline');
  } catch (e) {
    await stop(proc);
    throw e;
  }
  return { name: 'RxJS', ingest: `ws://127.0.0.1:${port}/ingest`, snapshot: `http://127.0.0.1:${port}/api/snapshot`, proc, cleanup: () => {} };
}

// ── one load phase ──────────────────────────────────────────────────────────

interface Latency { p50: number; p95: number; p99: number; p999: number; max: number; count: number }
interface Snap { time: number; eventsInTotal: number; latency: Latency }

export interface PhaseResult {
  eventsPerSec: number;
  seconds: number;
  latency: { p50: number; p95: number; p99: number; p999: number; max: number; p99Worst: number; samples: number };
  loadgen: Record<string, unknown>;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

/**
 * Reduces the per-second snapshots of one phase. The load starts in the first
 * second whose eventsInTotal grew; that partial second and `warmupMs` more are
 * dropped, and so is any second ending after `toMs` (the generator's exit).
 */
export function summarize(snaps: readonly Snap[], toMs: number, warmupMs: number): Omit<PhaseResult, 'loadgen'> {
  const started = snaps.findIndex((s, i) => i > 0 && s.eventsInTotal > snaps[0].eventsInTotal);
  if (started < 0) throw new E2eError('the target never counted an event: is the load generator reaching it?');
  const fromMs = snaps[started].time + warmupMs;
  const inside = snaps.filter((s) => s.time - 1000 >= fromMs - 50 && s.time <= toMs + 50);
  if (inside.length === 0) throw new E2eError('not one whole second of snapshots inside the load; run longer');
  // Counts are cumulative: the second before the first kept one is the reference, if it ends at fromMs.
  let ref = snaps[snaps.indexOf(inside[0]) - 1];
  if (ref === undefined || ref.time < fromMs - 50) ref = inside.shift()!;
  if (inside.length === 0) throw new E2eError('not one whole second of snapshots inside the load after the reference; run longer');
  const last = inside[inside.length - 1];
  const seconds = (last.time - ref.time) / 1000;
  const lat = inside.map((s) => s.latency).filter((l) => l.count > 0);
  if (lat.length === 0) throw new E2eError(`no outputs (so no latency) in the ${inside.length} measured second(s); run longer`);
  const pick = (k: keyof Latency) => median(lat.map((l) => l[k]));
  return {
    eventsPerSec: (last.eventsInTotal - ref.eventsInTotal) / seconds,
    seconds,
    latency: {
      p50: pick('p50'), p95: pick('p95'), p99: pick('p99'), p999: pick('p999'),
      max: Math.max(...lat.map((l) => l.max)), p99Worst: Math.max(...lat.map((l) => l.p99)),
      samples: lat.reduce((a, l) => a + l.count, 0),
    },
  };
}

/** What the load generator sends in a phase (default: FlatBuffers, 1000-trade frames flat out, 100 paced). */
export interface LoadShape { format?: 'fb' | 'json'; batch?: number; extra?: string[] }

export async function phase(t: Target, rate: number | 'max', seconds: number, ctx: BenchContext, shape: LoadShape = {}): Promise<PhaseResult> {
  if (!existsSync(LOADGEN)) throw new E2eError(`${LOADGEN} is missing: the e2e benchmark needs the load generator`);
  const snaps = new Map<number, Snap>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const { status, body } = await getJson(t.snapshot);
        if (status === 200 && typeof body?.time === 'number') snaps.set(body.time, body as Snap);
      } catch { /* a busy target may miss a poll; the next one catches up */ }
      await sleep(250);
    }
  })();
  // Let the poller see the target idle first, so the start of the load is identifiable.
  await sleep(1300);
  const lg = start('load generator', ['--import', 'tsx', LOADGEN, '--target', t.ingest, '--format', shape.format ?? 'fb',
    '--rate', String(rate), '--duration', String(seconds), '--batch', String(shape.batch ?? (rate === 'max' ? MAX_BATCH : PACED_BATCH)), ...(shape.extra ?? [])]);
  const killer = setTimeout(() => lg.child.kill('SIGKILL'), (seconds + 60) * 1000);
  const code = await lg.exited;
  clearTimeout(killer);
  const to = Date.now();
  // One more tick so the last second of the load is published.
  await sleep(1300);
  polling = false;
  await poller;
  const line = lg.out().trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (code !== 0 || !line) throw new E2eError(`load generator against ${t.name} exited with ${code}: ${tail(lg.err() + '\n' + lg.out())}`);
  const loadgen = JSON.parse(line) as Record<string, unknown>;
  // Quick runs are too short to spare a whole warm-up second.
  const r = summarize([...snaps.values()].sort((a, b) => a.time - b.time), to, ctx.quick ? 0 : 1000);
  ctx.log(`  ${t.name} ${rate === 'max' ? 'flat out' : `at ${rate}/s`}: ${Math.round(r.eventsPerSec)} events/s, p50 ${r.latency.p50} µs, p99 ${r.latency.p99} µs, max ${r.latency.max} µs (sent ${loadgen.eventsPerSec}/s)`);
  return { ...r, loadgen };
}

export async function withTarget<T>(make: () => Promise<Target>, fn: (t: Target) => Promise<T>): Promise<T> {
  const t = await make();
  try {
    return await fn(t);
  } finally {
    await stop(t.proc);
    t.cleanup();
  }
}

/** One phase against a fresh target: what the benchmark runs four times (exported for tests and manual runs). */
export function measure(which: 'ganglion' | 'rxjs', rate: number | 'max', seconds: number, ctx: BenchContext): Promise<PhaseResult> {
  return withTarget(which === 'ganglion' ? startGanglion : startRxjs, (t) => phase(t, rate, seconds, ctx));
}

// ── the benchmark ───────────────────────────────────────────────────────────

export default async function e2e(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !E2E_NAMES.some((n) => n.includes(ctx.filter!))) return [];
  const seconds = ctx.quick ? 3 : 15;
  // Windows close once a second: a quick paced run needs a spare second so at least one whole measured second has outputs.
  const pacedSeconds = ctx.quick ? 4 : 15;
  try {
    const gMax = await measure('ganglion', 'max', seconds, ctx);
    const rMax = await measure('rxjs', 'max', seconds, ctx);
    const gPaced = await measure('ganglion', PACED_RATE, pacedSeconds, ctx);
    const rPaced = await measure('rxjs', PACED_RATE, pacedSeconds, ctx);
    const lat = (label: string, k: keyof PhaseResult['latency'], note?: string) =>
      compared(`e2e: latency ${label} at 100 K events/s`, 'µs', gPaced.latency[k], BASELINE_NAME, rPaced.latency[k], note);
    return [
      compared(E2E_NAMES[0], 'events/s', gMax.eventsPerSec, BASELINE_NAME, rMax.eventsPerSec,
        `${seconds} s of 1000-trade FlatBuffers batches; target ≥ 2 M events/s and ≥ 10× the baseline`),
      lat('p50', 'p50'), lat('p95', 'p95'),
      lat('p99', 'p99', `median over the whole seconds of the run of per-second percentiles, socket receive → sink emit, ${PACED_BATCH}-trade frames; target ≤ 1 ms`),
      lat('p99.9', 'p999'), lat('max', 'max'), lat('p99 worst second', 'p99Worst'),
      compared(E2E_NAMES[7], 'events/s', gPaced.eventsPerSec, BASELINE_NAME, rPaced.eventsPerSec, `paced at ${PACED_RATE} events/s`),
    ];
  } finally {
    // withTarget stops each target; this catches anything an exception skipped.
    await Promise.all([...running].map((c) => stop({ child: c, out: () => '', err: () => '', exited: new Promise((r) => c.once('exit', r)) })));
  }
}
