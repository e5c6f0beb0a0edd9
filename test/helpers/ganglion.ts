// `bin/ganglion.js` as a child process, the way a user runs it: the one place
// tests build the CLI's environment, spawn it, wait for it to be ready,
// collect its stderr and stop it (SIGTERM or SIGINT, SIGKILL when it hangs).
// Every child is tracked so `killAll` can clean up after a failed test.
// Reading its outputs: ./outputs.ts; talking to its sources: ./ingest_client.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/ganglion.js');

/** Newest (or oldest) file time under `dir`. */
function fileTimes(dir: string, pick: (a: number, b: number) => number, start: number): number {
  let t = start;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = pick(t, e.isDirectory() ? fileTimes(p, pick, start) : statSync(p).mtimeMs);
  }
  return t;
}
// The compiled CLI starts in ~1 s, tsx from source in ~3 s (restarts must not
// each pay tsx's loader): use dist/ when it is not older than any source file
// (`npm test` rebuilds it first), else the sources, so a test never runs stale code.
const distFresh = existsSync(join(ROOT, 'dist/host')) && fileTimes(join(ROOT, 'dist/host'), Math.min, Infinity) >= fileTimes(join(ROOT, 'host'), Math.max, 0);
/** The environment that runs the compiled CLI when it is fresh, else the sources. */
export const CLI_ENV: NodeJS.ProcessEnv = (({ GANGLION_FROM_SOURCE: _, ...env }) => (distFresh ? env : { ...env, GANGLION_FROM_SOURCE: '1' }))(process.env);

export interface Ganglion {
  child: ChildProcess;
  /** Everything written to stderr / stdout so far. */
  readonly stderr: string;
  readonly stdout: string;
  /** Resolves with the first match of `pattern` in stderr; rejects after `ms` or when the process exits first. */
  waitFor(pattern: string | RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** The stop signal (SIGTERM unless spawned with another), then the exit code; SIGKILLs and rejects when it does not exit within `ms`. */
  stop(ms?: number): Promise<number | null>;
  /** SIGKILL, resolved once it exited. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  /** Added to CLI_ENV. */
  env?: NodeJS.ProcessEnv;
  /** What stop() sends first. */
  stopSignal?: NodeJS.Signals;
}

const live = new Set<ChildProcess>();
const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** SIGKILLs every child still running (a failed test must not leave one behind): use in test.after.each. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => new Promise<void>((r) => {
    if (!running(c)) { r(); return; }
    c.once('exit', () => r());
    c.kill('SIGKILL');
  })));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `ganglion <args>` started; it runs until it exits or is stopped. */
export function ganglion(args: string[], options: SpawnOptions = {}): Ganglion {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...CLI_ENV, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stderr = '';
  let stdout = '';
  const listeners = new Set<() => void>();
  child.stderr!.on('data', (d) => { stderr += d; for (const l of listeners) l(); });
  child.stdout!.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { live.delete(child); r(code); for (const l of listeners) l(); }));
  return {
    child,
    get stderr() { return stderr; },
    get stdout() { return stdout; },
    exited,
    waitFor: (pattern, ms = 30_000) => new Promise((resolve, reject) => {
      const re = typeof pattern === 'string' ? new RegExp(escape(pattern)) : pattern;
      const check = () => {
        const m = re.exec(stderr);
        if (m) { done(); resolve(m); } else if (!running(child)) { done(); reject(new Error(`ganglion exited (${child.exitCode ?? child.signalCode}) before ${re} appeared; stderr:\n${stderr}`)); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no ${re} within ${ms} ms; stderr:\n${stderr}`)); }, ms);
      const done = () => { clearTimeout(timer); listeners.delete(check); };
      listeners.add(check);
      check();
    }),
    async stop(ms = 20_000) {
      if (running(child)) child.kill(options.stopSignal ?? 'SIGTERM');
      const t = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
      const code = await Promise.race([exited, t]);
      if (code === 'timeout') { child.kill('SIGKILL'); throw new Error(`ganglion did not exit within ${ms} ms of ${options.stopSignal ?? 'SIGTERM'}: ${stderr}`); }
      return code;
    },
    async kill() {
      if (running(child)) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface Exit { code: number | null; signal: NodeJS.Signals | null; stderr: string; timedOut: boolean }

/** `ganglion <args>` run to its end; killed (and reported as timedOut) after timeoutMs. */
export async function ganglionExit(args: string[], timeoutMs = 60_000): Promise<Exit> {
  const g = ganglion(args);
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; g.child.kill('SIGKILL'); }, timeoutMs);
  const code = await g.exited;
  clearTimeout(timer);
  return { code, signal: g.child.signalCode, stderr: g.stderr, timedOut };
}

export interface RunOptions extends SpawnOptions {
  /** After the pipeline file and --data-dir. */
  args?: string[];
  /** Keep the periodic status line on stderr (off by default). */
  status?: boolean;
}

/** `ganglion run <file> --data-dir <dataDir> --no-status [args]` started, not yet waited for. */
export function spawnRun(file: string, dataDir: string, options: RunOptions = {}): Ganglion {
  return ganglion(['run', file, '--data-dir', dataDir, ...(options.status ? [] : ['--no-status']), ...(options.args ?? [])], options);
}

/** spawnRun, resolved once stderr shows `ready` (it is killed when it does not within timeoutMs). */
export async function startRun(file: string, dataDir: string, options: RunOptions & { ready?: string | RegExp; timeoutMs?: number } = {}): Promise<Ganglion> {
  const g = spawnRun(file, dataDir, options);
  try {
    await g.waitFor(options.ready ?? /running /, options.timeoutMs ?? 30_000);
  } catch (e) {
    await g.kill();
    throw new Error(`ganglion run did not start: ${(e as Error).message}`);
  }
  return g;
}

/**
 * Writes `yaml` to `dir`/pipeline.yaml and runs it with `--data-dir dir/data`,
 * status line on; resolved once its server on `httpPort` answers /ready with
 * 200. stop() sends SIGINT (which must exit 0, like Ctrl-C).
 */
export async function startRunHttp(dir: string, yaml: string, httpPort: number, args: string[] = []): Promise<Ganglion & { http: string }> {
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  const g = spawnRun(file, join(dir, 'data'), { args, status: true, stopSignal: 'SIGINT' });
  const http = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running(g.child)) throw new Error(`ganglion run exited ${g.child.exitCode ?? g.child.signalCode}: ${g.stderr}`);
    if (Date.now() > deadline) { await g.kill(); throw new Error(`ganglion run not ready after 30 s: ${g.stderr}`); }
    if (await fetch(`${http}/ready`).then((r) => r.status === 200, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Object.assign(g, { http });
}
