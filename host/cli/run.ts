// `ganglion run [pipeline.yaml]`: the long-running service. Without a file
// (`npm start`) it runs the built-in pipeline, examples/market-surveillance.yaml,
// whose source is the built-in synthetic feed. Starts the metrics/dashboard
// server when the pipeline has a `server` section or --port (WebSocket output
// topics live there), shows a one-line live status, and on SIGINT/SIGTERM
// drains, takes a final checkpoint and exits 0 (a second signal exits at once
// with 130). A pipeline whose sources are all bounded (synthetic `events`,
// files) stops by itself when they end.
//
// Start-up order: the HTTP port (and every WebSocket source port) is checked
// first, so a busy port fails in milliseconds, not after a long recovery; the
// server then answers /health, and /ready says "recovering, N of M events"
// while the ingest log is replayed, with progress lines on stderr.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineOffThread } from '../config/load_off_thread.js';
import type { PipelineConfig } from '../config/types.js';
import { parseDuration } from '../config/units.js';
import type { RecoveryProgress } from '../pipeline/pipeline.js';
import type { Metrics, MetricsSnapshot } from '../metrics/metrics.js';
import { DEAD_LETTER_TOPIC, type TopicOutput } from '../sinks/ws_topic_sink.js';
import { pipelineFileFailed } from './config_error.js';
import { StatusLine, type StatusSample } from './status_line.js';
import { releaseYoungGeneration } from './young_generation.js';
import { ALERT_KINDS } from '../operators/outputs.js';

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
  /** HTTP port (metrics, dashboard, /ready, topics); overrides server.port, adds a server if the pipeline has none. */
  port?: string | number;
  /** error, warn or info (default): which operational lines are printed. */
  logLevel?: string;
  /** --truncate-corrupt: cut the ingest log at damage that loses acknowledged events instead of refusing to start. */
  truncateCorrupt?: boolean;
  /** --start-over: move the log, checkpoints and file-sink output aside and start from an empty state. */
  startOver?: boolean;
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

type LogLevel = 'error' | 'warn' | 'info';
const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2 };
let shown = LEVELS.info;
/** Unlabelled lines are warnings: only --log-level error hides them. */
const log = (l: string, level: LogLevel = 'warn') => { if (LEVELS[level] <= shown) process.stderr.write(`ganglion: ${l}\n`); };
const info = (l: string) => log(l, 'info');

type HttpServer = Awaited<ReturnType<typeof import('../server/http_server.js')['startServer']>>;

/** The metrics/dashboard server, loaded only when the pipeline has a `server` section. */
async function startHttp(cfg: NonNullable<PipelineConfig['server']>, metrics: Metrics, operators: string[]): Promise<HttpServer> {
  const { startServer } = await import('../server/http_server.js');
  const { isLoopback } = await import('../server/request_guard.js');
  if (!isLoopback(cfg.host)) log(`server on ${cfg.host} has no authentication: /metrics, /api/snapshot, /topics and /live are open to that network`);
  return startServer({ host: cfg.host, port: cfg.port, metrics, dashboard: cfg.dashboard, operators, allowedHosts: cfg.allowed_hosts, allowedOrigins: cfg.allowed_origins });
}

/** The status line's figures: the metrics snapshot as it is (no counting of its own). */
export function statusSample(snap: MetricsSnapshot): StatusSample {
  return {
    events: snap.eventsInTotal,
    alerts: snap.alertsTotal,
    late: snap.lateTotal,
    deadLetters: snap.deadLettersTotal,
    p99LatencyNs: snap.latency.count > 0 ? snap.latency.p99 * 1000 : undefined,
    backpressure: snap.backpressure.pausedRatio,
  };
}

