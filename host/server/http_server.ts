// The operator-facing HTTP server: Prometheus scrape, liveness and readiness
// probes, the dashboard page, and two WebSocket endpoints. node:http plus the
// `ws` package in noServer mode, so importing it loads no native addon.
//
//   GET  /metrics              Prometheus text exposition
//   GET  /health               200 {"status":"ok"} while the process lives (liveness)
//   GET  /ready, /health?ready 200 {"status":"ready"} | 503 {"status":"starting"} or, while the
//                              ingest log is replayed, 503 {"status":"recovering","replayed":N,"total":M,"message":"recovering, N of M events"}
//   GET  /api/snapshot         the metrics snapshot as JSON (what the status line shows)
//   GET  /                     dashboard (when enabled), plus its static files
//   WS   /live                 dashboard feed: hello, then a snapshot per tick and alerts as they happen
//   WS   /topics?subscribe=a,b output topics (see host/sinks/ws_topic_sink.ts)
//
// Live feed messages (JSON text):
//   {"type":"hello","snapshot":{...},"alerts":[newest first]}
//   {"type":"snapshot","data":{...MetricsSnapshot}}
//   {"type":"alert","data":{...output JSON}}
//
// Every request but /health and /ready must carry an allowed Host, and every
// WebSocket upgrade an allowed Origin (when it has one): 403 and the reason
// otherwise (see request_guard.ts). The dashboard, served by this server, is
// its own origin and passes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import './no_native_ws.js';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Metrics } from '../metrics/metrics.js';
import { WsTopicSink, serializeOutput, type TopicOutput } from '../sinks/ws_topic_sink.js';
import { RequestGuard } from './request_guard.js';
import { isAlertOutput } from '../operators/outputs.js';

export interface ServerOptions {
  /** Default 127.0.0.1: metrics and dashboard are not for the open network unless asked. */
  host?: string;
  /** 0 picks a free port. Default 9464 (the Prometheus exporter convention). */
  port?: number;
  metrics: Metrics;
  /** Serve the dashboard page and its live feed. Default true. */
  dashboard?: boolean;
  /** Operator names, so topic subscriptions to unknown operators are refused precisely. */
  operators?: readonly string[];
  /** Alerts kept for dashboards that connect later. Default 100. */
  alertHistory?: number;
  /** Per-client send queue limit before a WebSocket client is dropped. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Host header names accepted besides IP literals, localhost and the bind host ("*" = any). */
  allowedHosts?: readonly string[];
  /** WebSocket origins accepted besides loopback ones, the bind host and same-origin pages ("*" = any). */
  allowedOrigins?: readonly string[];
}

export interface RunningServer {
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  /** Output topics, exposed for stats and as a sink. */
  readonly topics: WsTopicSink;
  /**
   * Sends one output to its topic subscribers; alerts (kind "anomaly" or
   * `alert: true`) also go to the dashboard. `json`: the output already serialized.
   */
  publish(output: TopicOutput, json?: string): void;
  /** Readiness as the pipeline sees it (same flag as `metrics.setReady`). */
  setReady(ready: boolean): void;
  /** What /ready answers (503) until ready, e.g. recovery progress; `status` defaults to "starting". */
  setStarting(detail: { status?: string; [field: string]: unknown }): void;
  close(): Promise<void>;
}

/** The pipeline's alert rule (host/operators/outputs.ts) on a formatted output. */
export function isAlert(out: TopicOutput): boolean {
  return isAlertOutput(out);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Where the dashboard files are: next to the sources, or (from dist/) back in host/. */
function dashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '../dashboard'), join(here, '../../../host/dashboard')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0];
}

