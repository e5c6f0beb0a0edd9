// What the service benchmarks share (bench/e2e.bench.ts, bench/ingest_rings.bench.ts):
// spawning `ganglion run` on a generated pipeline file, waiting for /ready,
// driving it with bench/loadgen.ts in a separate process, and reading its rate
// the way an operator would, from GET /api/snapshot.
//
// A snapshot describes the last completed second. `phase` polls it every
// 250 ms while the load runs; `summarize` keeps the seconds that lie wholly
// inside the load (after the partial first second and an optional warm-up)
// and reports Δ eventsInTotal / Δ time over them. Every child is tracked and
// killed on exit, also when the driver itself crashes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { freePort } from './free_port.js';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const LOADGEN = join(root, 'bench', 'loadgen.ts');
export const GANGLION = join(root, 'bin', 'ganglion.js');

export class E2eError extends Error {}

// ── processes ───────────────────────────────────────────────────────────────

export const running = new Set<ChildProcess>();
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

/** Stops whatever is still running (what an exception skipped). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => stop({ child: c, out: () => '', err: () => '', exited: new Promise((r) => c.once('exit', r)) })));
}

export const tail = (s: string, n = 1200) => (s.length > n ? '…' + s.slice(-n) : s).trim();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { freePort };

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  try { return { status: res.status, body: JSON.parse(text) }; } catch { return { status: res.status, body: text }; }
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

// ── targets ─────────────────────────────────────────────────────────────────

export interface Target { name: string; ingest: string; snapshot: string; proc: Proc; cleanup(): void }

export interface GanglionPorts { dir: string; wsPort: number; serverPort: number }

/**
 * `ganglion run` on the pipeline `make` writes for a fresh temp data dir and
 * two free loopback ports (the ws source's, the server's). `ingest` is the
 * load generator's target; `args` go after the file (e.g. `--no-native`).
 */
export async function startGanglion(
  name: string,
  make: (p: GanglionPorts) => { doc: Record<string, unknown>; ingest?: string },
  args: string[] = [],
): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-bench-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let proc: Proc | undefined;
  try {
    const ports = { dir, wsPort: await freePort(), serverPort: await freePort() };
    const { doc, ingest } = make(ports);
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, stringifyYaml(doc));
    // GANGLION_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the target of any case.
    const nodeArgs = (process.env.GANGLION_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    proc = start('ganglion run', [...nodeArgs, GANGLION, 'run', file, '--data-dir', dir, '--no-status', ...args], dir);
    await waitReady(proc, `http://127.0.0.1:${ports.serverPort}/ready`, '`ganglion run`');
    return { name, ingest: ingest ?? `ws://127.0.0.1:${ports.wsPort}/ingest`, snapshot: `http://127.0.0.1:${ports.serverPort}/api/snapshot`, proc, cleanup };
  } catch (e) {
    if (proc) await stop(proc);
    cleanup();
    throw e;
  }
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

// ── one load phase ──────────────────────────────────────────────────────────

export interface Latency { p50: number; p95: number; p99: number; p999: number; max: number; count: number }
export interface Snap { time: number; eventsInTotal: number; deadLettersTotal?: number; latency: Latency }

export interface Summary {
  eventsPerSec: number;
  seconds: number;
  /** Absent when summarized without latency (a pipeline that emits nothing). */
  latency?: { p50: number; p95: number; p99: number; p999: number; max: number; p99Worst: number; samples: number };
}

export interface PhaseResult extends Summary {
  loadgen: Record<string, unknown>;
  /** The last snapshot read (totals after the load). */
  last: Snap;
  /**
   * CPU time of the target's main thread (where sources, decoding, the log
   * and ring writes run) per event counted, over the whole phase; undefined
   * where /proc is missing. Unlike events/s it hardly depends on what else
   * the machine runs, so 1e6 / µs is what one free core could ingest.
   */
  mainCpuUsPerEvent?: number;
}

/** utime + stime of thread `tid` of `pid` in µs, from /proc (Linux); undefined elsewhere. */
export function threadCpuUs(pid: number, tid = pid): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces): utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Linux reports thread times in USER_HZ, 100 on every mainstream architecture. */
const CLK_TCK = 100;

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

/**
 * Reduces the per-second snapshots of one phase. The load starts in the first
 * second whose eventsInTotal grew; that partial second and `warmupMs` more are
 * dropped, and so is any second ending after `toMs` (the generator's exit).
 * With `latency: false` seconds without outputs are fine and no latency is
 * reported.
 */
