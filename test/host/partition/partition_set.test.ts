import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionError, PartitionSet, type OutputBatch, type PartitionSetOptions } from '../../../host/partition/partition_set.js';
import { KEYSUM_MODULE, KeySumJs } from '../../helpers/keysum.js';
import { compileBenchModule } from '../../../bench/wasm.js';
import { inputStride, OUT_LATE, OUT_WINDOW, readOutput, writeInput } from '../../../host/records.js';
import { createPartitionRuntime, type GanglionExports } from '../../../host/wasm/module.js';
import { decodeOutputs } from '../../../host/partition/outputs.js';
import { ReferenceRun } from '../../helpers/reference_run.js';

const FIELDS = 1;
const STRIDE = inputStride(FIELDS);

type Ev = { ts: bigint; seq: bigint; key: number; v: number } | { watermark: bigint };

/** Seeded stream: 200 keys, event times jittered around a clock (out of order), some far behind (late). */
function stream(seed: number, events: number): Ev[] {
  let s = seed >>> 0;
  const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  const out: Ev[] = [];
  let clock = 1_000_000n, maxTs = 0n;
  for (let i = 0; i < events; i++) {
    clock += BigInt(Math.floor(rnd() * 20));
    const late = rnd() < 0.02;
    const ts = clock - BigInt(Math.floor(rnd() * (late ? 5000 : 800)));
    if (ts > maxTs) maxTs = ts;
    out.push({ ts, seq: BigInt(i), key: Math.floor(rnd() * 200), v: Math.round(rnd() * 10_000) / 16 });
    if (i % 257 === 256) out.push({ watermark: maxTs - 1000n });
  }
  out.push({ watermark: maxTs + 1n });
  return out;
}

/** PartitionSet.start with the keysum test operator: the bench module, and keysum registered in every worker. */
function startSet(o: PartitionSetOptions): Promise<PartitionSet> {
  return PartitionSet.start({ module: compileBenchModule(), ...o, program: { ...o.program, modules: [KEYSUM_MODULE, ...(o.program.modules ?? [])] } });
}

const canon = (bytes: Uint8Array, count: number) => decodeOutputs(bytes, count).map((o) =>
  JSON.stringify([o.kind, o.op, o.key, String(o.start), String(o.end), String(o.seq), o.values[0], o.values[1]]));

/** The single-threaded reference: the JS twin, in this thread, over the same stream. */
function reference(evs: Ev[]): string[] {
  const rt = createPartitionRuntime(16 << 20);
  const ctx = { op: 0, partition: 0, engine: 'js' as const, memory: rt.memory, exports: rt.exports as GanglionExports, alloc: rt.alloc, fieldCount: FIELDS, stride: STRIDE, maxBatch: 1 };
  const ref = new ReferenceRun(new KeySumJs(ctx, 0, 1024), rt, STRIDE, canon);
  for (const e of evs) {
    if ('watermark' in e) ref.watermark(e.watermark);
    else ref.event(e.ts, e.seq, e.key, [e.v]);
  }
  return ref.out;
}

