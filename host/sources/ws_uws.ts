// The uWebSockets.js engine of the WebSocket source (see ws_source.ts for the
// protocol). The addon comes from @trufflesuite/uws-js-unofficial (uWS v20.30;
// the official build is not on the npm registry). That package silently swaps
// in its own JS emulation when the binary does not match the Node ABI; we load
// the binary ourselves instead, so "uws" always means the native server and a
// failure falls back to our `ws` engine with a clear message.
//
// uWS specifics that shape this file:
// - message ArrayBuffers are neutered when the callback returns: copy them.
// - the HttpRequest is only valid synchronously inside upgrade(): read
//   everything needed before answering.
// - no per-socket pause in v20.30: pause() is a no-op here and ws_source holds
//   frames in its bounded queue instead.
// - sends from outside a uWS callback (acks come later) go through cork().
// - its listen socket has no SO_REUSEADDR, so after connections closed the
//   port cannot be bound again for ~60 s (TIME_WAIT); the `ws` engine can.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { WsEngine, WsEngineFactory, WsEngineOptions, WsHandlers, WsPeer, WsConnection } from './ws_source.js';

/* Minimal typings of the parts of the addon we use (docs/index.d.ts in the package). */
interface UwsWebSocket {
  send(message: string | Uint8Array, isBinary?: boolean): number;
  end(code?: number, reason?: string): void;
  cork(cb: () => void): void;
  getUserData(): UserData;
}
interface UwsResponse {
  writeStatus(status: string): UwsResponse;
  writeHeader(key: string, value: string): UwsResponse;
  end(body?: string): void;
  upgrade(userData: UserData, key: string, protocol: string, extensions: string, context: unknown): void;
  getRemoteAddressAsText(): ArrayBuffer;
  onAborted(cb: () => void): void;
}
interface UwsRequest {
  getUrl(): string;
  getQuery(): string | undefined;
  getHeader(name: string): string;
}
interface UwsApp {
  ws(pattern: string, behavior: Record<string, unknown>): UwsApp;
  any(pattern: string, handler: (res: UwsResponse, req: UwsRequest) => void): UwsApp;
  listen(host: string, port: number, cb: (listenSocket: unknown) => void): UwsApp;
}
interface UwsModule {
  App(): UwsApp;
  us_listen_socket_close(listenSocket: unknown): void;
  us_socket_local_port(listenSocket: unknown): number;
  DISABLED: number;
}
interface UserData {
  query: string;
  remote: string;
  conn?: WsConnection;
  ws?: UwsWebSocket;
}

const STATUS_TEXT: Record<number, string> = { 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 503: '503 Service Unavailable' };

/** Why uWS v20.30 force-closed a socket (the message its close handler gets with code 1006). */
const UWS_TOO_BIG = 'Received too big message';
const UWS_BAD_UTF8 = 'Received invalid UTF-8';

let cached: UwsModule | undefined;
let cachedError: string | undefined;

function loadAddon(): UwsModule | string {
  if (cached) return cached;
  if (cachedError) return cachedError;
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
    const file = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
    cached = require(join(pkgDir, 'binaries', file)) as UwsModule;
    return cached;
  } catch (e) {
    cachedError = (e as Error).message.split('\n')[0];
    return cachedError;
  }
}

/** The uWS engine factory, or undefined (after telling `onUnavailable` why) when the addon cannot load. */
export function loadUwsEngine(onUnavailable: (reason: string) => void): WsEngineFactory | undefined {
  const mod = loadAddon();
  if (typeof mod === 'string') {
    onUnavailable(mod);
    return undefined;
  }
  return (opts, handlers) => startUws(mod, opts, handlers);
}

function textOf(ab: ArrayBuffer): string {
  return Buffer.from(ab).toString('utf8');
}

