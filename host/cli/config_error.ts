// How the commands that load a pipeline file (run, replay) fail on a bad one:
// the ConfigError's message (every problem, with its place in the file) on
// stderr and exit code 1. Anything else is not the file's fault: rethrown.
// ConfigError comes from errors.ts, not load.ts: `run` validates off the main
// thread and must not load the validator (zod, yaml) here.
import { ConfigError } from '../config/errors.js';

/** Call from the catch around loading the pipeline; returns the exit code. */
export function pipelineFileFailed(e: unknown): number {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(e.message + '\n');
  return (process.exitCode = 1);
}
