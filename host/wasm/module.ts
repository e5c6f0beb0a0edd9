// Loads build/ganglion.wasm. The module is compiled once per process and can be
// posted to worker threads (WebAssembly.Module is structured-cloneable); each
// partition instantiates it exactly once on its own shared memory.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const PAGE = 65536;

/** Exports of the module (assembly/index.ts re-exports each operator's); numbers only. */
export type GanglionExports = Record<string, (...args: number[]) => number> & {
  heapBase(): number;
};

function findBuildDir(): string {
  // Works from host/wasm (tsx) and dist/host/wasm (compiled).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'build', 'ganglion.wasm');
    try {
      readFileSync(candidate, { flag: 'r' }).length;
      return join(dir, 'build');
    } catch { dir = dirname(dir); }
  }
  throw new Error('build/ganglion.wasm not found: run `npm run build:wasm` first');
}

let cached: { release?: WebAssembly.Module; debug?: WebAssembly.Module } = {};

export function wasmPath(debug = false): string {
  return join(findBuildDir(), debug ? 'ganglion.debug.wasm' : 'ganglion.wasm');
}

export function compileModule(debug = false): WebAssembly.Module {
  const key = debug ? 'debug' : 'release';
  return (cached[key] ??= new WebAssembly.Module(readFileSync(wasmPath(debug))));
}

/** A fixed-size shared memory: initial = maximum, so views never go stale. */
export function createSharedMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.max(16, Math.ceil(bytes / PAGE));
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

export interface Instance {
  exports: GanglionExports;
  memory: WebAssembly.Memory;
}

export function instantiate(memory: WebAssembly.Memory, module = compileModule()): Instance {
  const env: Record<string, unknown> = {
    memory,
    abort(msg: number, file: number, line: number, col: number) {
      throw new Error(`wasm abort at ${line}:${col} (message ptr ${msg}, file ptr ${file})`);
    },
  };
  const inst = new WebAssembly.Instance(module, { env } as WebAssembly.Imports);
  return { exports: inst.exports as unknown as GanglionExports, memory };
}

/**
 * Hands out aligned byte ranges of a partition's memory above the module's
 * heap base. Operators never allocate inside WASM: every state region, ring and
 * scratch buffer comes from here, so a snapshot is a byte copy of a region.
 */
export class RegionAllocator {
  private next: number;
  constructor(readonly memory: WebAssembly.Memory, heapBase: number) {
    this.next = align(heapBase + 4096, 64);
  }
  alloc(bytes: number, alignment = 64): number {
    const at = align(this.next, alignment);
    const end = at + bytes;
    if (end > this.memory.buffer.byteLength) {
      throw new Error(`partition memory exhausted: need ${end} bytes, have ${this.memory.buffer.byteLength}; raise memory size in the pipeline config`);
    }
    this.next = end;
    return at;
  }
  get used(): number { return this.next; }
}

export function align(n: number, a: number): number {
  return (n + a - 1) & ~(a - 1);
}

/** Convenience for tests and single-threaded use: memory + instance + allocator. */
export function createPartitionRuntime(bytes = 64 * 1024 * 1024, debug = false) {
  const memory = createSharedMemory(bytes);
  const { exports } = instantiate(memory, compileModule(debug));
  const alloc = new RegionAllocator(memory, exports.heapBase());
  return { memory, exports, alloc };
}
