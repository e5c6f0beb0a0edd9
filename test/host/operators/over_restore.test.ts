// The over operator through a partition's barrier: the state a barrier
// snapshots (frames, rows waiting for the watermark, the free list, pending
// outputs) restored into a fresh partition, in either engine, goes on to emit
// exactly what the uninterrupted run emits after the barrier.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionRunner, type BarrierSnapshot } from '../../../host/partition/runner.js';
import { CONTROL_BARRIER, CONTROL_WATERMARK, writeControl } from '../../../host/partition/control.js';
import { RingReader, RingWriter } from '../../../host/ring/ring.js';
import { inputStride, OUT_BYTES, OUT_OVER, writeInput } from '../../../host/records.js';
import { compileModule, createSharedMemory } from '../../../host/wasm/module.js';
import type { Engine } from '../../../host/operators/operator.js';

const FIELDS = 2;
const STRIDE = inputStride(FIELDS);
const MS = 1_000_000n;
const T0 = 1767623400_000_000_000n;
const OPERATORS = [{ kind: 'over', field: 0, frame: 'range', rangeNs: 300n * MS, aggregates: ['sum', 'max', 'count'], outOfOrderNs: 20n * MS, capacity: 256, rowCapacity: 8192, maxPending: 4096 }];

type Item = { ev: [bigint, number, number] } | { wm: bigint } | { barrier: number };

/** Events on a 1 ms grid with ties and disorder, watermarks now and then, one barrier in the middle. */
function script(n: number): Item[] {
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: Item[] = [];
  for (let i = 0; i < n; i++) {
    const ms = BigInt(Math.floor(i / 2) - Math.floor(rnd() * 15));
    out.push({ ev: [T0 + ms * MS, Math.floor(rnd() * 40), Math.floor(rnd() * 1000)] });
    if (i % 97 === 96) out.push({ wm: T0 + BigInt(Math.floor(i / 2) - 30) * MS });
    if (i === Math.floor(n / 2)) out.push({ barrier: 1 });
  }
  return out;
}

function partition(engine: Engine, restore?: Uint8Array[]) {
  const memory = createSharedMemory(32 << 20);
  const barriers: BarrierSnapshot[] = [];
  const runner = new PartitionRunner(0, memory, compileModule(), {
    fieldCount: FIELDS, engine, inputCapacity: 256, outputCapacity: 8192, maxBatch: 64, operators: OPERATORS,
    ...(restore ? { restore: [restore] } : {}),
  }, () => { throw new Error('output ring full'); }, (b) => barriers.push(b));
  const w = new RingWriter(memory, runner.layout.input);
  const r = new RingReader(memory, runner.layout.output);
  const rec = new Uint8Array(STRIDE), view = new DataView(rec.buffer);
  const out: string[] = [];
  let seq = 0;
  const drain = () => {
    runner.step();
    const n = r.available();
    const bytes = new Uint8Array(n * OUT_BYTES);
    r.read(bytes, n);
    for (let i = 0; i < n; i++) out.push(Buffer.from(bytes.subarray(i * OUT_BYTES, (i + 1) * OUT_BYTES)).toString('hex'));
  };
  const feed = (item: Item) => {
    if ('ev' in item) writeInput(view, 0, item.ev[0], BigInt(++seq), item.ev[1], [item.ev[2], 0]);
    else if ('wm' in item) writeControl(rec, view, 0, STRIDE, CONTROL_WATERMARK, item.wm, 0n);
    else writeControl(rec, view, 0, STRIDE, CONTROL_BARRIER, 0n, BigInt(item.barrier));
    assert.is(w.write(rec, 1), 1);
    drain();
  };
  return { feed, out, barriers, resumeAt: (n: number) => { seq = n; } };
}

for (const [from, into] of [['wasm', 'wasm'], ['wasm', 'js'], ['js', 'wasm']] as const) {
  test(`a barrier's snapshot, restored (${from} → ${into}), emits what the uninterrupted run emits`, () => {
    const items = script(3000);
    const cut = items.findIndex((x) => 'barrier' in x);
    const whole = partition(from);
    items.forEach(whole.feed);
    whole.feed({ wm: T0 + 10_000n * MS });
    const kinds = whole.out.map((h) => Buffer.from(h, 'hex').readUInt32LE(0));
    assert.ok(kinds.filter((k) => k === OUT_OVER).length > 2500, 'the run emits its rows');

    const first = partition(from);
    items.slice(0, cut + 1).forEach(first.feed);
    assert.is(first.barriers.length, 1);
    const snap = first.barriers[0];
    const second = partition(into, snap.states.map((s) => s.slice()));
    second.resumeAt(items.slice(0, cut).filter((x) => 'ev' in x).length);
    items.slice(cut + 1).forEach(second.feed);
    second.feed({ wm: T0 + 10_000n * MS });
    assert.is(snap.outputPosition, first.out.length);
    assert.equal([...first.out, ...second.out], whole.out);
  });
}

test.run();
