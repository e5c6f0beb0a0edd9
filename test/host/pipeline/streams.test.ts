// Two input streams on the library path: push() names the stream; each stream
// keeps its own watermark, so quotes far ahead in event time never close a
// trades window; a quiet stream's watermark follows the wall clock after its
// idle_timeout while the other stream keeps flowing; a late event carries the
// fields of its own stream; checkpoints carry every stream's clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePipeline } from '../../../host/config/load.js';
import { createPipeline } from '../../../host/pipeline/pipeline.js';
import type { OutputEvent as AnyOutput } from '../../../host/output/format.js';

type OutputEvent = AnyOutput & { op?: string };
import { tempDir } from '../../helpers/tmp.js';

const yaml = (mode: string, partitions: number | string, tradesIdle = '300ms') => `
name: lib_streams
streams:
  trades: { schema: { type: trades }, event_time: { unit: ms, out_of_orderness: 0s, idle_timeout: ${tradesIdle} } }
  quotes: { schema: { type: quotes }, event_time: { unit: ms, out_of_orderness: 0s, idle_timeout: 0s } }
operators:
  - { name: px, type: window, window: tumbling, size: 100ms, field: price, aggregates: [count, sum] }
  - { name: ask, type: window, window: tumbling, size: 100ms, field: ask, input: quotes, aggregates: [count, max] }
delivery: { mode: ${mode}, checkpoint: { interval: 0s } }
partitions: ${partitions}
`;

const T0 = Date.parse('2026-01-05T14:30:00Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a trades window waits for the trades watermark, not the quotes one; an idle trades stream follows the clock', async () => {
  const p = await createPipeline(parsePipeline(yaml('at_most_once', 2), 'p.yaml'), { noSources: true });
  const outs: OutputEvent[] = [];
  p.subscribe((o) => outs.push(o));
  await p.push([{ ts: T0 + 10, instrument: 'AAPL', price: 100, qty: 1 }, { ts: T0 + 20, instrument: 'AAPL', price: 101, qty: 1 }]);
  // Quotes run ten seconds ahead: their windows close, the trades window stays open.
  for (let i = 0; i < 5; i++) {
    await p.push([{ ts: T0 + 10_000 + i * 100, instrument: 'AAPL', bid: 99, ask: 100 + i, bid_size: 1, ask_size: 1 }], 'quotes');
    await p.drain();
  }
  assert.ok(outs.some((o) => o.kind === 'window' && o.op === 'ask'), 'quotes windows fired');
  assert.not.ok(outs.some((o) => o.op === 'px'), 'no trades window yet: its stream is at 20 ms');
  // Trades quiet for 300 ms (+ the 100 ms of the window): their watermark follows the clock and the window fires.
  const deadline = Date.now() + 5000;
  while (!outs.some((o) => o.op === 'px') && Date.now() < deadline) {
    await p.push([{ ts: T0 + 11_000, instrument: 'MSFT', bid: 1, ask: 2, bid_size: 1, ask_size: 1 }], 'quotes');
    await sleep(50);
  }
  const px = outs.filter((o) => o.op === 'px');
  assert.is(px.length, 1);
  assert.equal((px[0] as { values: Record<string, number> }).values, { count: 2, sum: 201 });
  let refused: Error | undefined;
  try { await p.push([{ ts: 1 }], 'nope'); } catch (e) { refused = e as Error; }
  assert.match(refused?.message ?? '', /no input stream 'nope'/);
  assert.throws(() => p.streamIndex('nope'), /no input stream 'nope' \(streams: trades, quotes\)/);
  await p.close();
});

test('a late quote carries the quote fields; a checkpoint and a restart keep each stream where it was', async () => {
  const dir = tempDir();
  // No idle timeout here: a slow machine must not move the trades watermark by the clock between the two lives.
  const cfg = parsePipeline(yaml('exactly_once', 1, '0s'), 'p.yaml');
  const p = await createPipeline(cfg, { dataDir: dir.path, noSources: true });
  const outs: OutputEvent[] = [];
  p.subscribe((o) => outs.push(o));
  await p.push([{ ts: T0 + 1000, instrument: 'AAPL', price: 100, qty: 1 }]);
  await p.push([{ ts: T0 + 5000, instrument: 'AAPL', bid: 99, ask: 100, bid_size: 1, ask_size: 1 }], 'quotes');
  await p.push([{ ts: T0 + 100, instrument: 'AAPL', bid: 98, ask: 97.5, bid_size: 1, ask_size: 1 }], 'quotes');
  await p.drain();
  const late = outs.find((o) => o.kind === 'late') as { op: string; fields: Record<string, number | null> } | undefined;
  assert.ok(late, 'the quote behind the quotes watermark is late');
  assert.is(late!.op, 'ask');
  assert.is(late!.fields.ask, 97.5);
  assert.not.ok('price' in late!.fields, 'quote fields, not trade fields');
  await p.checkpoint();
  await p.close();

  // Restarted: trades are still at 1 s, quotes at 5 s; a trade at 1.05 s is on time, a quote at 4 s is late.
  const q = await createPipeline(cfg, { dataDir: dir.path, noSources: true });
  const again: OutputEvent[] = [];
  q.subscribe((o) => again.push(o));
  await q.push([{ ts: T0 + 1050, instrument: 'AAPL', price: 102, qty: 1 }]);
  await q.push([{ ts: T0 + 4000, instrument: 'AAPL', bid: 1, ask: 2, bid_size: 1, ask_size: 1 }], 'quotes');
  await q.finish();
  await q.close();
  assert.equal(again.filter((o) => o.kind === 'late').map((o) => (o as { op: string }).op), ['ask']);
  const px = again.filter((o) => o.op === 'px' && o.kind === 'window') as Array<{ values: Record<string, number> }>;
  assert.equal(px.map((o) => o.values), [{ count: 2, sum: 202 }], 'the trades window held the trade from before the restart');
  dir.remove();
});

test.run();
