// Long run of the shipped examples' window state: each example's synthetic
// feed (its own rate, keys and disorder, so the same event-time density) is
// generated flat out instead of in wall-clock time, for a span of event time
// long enough to fill every window (the longest window plus its lateness,
// capped by --max-events), and every `late` output with reason
// `state_evicted` is counted. The test suite runs each example for ~3 s of
// wall time; this reaches the steady state of hour-long windows.
//
//   npx tsx scripts/example_evictions.ts [--max-events 30000000] [examples/payment-fraud.yaml ...]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadPipeline } from '../host/config/load.js';
import { RecordBatch } from '../host/codec/record_batch.js';
import { SyntheticFeed } from '../host/sources/synthetic_feed.js';
import { createPipeline } from '../host/pipeline/pipeline.js';

const args = process.argv.slice(2);
const at = args.indexOf('--max-events');
const maxEvents = at >= 0 ? Number(args.splice(at, 2)[1]) : 30_000_000;
const root = new URL('../examples/', import.meta.url).pathname;
const files = args.length ? args.map((f) => resolve(f)) : readdirSync(root).filter((f) => f.endsWith('.yaml')).map((f) => join(root, f));

for (const file of files) {
  const config = loadPipeline(file);
  const index = config.sources.findIndex((s) => s.type === 'synthetic');
  const src = config.sources[index];
  if (!src || src.type !== 'synthetic') { console.log(`${file}: no synthetic source, skipped`); continue; }
  let span = 0n;
  for (const op of config.operators) if (op.type === 'window') span = [span, op.size ?? 0n, op.gap ?? 0n].reduce((a, b) => (a > b ? a : b));
  span += config.event_time.allowed_lateness + config.event_time.out_of_orderness;
  const wanted = Math.ceil((Number(span) / 1e9) * src.rate * 1.1);
  const events = Math.min(wanted, maxEvents);
  const data = mkdtempSync(join(tmpdir(), 'ganglion-evictions-'));
  const pipeline = await createPipeline({ ...config, sinks: [], server: undefined, delivery: { ...config.delivery, mode: 'at_most_once' } }, {
    baseDir: dirname(file), dataDir: data, noSources: true, log: () => undefined,
  });
  const late: Record<string, number> = {};
  let outputs = 0;
  pipeline.subscribe((o) => {
    outputs++;
    if (o.kind === 'late') { const k = `${o.op}:${(o as { reason: string }).reason}`; late[k] = (late[k] ?? 0) + 1; }
  }, (_op, kind) => kind === 'late' || kind === 'window' || kind === 'score' || kind === 'anomaly');
  const feed = SyntheticFeed.fromConfig({ ...config, sources: [{ ...src, events }] }, index);
  const type = pipeline.recordType;
  const batch = new RecordBatch(type.stride, 4096);
  const started = performance.now();
  let sent = 0;
  for (;;) {
    batch.reset();
    batch.ensure(4096);
    const got = feed.fillRecords(batch.view, 0, 4096, type, pipeline.plan.fields.key, (s) => pipeline.intern(s));
    if (got === 0) break;
    batch.count = got;
    sent += got;
    if (!pipeline.ingestRecords(src.name ?? 'synthetic', batch, BigInt(Date.now()) * 1_000_000n)) await pipeline.whenAccepting();
  }
  await pipeline.finish();
  await pipeline.close();
  rmSync(data, { recursive: true, force: true });
  const seconds = (performance.now() - started) / 1000;
  const evicted = Object.entries(late).filter(([k]) => k.endsWith(':state_evicted')).reduce((a, [, n]) => a + n, 0);
  const span_ = (n: number) => (n / src.rate < 120 ? `${(n / src.rate).toFixed(1)} s` : `${(n / src.rate / 60).toFixed(1)} min`);
  console.log(`${file.slice(file.lastIndexOf('/') + 1)}: ${sent} events = ${span_(sent)} of event time`
    + `${events < wanted ? ` (of ${span_(wanted)} needed to fill the longest window: capped by --max-events)` : ''}`
    + ` in ${seconds.toFixed(1)} s; ${outputs} outputs; state_evicted ${evicted}; late ${JSON.stringify(late)}`);
}
