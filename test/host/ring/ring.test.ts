import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { initRing, ringBytes, RingReader, RingWriter, RING_HEADER_BYTES } from '../../../host/ring/ring.js';
import { inputStride, IN_FIELDS, IN_KEY, IN_SEQ, writeInput } from '../../../host/records.js';
import { createSharedMemory } from '../../../host/wasm/module.js';
import { compileBenchModule } from '../../../bench/wasm.js';
import { spawnWorker } from '../../../host/partition/spawn.js';
import type { ConsumerInit } from './consumer.worker.js';

const STRIDE = inputStride(1); // 32 bytes
const CANARY = 0x5a5aa5a5;

function ringWithCanaries(capacity: number, start = 0) {
  const sab = new SharedArrayBuffer(64 + ringBytes(capacity, STRIDE) + 64);
  const base = 64;
  initRing(sab, base, capacity, STRIDE, start);
  const u32 = new Uint32Array(sab);
  u32.fill(CANARY, 0, 16);
  u32.fill(CANARY, (base + ringBytes(capacity, STRIDE)) >> 2);
  const intact = () => u32.subarray(0, 16).every((w) => w === CANARY) && u32.subarray((base + ringBytes(capacity, STRIDE)) >> 2).every((w) => w === CANARY);
  return { sab, base, intact };
}

function record(seq: number): Uint8Array {
  const b = new Uint8Array(STRIDE);
  writeInput(new DataView(b.buffer), 0, BigInt(seq) * 1000n, BigInt(seq), seq % 1000, [seq * 0.5]);
  return b;
}

test('rejects bad geometry with a precise message', () => {
  const sab = new SharedArrayBuffer(1 << 16);
  assert.throws(() => initRing(sab, 0, 100, STRIDE), /power of two/);
  assert.throws(() => initRing(sab, 32, 64, STRIDE), /64-byte aligned/);
  assert.throws(() => initRing(sab, 0, 4096, STRIDE), /do not fit/);
  assert.throws(() => initRing(new ArrayBuffer(1024) as unknown as SharedArrayBuffer, 0, 4, STRIDE), /shared/);
  assert.throws(() => new RingReader(sab, 128), /no ring initialised/);
});

test('head and tail sit on separate cache lines; data follows the header', () => {
  const { sab, base } = ringWithCanaries(8);
  const w = new RingWriter(sab, base);
  assert.is(w.data, base + RING_HEADER_BYTES);
  assert.is(RING_HEADER_BYTES % 64, 0);
});

test('fills to capacity, refuses the next record, and wraps at record granularity', () => {
  const { sab, base, intact } = ringWithCanaries(8);
  const w = new RingWriter(sab, base);
  const r = new RingReader(sab, base);
  for (let i = 0; i < 8; i++) assert.ok(w.next() >= 0);
  assert.is(w.next(), -1);
  assert.is(r.available(), 0, 'nothing visible before publish');
  w.publish();
  assert.is(r.available(), 8);
  r.release(5);
  // The writer is back at slot 0; the reader's next run (slots 5..7) stops at the end.
  const batch = new Uint8Array(5 * STRIDE);
  for (let i = 0; i < 5; i++) batch.set(record(100 + i), i * STRIDE);
  assert.is(w.write(batch, 5), 5);
  assert.is(r.available(), 8);
  assert.is(r.contiguous(8), 3, 'a run stops at the end of the data area');
  assert.ok(intact());
});

test('push splits a batch across the end, on both copy paths (word loop and set)', () => {
  for (const count of [3, 40]) { // 96 B: word loop; 1280 B: set()
    const cap = 64;
    const { sab, base, intact } = ringWithCanaries(cap);
    const w = new RingWriter(sab, base);
    const r = new RingReader(sab, base);
    for (let i = 0; i < cap - 1; i++) w.next();
    w.publish();
    r.release(cap - 1); // both sides at slot 63: the batch starts one record before the end
    const src = new Uint8Array(8 + count * STRIDE); // offset 8: still word-aligned
    for (let i = 0; i < count; i++) src.set(record(500 + i), 8 + i * STRIDE);
    assert.is(w.write(src, count, 8), count);
    const out = new Uint8Array(count * STRIDE);
    assert.is(r.read(out, count), count);
    assert.equal(out, src.subarray(8));
    const odd = new Uint8Array(1 + STRIDE); // unaligned source: falls back to set()
    odd.set(record(9), 1);
    assert.is(w.write(odd, 1, 1), 1);
    const one = new Uint8Array(STRIDE);
    r.read(one, 1);
    assert.equal(one, record(9));
    assert.ok(intact());
  }
});

