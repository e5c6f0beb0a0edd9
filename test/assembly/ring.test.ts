import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initRing, ringBytes, RingReader, RingWriter, RING_CONSUMER_SLEEPS, RING_HEADER_BYTES, RING_MAGIC, RING_TAIL } from '../../host/ring/ring.js';
import { inputStride, IN_FIELDS, IN_KEY, IN_SEQ, OUT_BYTES, readOutput, writeInput } from '../../host/records.js';
import { createSharedMemory, type GanglionExports } from '../../host/wasm/module.js';
import { compileBenchModule, createBenchRuntime } from '../../bench/wasm.js';
import { spawnWorker } from '../../host/partition/spawn.js';
import { KeySumJs, KeySumWasm } from '../helpers/keysum.js';
import type { OperatorContext } from '../../host/operators/registry.js';
import type { ConsumerInit } from '../host/ring/consumer.worker.js';

const STRIDE = inputStride(1);

test('the AssemblyScript mirror agrees with the TS layout', () => {
  const rt = createBenchRuntime(1 << 20);
  const packed = rt.exports.ring_layout_check();
  assert.is(packed >>> 24, RING_TAIL);
  assert.is((packed >>> 16) & 0xff, RING_MAGIC);
  assert.is((packed >>> 8) & 0xff, RING_HEADER_BYTES);
  assert.is(packed & 0xff, RING_CONSUMER_SLEEPS);
  const base = rt.alloc.alloc(ringBytes(64, STRIDE));
  assert.is(rt.exports.ring_is_ring(base), 0);
  initRing(rt.memory, base, 64, STRIDE);
  assert.is(rt.exports.ring_is_ring(base), 1);
});

test('WASM producer (ring_push) → TS reader, and TS writer → WASM reader, across the wrap', () => {
  const rt = createBenchRuntime(1 << 20);
  const x = rt.exports;
  const ring = rt.alloc.alloc(ringBytes(16, STRIDE));
  initRing(rt.memory, ring, 16, STRIDE, -5);
  const src = rt.alloc.alloc(10 * STRIDE);
  const view = new DataView(rt.memory.buffer);
  const r = new RingReader(rt.memory, ring);
  const w = new RingWriter(rt.memory, ring);
  let seq = 0, seen = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 10; i++) writeInput(view, src + i * STRIDE, 0n, BigInt(seq + i), 0, [seq + i]);
    const pushed = x.ring_push(ring, src, 10);
    assert.ok(pushed === 10, `round ${round}: pushed ${pushed}`);
    seq += pushed;
    // WASM reader consumes half, TS reader the rest.
    let avail = x.ring_available(ring);
    assert.is(avail, 10);
    while (avail > 5) {
      const run = x.ring_contiguous(ring, avail - 5);
      const p = x.ring_read_ptr(ring);
      for (let i = 0; i < run; i++) assert.is(Number(view.getBigUint64(p + i * STRIDE + IN_SEQ, true)), seen++);
      x.ring_release(ring, run);
      avail -= run;
    }
    const rr = new RingReader(rt.memory, ring); // re-attach: the TS reader reloads the tail the WASM side moved
    const out = new Uint8Array(5 * STRIDE);
    assert.is(rr.read(out, 5), 5);
    for (let i = 0; i < 5; i++) assert.is(Number(new DataView(out.buffer).getBigUint64(i * STRIDE + IN_SEQ, true)), seen++);
  }
  assert.is(seen, 500);
  assert.is(x.ring_room(ring), 16);
  void r; void w;
});

