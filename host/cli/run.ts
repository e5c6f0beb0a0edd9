// `ganglion run [pipeline.yaml]`: the long-running service. Without a file
// (`npm start`) it runs the built-in pipeline, examples/market-surveillance.yaml,
// whose source is the built-in synthetic feed. Starts the metrics/dashboard
// server when the pipeline has a `server` section (WebSocket output topics
// live there), shows a one-line live status, and on SIGINT/SIGTERM drains and
// exits 0 (a second signal exits at once with 130). A pipeline whose sources
// are all bounded (synthetic `events`, files) stops by itself when they end.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineOffThread } from '../config/load_off_thread.js';
import type { PipelineConfig } from '../config/types.js';
import { parseDuration } from '../config/units.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TopicOutput } from '../sinks/ws_topic_sink.js';
import { pipelineFileFailed } from './config_error.js';
import { StatusLine, type StatusSample } from './status_line.js';
import { releaseYoungGeneration } from './young_generation.js';

export interface RunOptions {
  /** Pipeline file; absent: the built-in market-surveillance pipeline. */
  pipeline?: string;
  /** Ingest log, checkpoints, dead letters (default ./ganglion-data/<name>). */
  dataDir?: string;
  /** Stop by itself after this long (e.g. "30s"), as if interrupted. */
  duration?: string;
  /** false: no status line (--no-status). */
  status?: boolean;
  /** wasm (default) or js: the operators' TypeScript twins. */
  engine?: string;
  /** false (--no-native): WebSocket sources use the ws engine and never load uWebSockets.js. */
  native?: boolean;
}

export const BUILTIN_PIPELINE = 'market-surveillance.yaml';

/** examples/market-surveillance.yaml, found from this module both in the source tree and in dist/. */
export function builtinPipelinePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'examples', BUILTIN_PIPELINE);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(`built-in pipeline examples/${BUILTIN_PIPELINE} not found next to the package`);
}

const log = (l: string) => process.stderr.write(`ganglion: ${l}\n`);

type HttpServer = Awaited<ReturnType<typeof import('../server/http_server.js')['startServer']>>;

/** The metrics/dashboard server, loaded only when the pipeline has a `server` section. */
async function startHttp(cfg: NonNullable<PipelineConfig['server']>, metrics: Metrics, operators: string[]): Promise<HttpServer> {
  const { startServer } = await import('../server/http_server.js');
  const { isLoopback } = await import('../server/request_guard.js');
  if (!isLoopback(cfg.host)) log(`server on ${cfg.host} has no authentication: /metrics, /api/snapshot, /topics and /live are open to that network`);
  return startServer({ host: cfg.host, port: cfg.port, metrics, dashboard: cfg.dashboard, operators, allowedHosts: cfg.allowed_hosts, allowedOrigins: cfg.allowed_origins });
}

