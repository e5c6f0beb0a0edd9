// The synthetic feed as a source: its batches carry a receive time from the
// same clock the pipeline measures latency against (host/ingest/receive_clock.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePipeline } from '../../../host/config/load.js';
import { receiveNowNs } from '../../../host/ingest/receive_clock.js';
import { createPipeline } from '../../../host/pipeline/pipeline.js';
import { SyntheticSource } from '../../../host/sources/synthetic_source.js';
import { SyntheticFeed } from '../../../host/sources/synthetic_feed.js';
import { RecordBatch } from '../../../host/codec/record_batch.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';

test('batches are stamped with the receive clock, to the nanosecond', async () => {
  const cfg = parsePipeline(`
name: stamps
sources: [{ type: synthetic, rate: 20000, instruments: 10, seed: 3 }]
schema: { type: trades }
operators: [{ type: zscore, name: pz, field: price }]
delivery: { mode: at_most_once }
partitions: inline
`, 'stamps.yaml');
  const p = await createPipeline(cfg, { noSources: true });
  const src = new SyntheticSource(cfg.sources[0] as Extract<(typeof cfg.sources)[0], { type: 'synthetic' }>, cfg, p.recordType, p.plan.fields.key, (k) => p.intern(k), p.recordType.stride);
  const stamps: Array<{ before: bigint; at: bigint; after: bigint }> = [];
  let before = receiveNowNs();
  src.start({
    ingestRecords: (_origin, _batch, at) => { stamps.push({ before, at, after: receiveNowNs() }); before = receiveNowNs(); return true; },
    sourceEnded: () => undefined,
  });
  while (stamps.length < 20) await new Promise((r) => setTimeout(r, 5));
  await src.close();
  await p.close();
  // Within the receive clock's own reading before and after each batch (Date.now() in ms would fall up to 1 ms behind it)…
  for (const s of stamps) assert.ok(s.before <= s.at && s.at <= s.after, `${s.before} ≤ ${s.at} ≤ ${s.after}`);
  // …and not whole milliseconds.
  assert.ok(stamps.some((s) => s.at % 1_000_000n !== 0n));
});

type SyntheticConfig = Extract<ReturnType<typeof parsePipeline>['sources'][0], { type: 'synthetic' }>;

// One key numbering for every run here, so records of separate runs compare byte for byte.
const keyIds = new Map<string, number>();
const intern = (k: string) => { let v = keyIds.get(k); if (v === undefined) keyIds.set(k, (v = keyIds.size)); return v; };

const resumeConfig = () => parsePipeline(`
name: resume
sources: [{ type: synthetic, rate: 200000, instruments: 300, seed: 3, start: "2026-01-05T14:30:00Z", anomalies: 0.001 }]
schema: { type: trades }
operators: [{ type: zscore, name: pz, field: price }]
delivery: { mode: at_most_once }
partitions: inline
`, 'resume.yaml');

/** Starts a source with `skip` (and a state file), collects the records it hands over until `until` of them, closes it. */
async function runSource(statePath: string, skip: number, until: number): Promise<{ records: Uint8Array[]; produced: number; startMs: number }> {
  const cfg = resumeConfig();
  const p = await createPipeline(cfg, { noSources: true });
  const stride = p.recordType.stride;
  const src = new SyntheticSource(cfg.sources[0] as SyntheticConfig, cfg, p.recordType, p.plan.fields.key, intern, stride, 0, statePath);
  const records: Uint8Array[] = [];
  const t = performance.now();
  src.start({
    ingestRecords: (_o, batch) => {
      for (let i = 0; i < batch.count; i++) records.push(new Uint8Array(batch.view.buffer, batch.view.byteOffset + i * stride, stride).slice());
      return true;
    },
    sourceEnded: () => undefined,
  }, skip);
  const startMs = performance.now() - t;
  while (records.length < until) await new Promise((r) => setTimeout(r, 5));
  await src.close();
  await p.close();
  return { records, produced: skip + records.length, startMs };
}

/** Records `from`..`from + n` of the uninterrupted feed. */
async function uninterrupted(from: number, n: number): Promise<Uint8Array[]> {
  const cfg = resumeConfig();
  const p = await createPipeline(cfg, { noSources: true });
  const stride = p.recordType.stride;
  const feed = SyntheticFeed.fromConfig(cfg, 0);
  const batch = new RecordBatch(stride, from + n);
  batch.ensure(from + n);
  assert.is(feed.fillRecords(batch.view, 0, from + n, p.recordType, p.plan.fields.key, intern), from + n);
  await p.close();
  return Array.from({ length: n }, (_, i) => new Uint8Array(batch.view.buffer, batch.view.byteOffset + (from + i) * stride, stride).slice());
}

test('a restart resumes the feed from its newest saved state the log covers, exactly, without regenerating what came before', async () => {
  const dir = tempDir('ganglion-feed-state-');
  try {
    const statePath = join(dir.path, 'feed-0.json');
    const first = await runSource(statePath, 0, 600_000); // saves a state every 250,000 events, and at close
    assert.ok(existsSync(statePath));
    const file = readFileSync(statePath, 'utf8');
    const saved = (JSON.parse(file) as { states: Array<{ produced: number }> }).states.map((st) => st.produced);
    assert.ok(saved.length === 3 && saved[0] >= 250_000 && saved[1] - saved[0] >= 250_000 && saved[2] === first.produced, `states after ${saved.join(', ')} events: one per 250,000 and one at close`);
    // As after a clean stop: the log holds every event handed over.
    const clean = await runSource(statePath, first.produced, 1000);
    assert.equal(clean.records.slice(0, 1000), await uninterrupted(first.produced, 1000));
    // As after a crash: the log ends before the newest state (its last events were never made durable).
    writeFileSync(statePath, file);
    const logged = first.produced - 1234;
    const crashed = await runSource(statePath, logged, 1000);
    assert.equal(crashed.records.slice(0, 1000), await uninterrupted(logged, 1000));
    // From a state at exactly the log's end nothing is regenerated; a state of
    // another feed is not used (the feed is regenerated from its start, still exactly).
    writeFileSync(statePath, file);
    const fromState = await runSource(statePath, saved[1], 10);
    const parsed = JSON.parse(file) as { feed: string };
    writeFileSync(statePath, JSON.stringify({ ...parsed, feed: parsed.feed.replace('"seed":3', '"seed":4') }));
    const regenerated = await runSource(statePath, saved[1], 10);
    const expected = await uninterrupted(saved[1], 10);
    assert.equal(fromState.records.slice(0, 10), expected);
    assert.equal(regenerated.records.slice(0, 10), expected);
    assert.ok(fromState.startMs < regenerated.startMs / 5, `start ${fromState.startMs.toFixed(0)} ms from a state, ${regenerated.startMs.toFixed(0)} ms regenerating`);
  } finally {
    dir.remove();
  }
});

test.run();
