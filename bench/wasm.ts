// The bench build of the module (build/ganglion-bench.wasm, from
// assembly/bench.ts): everything in build/ganglion.wasm plus what only benches
// and tests call (the WASM ring and its consumer ring_sum_drain, the keysum
// test operator, the state tables' thin exports). Production never loads it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSharedMemory, instantiate, RegionAllocator, wasmPath } from '../host/wasm/module.js';

let cached: WebAssembly.Module | undefined;

export function benchWasmPath(): string {
  return join(dirname(wasmPath()), 'ganglion-bench.wasm');
}

export function compileBenchModule(): WebAssembly.Module {
  if (cached) return cached;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(readFileSync(benchWasmPath()));
  } catch {
    throw new Error(`${benchWasmPath()} not found: run \`npm run build:wasm\` (it builds the bench module too)`);
  }
  return (cached = new WebAssembly.Module(bytes));
}

/** createPartitionRuntime (host/wasm/module.ts) on the bench module: memory + instance + allocator. */
export function createBenchRuntime(bytes = 64 * 1024 * 1024) {
  const memory = createSharedMemory(bytes);
  const { exports } = instantiate(memory, compileBenchModule());
  const alloc = new RegionAllocator(memory, exports.heapBase());
  return { memory, exports, alloc };
}
