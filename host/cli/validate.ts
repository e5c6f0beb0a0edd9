// `ganglion validate pipeline.yaml`: prints `ok` or every problem as
// `file:line:col path: expected ..., found ...`, and exits 1 on problems.
// "ok" means `ganglion run` starts: after the file's own checks (schema and
// cross references, all reported in one pass), the runtime's start-up checks
// run too (host/pipeline/preflight.ts: memory per partition, sources, the
// data directory).
import { dirname, join, resolve } from 'node:path';
import { ConfigError, formatIssue, issuesAt, loadPipeline, type ConfigIssue } from '../config/load.js';
import type { PipelineConfig } from '../config/types.js';

export interface ValidateOptions {
  file: string;
  /** The data directory run would use (default ./ganglion-data/<name>), checked for writability. */
  dataDir?: string;
  /** Where `ok` goes (default process.stdout). */
  out?: (line: string) => void;
  /** Where problems go (default process.stderr). */
  err?: (line: string) => void;
}

/** Returns the exit code (0 ok, 1 invalid) and sets process.exitCode to it. */
export async function validateCommand(opts: ValidateOptions): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = opts.err ?? ((l: string) => process.stderr.write(l + '\n'));
  let issues: ConfigIssue[];
  try {
    const config: PipelineConfig = loadPipeline(opts.file);
    const { preflight } = await import('../pipeline/preflight.js');
    const problems = await preflight(config, { baseDir: dirname(resolve(opts.file)), dataDir: opts.dataDir ?? join('ganglion-data', config.name) });
    issues = issuesAt(opts.file, problems);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    issues = e.issues;
  }
  if (issues.length === 0) {
    out('ok');
    return (process.exitCode = 0);
  }
  for (const i of issues) for (const line of formatIssue(i).split('\n')) err(line);
  err(`${issues.length} problem${issues.length === 1 ? '' : 's'} in ${opts.file}`);
  return (process.exitCode = 1);
}
