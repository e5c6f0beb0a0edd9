// The synthetic feed as a source: its batches carry a receive time from the
// same clock the pipeline measures latency against (host/ingest/receive_clock.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePipeline } from '../../../host/config/load.js';
import { receiveNowNs } from '../../../host/ingest/receive_clock.js';
import { createPipeline } from '../../../host/pipeline/pipeline.js';
import { SyntheticSource } from '../../../host/sources/synthetic_source.js';

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

test.run();