export async function runCommand(opts: RunOptions = {}): Promise<number> {
  let config: PipelineConfig;
  const file = opts.pipeline ?? builtinPipelinePath();
  // Validation runs on its own thread while this one loads the runtime.
  const loading = loadPipelineOffThread(file);
  // The HTTP server module too: nearly every pipeline has a server section.
  const runtime = Promise.all([import('../pipeline/pipeline.js'), import('../metrics/metrics.js'), import('../server/http_server.js')]);
  runtime.catch(() => undefined);
  try {
    config = await loading;
  } catch (e) {
    return pipelineFileFailed(e);
  }
  const [{ createPipeline }, { Metrics }] = await runtime;
  if (config.sources.length === 0) {
    log(`${file}: sources: expected at least one source to run (a pipeline without sources is for the library's push())`);
    return (process.exitCode = 1);
  }
  let durationMs: number | undefined;
  if (opts.duration !== undefined) {
    const ns = parseDuration(opts.duration);
    if (ns === undefined) { log(`--duration: expected a duration like "30s" or "5m", found "${opts.duration}"`); return (process.exitCode = 1); }
    durationMs = Number(ns / 1_000_000n);
  }
  const engine = opts.engine ?? 'wasm';
  if (engine !== 'wasm' && engine !== 'js') { log(`--engine: expected wasm or js, found "${engine}"`); return (process.exitCode = 1); }

  const metrics = new Metrics();
  if (opts.native === false) config = { ...config, sources: config.sources.map((s) => (s.type === 'ws' ? { ...s, native: false } : s)) };
  // The pipeline starts first: while its partition workers boot on their own
  // threads, this thread loads and starts the server. Ready waits for both.
  const starting = createPipeline(config, { ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), log, metrics, engine });
  const serving = config.server ? startHttp(config.server, metrics, config.operators.map((o) => o.name)) : Promise.resolve(undefined);
  const [started, served] = await Promise.allSettled([starting, serving]);
  releaseYoungGeneration();
  if (started.status === 'rejected' || served.status === 'rejected') {
    if (served.status === 'fulfilled') await served.value?.close();
    if (started.status === 'fulfilled') await started.value.close();
    metrics.close();
    // The server's failure is reported first, as when it was started first.
    if (served.status === 'rejected') log(`cannot start the server on ${config.server!.host}:${config.server!.port}: ${(served.reason as Error).message}`);
    else log(((started as PromiseRejectedResult).reason as Error).message);
    return (process.exitCode = 1);
  }
  const pipeline = started.value;
  const server = served.value;
  // Late events are counted here too, for runtimes whose metrics do not count them.
  let late = 0;
  pipeline.subscribe(() => { late++; }, (_op, kind) => kind === 'late');
  if (server) {
    const s = server;
    // Dead letters have no operator topic; they stay in the dead-letter file and the metrics.
    // Alerts always (the dashboard lists them); anything else only while a client subscribes to its operator.
    pipeline.subscribe(
      (out, json) => { if ('op' in out) s.publish(out as unknown as TopicOutput, json); },
      (op, kind) => kind !== 'dead_letter' && (kind === 'anomaly' || kind === 'score' || s.topics.subscribers(op) > 0),
    );
    s.setReady(true);
  }
  metrics.setReady(true);

  const url = server ? `${server.url}/` : undefined;

  let stopNow!: (why: string) => void;
  const stopped = new Promise<string>((r) => (stopNow = r));
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) { log(`${sig} again, exiting without draining`); process.exit(130); }
    stopping = true;
    stopNow(`${sig}, draining…`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Only now: a supervisor may signal as soon as it reads this line, and a
  // signal before the handlers exist kills the process without draining.
  log(`running ${config.name} (${opts.pipeline ?? `built-in ${BUILTIN_PIPELINE}`})${url ? `, dashboard ${url}` : ''}`);
  let failed: Error | undefined;
  pipeline.onFailure = (e) => { failed = e; stopping = true; stopNow(`failed: ${e.message}`); };
  const timer = durationMs === undefined ? undefined : setTimeout(() => { stopping = true; stopNow(`${opts.duration} elapsed, draining…`); }, durationMs);
  const bounded = config.sources.every((s) => s.type === 'file' || (s.type === 'synthetic' && s.events !== undefined));
  if (bounded) void pipeline.sourcesEnded().then(() => { stopping = true; stopNow('input ended, draining…'); });

  // Backpressure = share of 100 ms samples with the sources paused.
  let pausedSamples = 0, samples = 0;
  const sampler = setInterval(() => { samples++; if (pipeline.stats().paused) pausedSamples++; }, 100);
  const status = opts.status === false ? undefined : new StatusLine({ write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true, url });
  const tick = setInterval(() => {
    const snap = metrics.snapshot();
    const st = pipeline.stats();
    const sample: StatusSample = {
      events: Math.max(st.eventsIn, snap.eventsInTotal),
      alerts: Math.max(st.alerts, snap.alertsTotal),
      late: Math.max(late, snap.lateTotal),
      deadLetters: Math.max(st.rejected, snap.deadLettersTotal),
      p99LatencyNs: snap.latency.count > 0 ? snap.latency.p99 * 1000 : undefined,
      backpressure: samples > 0 ? pausedSamples / samples : 0,
    };
    pausedSamples = 0;
    samples = 0;
    status?.update(sample);
  }, 1000);

  const why = await stopped;
  status?.end();
  log(why);
  clearInterval(tick);
  clearInterval(sampler);
  if (timer) clearTimeout(timer);
  try {
    if (bounded && !failed) await pipeline.finish();
  } finally {
    await pipeline.close();
    await server?.close();
    metrics.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const st = pipeline.stats();
  log(`stopped: ${st.eventsIn} events, ${st.outputs} outputs, ${st.alerts} alerts, ${st.rejected} rejected`);
  return (process.exitCode = failed ? 1 : 0);
}
