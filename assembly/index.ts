// The one WebAssembly module of ganglion. Every operator lives in its own file
// and is re-exported here, so a partition runs exactly one instance on its own
// shared memory (several instances on one memory collide: see
// docs/ARCHITECTURE.md). Operators never allocate: the host lays out their
// state regions above heapBase() and passes each region's base pointer in.

export function heapBase(): usize {
  return __heap_base;
}

export { recordsLayoutCheck } from './records';