/** uWS prints IPv4 peers as IPv4-mapped IPv6 (0000:...:ffff:7f00:0001); show them as dotted quads. */
function remoteText(ab: ArrayBuffer): string {
  const t = textOf(ab);
  const m = /^(?:0000:){5}ffff:([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(t);
  if (!m) return t;
  const hi = parseInt(m[1], 16), lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function startUws(uws: UwsModule, opts: WsEngineOptions, handlers: WsHandlers): Promise<WsEngine> {
  const app = uws.App();
  const open = new Set<UwsWebSocket>();

  app.ws(opts.path, {
    maxPayloadLength: opts.maxFrameBytes,
    compression: uws.DISABLED,
    // uWS accepts 0 or 8..960 s (4 s granularity) and pings quiet peers itself.
    idleTimeout: opts.idleTimeoutSeconds === 0 ? 0 : Math.min(960, Math.max(8, Math.round(opts.idleTimeoutSeconds))),
    sendPingsAutomatically: true,
    // Acks are tiny; the default 64 KiB would drop them for a producer that
    // stops reading for a while. Let them queue (the producer's window bounds them).
    maxBackpressure: 64 * 1024 * 1024,
    upgrade: (res: UwsResponse, req: UwsRequest, context: unknown) => {
      const path = req.getUrl();
      const query = req.getQuery() ?? '';
      const auth = req.getHeader('authorization') || undefined;
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const guard = handlers.checkRequest(req.getHeader('host') || undefined, req.getHeader('origin') || undefined);
      const check = guard.status !== 0 ? guard : handlers.checkUpgrade(path, query, auth);
      if (check.status !== 0) {
        res.writeStatus(STATUS_TEXT[check.status] ?? String(check.status)).writeHeader('Content-Type', 'text/plain').end(check.message + '\n');
        return;
      }
      res.upgrade({ query, remote: remoteText(res.getRemoteAddressAsText()) }, key, protocol, extensions, context);
    },
    open: (ws: UwsWebSocket) => {
      const ud = ws.getUserData();
      open.add(ws);
      ud.ws = ws;
      const peer: WsPeer = {
        sendText: (text) => {
          if (ud.conn?.open) ws.cork(() => ws.send(text, false));
        },
        pause: () => {},
        resume: () => {},
        close: (code, reason) => {
          if (open.has(ws)) ws.end(code, reason);
        },
      };
      ud.conn = handlers.open(peer, ud.remote, ud.query);
    },
    message: (ws: UwsWebSocket, message: ArrayBuffer, isBinary: boolean) => {
      const conn = ws.getUserData().conn;
      // Borrowed: uWS reuses `message` once this returns (see WsHandlers.message).
      if (conn) handlers.message(conn, new Uint8Array(message), isBinary);
    },
    close: (ws: UwsWebSocket, code: number, message: ArrayBuffer) => {
      open.delete(ws);
      const conn = ws.getUserData().conn;
      if (conn && code === 1006) {
        // A frame above maxPayloadLength or bad UTF-8: uWS drops the TCP
        // connection without a close frame; the only trace is this message.
        const why = textOf(message);
        if (why === UWS_TOO_BIG) handlers.engineRefused(conn, 'frame_too_large');
        else if (why === UWS_BAD_UTF8) handlers.engineRefused(conn, 'invalid_utf8');
      }
      if (conn) handlers.closed(conn, code);
    },
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain').end(`no WebSocket endpoint here; use ${opts.path}\n`);
  });

  return new Promise((resolve, reject) => {
    app.listen(opts.host, opts.port, (listenSocket) => {
      if (!listenSocket) {
        reject(new Error(`ws source: cannot listen on ${opts.host}:${opts.port} (address in use or not available)`));
        return;
      }
      const port = uws.us_socket_local_port(listenSocket);
      let closed = false;
      resolve({
        kind: 'uws',
        validatesUtf8: true,
        port,
        close: async () => {
          if (closed) return;
          closed = true;
          uws.us_listen_socket_close(listenSocket);
          for (const ws of [...open]) ws.end(1001, 'server shutting down');
          open.clear();
        },
      });
    });
  });
}
