// `bin/ganglion.js` as a child process, the way a user runs it: stderr is
// collected so a test can wait for a line and show everything on failure.
import { spawn, type ChildProcess } from 'node:child_process';

export const BIN = new URL('../../bin/ganglion.js', import.meta.url).pathname;

export interface Ganglion {
  child: ChildProcess;
  /** Everything written to stderr / stdout so far. */
  readonly stderr: string;
  readonly stdout: string;
  /** Resolves with the first match of `re` in stderr; rejects after `timeoutMs` or when the process exits first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export function ganglion(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Ganglion {
  // The compiled CLI (npm test builds it first), as a user runs it.
  const env = { ...(({ GANGLION_FROM_SOURCE: _, ...e }) => e)(process.env), ...options.env };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    get stderr() { return stderr; },
    get stdout() { return stdout; },
    exited,
    async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(stderr);
        if (m) return m;
        if (done) throw new Error(`ganglion exited (${child.exitCode}) before ${re} appeared; stderr:\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms; stderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