test('1 M records from a TS producer into the WASM reader in a worker: none lost or repeated', async () => {
  const memory = createSharedMemory(1 << 20);
  const base = 4096;
  const capacity = 512;
  initRing(memory, base, capacity, STRIDE);
  const table = base + ringBytes(capacity, STRIDE) + 1024;
  const init: ConsumerInit = { mode: 'wasm', memory, module: compileBenchModule(), base, table, waitTimeoutMs: 3000, seed: 3, pauseEvery: 64 };
  const worker = spawnWorker(new URL('../host/ring/consumer.worker.ts', import.meta.url), { workerData: init });
  const result = new Promise<{ count: number; errors: number }>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  const w = new RingWriter(memory, base);
  const view = new DataView(memory.buffer);
  const total = 1_000_000;
  let seq = 0, expectedSum = 0;
  while (seq < total) {
    let n = 0;
    const want = 1 + (seq % 700);
    for (; n < want && seq < total; n++) {
      const at = w.next();
      if (at < 0) break;
      view.setBigUint64(at + IN_SEQ, BigInt(seq), true);
      view.setUint32(at + IN_KEY, seq & 1023, true);
      view.setFloat64(at + IN_FIELDS, 1, true);
      seq++;
      expectedSum += 1;
    }
    w.publish();
    if (n < want) await w.waitForRoomAsync(64, 50);
    if (seq % 9973 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  w.close();
  const bound = setTimeout(() => void worker.terminate(), 60_000);
  const res = await result;
  clearTimeout(bound);
  await worker.terminate();
  assert.is(res.errors, 0);
  assert.is(res.count, total);
  const sums = new Float64Array(memory.buffer, table, 1024);
  assert.is(sums.reduce((a, b) => a + b, 0), expectedSum);
});

function ctxFor(rt: ReturnType<typeof createBenchRuntime>, engine: 'wasm' | 'js'): OperatorContext {
  return { op: 2, partition: 0, engine, memory: rt.memory, exports: rt.exports as GanglionExports, alloc: rt.alloc, fieldCount: 1, stride: STRIDE, maxBatch: 256 };
}

test('keysum: WASM engine and JS twin give the same outputs (late events included)', () => {
  const rt = createBenchRuntime(8 << 20);
  const wasm = new KeySumWasm(ctxFor(rt, 'wasm'), 0, 64);
  const js = new KeySumJs(ctxFor(rt, 'js'), 0, 64);
  const batch = rt.alloc.alloc(256 * STRIDE);
  const view = new DataView(rt.memory.buffer);
  let s = 99;
  const rnd = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32; };
  const collect = (op: KeySumWasm | KeySumJs, into: string[]) => {
    const { ptr, count } = op.output();
    for (let i = 0; i < count; i++) {
      const o = readOutput(view, ptr + i * OUT_BYTES);
      into.push(JSON.stringify([o.kind, o.op, o.key, String(o.start), String(o.end), String(o.seq), o.values[0], o.values[1]]));
    }
    op.clearOutput();
  };
  const a: string[] = [], b: string[] = [];
  let seq = 0, maxTs = 0;
  for (let round = 0; round < 40; round++) {
    const n = 1 + Math.floor(rnd() * 256);
    for (let i = 0; i < n; i++) {
      const ts = Math.max(0, maxTs + Math.floor((rnd() - 0.6) * 100));
      maxTs = Math.max(maxTs, ts);
      writeInput(view, batch + i * STRIDE, BigInt(ts), BigInt(seq++), Math.floor(rnd() * 40), [Math.round(rnd() * 1000) / 8]);
    }
    wasm.process(batch, n, STRIDE); js.process(batch, n, STRIDE);
    collect(wasm, a); collect(js, b);
    const wm = BigInt(maxTs - 50);
    wasm.onWatermark(wm); js.onWatermark(wm);
    collect(wasm, a); collect(js, b);
  }
  assert.ok(a.some((l) => l.startsWith('[5,')), 'the stream has late events');
  assert.equal([...a].sort(), [...b].sort());
  assert.is(wasm.stats().late, js.stats().late);
  assert.is(wasm.stats().keys, js.stats().keys);
});

test('keysum: a full key table is an error, not silent loss', () => {
  const rt = createBenchRuntime(8 << 20);
  const view = new DataView(rt.memory.buffer);
  const batch = rt.alloc.alloc(8 * STRIDE);
  for (let i = 0; i < 3; i++) writeInput(view, batch + i * STRIDE, 1n, BigInt(i), i, [1]);
  for (const engine of ['wasm', 'js'] as const) {
    const op = engine === 'wasm' ? new KeySumWasm(ctxFor(rt, engine), 0, 2) : new KeySumJs(ctxFor(rt, engine), 0, 2);
    assert.throws(() => op.process(batch, 3, STRIDE), /key table full \(slots=2\)/);
  }
});

test('keysum: snapshot into a fresh instance continues identically', () => {
  const rt1 = createBenchRuntime(8 << 20);
  const rt2 = createBenchRuntime(8 << 20);
  const a = new KeySumWasm(ctxFor(rt1, 'wasm'), 0, 64);
  const b = new KeySumWasm(ctxFor(rt2, 'wasm'), 0, 64);
  const v1 = new DataView(rt1.memory.buffer);
  const p1 = rt1.alloc.alloc(4 * STRIDE);
  for (let i = 0; i < 4; i++) writeInput(v1, p1 + i * STRIDE, 10n, BigInt(i), i % 2, [i]);
  a.process(p1, 4, STRIDE);
  b.restore(a.snapshot());
  a.onWatermark(20n); b.onWatermark(20n);
  const dump = (op: KeySumWasm, mem: WebAssembly.Memory) => {
    const { ptr, count } = op.output();
    return Array.from({ length: count }, (_, i) => readOutput(new DataView(mem.buffer), ptr + i * OUT_BYTES)).map((o) => [o.key, o.values[0], o.values[1]]);
  };
  assert.equal(dump(b, rt2.memory), dump(a, rt1.memory));
  assert.is(dump(a, rt1.memory).length, 2);
});

test.run();
