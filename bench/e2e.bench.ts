// End-to-end benchmark: the market-surveillance pipeline as a service, fed
// over loopback WebSocket by a separate load-generator process, against the
// same pipeline written with RxJS 7 + ws (bench/baselines/rxjs_surveillance.ts).
//
//   phase                      target                         what is read
//   ganglion, flat out         node bin/ganglion.js run tmp   events/s processed
//   RxJS, flat out             rxjs_surveillance.ts           events/s processed
//   ganglion, 100 K events/s   fresh process                  latency p50 … max
//   RxJS, 100 K events/s       fresh process                  latency p50 … max
//
// Every target is a fresh process (a backlog or a warm heap from one phase
// must not flatter or hurt the next), and both are read the same way: their
// GET /api/snapshot, polled every 250 ms. A snapshot describes the last
// completed second; the driver keeps the seconds that lie wholly inside the
// load (after the partial first second and, in full runs, one warm-up second)
// and reports
//   events/s   Δ eventsInTotal / Δ time between the first and last such second
//   p50…p99.9  the median over those seconds of each per-second percentile
//   max        the largest per-second max
//   p99 worst  the largest per-second p99 (what "sustained" has to survive)
// Latency is socket receive → sink emit as each process measures it.
//
// ganglion runs a temporary copy of examples/market-surveillance.yaml whose
// sources are replaced by one ws source on a free loopback port, whose server
// moves to another free port (dashboard off), and whose files go to a temp
// data dir. Everything the driver starts is killed at the end, also on error.
// Spawning, polling and the per-second reduction live in bench/service.ts,
// shared with bench/ingest_rings.bench.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { compared, comparedIf, type BenchContext, type BenchResult } from './lib.js';
import {
  E2eError, freePort, phase as runPhase, root, start, startGanglion, stop, stopAll, waitReady, withTarget,
  describe, type PhaseResult as ServicePhase, type Target,
} from './service.js';

export { E2eError, start, stop, summarize, waitReady } from './service.js';

const EXAMPLE = join(root, 'examples', 'market-surveillance.yaml');
const BASELINE = join(root, 'bench', 'baselines', 'rxjs_surveillance.ts');
const PACED_RATE = 100_000;
/** Flat out: 1000-trade batches (throughput). Paced: 100-trade batches, 1000 frames/s, as a latency-minded producer sends. */
const MAX_BATCH = 1000;
const PACED_BATCH = 100;
const BASELINE_NAME = 'RxJS 7 + ws, same pipeline';

export const E2E_NAMES = [
  'e2e: market surveillance, FlatBuffers over loopback ws, flat out',
  'e2e: latency p50 at 100 K events/s', 'e2e: latency p95 at 100 K events/s', 'e2e: latency p99 at 100 K events/s',
  'e2e: latency p99.9 at 100 K events/s', 'e2e: latency max at 100 K events/s', 'e2e: latency p99 worst second at 100 K events/s',
  'e2e: achieved rate of the 100 K events/s run',
];

// ── targets ─────────────────────────────────────────────────────────────────

/** The example pipeline with a ws source, a private server port and a temp data dir. */
export function e2ePipelineDoc(example: string, dataDir: string, wsPort: number, serverPort: number): Record<string, any> {
  const doc = parseYaml(readFileSync(example, 'utf8')) as Record<string, any>;
  doc.sources = [{ name: 'gateway', type: 'ws', host: '127.0.0.1', port: wsPort, path: '/ingest' }];
  doc.server = { ...(doc.server ?? {}), host: '127.0.0.1', port: serverPort, dashboard: false };
  doc.sinks = (doc.sinks ?? []).map((s: Record<string, any>) => (s.type === 'jsonl' ? { ...s, path: join(dataDir, 'out', `${s.name ?? 'sink'}.jsonl`) } : s));
  if (doc.delivery?.checkpoint?.dir) doc.delivery.checkpoint.dir = join(dataDir, 'checkpoints');
  return doc;
}

export function e2ePipeline(example: string, dataDir: string, wsPort: number, serverPort: number): string {
  return stringifyYaml(e2ePipelineDoc(example, dataDir, wsPort, serverPort));
}

async function startExample(): Promise<Target> {
  if (!existsSync(EXAMPLE)) throw new E2eError(`${EXAMPLE} is missing`);
  return startGanglion('ganglion', ({ dir, wsPort, serverPort }) => ({ doc: e2ePipelineDoc(EXAMPLE, dir, wsPort, serverPort) }));
}

