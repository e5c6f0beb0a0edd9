// The tumbling window (host/operators/tumbling_window.ts) on N partitions
// equals the same operator run single-threaded over the same stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionSet, type OutputBatch } from '../../../host/partition/partition_set.js';
import { decodeOutputs } from '../../../host/partition/outputs.js';
import { createOperator, type OperatorConfig } from '../../../host/operators/registry.js';
import { inputStride, OUT_LATE, OUT_REVISION, OUT_WINDOW } from '../../../host/records.js';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { ReferenceRun } from '../../helpers/reference_run.js';

const FIELDS = 2;
const STRIDE = inputStride(FIELDS);
const OOO = 2_000n, EVERY = 100;
const WINDOW: OperatorConfig = { kind: 'tumbling', sizeNs: 10_000, valueField: 0, priceField: 0, qtyField: 1, capacity: 8192, allowedLatenessNs: 3_000 };

interface Ev { ts: bigint; seq: bigint; key: number; f: [number, number] }

function stream(seed: number, n: number): Ev[] {
  let s = seed >>> 0;
  const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  let clock = 5_000_000n;
  return Array.from({ length: n }, (_, i) => {
    clock += BigInt(Math.floor(rnd() * 40));
    const back = rnd() < 0.03 ? 8_000 : 1_500; // mostly within the bound, some late, some too late
    return { ts: clock - BigInt(Math.floor(rnd() * back)), seq: BigInt(i), key: Math.floor(rnd() * 300), f: [Math.round(rnd() * 1e4) / 8, 1 + Math.floor(rnd() * 9)] };
  });
}

const canon = (bytes: Uint8Array, count: number) => decodeOutputs(bytes, count).map((o) =>
  JSON.stringify([o.kind, o.op, o.key, o.aux, String(o.start), String(o.end), String(o.seq), ...Array.from(o.values, (v) => (Number.isNaN(v) ? 'NaN' : v))]));

function reference(evs: Ev[], finalWm: bigint): string[] {
  const rt = createPartitionRuntime(64 << 20);
  const op = createOperator(WINDOW, { op: 0, partition: 0, engine: 'js', memory: rt.memory, exports: rt.exports, alloc: rt.alloc, fieldCount: FIELDS, stride: STRIDE, maxBatch: 1 });
  const ref = new ReferenceRun(op, rt, STRIDE, canon);
  let maxTs = -(1n << 63n), lastWm = -(1n << 63n), since = 0;
  for (const e of evs) {
    ref.event(e.ts, e.seq, e.key, e.f);
    if (e.ts > maxTs) maxTs = e.ts;
    if (++since === EVERY) {
      since = 0;
      if (maxTs - OOO > lastWm) { lastWm = maxTs - OOO; ref.watermark(lastWm); }
    }
  }
  ref.watermark(finalWm);
  return ref.out;
}

test('tumbling window: 1 and 3 partitions equal the single-threaded reference (late events and revisions)', async () => {
  const evs = stream(2024, 40_000);
  const finalWm = evs.reduce((m, e) => (e.ts > m ? e.ts : m), 0n) + 1_000_000n;
  const ref = reference(evs, finalWm);
  const kinds = new Set(ref.map((l) => Number(l.slice(1, l.indexOf(',')))));
  assert.ok(kinds.has(OUT_WINDOW) && kinds.has(OUT_LATE) && kinds.has(OUT_REVISION), `kinds ${[...kinds]}`);
  const sorted = [...ref].sort();
  for (const partitions of [1, 3]) {
    const set = await PartitionSet.start({
      partitions, memoryBytes: 32 << 20,
      program: { fieldCount: FIELDS, operators: [WINDOW], inputCapacity: 4096, outputCapacity: 1024, maxBatch: 256 },
    });
    const out: string[] = [];
    set.on('output', (b: OutputBatch) => out.push(...canon(b.bytes, b.count)));
    // The same bounded-out-of-orderness watermarks as the reference, broadcast after every EVERY events.
    let maxTs = -(1n << 63n), lastWm = -(1n << 63n), since = 0;
    for (const e of evs) {
      let go = set.push(e.ts, e.seq, e.key, e.f);
      if (e.ts > maxTs) maxTs = e.ts;
      if (++since === EVERY) {
        since = 0;
        if (maxTs - OOO > lastWm) { lastWm = maxTs - OOO; set.watermark(lastWm); go = !set.paused; }
      }
      if (!go) await new Promise<void>((r) => set.once('resume', r));
    }
    set.watermark(finalWm);
    await set.drain();
    assert.is(out.length, ref.length, `${partitions} partitions: output count`);
    assert.equal(out.sort(), sorted, `${partitions} partitions`);
  }
});

test.run();