async function runPartitioned(evs: Ev[], partitions: number, batched = false, extra: Partial<Parameters<typeof PartitionSet.start>[0]> = {}) {
  const set = await startSet({
    partitions, program: { fieldCount: FIELDS, operators: [{ kind: 'keysum', field: 0, slots: 1024 }], inputCapacity: 1024, outputCapacity: 256, maxBatch: 128 },
    memoryBytes: 8 << 20, ...extra,
  });
  const out: string[] = [];
  const perPartition = new Map<number, number>();
  set.on('output', (b: OutputBatch) => {
    assert.is(b.position, perPartition.get(b.partition) ?? 0, 'positions are contiguous per partition');
    perPartition.set(b.partition, b.position + b.count);
    out.push(...canon(b.bytes, b.count));
  });
  let pauses = 0;
  set.onPressure((p) => { if (p) pauses++; });
  // Raw-record path: events gathered into batches of input records, routed by pushRecords.
  const batch = new Uint8Array(64 * STRIDE);
  const bview = new DataView(batch.buffer);
  let inBatch = 0;
  const flushBatch = async () => {
    if (inBatch && !set.pushRecords(batch, inBatch)) await new Promise<void>((r) => set.once('resume', r));
    inBatch = 0;
  };
  for (const e of evs) {
    if (batched && !('watermark' in e)) {
      writeInput(bview, inBatch++ * STRIDE, e.ts, e.seq, e.key, [e.v]);
      if (inBatch === 64) await flushBatch();
      continue;
    }
    if (batched) await flushBatch();
    const ok = 'watermark' in e ? (set.watermark(e.watermark), !set.paused) : set.push(e.ts, e.seq, e.key, [e.v]);
    if (!ok) await new Promise<void>((r) => set.once('resume', r));
  }
  await flushBatch();
  await set.drain();
  return { out, pauses, metrics: set.metrics() };
}

test('N partitions on N threads equal the single-threaded reference (out-of-order and late events)', async () => {
  const evs = stream(12345, 30_000);
  const ref = reference(evs);
  assert.ok(ref.some((l) => l.startsWith(`[${OUT_LATE},`)), 'the stream has late events');
  assert.ok(ref.filter((l) => l.startsWith(`[${OUT_WINDOW},`)).length > 1000);
  const sorted = [...ref].sort();
  for (const [n, batched] of [[1, false], [3, false], [3, true]] as const) {
    const { out, metrics } = await runPartitioned(evs, n, batched);
    assert.is(out.length, ref.length, `${n} partitions: output count`);
    assert.equal(out.sort(), sorted, `${n} partitions${batched ? ' (pushRecords)' : ''}: outputs`);
    assert.is(metrics.reduce((a, m) => a + m.emitted, 0), ref.length);
  }
});

test('a deliberately slow consumer pauses the producer; memory stays bounded; every event arrives', async () => {
  const evs = stream(777, 20_000);
  const ref = reference(evs);
  const staging = 32;
  const set = await startSet({
    partitions: 2,
    program: {
      fieldCount: FIELDS, inputCapacity: 256, outputCapacity: 64, maxBatch: 64,
      operators: [{ kind: 'slow_keysum', field: 0, slots: 1024, sleepMs: 1 }],
      modules: [new URL('./fixtures/slow_operator.ts', import.meta.url).href],
    },
    memoryBytes: 4 << 20, stagingRecords: staging,
  });
  const out: string[] = [];
  set.on('output', (b: OutputBatch) => out.push(...canon(b.bytes, b.count)));
  let pauses = 0, resumes = 0, maxStaged = 0, maxFill = 0;
  set.on('pause', () => pauses++);
  set.on('resume', () => resumes++);
  for (const e of evs) {
    const ok = 'watermark' in e ? (set.watermark(e.watermark), !set.paused) : set.push(e.ts, e.seq, e.key, [e.v]);
    for (const m of set.metrics()) { maxStaged = Math.max(maxStaged, m.staged); maxFill = Math.max(maxFill, m.inputFill); }
    if (!ok) await new Promise<void>((r) => set.once('resume', r));
  }
  const metrics = set.metrics();
  await set.drain();
  assert.ok(pauses > 10, `paused ${pauses} times`);
  assert.is(resumes, pauses);
  assert.ok(maxStaged <= staging, `staging bounded: ${maxStaged}`);
  assert.ok(maxFill <= 256);
  assert.ok(metrics.some((m) => m.blockedMs > 0), 'blocked time is accounted');
  assert.equal(out.sort(), [...ref].sort(), 'every event arrives');
});

