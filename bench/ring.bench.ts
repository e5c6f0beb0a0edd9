// Moving records across threads: the SPSC ring in shared WASM memory (JS
// producer on the main thread, AssemblyScript consumer in a worker) against
// postMessage (structured-clone copy, and ArrayBuffer transfer) at batches of
// 1, 64 and 4,096 records; and the one-record latency from publish to the
// consumer seeing it, with the consumer idle, spinning versus Atomics.wait.
// Cross-thread pipelines are timed end to end (first record written → the
// consumer reports the last one), median of several runs, not benchmark.js:
// its per-call sampling cannot see the other thread's work.
import { setTimeout as sleep } from 'node:timers/promises';
import { compared, percentile, type BenchContext, type BenchResult } from './lib.js';
import { initRing, ringBytes, RingReader, RingWriter } from '../host/ring/ring.js';
import { inputStride, writeInput } from '../host/records.js';
import { createSharedMemory } from '../host/wasm/module.js';
import { compileBenchModule } from './wasm.js';
import { spawnWorker } from '../host/partition/spawn.js';

const STRIDE = inputStride(1); // 32-byte records
const CAPACITY = 1 << 16;
const WORKER = new URL('./ring_worker.ts', import.meta.url);

function batchOf(n: number): Uint8Array {
  const b = new Uint8Array(n * STRIDE);
  const v = new DataView(b.buffer);
  for (let i = 0; i < n; i++) writeInput(v, i * STRIDE, 1_700_000_000_000_000_000n + BigInt(i), BigInt(i), i % 1000, [i * 0.25]);
  return b;
}

type Msg = { type: string; count?: number; messages?: number };
function startWorker(data: Record<string, unknown>) {
  const w = spawnWorker(WORKER, { workerData: data });
  const messages: Msg[] = [];
  let waiter: ((m: Msg) => void) | undefined;
  w.on('message', (m: Msg) => { if (waiter) { const f = waiter; waiter = undefined; f(m); } else messages.push(m); });
  w.on('error', (e) => { throw e; });
  const next = () => new Promise<Msg>((resolve) => { const m = messages.shift(); if (m) resolve(m); else waiter = resolve; });
  return { w, next };
}

/** Records/s through the ring into the AS consumer, publishing every `batch` records. */
export async function ringRate(total: number, batch: number): Promise<number> {
  const memory = createSharedMemory(16 << 20);
  const base = 65536;
  initRing(memory, base, CAPACITY, STRIDE);
  const table = base + ringBytes(CAPACITY, STRIDE) + 4096;
  const { w, next } = startWorker({ mode: 'drain', memory, module: compileBenchModule(), base, table });
  await next();
  const writer = new RingWriter(memory, base);
  const src = batchOf(Math.max(batch, 4096));
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const want = Math.min(batch, total - sent);
    let off = 0;
    while (off < want) {
      const n = writer.push(src, want - off, off * STRIDE);
      off += n;
      if (n === 0) {
        // Full: sleep until the consumer has drained a quarter (as the partition set does), not spin.
        writer.publish();
        await writer.waitForRoomAsync(CAPACITY >> 2, 50);
      }
    }
    writer.publish();
    sent += want;
  }
  writer.close();
  const done = await next();
  const secs = (performance.now() - t0) / 1000;
  await w.terminate();
  if (done.count !== total) throw new Error(`ring lost records: ${done.count} of ${total}`);
  return total / secs;
}

