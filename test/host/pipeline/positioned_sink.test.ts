// The exactly-once contract of a sink is the PositionedSink interface, not
// JsonlSink: a sink of our own (lines in memory) gets its position committed
// by a checkpoint, is cut back to it on recovery, and after the log replay
// holds exactly the lines of an uninterrupted run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { parsePipeline } from '../../../host/config/load.js';
import { createPipeline, type Pipeline } from '../../../host/pipeline/pipeline.js';
import { CheckpointStore } from '../../../host/checkpoint/checkpoint_store.js';
import { serializeOutput, type OutputEvent } from '../../../host/output/format.js';
import { isPositioned, type PositionedSink } from '../../../host/sinks/output_sink.js';
import type { InputEvent } from '../../../host/config/types.js';
import { tempDir } from '../../helpers/tmp.js';

/** Lines in memory; its position is the line count. Survives a pipeline, like a file would. */
class MemorySink implements PositionedSink<number> {
  readonly lines: string[] = [];
  readonly truncations: number[] = [];
  constructor(readonly name: string) {}
  write(out: OutputEvent): void { this.lines.push(serializeOutput(out)); }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  position(): number { return this.lines.length; }
  truncate(position: number): void {
    assert.ok(Number.isInteger(position) && position <= this.lines.length, `truncate to ${position} of ${this.lines.length} lines`);
    this.truncations.push(position);
    this.lines.length = position;
  }
  truncateAll(): void { this.truncate(0); }
}

const config = () => parsePipeline(`
name: positioned
schema: { type: trades }
event_time: { out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - { type: window, name: vol, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }
sinks: []
delivery: { mode: exactly_once, checkpoint: { interval: 0s } }
partitions: inline
`, 'positioned.yaml');

const quiet = () => undefined;
const T0 = 1_767_623_400_000_000_000n;
const SECOND = 1_000_000_000n;
/**
 * One second of trades per batch (two keys), so each batch closes the window
 * before it, and a bad event (a dead letter) in every batch but 4: batch 3's
 * is the one sent again from the dead-letter file on recovery. (Dead letters
 * of two frames after the checkpoint are sent again together, ahead of the
 * replayed outputs between them: not yet byte-identical, so not here.)
 */
const batch = (s: number): InputEvent[] => [
  { ts: T0 + BigInt(s) * SECOND, instrument: 'AAPL', price: 190, qty: 100 + s, side: 'buy' },
  { ts: T0 + BigInt(s) * SECOND + 5n, instrument: 'MSFT', price: 400, qty: 7, side: 'sell' },
  ...(s === 4 ? [] : [{ ts: T0 + BigInt(s) * SECOND + 9n, instrument: 'AAPL', price: 'n/a', qty: 1, side: 'buy' } as unknown as InputEvent]),
];

async function push(p: Pipeline, from: number, to: number): Promise<void> {
  for (let s = from; s < to; s++) { await p.push(batch(s)); await p.drain(); }
}

test('the interface is what makes a sink positioned', () => {
  assert.ok(isPositioned(new MemorySink('m')));
  assert.not.ok(isPositioned({ name: 'plain', write() {}, flush: async () => {}, close: async () => {} }));
});

test('a positioned sink of our own: committed by the checkpoint, cut back on recovery, rewritten byte for byte', async () => {
  const ref = tempDir();
  const expected = new MemorySink('mem');
  const live: OutputEvent[] = [];
  const r = await createPipeline(config(), { dataDir: ref.path, noSources: true, sinks: [expected], log: quiet });
  r.subscribe((o) => live.push(o));
  await push(r, 0, 6);
  await r.finish();
  await r.close();
  assert.ok(expected.lines.some((l) => l.includes('"kind":"window"')) && expected.lines.some((l) => l.includes('"kind":"dead_letter"')));
  // Exactly-once: the positioned sink gets no wall-clock field, a live subscriber does.
  assert.not.ok(expected.lines.some((l) => l.includes('latency_ns')), 'no latency in a positioned sink of an exactly_once pipeline');
  assert.ok(live.some((o) => 'latency_ns' in o), 'subscribers still get latency');

  const dir = tempDir();
  const sink = new MemorySink('mem');
  const first = await createPipeline(config(), { dataDir: dir.path, noSources: true, sinks: [sink], log: quiet });
  await push(first, 0, 3);
  await first.checkpoint();
  const committed = sink.lines.length;
  await push(first, 3, 5);
  assert.ok(sink.lines.length > committed, 'outputs after the checkpoint reached the sink');
  // The process is lost here: no close, no final checkpoint. The log holds batches 3 and 4.
  const meta = new CheckpointStore(join(dir.path, 'checkpoints')).loadLatest()!.meta;
  assert.is((meta.sinks as Record<string, unknown>).mem, committed, 'the checkpoint committed the sink position at its barrier');

  const second = await createPipeline(config(), { dataDir: dir.path, noSources: true, sinks: [sink], log: quiet });
  assert.equal(sink.truncations, [committed], 'recovery cut the sink back to the committed position');
  await push(second, 5, 6);
  await second.finish();
  await second.close();
  // Dead letters carry their frame's receive time, which differs between the two runs (not within one).
  const unclocked = (lines: string[]) => lines.map((l) => l.replace(/"received_at":"[^"]*","received_at_ns":"\d+",/, ''));
  assert.equal(unclocked(sink.lines), unclocked(expected.lines), 'recovered output equals the uninterrupted run');
  await first.close().catch(() => undefined);
  ref.remove();
  dir.remove();
});

test.run();
