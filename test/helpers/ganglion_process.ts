// `ganglion run` as a child process for tests driven from outside: the
// compiled CLI (npm test builds it first; restarts must not each pay tsx's
// loader), its stderr collected, helpers to wait for a log line and an exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';

export const BIN = new URL('../../bin/ganglion.js', import.meta.url).pathname;

export interface Ganglion {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when stderr contains `text` (rejects after `ms` or when the process exits first). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited(): Promise<number | null>;
  /** SIGTERM, then the exit code; rejects when it does not exit within `ms`. */
  stop(ms?: number): Promise<number | null>;
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();

/** SIGKILLs every child still running (a failed test must not leave one behind): use in test.after.each. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) { r(); return; }
    c.once('exit', () => r());
    c.kill('SIGKILL');
  })));
}

export function startGanglion(pipelineFile: string, dataDir: string, extraArgs: string[] = [], env: Record<string, string> = {}): Ganglion {
  const child = spawn(process.execPath, [BIN, 'run', pipelineFile, '--data-dir', dataDir, '--no-status', ...extraArgs], {
    env: { ...(({ GANGLION_FROM_SOURCE: _, ...e }) => e)(process.env), ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let err = '';
  const listeners = new Set<() => void>();
  child.stderr!.on('data', (d) => { err += d; for (const l of listeners) l(); });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => { for (const l of listeners) l(); r(code); }));
  const matches = (t: string | RegExp) => (typeof t === 'string' ? err.includes(t) : t.test(err));
  return {
    child,
    stderr: () => err,
    waitFor: (text, ms = 20_000) => new Promise((resolve, reject) => {
      const check = () => {
        if (matches(text)) { done(); resolve(); } else if (child.exitCode !== null || child.signalCode !== null) { done(); reject(new Error(`ganglion exited (${child.exitCode ?? child.signalCode}) before logging ${text}: ${err}`)); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`ganglion did not log ${text} within ${ms} ms: ${err}`)); }, ms);
      const done = () => { clearTimeout(timer); listeners.delete(check); };
      listeners.add(check);
      check();
    }),
    exited: () => exit,
    stop: async (ms = 20_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
      const code = await Promise.race([exit, t]);
      if (code === 'timeout') { child.kill('SIGKILL'); throw new Error(`ganglion did not exit within ${ms} ms of SIGTERM: ${err}`); }
      return code;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
    },
  };
}

export interface WindowLine { id: string; kind: string; op: string; key: string; window: { start_ns: string }; values: Record<string, number> }

/** The JSONL outputs of kind `window` (empty when the file does not exist). */
export function windowLines(file: string): WindowLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as WindowLine).filter((o) => o.kind === 'window');
}