async function startRxjs(): Promise<Target> {
  const port = await freePort();
  const proc = start('RxJS baseline', ['--import', 'tsx', BASELINE, '--port', String(port), '--pipeline', EXAMPLE]);
  try {
    await waitReady(proc, `http://127.0.0.1:${port}/ready`, 'the RxJS baseline');
  } catch (e) {
    await stop(proc);
    throw e;
  }
  return { name: 'RxJS', ingest: `ws://127.0.0.1:${port}/ingest`, snapshot: `http://127.0.0.1:${port}/api/snapshot`, proc, cleanup: () => {} };
}

// ── one load phase ──────────────────────────────────────────────────────────

export type PhaseResult = ServicePhase & { latency: NonNullable<ServicePhase['latency']> };

export async function phase(t: Target, rate: number | 'max', seconds: number, ctx: BenchContext): Promise<PhaseResult> {
  const r = await runPhase(t, {
    loadgen: ['--format', 'fb', '--rate', String(rate), '--batch', String(rate === 'max' ? MAX_BATCH : PACED_BATCH)],
    seconds,
    // Quick runs are too short to spare a whole warm-up second; their
    // flat-out phase reports throughput only.
    warmupMs: ctx.quick ? 0 : 1000,
    quick: ctx.quick,
    latency: !(ctx.quick && rate === 'max'),
  });
  ctx.log(`  ${describe(t, r, rate === 'max' ? 'flat out' : `at ${rate}/s`)}`);
  return r as PhaseResult;
}

/** One phase against a fresh target: what the benchmark runs four times (exported for tests and manual runs). */
export function measure(which: 'ganglion' | 'rxjs', rate: number | 'max', seconds: number, ctx: BenchContext): Promise<PhaseResult> {
  return withTarget(which === 'ganglion' ? startExample : startRxjs, (t) => phase(t, rate, seconds, ctx));
}

// ── the benchmark ───────────────────────────────────────────────────────────

export default async function e2e(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !E2E_NAMES.some((n) => n.includes(ctx.filter!))) return [];
  const seconds = ctx.quick ? 2 : 15;
  // Windows close once a second: a quick paced run needs a spare second so at least one whole measured second has outputs.
  const pacedSeconds = ctx.quick ? 3 : 15;
  try {
    // --quick starts ganglion once for both loads (paced first, so the
    // latency run sees a fresh service, as in the full run).
    const [gPaced, gMax] = ctx.quick
      ? await withTarget(startExample, async (t): Promise<[PhaseResult, PhaseResult]> => [await phase(t, PACED_RATE, pacedSeconds, ctx), await phase(t, 'max', seconds, ctx)])
      : [undefined, await measure('ganglion', 'max', seconds, ctx)];
    const rMax = await measure('rxjs', 'max', seconds, ctx);
    const gPacedRun = gPaced ?? await measure('ganglion', PACED_RATE, pacedSeconds, ctx);
    // --quick keeps under a minute by leaving out the baseline's latency run.
    const rPaced = ctx.quick ? undefined : await measure('rxjs', PACED_RATE, pacedSeconds, ctx);
    const lat = (label: string, k: keyof PhaseResult['latency'], note?: string) =>
      comparedIf(`e2e: latency ${label} at 100 K events/s`, 'µs', gPacedRun.latency[k], BASELINE_NAME, rPaced?.latency[k], note);
    return [
      compared(E2E_NAMES[0], 'events/s', gMax.eventsPerSec, BASELINE_NAME, rMax.eventsPerSec,
        `${seconds} s of 1000-trade FlatBuffers batches; target ≥ 2 M events/s and ≥ 10× the baseline`),
      lat('p50', 'p50'), lat('p95', 'p95'),
      lat('p99', 'p99', `median over the whole seconds of the run of per-second percentiles, socket receive → sink emit, ${PACED_BATCH}-trade frames; target ≤ 1 ms`),
      lat('p99.9', 'p999'), lat('max', 'max'), lat('p99 worst second', 'p99Worst'),
      comparedIf(E2E_NAMES[7], 'events/s', gPacedRun.eventsPerSec, BASELINE_NAME, rPaced?.eventsPerSec, `paced at ${PACED_RATE} events/s`),
    ];
  } finally {
    // withTarget stops each target; this catches anything an exception skipped.
    await stopAll();
  }
}
