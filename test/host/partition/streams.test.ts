// Several input streams through one partition: records carry their stream in
// their flags; single-input operators see only their stream's runs; a
// two-input operator (the co_count probe, fixtures/two_input_probe.ts, in both
// engines: its WASM side exports co_count_process1/2) gets process() for its
// first input and process2() for its second; each stream has
// its own watermark and an operator's is the minimum over its inputs, with idle
// streams left out (host/partition/input_watermarks.ts). With several
// partitions, both streams of a key meet in one partition.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import './fixtures/two_input_probe.js';
import type { CoCountJs } from './fixtures/two_input_probe.js';
import { PartitionRunner, type BarrierSnapshot } from '../../../host/partition/runner.js';
import { PartitionSet, type OutputBatch } from '../../../host/partition/partition_set.js';
import { CONTROL_BARRIER, CONTROL_WATERMARK, writeControl } from '../../../host/partition/control.js';
import { decodeOutputs } from '../../../host/partition/outputs.js';
import { RingReader, RingWriter } from '../../../host/ring/ring.js';
import { FLAG_IDLE, inputStride, OUT_BYTES, OUT_WINDOW, streamFlags, writeInput, type OutputRecord } from '../../../host/records.js';
import { createSharedMemory } from '../../../host/wasm/module.js';
import { compileBenchModule } from '../../../bench/wasm.js';
import '../../helpers/keysum.js';
import type { Engine } from '../../../host/operators/operator.js';

const FIELDS = 2;
const STRIDE = inputStride(FIELDS);
const TRADES = 0, QUOTES = 1;

function setup(engine: Engine) {
  const memory = createSharedMemory(8 << 20);
  const barriers: BarrierSnapshot[] = [];
  const program = {
    fieldCount: FIELDS, engine, inputCapacity: 64, outputCapacity: 256, maxBatch: 16, streams: 2,
    // op 0 reads trades, op 1 quotes, op 2 both (trades first).
    operators: [{ kind: 'keysum', field: 0, slots: 64 }, { kind: 'keysum', field: 0, slots: 64 }, { kind: 'co_count', keys: 64 }],
    inputs: [[TRADES], [QUOTES], [TRADES, QUOTES]],
  };
  const runner = new PartitionRunner(0, memory, compileBenchModule(), program, () => { throw new Error('output ring full'); }, (s) => barriers.push(s));
  const w = new RingWriter(memory, runner.layout.input);
  const r = new RingReader(memory, runner.layout.output);
  const rec = new Uint8Array(STRIDE);
  const view = new DataView(rec.buffer);
  let seq = 1;
  const event = (stream: number, ts: number, key: number, v: number) => { writeInput(view, 0, BigInt(ts), BigInt(seq++), key, [v, NaN], streamFlags(stream)); assert.is(w.write(rec, 1), 1); };
  const watermark = (stream: number, ts: number, idle = false) => { writeControl(rec, view, 0, STRIDE, CONTROL_WATERMARK, BigInt(ts), 0n, streamFlags(stream) | (idle ? FLAG_IDLE : 0)); assert.is(w.write(rec, 1), 1); };
  const barrier = (id: number) => { writeControl(rec, view, 0, STRIDE, CONTROL_BARRIER, 0n, BigInt(id)); assert.is(w.write(rec, 1), 1); };
  const drain = (): OutputRecord[] => { runner.step(); const n = r.available(); const out = new Uint8Array(n * OUT_BYTES); r.read(out, n); return decodeOutputs(out, n); };
  return { runner, barriers, event, watermark, barrier, drain, probe: runner.operators[2] as unknown as CoCountJs };
}

const rows = (out: OutputRecord[], op: number) => out.filter((o) => o.op === op).map((o) => [o.key, ...Array.from(o.values.slice(0, op === 2 ? 4 : 2))]).sort((a, b) => a[0] - b[0]);