test('pushing on after pause fails loudly once staging is full (never a silent drop)', async () => {
  const set = await startSet({
    partitions: 1,
    program: { fieldCount: FIELDS, inputCapacity: 16, outputCapacity: 64, maxBatch: 16, operators: [{ kind: 'slow_keysum', field: 0, sleepMs: 50 }], modules: [new URL('./fixtures/slow_operator.ts', import.meta.url).href] },
    memoryBytes: 2 << 20, stagingRecords: 4,
  });
  let accepted = 0;
  assert.throws(() => { for (let i = 0; i < 100; i++) { set.push(BigInt(i), BigInt(i), 1, [1]); accepted++; } }, /partition 0: input ring \(16 records\) and staging \(4\) are full/);
  assert.is(accepted, 20, "ring + staging");
  await set.drain();
  assert.is(set.metrics()[0].accepted, 20);
});

test('barrier: every partition snapshots at the same stream point; outputs before it are before its position', async () => {
  const evs = stream(4242, 6_000);
  const cut = 3_000;
  const set = await startSet({ partitions: 2, program: { fieldCount: FIELDS, operators: [{ kind: 'keysum', field: 0, slots: 1024 }], inputCapacity: 1024, outputCapacity: 256, maxBatch: 100 }, memoryBytes: 8 << 20 });
  const outs: Array<{ p: number; pos: number; seq: bigint }> = [];
  set.on('output', (b: OutputBatch) => decodeOutputs(b.bytes, b.count).forEach((o, i) => outs.push({ p: b.partition, pos: b.position + i, seq: o.seq })));
  let barrier: Promise<Awaited<ReturnType<PartitionSet['barrier']>>> | undefined;
  let cutSeq = 0n;
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i];
    if (i === cut) { barrier = set.barrier(7); cutSeq = (evs.slice(0, i).filter((x) => 'seq' in x).pop() as { seq: bigint }).seq; }
    if ('watermark' in e) set.watermark(e.watermark); else set.push(e.ts, e.seq, e.key, [e.v]);
    if (set.paused) await new Promise<void>((r) => set.once('resume', r));
  }
  const snaps = await barrier!;
  await set.drain();
  assert.is(snaps.length, 2);
  for (const s of snaps) {
    assert.is(s.id, 7);
    assert.is(s.states.length, 1);
    assert.ok(s.states[0].byteLength > 0);
    const mine = outs.filter((o) => o.p === s.partition);
    assert.ok(mine.filter((o) => o.pos < s.outputPosition).every((o) => o.seq <= cutSeq), 'outputs before the barrier come from events before it');
    assert.ok(mine.some((o) => o.pos >= s.outputPosition && o.seq > cutSeq), 'and processing continues after it');
  }
});

/** Two partitions whose keysum table (2 slots) overflows in partition 1: drain() rejects with that partition's error, reported once. */
async function overflowPartition1(inline: boolean) {
  const set = await startSet({ inline, partitions: 2, program: { fieldCount: FIELDS, operators: [{ kind: 'keysum', field: 0, slots: 2 }], inputCapacity: 64, outputCapacity: 64, maxBatch: 16 }, memoryBytes: 2 << 20 });
  const errors: PartitionError[] = [];
  set.on('error', (e: PartitionError) => errors.push(e));
  const keys = Array.from({ length: 200 }, (_, k) => k).filter((k) => set.partitionOf(k) === 1).slice(0, 5);
  for (const k of keys) set.push(1n, 0n, k, [1]);
  const err = await set.drain().then(() => undefined, (e: unknown) => e);
  assert.instance(err, PartitionError);
  assert.is((err as PartitionError).partition, 1);
  assert.is(errors.length, 1);
  return { set, message: (err as PartitionError).message, errors };
}

test('a worker that throws is reported with its partition', async () => {
  const { set, message, errors } = await overflowPartition1(false);
  assert.match(message, /partition 1 worker died: keysum \(op 0\): key table full \(slots=2\)/);
  assert.is(errors[0].partition, 1);
  await set.terminate();
});

