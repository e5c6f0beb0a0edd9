// The pure-JS engine of the WebSocket source, on the `ws` package (see
// ws_source.ts for the protocol). Used when uWebSockets.js cannot load or the
// source is configured with `native: false`.
//
// - Upgrades are handled on a plain node:http server (noServer mode) so auth
//   and path checks answer with a real HTTP status before any WebSocket exists.
// - pause() is real here: ws.pause() stops reading the TCP socket, so the
//   kernel's receive window pushes back on the producer.
// - `ws` may load its optional helpers bufferutil/utf-8-validate (frame
//   unmasking and UTF-8 checks in C; ws falls back to JS by itself when they
//   are missing). `native: false` is about the uWS server addon; set
//   WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1 to keep ws pure JS as well
//   (unmasking in JS costs a few times the throughput).
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WsEngine, WsEngineFactory, WsEngineOptions, WsHandlers, WsPeer } from './ws_source.js';

export function startWsEngine(): WsEngineFactory {
  return (opts, handlers) => start(opts, handlers);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

async function start(opts: WsEngineOptions, handlers: WsHandlers): Promise<WsEngine> {
  const { WebSocketServer } = await import('ws');
  // UTF-8 is checked by ws_source, which can nack and dead-letter a bad text
  // frame; ws would close the connection with 1007 and tell us nothing.
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false, clientTracking: true, skipUTF8Validation: true });
  const server = createServer((_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no WebSocket endpoint here; use ${opts.path}\n`);
  });

  const alive = new WeakSet<object>(); // sockets that answered since the last heartbeat
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const guard = handlers.checkRequest(req.headers.host, req.headers.origin);
    const check = guard.status !== 0 ? guard : handlers.checkUpgrade(path, query, req.headers.authorization);
    if (check.status !== 0) {
      const body = check.message + '\n';
      socket.end(`HTTP/1.1 ${check.status} ${STATUS_TEXT[check.status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
      const remote = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown';
      const peer: WsPeer = {
        sendText: (text) => {
          if (ws.readyState === ws.OPEN) ws.send(text);
        },
        pause: () => ws.pause(),
        resume: () => ws.resume(),
        close: (code, reason) => ws.close(code, reason),
      };
      const conn = handlers.open(peer, remote, query);
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        // binaryType is 'nodebuffer', so data is one Buffer that ws hands over to us.
        handlers.message(conn, data as Buffer, isBinary);
      });
      ws.on('close', (code) => handlers.closed(conn, code));
      // Protocol errors close the socket; ws already sent the close code. A
      // frame above maxPayload (ws_source's engine cap) is recorded as refused.
      ws.on('error', (e: Error & { code?: string }) => {
        if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') handlers.engineRefused(conn, 'frame_too_large');
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`ws source: cannot listen on ${opts.host}:${opts.port}: ${e.code ?? e.message}`)));
    server.listen(opts.port, opts.host, () => resolve());
  });
  // Dead-peer detection: a socket that answered no ping within the last
  // period is cut. Paused sockets are skipped: their pongs sit unread.
  const heartbeat = opts.idleTimeoutSeconds > 0 ? setInterval(() => {
    for (const ws of wss.clients) {
      if (ws.isPaused) continue;
      if (!alive.has(ws)) { ws.terminate(); continue; }
      alive.delete(ws);
      ws.ping();
    }
  }, (opts.idleTimeoutSeconds * 1000) / 2) : undefined;
  heartbeat?.unref();

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  let closed = false;
  return {
    kind: 'ws',
    validatesUtf8: false,
    port,
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Sockets that do not finish the closing handshake promptly are cut.
        setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
          server.closeAllConnections();
        }, 500).unref();
      });
      wss.close();
    },
  };
}