/** Records/s through postMessage in batches of `batch`, credit-based so the queue stays bounded. */
export async function postRate(total: number, batch: number, transfer: boolean): Promise<number> {
  const ack = Math.max(1, Math.floor(4096 / batch)) * 4;
  const { w, next } = startWorker({ mode: 'post', total, ack, stride: STRIDE });
  await next();
  const src = batchOf(batch);
  const t0 = performance.now();
  let sent = 0, messages = 0, acked = 0;
  while (sent < total) {
    const n = Math.min(batch, total - sent);
    if (transfer) {
      const buf = new ArrayBuffer(n * STRIDE);
      new Uint8Array(buf).set(src.subarray(0, n * STRIDE));
      w.postMessage(buf, [buf]);
    } else {
      w.postMessage(src.subarray(0, n * STRIDE));
    }
    sent += n;
    messages++;
    // At most two ack windows in flight.
    while (messages - acked >= 2 * ack && sent < total) {
      const m = await next();
      if (m.type === 'ack') acked = m.messages!;
    }
  }
  let m: Msg;
  do m = await next(); while (m.type !== 'done');
  const secs = (performance.now() - t0) / 1000;
  await w.terminate();
  if (m.count !== total) throw new Error(`postMessage lost records: ${m.count} of ${total}`);
  return total / secs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function best(runs: number, f: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await f());
  return median(xs);
}

/** One-way latency estimate (RTT / 2, ns) of single records with an idle consumer. */
async function latency(mode: 'spin' | 'wait', pings: number): Promise<number[]> {
  const memory = createSharedMemory(4 << 20);
  const base = 65536, back = base + ringBytes(1024, STRIDE);
  initRing(memory, base, 1024, STRIDE);
  initRing(memory, back, 1024, STRIDE);
  const { w, next } = startWorker({ mode: 'echo', memory, base, back, total: pings, wait: mode });
  await next();
  const out = new RingWriter(memory, base);
  const inp = new RingReader(memory, back);
  const rec = batchOf(1);
  const ns: number[] = [];
  for (let i = 0; i < pings; i++) {
    await sleep(1); // the consumer goes idle (asleep in 'wait' mode)
    const t0 = process.hrtime.bigint();
    out.write(rec, 1);
    while (inp.available() === 0) { /* spin: the main thread cannot Atomics.wait */ }
    const t1 = process.hrtime.bigint();
    inp.release(1);
    ns.push(Number(t1 - t0) / 2);
  }
  await next();
  await w.terminate();
  return ns.sort((a, b) => a - b);
}

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const runs = ctx.quick ? 1 : 3;
  const big = ctx.quick ? 4_000_000 : 100_000_000;
  const bulk = await best(runs, () => ringRate(big, 4096));
  results.push({ name: 'ring: JS producer → AS consumer (worker), 32 B records', unit: 'records/s', value: bulk });
  ctx.log(`  ring bulk ${(bulk / 1e6).toFixed(1)} M records/s`);

  // --quick: the two ends (64 is in the full run).
  for (const batch of ctx.quick ? [1, 4096] : [1, 64, 4096]) {
    const total = batch === 1 ? (ctx.quick ? 100_000 : 1_000_000) : batch === 64 ? (ctx.quick ? 1_000_000 : 10_000_000) : (ctx.quick ? 4_000_000 : 40_000_000);
    const ring = await best(runs, () => ringRate(total, batch));
    const copy = await best(runs, () => postRate(total, batch, false));
    const moved = await best(runs, () => postRate(total, batch, true));
    results.push(compared(`ring vs postMessage (copy), batch ${batch}`, 'records/s', ring, `postMessage copy, batch ${batch}`, copy));
    results.push(compared(`ring vs postMessage (transfer), batch ${batch}`, 'records/s', ring, `postMessage transfer, batch ${batch}`, moved));
    ctx.log(`  batch ${batch}: ring ${(ring / 1e6).toFixed(2)} M/s, copy ${(copy / 1e6).toFixed(2)} M/s, transfer ${(moved / 1e6).toFixed(2)} M/s`);
  }

  const pings = ctx.quick ? 500 : 3000;
  for (const mode of ['spin', 'wait'] as const) {
    const ns = await latency(mode, pings);
    results.push({ name: `ring latency p50, idle consumer ${mode === 'spin' ? 'spinning' : 'in Atomics.wait'}`, unit: 'ns', value: percentile(ns, 50), note: 'RTT/2' });
    results.push({ name: `ring latency p99, idle consumer ${mode === 'spin' ? 'spinning' : 'in Atomics.wait'}`, unit: 'ns', value: percentile(ns, 99), note: 'RTT/2' });
  }
  return results;
}
