// The one WebAssembly module of ganglion. Every operator lives in its own file
// and is re-exported here, so a partition runs exactly one instance on its own
// shared memory (several instances on one memory collide: see
// docs/ARCHITECTURE.md). Operators never allocate: the host lays out their
// state regions above heapBase() and passes each region's base pointer in.

export function heapBase(): usize {
  return __heap_base;
}

export { recordsLayoutCheck } from './records';
export * from './state_table';
export * from './ring';
export * from './zscore';
export * from './tree_ensemble';
export * from './event_time';
export * from './tumbling_window';
export * from './sliding_window';
export * from './limit_check';
export * from './count_window';
export * from './session_window';
export * from './dedup';
