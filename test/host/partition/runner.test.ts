// PartitionRunner on the calling thread (how single-threaded references and
// tests run a partition program without a worker).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionRunner, type BarrierSnapshot } from '../../../host/partition/runner.js';
import { CONTROL_BARRIER, CONTROL_WATERMARK, writeControl } from '../../../host/partition/control.js';
import { decodeOutputs } from '../../../host/partition/outputs.js';
import { RingReader, RingWriter } from '../../../host/ring/ring.js';
import { inputStride, OUT_BYTES, OUT_WINDOW, writeInput } from '../../../host/records.js';
import { createSharedMemory } from '../../../host/wasm/module.js';
import { compileBenchModule } from '../../../bench/wasm.js';
import '../../helpers/keysum.js';

const STRIDE = inputStride(1);

function setup(outputCapacity = 64) {
  const memory = createSharedMemory(8 << 20);
  const barriers: BarrierSnapshot[] = [];
  const runner = new PartitionRunner(3, memory, compileBenchModule(), {
    fieldCount: 1, engine: 'wasm', inputCapacity: 64, outputCapacity, maxBatch: 16,
    operators: [{ kind: 'keysum', field: 0, slots: 64 }, { kind: 'keysum', field: 0, slots: 64 }],
  }, () => { throw new Error('output ring full'); }, (s) => barriers.push(s));
  const w = new RingWriter(memory, runner.layout.input);
  const r = new RingReader(memory, runner.layout.output);
  const rec = new Uint8Array(STRIDE);
  const view = new DataView(rec.buffer);
  const event = (ts: number, seq: number, key: number, v: number) => { writeInput(view, 0, BigInt(ts), BigInt(seq), key, [v]); assert.is(w.write(rec, 1), 1); };
  const control = (kind: number, ts: bigint, seq: bigint) => { writeControl(rec, view, 0, STRIDE, kind, ts, seq); assert.is(w.write(rec, 1), 1); };
  const drain = () => { const n = r.available(); const out = new Uint8Array(n * OUT_BYTES); r.read(out, n); return decodeOutputs(out, n); };
  return { runner, barriers, event, control, drain, w };
}

test('data runs go to every operator; a watermark fires both; outputs land in the output ring in operator order', () => {
  const { runner, event, control, drain } = setup();
  event(10, 0, 1, 2); event(11, 1, 2, 3); event(12, 2, 1, 4);
  control(CONTROL_WATERMARK, 20n, 0n);
  assert.is(runner.step(), 4);
  const out = drain();
  assert.is(out.length, 4);
  assert.equal(out.map((o) => [o.kind, o.op, o.key, o.values[0], o.values[1]]).sort(), [
    [OUT_WINDOW, 0, 1, 2, 6], [OUT_WINDOW, 0, 2, 1, 3], [OUT_WINDOW, 1, 1, 2, 6], [OUT_WINDOW, 1, 2, 1, 3],
  ]);
  assert.is(runner.produced, 4);
});

test('a barrier snapshots every operator after the outputs before it are out', () => {
  const { runner, barriers, event, control, drain } = setup();
  event(10, 0, 1, 2);
  control(CONTROL_WATERMARK, 20n, 0n);
  control(CONTROL_BARRIER, 20n, 99n);
  event(30, 1, 1, 5);
  runner.step();
  assert.is(barriers.length, 1);
  const b = barriers[0];
  assert.equal({ partition: b.partition, id: b.id, watermark: b.watermark, outputPosition: b.outputPosition, inputPosition: b.inputPosition }, { partition: 3, id: 99, watermark: 20n, outputPosition: 2, inputPosition: 2 });
  assert.is(b.states.length, 2);
  assert.is(drain().length, 2);
});

test('an unknown control kind is an error naming the partition and position', () => {
  const { runner, event, control } = setup();
  event(10, 0, 1, 2);
  control(7, 0n, 0n);
  assert.throws(() => runner.step(), /partition 3: unknown control record kind 7 at input position 1/);
});

test('a full output ring asks the owner to make room (a worker blocks; here it throws)', () => {
  const { runner, event, control } = setup(4);
  for (let k = 0; k < 5; k++) event(10, k, k, 1);
  control(CONTROL_WATERMARK, 20n, 0n);
  assert.throws(() => runner.step(), /output ring full/);
});

test('finish closes the output ring', () => {
  const { runner } = setup();
  runner.finish();
  assert.ok(runner.output.closed);
});

test.run();
