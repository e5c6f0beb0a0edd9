// Worker side of bench/ring.bench.ts.
//   drain  the AssemblyScript consumer (ring_sum_drain) empties the ring until it is closed
//   post   the postMessage baseline: sums f0 of each received batch, acks every `ack` messages
//   echo   latency: copies each record from ring `base` into ring `back` as soon as it sees it;
//          spins forever ('spin') or sleeps in Atomics.wait right away ('wait')
import { parentPort, workerData } from 'node:worker_threads';
import { instantiate } from '../host/wasm/module.js';
import { RingReader, RingWriter } from '../host/ring/ring.js';

const d = workerData as {
  mode: 'drain' | 'post' | 'echo'; memory: WebAssembly.Memory; module: WebAssembly.Module;
  base: number; table: number; back: number; ack: number; total: number; stride: number; wait: 'spin' | 'wait';
};
const port = parentPort!;

if (d.mode === 'drain') {
  const { exports } = instantiate(d.memory, d.module);
  const drain = exports.ring_sum_drain as unknown as (ring: number, table: number, mask: number, spins: number, t: bigint) => number;
  port.postMessage({ type: 'ready' });
  const r = drain(d.base, d.table, 1023, 2000, 20_000_000n);
  port.postMessage({ type: 'done', count: r % 2 ** 32 });
} else if (d.mode === 'post') {
  let received = 0, messages = 0, sum = 0;
  port.on('message', (m: Uint8Array | ArrayBuffer) => {
    const bytes = m instanceof ArrayBuffer ? new Uint8Array(m) : m;
    const f64 = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3);
    const per = d.stride >> 3;
    for (let i = 3; i < f64.length; i += per) sum += f64[i];
    received += bytes.byteLength / d.stride;
    messages++;
    if (received >= d.total) { port.postMessage({ type: 'done', count: received, sum }); port.close(); }
    else if (messages % d.ack === 0) port.postMessage({ type: 'ack', messages });
  });
  port.postMessage({ type: 'ready' });
} else {
  const input = new RingReader(d.memory, d.base);
  const back = new RingWriter(d.memory, d.back);
  port.postMessage({ type: 'ready' });
  let echoed = 0;
  while (echoed < d.total) {
    let n = input.available();
    if (n === 0) n = d.wait === 'spin' ? 0 : input.wait(100, 0);
    if (n === 0) continue;
    const at = input.readAt();
    const slot = back.next();
    back.bytes.copyWithin(slot, at, at + input.stride);
    back.publish();
    input.release(1);
    echoed++;
  }
  port.postMessage({ type: 'done', count: echoed });
}
