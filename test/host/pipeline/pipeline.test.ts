import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePipeline } from '../../../host/config/load.js';
import { createPipeline, type Pipeline } from '../../../host/pipeline/pipeline.js';
import type { OutputEvent } from '../../../host/output/format.js';
import { tempDir } from '../../helpers/tmp.js';

function config(dir: string, extra: { partitions?: number; mode?: string; events?: number; out?: string } = {}) {
  return parsePipeline(`
name: t
sources:
  - { type: synthetic, rate: 0, events: ${extra.events ?? 150000}, instruments: 50, seed: 11, start: "2026-01-05T14:30:00Z", out_of_order: 0.05, late: 0.002, anomalies: 0.001 }
schema: { type: trades }
event_time: { out_of_orderness: 20ms, allowed_lateness: 50ms, idle_timeout: 0s }
operators:
  - { type: window, name: vwap, window: tumbling, size: 10ms, field: price, weight: qty, aggregates: [count, sum, min, max, vwap] }
  - { type: zscore, name: pz, field: price, threshold: 4, min_samples: 20 }
sinks:
  - { type: jsonl, path: ${join(dir, extra.out ?? 'out.jsonl')} }
delivery: { mode: ${extra.mode ?? 'at_most_once'}, checkpoint: { interval: 0s } }
partitions: ${extra.partitions ?? 1}
`, 't.yaml');
}

async function runToEnd(p: Pipeline): Promise<OutputEvent[]> {
  const outs: OutputEvent[] = [];
  p.subscribe((o) => outs.push(o));
  await p.sourcesEnded();
  await p.finish();
  await p.close();
  return outs;
}

const canon = (outs: OutputEvent[]) => outs.map((o) => { const { latency_ns: _l, ...rest } = o as OutputEvent & { latency_ns?: number }; return JSON.stringify(rest); }).sort();

test('three partitions produce exactly the outputs of one, and the same bytes run after run', async () => {
  const dir = tempDir();
  const one = await runToEnd(await createPipeline(config(dir.path, { partitions: 1 }), { dataDir: dir.path }));
  const kinds = new Set(one.map((o) => o.kind));
  for (const k of ['window', 'revision', 'late', 'anomaly']) assert.ok(kinds.has(k as OutputEvent['kind']), `the stream exercises ${k}`);
  const three = await runToEnd(await createPipeline(config(dir.path, { partitions: 3, out: 'a.jsonl' }), { dataDir: dir.path }));
  assert.equal(canon(three), canon(one));
  // Live (at-most-once) outputs carry a wall-clock latency_ns; all else is the same, in the same order.
  const lines = (f: string) => readFileSync(join(dir.path, f), 'utf8').replace(/,"latency_ns":\d+/g, '');
  await runToEnd(await createPipeline(config(dir.path, { partitions: 3, out: 'b.jsonl' }), { dataDir: dir.path }));
  assert.ok(lines('a.jsonl').length > 1000 && lines('b.jsonl') === lines('a.jsonl'), 'identical order and content across runs with 3 partitions');
  dir.remove();
});

test('exactly-once: a checkpoint, a lost process and a restart write the uninterrupted bytes', async () => {
  const ref = tempDir();
  await runToEnd(await createPipeline(config(ref.path, { partitions: 2, mode: 'exactly_once' }), { dataDir: ref.path }));
  const expected = readFileSync(join(ref.path, 'out.jsonl'));
  assert.ok(expected.length > 1000);

  const dir = tempDir();
  const cfg = config(dir.path, { partitions: 2, mode: 'exactly_once' });
  const first = await createPipeline(cfg, { dataDir: dir.path });
  await new Promise((r) => setTimeout(r, 150));
  await first.checkpoint();
  assert.ok(first.stats().checkpoints === 1);
  // Simulate a crash after the checkpoint: outputs past it are on disk, state is gone.
  await first.close();
  const second = await createPipeline(cfg, { dataDir: dir.path });
  await runToEnd(second);
  assert.ok(readFileSync(join(dir.path, 'out.jsonl')).equals(expected), 'recovered output equals the uninterrupted run');
  ref.remove();
  dir.remove();
});

test('library push: events in, outputs out, bad events to the dead-letter output', async () => {
  const dir = tempDir();
  const cfg = parsePipeline(`
name: lib
sources: [{ type: synthetic, rate: 1, events: 1, seed: 1 }]
schema: { type: trades }
event_time: { out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - { type: window, name: vol, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }
sinks: []
delivery: { mode: at_most_once }
partitions: 1
`, 'lib.yaml');
  const p = await createPipeline(cfg, { dataDir: dir.path, noSources: true });
  const outs: OutputEvent[] = [];
  p.subscribe((o) => outs.push(o));
  const t0 = 1_767_623_400_000_000_000n;
  await p.push([
    { ts: t0, instrument: 'AAPL', price: 190, qty: 100, side: 'buy' },
    { ts: t0 + 1n, instrument: 'AAPL', price: 191, qty: 50, side: 'sell' },
    { ts: t0 + 2n, instrument: 'AAPL', price: 'n/a', qty: 5, side: 'buy' },
    { ts: t0 + 2_000_000_000n, instrument: 'MSFT', price: 400, qty: 1, side: 'buy' },
  ]);
  await p.drain();
  await p.close();
  const windows = outs.filter((o) => o.kind === 'window');
  assert.is(windows.length, 1);
  assert.equal((windows[0] as { values: unknown }).values, { count: 2, sum: 150 });
  assert.is(outs.filter((o) => o.kind === 'dead_letter').length, 1);
  dir.remove();
});

test('validation.on_invalid: reject refuses a frame with an invalid event whole; dead_letter keeps the good events', async () => {
  for (const mode of ['reject', 'dead_letter'] as const) {
    const p = await createPipeline(parsePipeline(`
name: oi
schema: { type: trades }
validation: { ranges: { price: { min: 0 } }, on_invalid: ${mode} }
operators: [{ type: window, name: n, window: tumbling, size: 1s, field: qty, aggregates: [count] }]
sinks: []
delivery: { mode: at_most_once }
partitions: 1
`, 'oi.yaml'), { noSources: true });
    const counts: number[] = [];
    p.subscribe((o) => { if (o.kind === 'window') counts.push(o.values.count as number); });
    const t = 1767623400000;
    const frame = (lines: string[]) => p.pushFrame({ data: Buffer.from(lines.join('\n')), binary: false, origin: 'test', receivedAtNs: 0n });
    const mixed = await frame([`{"ts":${t},"instrument":"A","price":1,"qty":1}`, `{"ts":${t},"instrument":"A","price":-5,"qty":1}`, `{"ts":${t},"instrument":"A","price":2,"qty":1}`]);
    const good = await frame([`{"ts":${t + 1},"instrument":"A","price":3,"qty":1}`]);
    await p.finish();
    await p.close();
    if (mode === 'reject') {
      assert.equal(mixed, { accepted: 0, rejected: 3 });
      assert.equal(counts, [1], 'only the good frame was counted');
    } else {
      assert.equal(mixed, { accepted: 2, rejected: 1 });
      assert.equal(counts, [3]);
    }
    assert.equal(good, { accepted: 1, rejected: 0 });
  }
});

test.run();
