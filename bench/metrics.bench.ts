// Hot-path cost of the metrics API against what a straightforward prom-client
// setup would do per event: `Histogram.observe` per latency and `Counter.inc`
// per event, measured side by side in the same run.
import { Counter, Histogram, Registry } from 'prom-client';
import { compared, medianHz, type BenchContext, type BenchResult } from './lib.js';
import { Metrics, LATENCY_BUCKETS_SECONDS } from '../host/metrics/metrics.js';

const N = 10_000;

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  // The runner keeps every result of a file whose path matches the filter.
  const want = (name: string) => !ctx.filter || name.includes(ctx.filter) || 'metrics.bench.ts'.includes(ctx.filter);
  const results: BenchResult[] = [];
  // Latencies spread over 1 µs … 5 ms like a real feed's tail.
  const lat = Float64Array.from({ length: N }, (_, i) => 1_000 + ((i * 7919) % 5_000) ** 1.5);

  const registry = new Registry();
  const promHist = new Histogram({ name: 'h', help: 'h', buckets: [...LATENCY_BUCKETS_SECONDS], registers: [registry] });
  const promCounter = new Counter({ name: 'c', help: 'c', labelNames: ['source'], registers: [registry] });
  const baseline = medianHz(() => { for (let i = 0; i < N; i++) promHist.observe(lat[i] / 1e9); }, ctx, 'prom observe');

  for (const engine of ['wasm', 'js'] as const) {
    const name = `metrics: recordLatencyNs (HDR ${engine}) per output`;
    if (!want(name)) continue;
    const m = new Metrics({ engine, tickMs: 0, processMetrics: false });
    const ours = medianHz(() => { for (let i = 0; i < N; i++) m.recordLatencyNs(lat[i]); }, ctx, name);
    results.push(compared(name, 'ns/op', 1e9 / (ours * N), 'prom-client Histogram.observe', 1e9 / (baseline * N)));
    m.close();
  }

  const batch = 256;
  const name = `metrics: addEvents per ${batch}-event batch, per event`;
  if (want(name)) {
    const m = new Metrics({ tickMs: 0, processMetrics: false });
    const ours = medianHz(() => { for (let i = 0; i < N; i++) m.addEvents('ws', batch); }, ctx, name);
    const theirs = medianHz(() => { for (let i = 0; i < N; i++) promCounter.inc({ source: 'ws' }, batch); }, ctx, 'prom inc');
    results.push(compared(name, 'ns/event', 1e9 / (ours * N * batch), 'prom-client Counter.inc(labels, batch)', 1e9 / (theirs * N * batch)));
    m.close();
  }

  const scrapeName = 'metrics: /metrics exposition (scrape)';
  if (want(scrapeName)) {
    const m = new Metrics({ tickMs: 0, processMetrics: false });
    m.setCollector(() => ({
      rings: Array.from({ length: 8 }, (_, p) => ({ partition: p, capacity: 65536, used: p * 100, blockedNs: 0 })),
      operators: Array.from({ length: 6 }, (_, o) => ({ name: `op${o}`, keys: 1000, bytes: 1 << 20, evictions: 0, late: 0 })),
    }));
    for (let i = 0; i < N; i++) m.recordLatencyNs(lat[i]);
    for (let t = 0; t < 6; t++) m.tick();
    const reps = ctx.quick ? 50 : 500;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await m.exposition();
    results.push({ name: scrapeName, unit: 'µs/scrape', value: ((performance.now() - t0) * 1000) / reps, note: '8 partitions, 6 operators, 60 s latency window' });
    m.close();
  }
  return results;
}