for (const engine of ['wasm', 'js'] as const) {
  test(`${engine}: each operator sees its own stream; the two-input operator fires at the minimum of both watermarks`, () => {
    const { event, watermark, drain, probe } = setup(engine);
    event(TRADES, 10, 1, 1); event(QUOTES, 11, 1, 100); event(TRADES, 12, 2, 2); event(QUOTES, 13, 1, 200); event(TRADES, 14, 1, 4);
    watermark(TRADES, 20);
    let out = drain();
    assert.equal(rows(out, 0).sort(), [[1, 2, 5], [2, 1, 2]], 'trades keysum: only trades (1 + 4 for key 1)');
    assert.equal(rows(out, 1), [], 'quotes keysum: no quotes watermark yet');
    assert.equal(rows(out, 2), [], 'co_count: held back by the quotes input (no watermark)');
    assert.equal(probe.watermarks, []);

    watermark(QUOTES, 15);
    out = drain();
    assert.equal(rows(out, 0), [], 'trades keysum: nothing new');
    assert.equal(rows(out, 1), [[1, 2, 300]], 'quotes keysum: only quotes');
    assert.equal(rows(out, 2), [[1, 2, 2, 5, 300], [2, 1, 0, 2, 0]], 'co_count: per key, trades via process(), quotes via process2()');
    assert.equal(probe.watermarks, [15n], 'min(20, 15)');

    watermark(QUOTES, 30);
    drain();
    assert.equal(probe.watermarks, [15n, 20n], 'min(20, 30)');

    // Trades go idle: they no longer hold the operator back; it follows quotes.
    watermark(TRADES, 20, true);
    drain();
    assert.equal(probe.watermarks, [15n, 20n, 30n], 'idle trades left out: quotes alone');
    // Active again at 25: the operator's watermark never goes back (events behind it are late).
    watermark(TRADES, 25);
    drain();
    assert.equal(probe.watermarks, [15n, 20n, 30n]);
    watermark(TRADES, 40);
    watermark(QUOTES, 50);
    drain();
    assert.equal(probe.watermarks, [15n, 20n, 30n, 40n]);
  });

  test(`${engine}: when every input is idle the operator follows the furthest`, () => {
    const { watermark, drain, probe } = setup(engine);
    watermark(TRADES, 10);
    drain();
    assert.equal(probe.watermarks, [], 'quotes never had a watermark');
    watermark(QUOTES, -(2 ** 62), true);
    drain();
    assert.equal(probe.watermarks, [10n], 'a stream that never had an event but is idle does not hold it back');
    watermark(TRADES, 40, true);
    drain();
    assert.equal(probe.watermarks, [10n, 40n], 'both idle: the furthest');
  });

  test(`${engine}: a barrier snapshots the two-input operator; restored, it goes on where it was`, () => {
    const a = setup(engine);
    a.event(TRADES, 10, 7, 1); a.event(QUOTES, 11, 7, 2);
    a.barrier(1);
    a.drain();
    assert.is(a.barriers.length, 1);
    const states = a.barriers[0].states.map((s) => s.slice());
    const memory = createSharedMemory(8 << 20);
    const restored = new PartitionRunner(0, memory, compileBenchModule(), {
      fieldCount: FIELDS, engine, inputCapacity: 64, outputCapacity: 256, maxBatch: 16, streams: 2,
      operators: [{ kind: 'keysum', field: 0, slots: 64 }, { kind: 'keysum', field: 0, slots: 64 }, { kind: 'co_count', keys: 64 }],
      inputs: [[TRADES], [QUOTES], [TRADES, QUOTES]], restore: [states],
    }, () => { throw new Error('full'); }, () => undefined);
    const probe = restored.operators[2] as unknown as CoCountJs;
    probe.onWatermark(20n);
    const { ptr, count } = probe.output();
    const out = decodeOutputs(new Uint8Array(memory.buffer, ptr, count * OUT_BYTES).slice(), count);
    assert.equal(rows(out, 2), [[7, 1, 1, 1, 2]]);
  });
}

test('a program naming a second input for a one-input operator is refused', () => {
  assert.throws(() => new PartitionRunner(0, createSharedMemory(8 << 20), compileBenchModule(), {
    fieldCount: FIELDS, engine: 'js', inputCapacity: 64, outputCapacity: 64, maxBatch: 16, streams: 2,
    operators: [{ kind: 'keysum', field: 0, slots: 64 }], inputs: [[TRADES, QUOTES]],
  }, () => undefined, () => undefined), /operator 0 lists 2 inputs but takes 1/);
});

test('four worker partitions, WASM engine: both streams of a key meet in one partition (catch-up per stream)', async () => {
  const set = await PartitionSet.start({
    partitions: 4,
    module: compileBenchModule(),
    catchUp: { outOfOrderNs: 0n },
    program: {
      fieldCount: FIELDS, inputCapacity: 1024, outputCapacity: 1024, maxBatch: 64, streams: 2,
      operators: [{ kind: 'co_count', keys: 256 }], inputs: [[TRADES, QUOTES]],
      modules: [new URL('./fixtures/two_input_probe.ts', import.meta.url).href],
    },
    memoryBytes: 4 << 20,
  });
  const outs: Array<{ partition: number; rec: OutputRecord }> = [];
  set.on('output', (b: OutputBatch) => { for (const rec of decodeOutputs(b.bytes, b.count)) if (rec.kind === OUT_WINDOW) outs.push({ partition: b.partition, rec }); });
  const KEYS = 40;
  const want = new Map<number, [number, number]>();
  const batch = (stream: number, from: number, n: number) => {
    const bytes = new Uint8Array(n * STRIDE);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      const key = 1 + ((from + i) * 7) % KEYS;
      // Out of order within a batch, so catch-up watermarks are sent too.
      writeInput(view, i * STRIDE, BigInt(1000 + from + i - (i % 3) * 2), BigInt(from + i), key, [1, NaN], streamFlags(stream));
      const w = want.get(key) ?? [0, 0];
      w[stream]++;
      want.set(key, w);
    }
    set.pushRecords(bytes, n);
  };
  for (let b = 0; b < 10; b++) { batch(TRADES, b * 50, 50); batch(QUOTES, b * 30, 30); }
  set.watermark(1n << 40n, 1n, TRADES);
  set.watermark(1n << 40n, 2n, QUOTES);
  await set.drain();
  const got = new Map<number, [number, number]>();
  const partitionOfKey = new Map<number, Set<number>>();
  for (const { partition, rec } of outs) {
    const g = got.get(rec.key) ?? [0, 0];
    g[0] += rec.values[0]; g[1] += rec.values[1];
    got.set(rec.key, g);
    partitionOfKey.set(rec.key, (partitionOfKey.get(rec.key) ?? new Set()).add(partition));
  }
  assert.equal([...got].sort((a, b) => a[0] - b[0]), [...want].sort((a, b) => a[0] - b[0]), 'every record counted once, on its input');
  for (const [key, parts] of partitionOfKey) assert.is(parts.size, 1, `key ${key} on one partition`);
  assert.ok(new Set([...partitionOfKey.values()].map((s) => [...s][0])).size > 1, 'the keys spread over several partitions');
  assert.ok([...got.values()].every(([t, q]) => t > 0 && q > 0), 'every key had both trades and quotes');
});

test.run();