test('a bad operator config fails start with the partition and a precise message', async () => {
  const err = await startSet({ partitions: 1, program: { fieldCount: FIELDS, operators: [{ kind: 'nope' }] }, memoryBytes: 8 << 20 }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, PartitionError);
  assert.match(String((err as Error).message), /partition 0 worker died: unknown operator kind 'nope' \(known: .*keysum/);
});

// ── inline partitions: the same contract on the calling thread ──

test('inline: 1 and 3 partitions equal the single-threaded reference', async () => {
  const evs = stream(2024, 20_000);
  const sorted = reference(evs).sort();
  for (const [n, batched] of [[1, false], [3, true]] as const) {
    const { out, pauses, metrics } = await runPartitioned(evs, n, batched, { inline: true });
    assert.equal(out.sort(), sorted, `${n} inline partitions${batched ? ' (pushRecords)' : ''}`);
    assert.is(pauses, 0, 'a full ring is processed at once, never paused');
    assert.is(metrics.reduce((a, m) => a + m.emitted, 0), sorted.length);
  }
});

test('inline: outputs are out before push returns control to the event loop (same microtask turn)', async () => {
  const set = await startSet({ inline: true, partitions: 1, program: { fieldCount: FIELDS, operators: [{ kind: 'keysum', field: 0, slots: 64 }], inputCapacity: 16, outputCapacity: 8, maxBatch: 4 }, memoryBytes: 2 << 20 });
  const out: string[] = [];
  set.on('output', (b: OutputBatch) => out.push(...canon(b.bytes, b.count)));
  // 100 events through a 16-record ring and an 8-record output ring: both wrap many times.
  for (let i = 0; i < 100; i++) set.push(BigInt(1000 + i), BigInt(i), i % 7, [1]);
  set.watermark(100_000n);
  await Promise.resolve();
  assert.ok(out.length >= 7, `windows of 7 keys fired before any timer ran: ${out.length}`);
  await set.drain();
});

test('inline: a barrier snapshots after the outputs before it, synchronously', async () => {
  const set = await startSet({ inline: true, partitions: 2, program: { fieldCount: FIELDS, operators: [{ kind: 'keysum', field: 0, slots: 1024 }], inputCapacity: 64, outputCapacity: 64, maxBatch: 16 }, memoryBytes: 4 << 20 });
  let seen = 0;
  set.on('output', (b: OutputBatch) => { seen += b.count; });
  for (let i = 0; i < 500; i++) set.push(BigInt(i * 10), BigInt(i), i % 50, [i]);
  set.watermark(3_000n);
  const snaps = await set.barrier(3, 3_000n);
  assert.is(snaps.length, 2);
  assert.is(snaps.reduce((a, s) => a + s.outputPosition, 0), seen, 'every output before the barrier was handed on before it');
  assert.ok(snaps.every((s) => s.states[0].byteLength > 0));
  await set.drain();
});

test('inline: input pushed from an output listener waits in staging while the partition runs, then is processed (pause, resume, nothing lost)', async () => {
  const set = await startSet({ inline: true, partitions: 1, program: { fieldCount: FIELDS, operators: [{ kind: 'keysum', field: 0, slots: 1024 }], inputCapacity: 16, outputCapacity: 64, maxBatch: 4 }, memoryBytes: 2 << 20 });
  const counts = new Map<number, number>();
  const pending: number[] = [];
  let pauses = 0;
  set.on('pause', () => pauses++);
  const followUp = (key: number) => set.push(20_000n + BigInt(key), BigInt(1000 + key), key, [1]);
  // Every window of a first-generation key (< 100) pushes one event for key + 100, from inside the partition's run.
  set.on('output', (b: OutputBatch) => {
    for (const o of decodeOutputs(b.bytes, b.count)) {
      if (o.kind !== OUT_WINDOW) continue;
      counts.set(o.key, (counts.get(o.key) ?? 0) + o.values[0]);
      if (o.key < 100) { if (set.paused) pending.push(o.key + 100); else followUp(o.key + 100); }
    }
  });
  for (let k = 0; k < 30; k++) set.push(1000n + BigInt(k), BigInt(k), k, [1]);
  set.watermark(10_000n);
  await Promise.resolve();
  // 30 follow-ups into a 16-record ring while it runs: it cannot run again inside its own run, so the 17th is staged and the set pauses.
  assert.ok(pauses >= 1, 'the set paused');
  while (pending.length > 0) {
    if (set.paused) await new Promise<void>((r) => set.once('resume', r));
    else followUp(pending.shift()!);
  }
  set.watermark(30_000n);
  await set.drain();
  for (let k = 0; k < 30; k++) {
    assert.is(counts.get(k), 1, `key ${k}`);
    assert.is(counts.get(k + 100), 1, `follow-up key ${k + 100}`);
  }
  assert.is(set.metrics()[0].accepted, 30 + 30 + 2);
});

test('inline: an operator that throws fails the partition with its id; drain rejects', async () => {
  const { message } = await overflowPartition1(true);
  assert.match(message, /partition 1 failed: keysum \(op 0\): key table full \(slots=2\)/);
});

test('inline: a bad operator config fails start with the partition', async () => {
  const err = await startSet({ inline: true, partitions: 1, program: { fieldCount: FIELDS, operators: [{ kind: 'nope' }] }, memoryBytes: 8 << 20 }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, PartitionError);
  assert.match(String((err as Error).message), /partition 0 failed: unknown operator kind 'nope'/);
});

test('warmMemory faults in the laid-out pages (an atomic add of 0 each) and changes no output', async () => {
  const evs = stream(31337, 5_000);
  const sorted = reference(evs).sort();
  // A window table of 2^17 entries is laid out but, in fresh memory, never cleared: untouched until used.
  const ops = [{ kind: 'keysum', field: 0, slots: 1024 }, { kind: 'tumbling', sizeNs: 10_000, valueField: 0, capacity: 1 << 17 }];
  const set = await startSet({ inline: true, partitions: 1, program: { fieldCount: FIELDS, operators: ops, inputCapacity: 1 << 16, outputCapacity: 1024, maxBatch: 256 }, memoryBytes: 64 << 20 });
  const used = set.partitionInfo(0).layout.used!;
  assert.ok(used > 16 << 20, `a sizeable layout: ${used} bytes`);
  const before = process.memoryUsage().rss;
  await set.warmMemory(64);
  const grew = process.memoryUsage().rss - before;
  assert.ok(grew > 16 << 20, `RSS grew by ${grew} bytes for ${used} laid out`);
  const out: string[] = [];
  set.on('output', (b: OutputBatch) => { for (const l of canon(b.bytes, b.count)) if (JSON.parse(l)[1] === 0) out.push(l); });
  for (const e of evs) if ('watermark' in e) set.watermark(e.watermark); else set.push(e.ts, e.seq, e.key, [e.v]);
  await set.drain();
  assert.equal(out.sort(), sorted, 'the keysum outputs are those of the reference');
});

test('warmMemory also faults in the snapshot slab of a checkpointed program, so the first barrier only copies', async () => {
  const ops = [{ kind: 'tumbling', sizeNs: 10_000, valueField: 0, capacity: 1 << 17 }];
  const set = await startSet({ inline: true, partitions: 1, program: { fieldCount: FIELDS, operators: ops, inputCapacity: 1 << 12, outputCapacity: 1024, maxBatch: 256, checkpoints: true }, memoryBytes: 64 << 20 });
  const used = set.partitionInfo(0).layout.used!;
  const slab = set.snapshotSlabBytes(0);
  assert.ok(slab > 8 << 20, `a sizeable snapshot: ${slab} bytes`);
  const before = process.memoryUsage().rss;
  await set.warmMemory(64);
  const grew = process.memoryUsage().rss - before;
  assert.ok(grew > used + slab * 0.9, `RSS grew by ${grew} bytes for ${used} laid out and a ${slab}-byte snapshot`);
  set.push(1000n, 1n, 7, [2]);
  const [snap] = await set.barrier(1);
  assert.ok(snap.pauseMs < 200, `first barrier paused ${snap.pauseMs} ms`);
  await set.drain();
});

test.run();