function staticFiles(): Map<string, { path: string; type: string }> {
  const dir = dashboardDir();
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
  return new Map([
    ['/', { path: join(dir, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/index.html', { path: join(dir, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/dashboard.js', { path: join(dir, 'dashboard.js'), type: 'text/javascript; charset=utf-8' }],
    ['/dashboard.css', { path: join(dir, 'dashboard.css'), type: 'text/css; charset=utf-8' }],
    ['/vendor/uPlot.iife.min.js', { path: join(uplot, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['/vendor/uPlot.min.css', { path: join(uplot, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }],
  ]);
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { metrics } = options;
  const dashboard = options.dashboard ?? true;
  const historySize = options.alertHistory ?? 100;
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const files = dashboard ? staticFiles() : new Map<string, { path: string; type: string }>();
  const cache = new Map<string, Buffer>(); // read on first request: startup stays light
  const topics = new WsTopicSink({ operators: options.operators, maxBufferedBytes: maxBuffered });
  const live = new Set<WebSocket>();
  const alerts: string[] = []; // serialized, oldest first
  const guard = new RequestGuard({ bindHost: options.host ?? '127.0.0.1', allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins, where: 'server' });
  let starting: Record<string, unknown> = { status: 'starting' };

  const reply = (res: ServerResponse, status: number, type: string, body: string | Buffer, head = false) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(head ? undefined : body);
  };
  const json = (res: ServerResponse, status: number, value: unknown, head = false) => reply(res, status, JSON_TYPE, JSON.stringify(value) + '\n', head);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: `method ${req.method} not allowed on ${url.pathname}; use GET` });
    }
    const path = url.pathname;
    // Probes say nothing worth rebinding for, and orchestrators send odd Hosts.
    if (path !== '/health' && path !== '/ready') {
      const refused = guard.checkHost(req.headers.host);
      if (refused) return json(res, 403, { error: refused }, head);
    }
    if (path === '/health' && !url.searchParams.has('ready')) return json(res, 200, { status: 'ok' }, head);
    if (path === '/ready' || path === '/health') {
      return metrics.isReady() ? json(res, 200, { status: 'ready' }, head) : json(res, 503, starting, head);
    }
    if (path === '/metrics') {
      const { contentType, body } = await metrics.exposition();
      return reply(res, 200, contentType, body, head);
    }
    if (path === '/api/snapshot') return json(res, 200, metrics.snapshot(), head);
    const file = files.get(path);
    if (file) {
      let body = cache.get(path);
      if (!body) { body = await readFile(file.path); cache.set(path, body); }
      return reply(res, 200, file.type, body, head);
    }
    const known = ['/metrics', '/health', '/ready', '/api/snapshot', ...(dashboard ? ['/'] : [])];
    return json(res, 404, { error: `no such path: ${path}`, paths: known }, head);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, { error: (e as Error).message });
      else res.destroy();
    });
  });
  // Keep-alive sockets from scrapers must not hold close() open.
  server.keepAliveTimeout = 5000;

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const refused = guard.checkHost(req.headers.host) ?? guard.checkOrigin(req.headers.origin, req.headers.host);
    if (refused) {
      const body = refused + '\n';
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    if (path === '/topics' || (path === '/live' && dashboard)) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (path === '/topics') topics.accept(ws, req);
        else acceptLive(ws);
      });
      return;
    }
    socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nno WebSocket endpoint at ${path}; use /topics or /live\n`);
  });

  function acceptLive(ws: WebSocket): void {
    live.add(ws);
    ws.on('close', () => live.delete(ws));
    ws.on('error', () => live.delete(ws));
    ws.on('message', () => { /* the feed is one-way; ignore what clients say */ });
    ws.send(`{"type":"hello","snapshot":${JSON.stringify(metrics.snapshot())},"alerts":[${[...alerts].reverse().join(',')}]}`);
  }

  function broadcast(frame: string): void {
    if (live.size === 0) return;
    const buf = Buffer.from(frame);
    for (const ws of live) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > maxBuffered) { ws.close(1013, 'slow consumer'); live.delete(ws); continue; }
      ws.send(buf, { binary: false });
    }
  }

  const unsubscribe = dashboard ? metrics.onSnapshot((s) => broadcast(`{"type":"snapshot","data":${JSON.stringify(s)}}`)) : () => {};

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, options.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server did not bind a TCP port');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    topics,
    publish(output: TopicOutput, serialized?: string): void {
      // Called for every output: with no subscriber and no alert, nothing is serialized.
      topics.write(output, serialized);
      if (dashboard && isAlert(output)) {
        const text = serialized ?? serializeOutput(output);
        alerts.push(text);
        if (alerts.length > historySize) alerts.shift();
        broadcast(`{"type":"alert","data":${text}}`);
      }
    },
    setReady(ready: boolean): void {
      metrics.setReady(ready);
    },
    setStarting(detail): void {
      starting = { status: 'starting', ...detail };
    },
    close(): Promise<void> {
      closed ??= (async () => {
        unsubscribe();
        topics.close();
        for (const ws of live) ws.close(1001, 'server shutting down');
        live.clear();
        // A close handshake the peer never answers must not hang shutdown: 1 s grace, then cut.
        const deadline = Date.now() + 1000;
        while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
