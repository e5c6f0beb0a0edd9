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
