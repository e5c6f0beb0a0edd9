// A partition's memory, laid out by its worker (the only thread that
// instantiates the module on it) right after instantiation, in this order, so
// the offsets depend only on the program config:
//
//   0 ─ module data, stack ─ heapBase()+4096 (RegionAllocator start)
//   ┌──────────────────────────┬───────────────────────────┬──────────────────────────┬──────┐
//   │ input ring               │ output ring               │ operator regions, in     │ free │
//   │ header + cap_in × stride │ header + cap_out × 128 B  │ pipeline order (op 0, 1…)│      │
//   └──────────────────────────┴───────────────────────────┴──────────────────────────┴──────┘
//
// One output ring carries every output kind (window results, revisions,
// anomalies, scores, late events): the kind is in each record, and a single
// ring keeps a partition's outputs in the order the operators produced them,
// which is what makes (partition, position) a stable output id.
import type { Engine } from '../operators/operator.js';
import type { OperatorConfig } from '../operators/registry.js';
import { inputStride, OUT_BYTES } from '../records.js';
import { initRing, ringBytes } from '../ring/ring.js';
import type { RegionAllocator } from '../wasm/module.js';

export interface PartitionProgram {
  /** Numeric fields per input record slot (stride = 24 + 8·fieldCount): the widest stream's. */
  fieldCount: number;
  /** Input streams (default 1). */
  streams?: number;
  /** Per operator, the streams it reads in input order (default: every operator reads stream 0). */
  inputs?: number[][];
  /** Operators of the pipeline, in order; built inside the worker by host/operators/registry.ts. */
  operators: OperatorConfig[];
  engine: Engine;
  /** Input ring capacity in records (power of two). */
  inputCapacity: number;
  /** Output ring capacity in 128-byte records (power of two). */
  outputCapacity: number;
  /** Most records handed to one process() call. */
  maxBatch: number;
  /**
   * Module URLs the worker imports before building the operators, so they can
   * registerOperator() kinds of their own (user-defined operators).
   */
  modules?: string[];
  /** Operator states to restore, per partition then per operator (snapshot() bytes from a checkpoint). */
  restore?: Uint8Array[][];
  /** Reserve the snapshot buffer from the start (pipelines that take checkpoints). */
  checkpoints?: boolean;
}

/** Numbers per operator in a partition's shared stats view (PartitionRunner.publishStats): keys, bytes, evictions, dropped. */
export const OPERATOR_STATS_FIELDS = 4;

export interface PartitionLayout {
  input: number;
  output: number;
  stride: number;
  /** End of everything laid out (rings, then operator regions): [0, used) is what the partition touches. */
  used?: number;
}

export function layoutPartition(alloc: RegionAllocator, memory: WebAssembly.Memory, p: PartitionProgram): PartitionLayout {
  const stride = inputStride(p.fieldCount);
  const input = alloc.alloc(ringBytes(p.inputCapacity, stride));
  initRing(memory, input, p.inputCapacity, stride);
  const output = alloc.alloc(ringBytes(p.outputCapacity, OUT_BYTES));
  initRing(memory, output, p.outputCapacity, OUT_BYTES);
  return { input, output, stride };
}