export async function runCommand(opts: RunOptions = {}): Promise<number> {
  let config: PipelineConfig;
  const level = opts.logLevel ?? 'info';
  if (!(level in LEVELS)) { log(`--log-level: expected error, warn or info, found "${level}"`, 'error'); return (process.exitCode = 1); }
  shown = LEVELS[level as LogLevel];
  const port = opts.port === undefined ? undefined : Number(opts.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) { log(`--port: expected a port number 0..65535, found "${opts.port}"`, 'error'); return (process.exitCode = 1); }
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
  type Pipeline = Awaited<ReturnType<typeof createPipeline>>;
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
  if (port !== undefined) config = { ...config, server: { host: '127.0.0.1', dashboard: true, metrics: true, ...config.server, port } };
  // Ports first: a busy one must fail now, not after minutes of recovery.
  let server: HttpServer | undefined;
  if (config.server) {
    try {
      server = await startHttp(config.server, metrics, config.operators.map((o) => o.name));
    } catch (e) {
      metrics.close();
      log(`cannot start the HTTP server: ${portProblem(e, config.server.host, config.server.port, port !== undefined ? '--port' : 'server.port or --port')}`, 'error');
      return (process.exitCode = 1);
    }
  }
  const busy = await busySourcePort(config);
  if (busy) {
    await server?.close();
    metrics.close();
    log(busy, 'error');
    return (process.exitCode = 1);
  }
  const dataDir = resolve(opts.dataDir ?? join('ganglion-data', config.name));
  const notice = config.delivery.mode === 'at_most_once' ? undefined : recoveryNotice(config, dataDir);
  if (notice) { info(notice); server?.setStarting({ status: 'recovering', message: 'reading the ingest log and the newest checkpoint' }); }
  let lastProgress = 0;
  const onRecovery = (p: RecoveryProgress) => {
    const message = `recovering, ${p.replayed} of ${p.total} events`;
    server?.setStarting({ status: 'recovering', replayed: p.replayed, total: p.total, message });
    const now = Date.now();
    if (p.total > 0 && !p.done && p.replayed > 0 && now - lastProgress >= 1000) {
      lastProgress = now;
      info(`${message} (${Math.floor((100 * p.replayed) / p.total)}%)`);
    }
  };
  // Signals are handled from here on: during start-up (a long recovery) one
  // exits at once, the data dir being consistent at every moment; once
  // running, it drains and takes a final checkpoint.
  let stopNow: ((why: string) => void) | undefined;
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) { log(`${sig} again, exiting without draining`); process.exit(130); }
    if (!stopNow) { log(`${sig} while starting: exiting now${config.delivery.mode === 'at_most_once' ? '' : `; the next start resumes from ${dataDir}`}`); process.exit(130); }
    stopping = true;
    stopNow(`${sig}, draining…`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let pipeline: Pipeline;
  try {
    pipeline = await createPipeline(config, { ...(opts.dataDir ? { dataDir } : {}), log, onRecovery, metrics, engine, truncateCorrupt: opts.truncateCorrupt === true, startOver: opts.startOver === true });
  } catch (e) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.close();
    metrics.close();
    log((e as Error).message, 'error');
    return (process.exitCode = 1);
  } finally {
    releaseYoungGeneration();
  }
  const stopped = new Promise<string>((r) => (stopNow = r));
  if (server) {
    const s = server;
    // Alerts always (the dashboard lists them); anything else only while a
    // client subscribes to its operator (dead letters: to `dead_letter` or `*`).
    pipeline.subscribe(
      (out, json) => s.publish(out as unknown as TopicOutput, json),
      (op, kind) => ALERT_KINDS.has(kind) || s.topics.subscribers(kind === 'dead_letter' ? DEAD_LETTER_TOPIC : op) > 0,
    );
    s.setReady(true);
  }
  metrics.setReady(true);

  const url = server ? `${server.url}/` : undefined;
  info(`running ${config.name} (${opts.pipeline ?? `built-in ${BUILTIN_PIPELINE}`})${url ? `, dashboard ${url}` : ''}`);

  let failed: Error | undefined;
  pipeline.onFailure = (e) => { failed = e; stopping = true; stopNow!(`failed: ${e.message}`); };
  const timer = durationMs === undefined ? undefined : setTimeout(() => { stopping = true; stopNow!(`${opts.duration} elapsed, draining…`); }, durationMs);
  const bounded = config.sources.every((s) => s.type === 'file' || (s.type === 'synthetic' && s.events !== undefined));
  if (bounded) void pipeline.sourcesEnded().then(() => { stopping = true; stopNow!('input ended, draining…'); }, (e: Error) => pipeline.onFailure?.(e));
  // A source that failed while the pipeline started (an unreadable file) fails the run too.
  if (pipeline.failed) pipeline.onFailure?.(pipeline.failed);

  // The status line shows the metrics snapshot, the very numbers of /api/snapshot, /metrics and the dashboard.
  const status = opts.status === false ? undefined : new StatusLine({ write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true, url });
  const tick = setInterval(() => status?.update(statusSample(metrics.snapshot())), 1000);

  const why = await stopped;
  status?.end();
  info(why);
  clearInterval(tick);
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
  info(`stopped: ${st.eventsIn} events, ${st.outputs} outputs, ${st.alerts} alerts, ${st.rejected} rejected`);
  return (process.exitCode = failed ? 1 : 0);
}

/** What to tell the user about a port that cannot be bound. */
function portProblem(e: unknown, host: string, port: number, option: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `${host}:${port} is already in use (another ganglion, or another service?); stop it or choose another port with ${option}`;
  if (code === 'EACCES') return `no permission to listen on ${host}:${port} (ports below 1024 need privileges); choose another port with ${option}`;
  if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine; fix the host`;
  return `${host}:${port}: ${(e as Error).message}`;
}

/** The first WebSocket source whose port is taken, as a message; probed by binding it for a moment. */
async function busySourcePort(config: PipelineConfig): Promise<string | undefined> {
  for (const [i, s] of config.sources.entries()) {
    if (s.type !== 'ws' || s.port === 0) continue;
    const err = await new Promise<unknown>((res) => {
      const probe = createServer();
      probe.once('error', res);
      probe.listen({ port: s.port, host: s.host, exclusive: true }, () => probe.close(() => res(undefined)));
    });
    if (err) return `cannot start source ${s.name ?? `sources[${i}]`} (ws): ${portProblem(err, s.host, s.port, `sources[${i}].port`)}`;
  }
  return undefined;
}

/** "recovering from <dir>: ..." when the data dir holds an ingest log: said at once, before the (possibly long) read. */
function recoveryNotice(config: PipelineConfig, dataDir: string): string | undefined {
  const dir = resolve(dataDir, config.delivery.log.dir);
  let bytes = 0, segments = 0;
  try {
    // A segment holding only its 8-byte header has nothing to recover.
    for (const n of readdirSync(dir)) if (/^\d{20}\.log$/.test(n)) { const b = statSync(join(dir, n)).size; if (b > 8) { segments++; bytes += b; } }
  } catch {
    return undefined;
  }
  if (segments === 0) return undefined;
  return `recovering from ${dataDir}: reading ${(bytes / 1e6).toFixed(1)} MB of ingest log (${segments} segment${segments === 1 ? '' : 's'}) and the newest checkpoint`;
}