test('u32 counters wrap past 2^32 without losing or repeating records', () => {
  const { sab, base, intact } = ringWithCanaries(16, 0xfffffff0 | 0);
  const w = new RingWriter(sab, base);
  const r = new RingReader(sab, base);
  const out = new Uint8Array(7 * STRIDE);
  const view = new DataView(out.buffer);
  let next = 0, seen = 0;
  for (let round = 0; round < 200; round++) {
    const n = 1 + (round * 7) % 11;
    for (let i = 0; i < n; i++) {
      const at = w.next();
      if (at < 0) break;
      w.bytes.set(record(next++), at);
    }
    w.publish();
    let got;
    while ((got = r.read(out, 7)) > 0) {
      for (let i = 0; i < got; i++) assert.is(Number(view.getBigUint64(i * STRIDE + IN_SEQ, true)), seen++);
    }
  }
  assert.is(seen, next);
  assert.ok(next > 1000);
  assert.ok(intact());
});

async function stress(mode: 'js' | 'wasm', total: number, capacity: number, seed: number) {
  const memory = createSharedMemory(1 << 20);
  const base = 4096;
  initRing(memory, base, capacity, STRIDE);
  const u32 = new Uint32Array(memory.buffer);
  const end = base + ringBytes(capacity, STRIDE);
  u32.fill(CANARY, (base - 256) >> 2, base >> 2);
  u32.fill(CANARY, end >> 2, (end + 256) >> 2);
  const table = end + 1024;
  const init: ConsumerInit = { mode, memory, module: compileBenchModule(), base, table, waitTimeoutMs: 3000, seed, pauseEvery: 64 };
  const worker: Worker = spawnWorker(new URL('./consumer.worker.ts', import.meta.url), { workerData: init });
  const result = new Promise<{ count: number; errors: number; timeouts: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const w = new RingWriter(memory, base);
  const view = new DataView(memory.buffer);
  let s = seed >>> 0;
  const rnd = () => { s = (Math.imul(s, 22695477) + 1) >>> 0; return s / 2 ** 32; };
  let seq = 0;
  while (seq < total) {
    const want = Math.min(total - seq, 1 + Math.floor(rnd() * capacity));
    let n = 0;
    for (; n < want; n++) {
      const at = w.next();
      if (at < 0) break;
      view.setBigUint64(at + IN_SEQ, BigInt(seq), true);
      view.setUint32(at + IN_KEY, seq % 1000, true);
      view.setFloat64(at + IN_FIELDS, seq * 0.5, true);
      seq++;
    }
    w.publish();
    if (n < want) await w.waitForRoomAsync(want - n, 50);
    if (rnd() < 0.01) await new Promise((r) => setTimeout(r, rnd() * 2));
  }
  w.close();
  const bound = setTimeout(() => { void worker.terminate(); }, 60_000);
  const res = await result;
  clearTimeout(bound);
  await worker.terminate();
  assert.equal(res, { count: total, errors: 0, timeouts: 0 });
  assert.ok(u32.subarray((base - 256) >> 2, base >> 2).every((x) => x === CANARY), 'canary before the ring');
  assert.ok(u32.subarray(end >> 2, (end + 256) >> 2).every((x) => x === CANARY), 'canary after the ring');
}

test('1 M records through a worker with random pauses on both sides: none lost, none repeated, no lost wake-up', async () => {
  await stress('js', 1_000_000, 1024, 7);
});

test('a tiny ring (4 slots) wraps 50 000 times without loss', async () => {
  await stress('js', 200_000, 4, 11);
});

test.run();
