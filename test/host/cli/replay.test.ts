// Replay: pure parts first; the end-to-end cases run the real runtime
// (host/pipeline/pipeline.ts) and must fail while it is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalOrder, replayCommand, replayConfig } from '../../../host/cli/replay.js';
import { parsePipeline } from '../../../host/config/load.js';
import { SyntheticFeed } from '../../../host/sources/synthetic_feed.js';
import type { OutputEvent } from '../../../host/output/format.js';

const PIPELINE = `name: replay_test
sources: [{ type: synthetic, seed: 5 }]
schema: { type: trades }
event_time: { out_of_orderness: 100ms, allowed_lateness: 200ms }
operators:
  - { name: vwap_100ms, type: window, window: tumbling, size: 100ms, field: price, weight: qty, aggregates: [count, vwap, max] }
  - { name: price_z, type: zscore, field: price, threshold: 5, min_samples: 20 }
sinks: [{ type: jsonl, path: /nonexistent/never.jsonl }]
server: { port: 9999 }
`;

function fixture(events = 20_000) {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-replay-'));
  const pipeline = join(dir, 'p.yaml');
  writeFileSync(pipeline, PIPELINE);
  const feed = new SyntheticFeed({ kind: 'trades', seed: 5, instruments: 50, zipf: 1.1, rate: 20_000, startNs: 1_767_623_400_000_000_000n, outOfOrder: 0.02, maxDelayNs: 50_000_000n, late: 0.002, lateByNs: 1_000_000_000n, anomalies: 0.002, events });
  const lines = feed.take(events).map((e) => JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  const input = join(dir, 'events.jsonl');
  writeFileSync(input, lines.join('\n') + '\n');
  return { dir, pipeline, input };
}

test('the replay config reads only the input and writes only to the replay', () => {
  const c = replayConfig(parsePipeline(PIPELINE, 'p.yaml'), 'in.jsonl', 'jsonl', 1);
  assert.equal(c.sources, [{ type: 'file', path: 'in.jsonl', format: 'jsonl' }]);
  assert.equal(c.sinks, []);
  assert.is(c.server, undefined);
  assert.is(c.partitions, 1);
  assert.is(c.delivery.mode, 'at_most_once');
  assert.is(c.operators.length, 2);
});

test('canonical order: event time, then id', () => {
  const w = (end: string, id: string): OutputEvent => ({ id, kind: 'window', op: 'w', key: 'k', window: { start: '', end: '', start_ns: '0', end_ns: end }, values: {}, seq: '0' });
  const a = { id: 'z-anomaly-k-5-1', kind: 'anomaly', op: 'z', key: 'k', ts: '', ts_ns: '5', value: 1, seq: '1' } as OutputEvent;
  const sorted = [w('10', 'b'), a, w('10', 'a'), w('2', 'c')].sort(canonicalOrder).map((o) => o.id);
  assert.equal(sorted, ['c', 'z-anomaly-k-5-1', 'a', 'b']);
});

test('bad arguments are one clear line and exit 1, before any runtime starts', async () => {
  const { pipeline, dir } = fixture(10);
  const errs: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    assert.is(await replayCommand({ pipeline, input: join(dir, 'missing.jsonl') }), 1);
    assert.is(await replayCommand({ pipeline, input: join(dir, 'events.jsonl'), format: 'csv' }), 1);
    assert.is(await replayCommand({ pipeline, input: join(dir, 'events.jsonl'), partitions: '0' }), 1);
  } finally {
    process.stderr.write = write;
    process.exitCode = 0;
  }
  assert.equal(errs, [
    `--input: cannot read ${join(dir, 'missing.jsonl')}: file not found\n`,
    '--format: expected jsonl or flatbuffers, found "csv"\n',
    '--partitions: expected a whole number of at least 1, found "0"\n',
  ]);
});

test('end to end with the runtime: same input, byte-identical output with windows, anomalies and late events', async () => {
  const { dir, pipeline, input } = fixture();
  const a = join(dir, 'a.jsonl'), b = join(dir, 'b.jsonl');
  assert.is(await replayCommand({ pipeline, input, output: a }), 0);
  assert.is(await replayCommand({ pipeline, input, output: b }), 0);
  const textA = readFileSync(a, 'utf8');
  assert.is(readFileSync(b, 'utf8'), textA);
  const outs = textA.trim().split('\n').map((l) => JSON.parse(l) as OutputEvent);
  const kinds = new Set(outs.map((o) => o.kind));
  assert.ok(kinds.has('window') && kinds.has('anomaly') && kinds.has('late'), [...kinds].join(','));
  assert.ok(outs.every((o) => !('latency_ns' in o)));
  assert.is(new Set(outs.map((o) => o.id)).size, outs.length);
  // Two partitions, canonical order: the same outputs.
  const c = join(dir, 'c.jsonl');
  assert.is(await replayCommand({ pipeline, input, output: c, partitions: 2 }), 0);
  assert.equal(readFileSync(c, 'utf8').trim().split('\n').sort(), textA.trim().split('\n').sort());
});

test.run();
