// Test consumer for the ring stress tests: drains a ring until it is closed,
// checking every record (seq must run 0, 1, 2, ... and the payload must match
// the seq), with random pauses. mode 'js' uses RingReader; 'wasm' runs the
// AssemblyScript reader (ring_sum_drain) on the same memory.
import { parentPort, workerData } from 'node:worker_threads';
import { RingReader } from '../../../host/ring/ring.js';
import { IN_FIELDS, IN_KEY, IN_SEQ } from '../../../host/records.js';
import { instantiate } from '../../../host/wasm/module.js';

export interface ConsumerInit {
  mode: 'js' | 'wasm';
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  base: number;
  table: number;
  /** A sleep that reaches this is a lost wake-up (the producer never pauses that long). */
  waitTimeoutMs: number;
  seed: number;
  pauseEvery: number;
}

const init = workerData as ConsumerInit;
if (init.mode === 'wasm') {
  const { exports } = instantiate(init.memory, init.module);
  const r = (exports.ring_sum_drain as unknown as (ring: number, table: number, mask: number, spins: number, t: bigint) => number)(
    init.base, init.table, 1023, 100, BigInt(init.waitTimeoutMs) * 1_000_000n);
  parentPort!.postMessage({ count: r % 2 ** 32, errors: Math.floor(r / 2 ** 32), timeouts: 0 });
} else {
  const reader = new RingReader(init.memory, init.base);
  const view = new DataView(init.memory.buffer);
  const idle = new Int32Array(new SharedArrayBuffer(4));
  let s = init.seed >>> 0;
  const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  let expect = 0n, count = 0, errors = 0, timeouts = 0;
  for (;;) {
    let n = reader.available();
    if (n === 0) {
      const t0 = performance.now();
      n = reader.wait(init.waitTimeoutMs, rnd() < 0.5 ? 0 : 200);
      if (performance.now() - t0 >= init.waitTimeoutMs * 0.9) timeouts++;
      if (n === 0) { if (reader.closed && reader.available() === 0) break; continue; }
    }
    const take = Math.max(1, Math.floor(rnd() * n));
    const run = reader.contiguous(take);
    let at = reader.readAt();
    for (let i = 0; i < run; i++, at += reader.stride) {
      const seq = view.getBigUint64(at + IN_SEQ, true);
      const key = view.getUint32(at + IN_KEY, true);
      const f0 = view.getFloat64(at + IN_FIELDS, true);
      if (seq !== expect || key !== Number(seq % 1000n) || f0 !== Number(seq) * 0.5) errors++;
      expect = seq + 1n;
    }
    reader.release(run);
    count += run;
    if (rnd() < 1 / init.pauseEvery) Atomics.wait(idle, 0, 0, rnd() * 2);
  }
  parentPort!.postMessage({ count, errors, timeouts });
}
