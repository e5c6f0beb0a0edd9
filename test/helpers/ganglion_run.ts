// `ganglion run` as a real child process (bin/ganglion.js, from source), for
// tests that look at it from outside: started from a pipeline YAML, ready once
// its /ready answers 200, stopped with SIGINT (which must exit 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BIN = new URL('../../bin/ganglion.js', import.meta.url).pathname;

export interface GanglionRun {
  child: ChildProcess;
  /** http://127.0.0.1:<server port> */
  http: string;
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGINT, then the exit code (a still-running child is killed after `ms`). */
  stop(ms?: number): Promise<number | null>;
  kill(): void;
}

/** Writes `yaml` to `dir`/pipeline.yaml and runs it with `--data-dir dir/data`; its server must listen on `httpPort`. */
export async function startRun(dir: string, yaml: string, httpPort: number, args: string[] = []): Promise<GanglionRun> {
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, [BIN, 'run', file, '--data-dir', join(dir, 'data'), ...args], {
    env: { ...process.env, GANGLION_FROM_SOURCE: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const http = `http://127.0.0.1:${httpPort}`;
  const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ganglion run exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) { kill(); throw new Error(`ganglion run not ready after 30 s: ${stderr}`); }
    if (await fetch(`${http}/ready`).then((r) => r.status === 200, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child, http, stderr: () => stderr, exited, kill,
    async stop(ms = 20_000) {
      child.kill('SIGINT');
      const t = setTimeout(kill, ms);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
