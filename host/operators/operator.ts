// The one lifecycle every operator has, in both engines (WASM and the JS twin),
// in the style of HdrHistogramJS: one interface, two implementations, chosen at
// construction. Records live in a partition's memory (see host/records.ts);
// the JS twin reads the very same bytes, so parity tests feed both engines the
// identical input.
import type { OutputRecord } from '../records.js';
import type { GanglionExports, RegionAllocator } from '../wasm/module.js';

export type Engine = 'wasm' | 'js';

/**
 * Where an operator lives, the one runtime type of every operator: the
 * partition's memory, the allocator that hands out its region, and the
 * partition's WASM instance (the wasm engine calls its exports; the JS twin
 * reads and writes the same memory without them).
 */
export interface OperatorRuntime {
  memory: WebAssembly.Memory;
  alloc: RegionAllocator;
  exports: GanglionExports;
}

export interface Operator {
  /** Operator index within the pipeline; written into every output record. */
  readonly op: number;
  /**
   * Consumes `count` input records of `stride` bytes at byte offset `ptr` of
   * the partition memory. Outputs go to the operator's pending output buffer.
   * A filter (dedup) compacts the records it keeps to the front, in order,
   * and returns how many: the operators after it see only those. Every other
   * operator returns nothing and leaves the records as they are (but for the
   * enrichment slots a window writes).
   */
  process(ptr: number, count: number, stride: number): number | void;
  /** Event time reached `watermarkNs`: fire everything that is now complete. */
  onWatermark(watermarkNs: bigint): void;
  /**
   * Pending outputs, oldest first, as raw 128-byte output records starting at
   * byte `ptr` of memory: { ptr, count }. The caller copies or decodes them,
   * then calls `clearOutput()`.
   */
  output(): { ptr: number; count: number };
  clearOutput(): void;
  /** Every byte of state, self-describing enough for `restore` on a fresh instance. */
  snapshot(): Uint8Array;
  /**
   * Optional, for cheap barriers: the size snapshot() would have, and the same
   * bytes written into `dst` (a warm, reused buffer: no allocation, no page
   * faults while processing is paused). Returns the bytes written.
   */
  snapshotSize?(): number;
  snapshotInto?(dst: Uint8Array): number;
  restore(bytes: Uint8Array): void;
  /** Live keys and state bytes, for the metrics; a filter adds the events it dropped (cumulative). */
  stats(): { keys: number; bytes: number; evictions: number; late: number; dropped?: number };
  close(): void;
}

/**
 * An operator with two inputs, like Flink's TwoInputStreamOperator: its
 * config lists two streams (`inputs: [trades, quotes]`); the partition runner
 * calls `process` with runs of the first and `process2` with runs of the
 * second, in the order the records arrived, and `onWatermark` with the
 * minimum of both inputs' watermarks (host/partition/input_watermarks.ts).
 * Both inputs are keyed by the same key (one key dictionary, one hash), so a
 * key's records of both streams meet in one partition. A WASM operator
 * exports one function per input, `<op>_process1(handle, ptr, count, stride)`
 * and `<op>_process2(...)`, and its host wrapper maps process/process2 to them.
 */
export interface TwoInputOperator extends Operator {
  /** Runs of the second input's records (process() takes the first input's). */
  process2(ptr: number, count: number, stride: number): number | void;
}

export function isTwoInput(op: Operator): op is TwoInputOperator {
  return typeof (op as Partial<TwoInputOperator>).process2 === 'function';
}

/** Decodes an operator's pending outputs (tests and the host's sink side). */
export type DecodedOutputs = OutputRecord[];
