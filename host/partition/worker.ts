// Worker thread entry: one partition. Receives the compiled module, the
// partition's shared memory and its program, lays the memory out, reports the
// ring offsets, then runs the partition loop until the input ring is closed
// and empty. The loop blocks in Atomics.wait (allowed on workers), so it takes
// no messages once started: everything after 'ready' — data, watermarks,
// barriers, end of stream — arrives through the input ring.
//
// Messages to the host:
//   { type: 'ready', layout, slab? }          after layout, before the loop (slab: the
//                                             snapshot slab, shared, for the host to warm)
//   { type: 'barrier', snapshot }             at each barrier (states transferred)
//   { type: 'done', consumed, produced }      after the output ring is closed
// Errors are not caught here: the worker dies and the host's 'error' handler
// reports it with the partition id (host/partition/worker_partition.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { PartitionRunner } from './runner.js';
import type { PartitionProgram } from './layout.js';

export interface WorkerInit {
  partition: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  program: PartitionProgram;
  /** How long one Atomics.wait sleeps before re-checking (ms). */
  idleWaitMs: number;
  spins: number;
  /** This partition's operator stats view (host/partition/runner.ts OPERATOR_STATS_FIELDS per operator). */
  stats?: Float64Array;
}

const init = workerData as WorkerInit;
const port = parentPort!;
for (const url of init.program.modules ?? []) await import(url);

const runner = new PartitionRunner(
  init.partition, init.memory, init.module, init.program,
  (out, want) => { out.waitForRoom(want, init.idleWaitMs, init.spins); },
  (snapshot) => {
    // States in the runner's shared snapshot slab are posted as shared views
    // (no copy); private ones are transferred, a view into a bigger buffer copied first.
    snapshot.states = snapshot.states.map((s) => (s.buffer instanceof SharedArrayBuffer || (s.byteOffset === 0 && s.byteLength === s.buffer.byteLength) ? s : s.slice()));
    const transfer = snapshot.states.filter((s) => s.buffer instanceof ArrayBuffer).map((s) => s.buffer as ArrayBuffer);
    port.postMessage({ type: 'barrier', snapshot }, transfer);
  },
  init.stats,
);
const slab = init.program.checkpoints ? runner.prepareSnapshots() : undefined;
port.postMessage({ type: 'ready', layout: runner.layout, slab });

const input = runner.input;
for (;;) {
  if (runner.step() > 0) continue;
  if (input.wait(init.idleWaitMs, init.spins) === 0 && input.closed && input.available() === 0) break;
}
runner.finish();
port.postMessage({ type: 'done', consumed: runner.consumed, produced: runner.produced });
