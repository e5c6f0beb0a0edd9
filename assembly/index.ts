// The production WebAssembly module of ganglion (build/ganglion.wasm). A
// partition runs exactly one instance on its own shared memory (several
// instances on one memory collide: see docs/design/runtime.md). Operators
// never allocate: the host lays out their state regions above heapBase() and
// passes each region's base pointer in.
//
// shared/     what several operators build on (record layout, state tables,
//             aggregates, the event-time window machinery, region headers);
//             exported here only where the host calls it.
// operators/  one file per operator; each exports its host API
//             (<name>_init, <name>_process, ...), re-exported below.
// What only benches and tests call is in the bench build (assembly/bench.ts).

export function heapBase(): usize {
  return __heap_base;
}

export { recordsLayoutCheck } from './shared/records';

export * from './operators/tumbling_window';
export * from './operators/sliding_window';
export * from './operators/session_window';
export * from './operators/count_window';
export * from './operators/zscore';
export * from './operators/limit_check';
export * from './operators/tree_ensemble';
export * from './operators/dedup';
export * from './operators/over';
