// What every output sink is: take output JSON objects in order, flush them
// out, close. Each sink also picks the outputs it wants (kinds, operators).
import type { OutputEvent, OutputKind } from '../output/format.js';

export interface OutputSink {
  readonly name: string;
  /** Queues one output; never blocks. Order is preserved. */
  write(out: OutputEvent): void;
  /** Resolves once everything written so far is out (on disk, in the stream, acknowledged by the broker at the sink's QoS). */
  flush(): Promise<void>;
  /** Flushes and releases files/sockets. Idempotent. */
  close(): Promise<void>;
}

/**
 * A sink whose output position is part of each checkpoint, for exactly-once
 * delivery: at a checkpoint, position() flushes and returns where the sink's
 * output ends (JSON, stored in the checkpoint); on recovery, truncate() cuts
 * the output back to that position and the log replay writes the same bytes
 * again. In exactly_once mode such a sink gets outputs without wall-clock
 * fields (latency), so the rewrite is byte-identical.
 */
export interface PositionedSink<P = unknown> extends OutputSink {
  /** Flushes, then returns where the output ends. Throws when it cannot flush (a full disk): no position past what is written. */
  position(): P;
  /** Deletes what was written after `position` (recovery). */
  truncate(position: P): void;
  /** Deletes everything written (recovery that replays the whole log: no checkpoint yet). */
  truncateAll(): void;
}

export function isPositioned(sink: OutputSink): sink is PositionedSink {
  const s = sink as Partial<PositionedSink>;
  return typeof s.position === 'function' && typeof s.truncate === 'function' && typeof s.truncateAll === 'function';
}

export interface Selection {
  kinds?: readonly OutputKind[];
  operators?: readonly string[];
}

/** A predicate for a sink's `kinds`/`operators` selection (absent = everything). */
export function selector(sel: Selection): (out: OutputEvent) => boolean {
  const kinds = sel.kinds ? new Set<string>(sel.kinds) : undefined;
  const ops = sel.operators ? new Set<string>(sel.operators) : undefined;
  return (out) => (!kinds || kinds.has(out.kind)) && (!ops || ('op' in out && ops.has(out.op)));
}
