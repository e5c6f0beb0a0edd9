// What the parity tests of the keyed one-region operators (zscore, limit_check
// and dedup, next to this file) share: a seeded generator, the record layout
// of their streams, running the wasm engine and the JS twin side by
// side over one stream cut into random batches, and checking that both
// emitted the same bytes batch by batch and hold the same region.
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { OUT_BYTES, inputStride } from '../../host/records.js';
import type { Engine, Operator } from '../../host/operators/operator.js';

export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stream records: 3 f64 fields (the checked value is field 1). */
export const FIELDS = 3;
export const STRIDE = inputStride(FIELDS);
export const T0 = 1732424400_000_000_000n;

/** Writes `n` events at byte `at`: the test's own stream. */
export type WriteStream = (view: DataView, at: number, n: number, keys: number, seed: number) => void;

export interface RegionOp extends Operator {
  readonly base: number;
  counters(): object;
}

export type Runtime = ReturnType<typeof createPartitionRuntime>;

/** Both engines after one stream: ops[0] wasm, ops[1] js, and what each emitted, batch by batch. */
export interface BothRun<O extends RegionOp> { ops: O[]; outs: number[][][]; u8: Uint8Array }

/** Moves an operator's pending outputs, as bytes, into `into` (one entry per call), and clears them. */
export function drain(op: Operator, u8: Uint8Array, into: number[][]): void {
  const { ptr, count } = op.output();
  into.push(Array.from(u8.subarray(ptr, ptr + count * OUT_BYTES)));
  op.clearOutput();
}

/** The stream through both engines (wasm first) in the same random batches; outputs drained after every batch. */
export function runBoth<O extends RegionOp>(create: (engine: Engine, rt: Runtime) => O, memoryBytes: number,
  writeStream: WriteStream, events: number, keys: number, seed: number): BothRun<O> {
  const rt = createPartitionRuntime(memoryBytes);
  const input = rt.alloc.alloc(events * STRIDE);
  writeStream(new DataView(rt.memory.buffer), input, events, keys, seed);
  const u8 = new Uint8Array(rt.memory.buffer);
  const ops = [create('wasm', rt), create('js', rt)];
  const outs: number[][][] = [[], []];
  const rnd = mulberry32(seed ^ 0x5eed);
  for (let done = 0; done < events;) {
    const batch = Math.min(events - done, 1 + Math.floor(rnd() * 700));
    ops.forEach((op, e) => { op.process(input + done * STRIDE, batch, STRIDE); drain(op, u8, outs[e]); });
    done += batch;
  }
  return { ops, outs, u8 };
}

/**
 * Both engines emitted the same bytes in every batch (more than `minRecords`
 * records in all), count and hold the same, and their whole regions (state
 * table included) are the same bytes.
 */
export function assertParity({ ops, outs, u8 }: BothRun<RegionOp>, minRecords: number): void {
  const [w, j] = outs;
  assert.is(w.length, j.length);
  let records = 0;
  for (let b = 0; b < w.length; b++) {
    records += w[b].length / OUT_BYTES;
    if (w[b].length !== j[b].length || w[b].some((x, i) => x !== j[b][i])) {
      assert.unreachable(`batch ${b}: wasm emitted ${w[b].length / OUT_BYTES} records, js ${j[b].length / OUT_BYTES}, bytes differ`);
    }
  }
  assert.ok(records > minRecords, `only ${records} outputs: the stream does not exercise the check`);
  assert.equal(ops[0].counters(), ops[1].counters());
  assert.equal(ops[0].stats(), ops[1].stats());
  const a = u8.subarray(ops[0].base, ops[0].base + ops[0].stats().bytes);
  const b = u8.subarray(ops[1].base, ops[1].base + ops[1].stats().bytes);
  assert.ok(a.every((x, i) => x === b[i]), 'regions differ');
}
