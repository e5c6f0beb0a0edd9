// `ganglion validate pipeline.yaml`: prints `ok` or every problem as
// `file:line:col path: expected ..., found ...`, and exits 1 on problems.
import { ConfigError, loadPipeline } from '../config/load.js';

export interface ValidateOptions {
  file: string;
  /** Where `ok` goes (default process.stdout). */
  out?: (line: string) => void;
  /** Where problems go (default process.stderr). */
  err?: (line: string) => void;
}

/** Returns the exit code (0 ok, 1 invalid) and sets process.exitCode to it. */
export async function validateCommand(opts: ValidateOptions): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = opts.err ?? ((l: string) => process.stderr.write(l + '\n'));
  try {
    loadPipeline(opts.file);
    out('ok');
    return (process.exitCode = 0);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const line of e.message.split('\n')) err(line);
    err(`${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} in ${opts.file}`);
    return (process.exitCode = 1);
  }
}
