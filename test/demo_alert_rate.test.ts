// The built-in demo (`npm start`: examples/market-surveillance.yaml over its
// synthetic feed) raises "a few alerts a second", as its YAML comment says,
// not the 100-158 a second it once did. The feed is a pure function of its
// config (event time advances 1/rate per event, faster in its bursts), so it is
// generated here flat out, in process, for a few seconds of event time, and the anomalies are
// counted by the event-time second they belong to. The first seconds, while
// the z-scores gather their min_samples, raise more (the start burst); the
// steady rate is what the comment promises.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname } from 'node:path';
import { RecordBatch } from '../host/codec/record_batch.js';
import { loadPipeline } from '../host/config/load.js';
import { createPipeline } from '../host/pipeline/pipeline.js';
import { SyntheticFeed } from '../host/sources/synthetic_feed.js';
import { tempDir } from './helpers/tmp.js';

const FILE = new URL('../examples/market-surveillance.yaml', import.meta.url).pathname;
const SECONDS = 6;
const WARM_UP = 2; // also the feed's opening burst (4× the rate for 2 s)
const START_NS = 1_767_623_400_000_000_000n; // the feed's `start: now`, fixed so that runs compare

test(`the demo raises a few alerts a second once warmed up (${SECONDS} s of its feed)`, async () => {
  const config = loadPipeline(FILE);
  const index = config.sources.findIndex((s) => s.type === 'synthetic');
  const src = config.sources[index];
  assert.ok(src && src.type === 'synthetic');
  const data = tempDir('ganglion-demo-alerts-');
  try {
    const pipeline = await createPipeline({ ...config, sinks: [], server: undefined, delivery: { ...config.delivery, mode: 'at_most_once' } }, {
      baseDir: dirname(FILE), dataDir: data.path, noSources: true, log: () => undefined,
    });
    const perSecond = new Array<number>(SECONDS + 1).fill(0);
    pipeline.subscribe((o) => {
      const second = Number((BigInt((o as { ts_ns: string }).ts_ns) - START_NS) / 1_000_000_000n);
      perSecond[Math.max(0, Math.min(SECONDS, second))]++;
    }, (_op, kind) => kind === 'anomaly');
    const feed = SyntheticFeed.fromConfig(config, index, START_NS);
    const endNs = START_NS + BigInt(SECONDS) * 1_000_000_000n;
    const type = pipeline.recordType;
    const batch = new RecordBatch(type.stride, 4096);
    while (feed.clockNs < endNs) {
      batch.reset();
      batch.ensure(4096);
      const got = feed.fillRecords(batch.view, 0, 4096, type, pipeline.plan.fields.key, (s) => pipeline.intern(s));
      if (got === 0) break;
      batch.count = got;
      if (!pipeline.ingestRecords(src.name ?? 'synthetic', batch, BigInt(Date.now()) * 1_000_000n)) await pipeline.whenAccepting();
    }
    await pipeline.finish();
    await pipeline.close();
    const steady = perSecond.slice(WARM_UP, SECONDS);
    const rate = steady.reduce((a, b) => a + b, 0) / steady.length;
    assert.ok(rate > 0, `no alert in seconds ${WARM_UP}..${SECONDS}: ${perSecond.join(' ')}`);
    assert.ok(rate <= 5, `${rate.toFixed(1)} alerts a second after the warm-up, not "a few": ${perSecond.join(' ')}`);
    assert.ok(Math.max(...steady) <= 10, `a second with ${Math.max(...steady)} alerts: ${perSecond.join(' ')}`);
  } finally {
    data.remove();
  }
});

test.run();
