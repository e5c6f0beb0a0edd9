// Events replayed from the ingest log at recovery have no receive time of
// this run: their epochs record no latency, however large the logged entry
// (an entry over the dispatch slice is cut into several epochs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePipeline } from '../../../host/config/load.js';
import { createPipeline } from '../../../host/pipeline/pipeline.js';
import type { Metrics } from '../../../host/metrics/metrics.js';
import type { InputEvent } from '../../../host/config/types.js';
import { tempDir } from '../../helpers/tmp.js';

const config = () => parsePipeline(`
name: replay_latency
schema: { type: trades }
event_time: { out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - { type: window, name: vol, window: tumbling, size: 1s, field: qty, aggregates: [count] }
sinks: []
delivery: { mode: exactly_once, checkpoint: { interval: 0s } }
partitions: inline
`, 'replay_latency.yaml');

/** Metrics that count the events recorded with a latency, and take everything else. */
function latencyCounter(): { metrics: Metrics; events: () => number } {
  let events = 0;
  const metrics = new Proxy({}, {
    get: (_t, name) => (name === 'recordLatencyNs' ? (_ns: number, count = 1) => { events += count; } : () => undefined),
  }) as unknown as Metrics;
  return { metrics, events: () => events };
}

test('a replayed entry larger than a dispatch slice records no latency', async () => {
  const dir = tempDir();
  const t0 = 1_767_623_400_000_000_000n;
  const events: InputEvent[] = Array.from({ length: 5000 }, (_, i) => ({ ts: t0 + BigInt(i) * 1_000_000n, instrument: `K${i % 7}`, price: 10, qty: 1, side: 'buy' }));
  const live = latencyCounter();
  const first = await createPipeline(config(), { dataDir: dir.path, noSources: true, metrics: live.metrics, log: () => undefined });
  await first.push(events);
  await first.drain();
  assert.is(live.events(), 5000, 'live events record their latency');
  // The process is lost here (no close, no checkpoint): the restart replays the 5000-event entry.
  const again = latencyCounter();
  const second = await createPipeline(config(), { dataDir: dir.path, noSources: true, metrics: again.metrics, log: () => undefined });
  await second.drain();
  assert.is(second.stats().eventsIn, 0);
  assert.is(again.events(), 0, 'replayed events record no latency');
  await second.close();
  await first.close().catch(() => undefined);
  dir.remove();
});

test.run();
