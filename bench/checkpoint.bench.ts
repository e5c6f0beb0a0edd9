// Checkpoint and recovery costs (issue: durable ingest log, checkpoints,
// recovery and exactly-once output):
//   - pause: how long a partition stops processing for a barrier over ~100 MB
//     of operator state (the snapshot copy), measured in the worker's own
//     terms: barrier broadcast → snapshot handed back;
//   - durable: snapshot → checkpoint file written, fsynced and renamed;
//   - restart: checkpoint file → a new partition set restored and ready;
//   - exactly-once throughput against at-most-once on the same pipeline.
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionSet } from '../host/partition/partition_set.js';
import { CheckpointStore } from '../host/checkpoint/checkpoint_store.js';
import { inputStride, writeInput } from '../host/records.js';
import { parsePipeline } from '../host/config/load.js';
import { createPipeline } from '../host/pipeline/pipeline.js';
import { compared, type BenchContext, type BenchResult } from './lib.js';

const operators = [
  { kind: 'tumbling', valueField: 0, capacity: 1 << 18, sizeNs: 1_000_000_000n },
  { kind: 'tumbling', valueField: 1, capacity: 1 << 17, sizeNs: 60_000_000_000n },
];

async function fill(set: PartitionSet, events: number, keys: number): Promise<void> {
  const stride = inputStride(2);
  const batch = new Uint8Array(stride * 4096);
  const view = new DataView(batch.buffer);
  let ts = 1_767_623_400_000_000_000n;
  for (let done = 0; done < events; done += 4096) {
    for (let i = 0; i < 4096; i++) writeInput(view, i * stride, ts++, BigInt(done + i + 1), ((done + i) * 2654435761) % keys + 1, [100 + (i % 7), i % 13]);
    set.pushRecords(batch, 4096);
    if (set.paused) await new Promise((r) => set.once('resume', r));
  }
}

async function stateCheckpoint(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-ckpt-bench-'));
  const program = { fieldCount: 2, operators, maxBatch: 1024, checkpoints: true };
  // --quick: three barriers, so the median is not the first (which faults in the
  // snapshot buffer), and one restart (seconds of page faults).
  const rounds = ctx.quick ? 3 : 5;
  const restartRounds = ctx.quick ? 1 : rounds;
  const pauses: number[] = [], durables: number[] = [], restarts: number[] = [];
  let bytes = 0;
  try {
    const set = await PartitionSet.start({ partitions: 1, memoryBytes: 192 << 20, program });
    set.on('output', () => undefined);
    await fill(set, ctx.quick ? 100_000 : 1_000_000, 150_000);
    const store = new CheckpointStore(dir, 2);
    while (set.metrics()[0].inputFill > 0) await new Promise((r) => setTimeout(r, 5));
    // Warming (memory and snapshot slab, started by the first push) takes a
    // while for this much state; a service's first checkpoint comes after it.
    await set.warmMemory();
    for (let r = 1; r <= rounds; r++) {
      const snaps = await set.barrier(r);
      const t1 = performance.now();
      const sections = new Map<string, Uint8Array>();
      snaps[0].states.forEach((s, i) => sections.set(`p0/op${i}`, s));
      bytes = [...sections.values()].reduce((n, s) => n + s.length, 0);
      await store.write({ id: r, createdAt: new Date().toISOString(), logSeq: '0' }, sections);
      const t2 = performance.now();
      pauses.push(snaps[0].pauseMs);
      durables.push(t2 - t1);
    }
    await set.drain();
    for (let r = 0; r < restartRounds; r++) {
      const t0 = performance.now();
      const ckpt = store.loadLatest()!;
      const restore = [operators.map((_, i) => ckpt.sections.get(`p0/op${i}`)!)];
      const again = await PartitionSet.start({ partitions: 1, memoryBytes: 192 << 20, program: { ...program, restore } });
      restarts.push(performance.now() - t0);
      await again.drain();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const mb = (bytes / 1e6).toFixed(0);
  return [
    { name: `checkpoint: processing paused for ${mb} MB of state (state copy in the worker)`, unit: 'ms', value: med(pauses), note: `target ≤ 50 ms; all: ${pauses.map((p) => p.toFixed(1)).join(', ')}` },
    { name: `checkpoint: ${mb} MB durable on disk (write + fsync + rename)`, unit: 'ms', value: med(durables), note: 'target ≤ 2000 ms' },
    { name: `recovery: ${mb} MB checkpoint → partitions restored and ready`, unit: 'ms', value: med(restarts), note: 'target ≤ 2000 ms' },
  ];
}

function pipelineYaml(mode: string, events: number, out: string): string {
  return `
name: ckpt_bench
sources: [{ type: synthetic, rate: 0, events: ${events}, instruments: 2000, seed: 3, start: "2026-01-05T14:30:00Z" }]
schema: { type: trades }
event_time: { out_of_orderness: 100ms, allowed_lateness: 1s, idle_timeout: 0s }
operators:
  - { type: window, name: vwap, window: tumbling, size: 1s, field: price, weight: qty, aggregates: [count, vwap, min, max] }
  - { type: zscore, name: pz, field: price, threshold: 6, min_samples: 50 }
sinks: [{ type: jsonl, path: ${out} }]
delivery: { mode: ${mode}, checkpoint: { interval: 1s } }
partitions: 1
`;
}

async function modeThroughput(mode: string, events: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-mode-bench-'));
  try {
    const p = await createPipeline(parsePipeline(pipelineYaml(mode, events, join(dir, 'out.jsonl')), 'bench.yaml'), { dataDir: dir, log: () => undefined });
    const t0 = performance.now();
    await p.sourcesEnded();
    await p.finish();
    const secs = (performance.now() - t0) / 1000;
    await p.close();
    return events / secs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function deliveryModes(ctx: BenchContext): Promise<BenchResult[]> {
  const events = ctx.quick ? 300_000 : 2_000_000;
  const rounds = ctx.quick ? 1 : 3;
  const once: number[] = [], most: number[] = [];
  for (let r = 0; r < rounds; r++) {
    most.push(await modeThroughput('at_most_once', events));
    once.push(await modeThroughput('exactly_once', events));
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return [compared('pipeline throughput, exactly_once (log + 1 s checkpoints)', 'events/s', med(once), 'at_most_once', med(most), 'target ratio ≥ 0.90')];
}

export default async function checkpoint(ctx: BenchContext): Promise<BenchResult[]> {
  return [...(await stateCheckpoint(ctx)), ...(await deliveryModes(ctx))];
}