export function summarize(snaps: readonly Snap[], toMs: number, warmupMs: number, opts?: { latency?: true }): Summary & { latency: NonNullable<Summary['latency']> };
export function summarize(snaps: readonly Snap[], toMs: number, warmupMs: number, opts: { latency?: boolean }): Summary;
export function summarize(snaps: readonly Snap[], toMs: number, warmupMs: number, opts: { latency?: boolean } = {}): Summary {
  const wantLatency = opts.latency ?? true;
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
  const eventsPerSec = (last.eventsInTotal - ref.eventsInTotal) / seconds;
  if (!wantLatency) return { eventsPerSec, seconds };
  const lat = inside.map((s) => s.latency).filter((l) => l.count > 0);
  if (lat.length === 0) throw new E2eError(`no outputs (so no latency) in the ${inside.length} measured second(s); run longer`);
  const pick = (k: keyof Latency) => median(lat.map((l) => l[k]));
  return {
    eventsPerSec,
    seconds,
    latency: {
      p50: pick('p50'), p95: pick('p95'), p99: pick('p99'), p999: pick('p999'),
      max: Math.max(...lat.map((l) => l.max)), p99Worst: Math.max(...lat.map((l) => l.p99)),
      samples: lat.reduce((a, l) => a + l.count, 0),
    },
  };
}

export interface PhaseOptions {
  /** bench/loadgen.ts options after --target (format, rate, duration, batch, …). */
  loadgen: string[];
  /** Load duration in seconds (also bounds how long the generator may take). */
  seconds: number;
  warmupMs: number;
  latency?: boolean;
  /** `--quick`: a shorter look at the idle target before the load. */
  quick?: boolean;
}

/** Polls the target's snapshot while one load generator runs against `t.ingest`. */
export async function phase(t: Target, o: PhaseOptions): Promise<PhaseResult> {
  if (!existsSync(LOADGEN)) throw new E2eError(`${LOADGEN} is missing: the benchmark needs the load generator`);
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
  await sleep(o.quick ? 300 : 1300);
  const pid = t.proc.child.pid;
  const cpuFrom = pid === undefined ? undefined : threadCpuUs(pid);
  const eventsFrom = [...snaps.values()].reduce((m, s) => Math.max(m, s.eventsInTotal), 0);
  // GANGLION_BENCH_LOADGEN_NODE_ARGS: node options for the generator (e.g. to profile the producer).
  const nodeArgs = (process.env.GANGLION_BENCH_LOADGEN_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const lg = start('load generator', [...nodeArgs, '--import', 'tsx', LOADGEN, '--target', t.ingest, '--duration', String(o.seconds), ...o.loadgen]);
  const killer = setTimeout(() => lg.child.kill('SIGKILL'), (o.seconds + 60) * 1000);
  const code = await lg.exited;
  clearTimeout(killer);
  const to = Date.now();
  const line = lg.out().trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (code !== 0 || !line) { polling = false; await poller; throw new E2eError(`load generator against ${t.name} exited with ${code}: ${tail(lg.err() + '\n' + lg.out())}`); }
  const loadgen = JSON.parse(line) as Record<string, unknown>;
  // A broker queues what the target has not taken yet (QoS 1 completes at the
  // broker): wait for the backlog to drain, so the counts compare whole loads.
  // The rate itself only counts seconds up to `to`.
  const sent = typeof loadgen.events === 'number' ? loadgen.events : 0;
  const drainBy = Date.now() + 30_000;
  while (Date.now() < drainBy && Math.max(0, ...[...snaps.values()].map((s) => s.eventsInTotal)) - eventsFrom < sent) await sleep(250);
  // One more tick so the last second of the load is published (a quick run
  // keeps only seconds that ended before the load did: they are out already).
  await sleep(o.quick ? 300 : 1300);
  polling = false;
  await poller;
  const cpuTo = pid === undefined ? undefined : threadCpuUs(pid);
  const sorted = [...snaps.values()].sort((a, b) => a.time - b.time);
  // GANGLION_BENCH_TRACE=1: the per-second counts behind the summary, on stderr.
  if (process.env.GANGLION_BENCH_TRACE) {
    for (let i = 1; i < sorted.length; i++) {
      const [a, b] = [sorted[i - 1], sorted[i]];
      process.stderr.write(`  ${t.name} +${((b.time - sorted[0].time) / 1000).toFixed(1)} s: ${Math.round((b.eventsInTotal - a.eventsInTotal) / ((b.time - a.time) / 1000))} events/s, p99 ${b.latency?.p99 ?? '-'} µs${b.time > to ? ' (after the load)' : ''}\n`);
    }
  }
  const r = summarize(sorted, to, o.warmupMs, { latency: o.latency });
  const last = sorted[sorted.length - 1];
  const counted = last.eventsInTotal - eventsFrom;
  const mainCpuUsPerEvent = cpuFrom !== undefined && cpuTo !== undefined && counted > 0 ? (cpuTo - cpuFrom) / counted : undefined;
  return { ...r, loadgen, last, ...(mainCpuUsPerEvent !== undefined ? { mainCpuUsPerEvent } : {}) };
}

/** Result lines in the log: what a reader of the bench output needs to judge a number. */
export function describe(t: Target, r: PhaseResult, what: string): string {
  const l = r.latency;
  return `${t.name} ${what}: ${Math.round(r.eventsPerSec)} events/s over ${r.seconds.toFixed(1)} s` +
    (l ? `, p50 ${l.p50} µs, p99 ${l.p99} µs, max ${l.max} µs` : '') + ` (sent ${String(r.loadgen.eventsPerSec)}/s)` +
    (r.mainCpuUsPerEvent !== undefined ? `, main thread ${(r.mainCpuUsPerEvent * 1000).toFixed(0)} ns CPU/event` : '');
}
