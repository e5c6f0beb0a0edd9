// What every part of a running pipeline shares: its failure (the first one
// wins and stops the run) and its operational log.

export type LogLevel = 'error' | 'warn' | 'info';

export type LogLine = (line: string, level?: LogLevel) => void;

export interface RunState {
  /** The error that stopped the pipeline, or null while it runs. */
  readonly failure: Error | null;
  /** Stops the pipeline with `e` (loudly: logged, sources paused, waiters released); later failures are ignored. */
  fail(e: Error): void;
  log: LogLine;
}
