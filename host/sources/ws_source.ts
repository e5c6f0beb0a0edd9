// WebSocket ingest: producers connect to ws://host:port/<path> and send frames;
// binary frames are FlatBuffers batches, text frames are JSON. Two engines serve
// the same protocol: uWebSockets.js (ws_uws.ts, native addon) and the pure-JS
// `ws` package (ws_fallback.ts). Importing this module loads neither: the engine
// is imported when start() runs, the native one only when `native` is allowed,
// so the embedded library path never touches a native addon.
//
// Protocol (one page, so producers can be written in any language)
// ----------------------------------------------------------------
// Connect:  GET <path>?producer=<id>&seq=<n>&token=<t>&acks=0|1
//   token   required when the source has a token; `Authorization: Bearer <t>`
//           works too. Missing or wrong: HTTP 401, no upgrade.
//   Host / Origin  checked first (request_guard.ts): a foreign Host name or a
//           browser Origin that is not ours gets HTTP 403 and the reason.
//   producer the producer's id (1..128 printable ASCII characters, no
//           spaces; anything else: HTTP 400). With it, delivery is
//           exactly-once (see "Producer contract" below); without it,
//           at-least-once: a frame resent after a lost ack is ingested again.
//   seq     the producer sequence number of the first frame sent on this
//           connection (integer 0..2^53-1, default 1). Frame k (0-based) on the
//           connection has producerSeq = seq + k. Nothing is added to the frame
//           bytes: the FlatBuffers/JSON payload is exactly what the codec sees.
//   acks    0 turns per-frame acks off for this connection (default on when
//           the source has acks enabled).
// Frames:   binary = FlatBuffers, text = JSON (valid UTF-8). A frame larger
//           than maxFrameBytes (default 1 MiB) or a text frame that is not
//           UTF-8 is refused: nacked ({"ack":n,"ok":false,"reason":...}),
//           recorded as a dead letter (origin, size, reason; not the oversize
//           body), counted, logged, and the connection is closed with 1009
//           (too big) or 1007 (bad UTF-8) and the reason. The engines buffer a
//           frame up to engineFrameCap(maxFrameBytes) before we see it; a frame
//           above that cap is cut by the engine itself without a nack (`ws`:
//           1009 without reason; uWS v20.30 drops the TCP connection: 1006) and
//           still recorded. uWS also cuts bad UTF-8 itself (1006, recorded).
// Acks:     one text frame per frame, once the pipeline has accepted it (in
//           exactly-once/at-least-once modes: once it is durable):
//             {"ack":<producerSeq>,"ok":true,"accepted":<events>,"rejected":<events>}
//             {"ack":<producerSeq>,"ok":false,"rejected":<events>,"reason":"..."}
//             {"ack":<producerSeq>,"ok":true,"duplicate":true,"accepted":0,"rejected":0}
//           accepted/rejected are present when the pipeline reported counts;
//           they count what this delivery added (0 for a duplicate).
//           "retry":true on a refusal: not durable (a full disk, a failed
//           pipeline), keep the frame and resend it; without it the frame's
//           content was rejected and resending will not help.
// Resend:   a producer keeps every frame until its ack arrives. After a
//           disconnect, or a crash or restart of ganglion, it reconnects with
//           the same producer id and seq=<first unacked> and resends every
//           unacked frame from there, in order, with the same seqs.
// Producer contract (exactly-once, with ?producer=<id>):
//   - Per producer id, the pipeline keeps the highest seq whose frame is in
//     the ingest log; it is logged in the same entry as the frame's records
//     (so they are durable together), kept in every checkpoint and rebuilt on
//     recovery. A frame whose events were all rejected records its seq too.
//   - A frame with seq ≤ that mark is a duplicate: not ingested, acked again
//     with "duplicate":true once the original is durable, and counted in
//     ganglion_duplicate_frames_total.
//   - seqs must increase per producer id, across connections and across the
//     producer's own restarts; gaps are allowed. Reusing a seq with new data
//     loses that data (it is taken for a resend): a producer that cannot keep
//     its seq across its own restart must take a new id.
//   - One live connection per producer id: a new connection with the same id
//     fences the older one, which is closed with 4001 and whose frames not yet
//     handed to the pipeline are dropped unacked, to be resent (like Kafka's producer
//     epochs: the newest incarnation wins, a zombie cannot interleave its
//     seqs with the new one's).
//   - The mark is per pipeline, not per source: ids must be unique among all
//     producers of a pipeline (WebSocket and MQTT alike).
// Backpressure: while the pipeline is paused, the `ws` engine stops reading
//           every socket (TCP pushes back to producers). uWS v20.30 has no
//           per-socket pause, so frames that still arrive are held in a bounded
//           queue (maxPausedBytes, shared by all connections) and acks stop;
//           a producer that keeps sending past that bound is disconnected with
//           1013 (Try Again Later) and its queued frames are discarded unacked,
//           so it resends them. Producers should bound their unacked window.
import { isUtf8 } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import type { Ack, Frame, FrameSink, RefusalReason, RefusedFrame, Source } from './source.js';
import { receiveNowNs } from '../ingest/receive_clock.js';
import { bindProblem, RequestGuard } from '../server/request_guard.js';
import { producerIdProblem, producerSeqProblem } from '../ingest/producers.js';

export interface WsSourceOptions {
  /** Source name for metrics and logs (default "ws"). */
  name?: string;
  /** Interface to listen on (default 127.0.0.1; "0.0.0.0" for all). */
  host?: string;
  /** TCP port; 0 picks a free one, readable as `port` after start(). */
  port?: number;
  /** URL path producers connect to (default "/ingest"). */
  path?: string;
  /** Bearer token producers must present (header or ?token=); unset = open. */
  token?: string;
  /** Largest accepted frame in bytes (default 1 MiB). */
  maxFrameBytes?: number;
  /** Host header names accepted besides IP literals, localhost and the bind host ("*" = any). */
  allowedHosts?: readonly string[];
  /** Origins accepted besides loopback ones and the bind host ("*" = any); clients without Origin always pass. */
  allowedOrigins?: readonly string[];
  /** Where refusals name the settings (default `ws source "<name>"`), e.g. "sources[0]". */
  configPath?: string;
  /** false forces the `ws` engine: the uWS addon is never loaded. Default true. */
  native?: boolean;
  /** Send per-frame ack frames (default true; producers may opt out with ?acks=0). */
  acks?: boolean;
  /** Bound on frames held while paused when the engine cannot stop reading (default 64 MiB). */
  maxPausedBytes?: number;
  /**
   * Close connections that show no sign of life for this long (default 120 s;
   * 0 = never). Quiet producers are pinged, so only dead peers are cut. uWS
   * rounds it to its 4 s timer; the ws engine pings every half period and
   * skips sockets it is not reading (paused).
   */
  idleTimeoutSeconds?: number;
  /** Where errors thrown by the sink or the engine are reported (default: stderr). */
  onError?: (error: Error) => void;
}

/** What the core asks of one connection, whichever engine holds it. */
export interface WsPeer {
  sendText(text: string): void;
  /** Stop reading this socket, if the engine can. */
  pause(): void;
  resume(): void;
  close(code: number, reason: string): void;
}

/** Answer to an upgrade request: 0 = accept, otherwise the HTTP status to refuse with. */
export interface UpgradeCheck {
  status: number;
  message: string;
}

/** Callbacks the engines drive; implemented once by WsSource. */
export interface WsHandlers {
  /** Host / Origin check, before any other (403 on refusal). */
  checkRequest(host: string | undefined, origin: string | undefined): UpgradeCheck;
  checkUpgrade(path: string, query: string, authorization: string | undefined): UpgradeCheck;
  open(peer: WsPeer, remoteAddress: string, query: string): WsConnection;
  /**
   * `data` is borrowed: valid only until this returns (uWS reuses its receive
   * buffer). Frames are decoded synchronously, so only a frame held while
   * paused is copied: a copy of every frame is a visible share of the ingest
   * thread's time.
   */
  message(conn: WsConnection, data: Uint8Array, binary: boolean): void;
  closed(conn: WsConnection, code: number): void;
  /** The engine itself cut `conn` for a frame it would not read (above its cap, or bad UTF-8); called before closed(). */
  engineRefused(conn: WsConnection, reason: RefusalReason): void;
}

export interface WsEngineOptions {
  host: string;
  port: number;
  path: string;
  maxFrameBytes: number;
  idleTimeoutSeconds: number;
}

export interface WsEngine {
  readonly kind: 'uws' | 'ws';
  /** The engine refuses text frames that are not UTF-8 itself (uWS); otherwise the core checks. */
  readonly validatesUtf8: boolean;
  readonly port: number;
  /** Stop listening and close every connection with 1001. */
  close(): Promise<void>;
}

export type WsEngineFactory = (opts: WsEngineOptions, handlers: WsHandlers) => Promise<WsEngine>;

let connectionCounter = 0;

export class WsConnection {
  readonly origin: string;
  nextSeq: number;
  /** ?producer=: the id frames of this connection are deduplicated under. */
  producer: string | undefined;
  open = true;
  /** Frames of this connection sitting in the paused queue. */
  queued = 0;
  constructor(readonly peer: WsPeer, remoteAddress: string, firstSeq: number, readonly acks: boolean) {
    this.origin = `ws:${remoteAddress}/${++connectionCounter}`;
    this.nextSeq = firstSeq;
  }
}

interface Held {
  conn: WsConnection;
  data: Uint8Array;
  binary: boolean;
  receivedAtNs: bigint;
  seq: number;
}

const CLOSE_INVALID_PAYLOAD = 1007;
const CLOSE_MESSAGE_TOO_BIG = 1009;
const CLOSE_INTERNAL_ERROR = 1011;
/** Private-use close code: a newer connection with the same producer id took over. */
export const CLOSE_FENCED = 4001;
const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * What the engines buffer per frame before handing it to us: above the limit,
 * so a refusal can carry a nack and a close reason (neither engine lets us
 * speak when it cuts a frame itself), bounded so a peer cannot make us hold
 * more than this per connection.
 */
export function engineFrameCap(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes, Math.min(Math.max(maxFrameBytes * 2, 16 * 1024 * 1024), 2 ** 31 - 1));
}

/** Refusal log lines per second per source; the rest are summed into one line. */
const REFUSAL_LOG_PER_SECOND = 5;

export class WsSource implements Source, WsHandlers {
  readonly name: string;
  private readonly opts: Required<Omit<WsSourceOptions, 'token' | 'onError' | 'name' | 'allowedHosts' | 'allowedOrigins' | 'configPath'>> & { token?: string };
  private readonly guard: RequestGuard;
  private readonly onError: (error: Error) => void;
  private readonly tokenBytes: Buffer | undefined;
  private engine: WsEngine | undefined;
  private sink: FrameSink | undefined;
  private readonly connections = new Set<WsConnection>();
  private paused = false;
  private held: Held[] = [];
  private heldHead = 0;
  private heldBytes = 0;
  private draining = false;
  private closing = false;
  /** Frames handed to the sink since start (for tests and metrics). */
  delivered = 0;
  /** Frames refused (too large, not UTF-8) since start. */
  refused = 0;
  private refusalLog = { second: 0, lines: 0, suppressed: 0 };

  constructor(options: WsSourceOptions = {}) {
    this.name = options.name ?? 'ws';
    const path = options.path ?? '/ingest';
    if (!path.startsWith('/')) throw new Error(`ws source "${this.name}": path must start with "/", got "${path}"`);
    const port = options.port ?? 8080;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`ws source "${this.name}": port must be an integer 0..65535, got ${port}`);
    const maxFrameBytes = options.maxFrameBytes ?? 1024 * 1024;
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) throw new Error(`ws source "${this.name}": maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    const idle = options.idleTimeoutSeconds ?? 120;
    if (!Number.isFinite(idle) || idle < 0) throw new Error(`ws source "${this.name}": idleTimeoutSeconds must be ≥ 0, got ${idle}`);
    if (options.token !== undefined && options.token.length === 0) throw new Error(`ws source "${this.name}": token must not be empty (omit it to disable auth)`);
    const bad = bindProblem(options.host ?? '127.0.0.1', options.token);
    if (bad) throw new Error(`ws source "${this.name}": ${bad.field}: ${bad.message}`);
    this.guard = new RequestGuard({ bindHost: options.host ?? '127.0.0.1', allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins, where: options.configPath ?? `ws source "${this.name}"` });
    this.opts = {
      host: options.host ?? '127.0.0.1',
      port,
      path,
      maxFrameBytes,
      native: options.native ?? true,
      acks: options.acks ?? true,
      maxPausedBytes: options.maxPausedBytes ?? 64 * 1024 * 1024,
      idleTimeoutSeconds: idle,
      token: options.token,
    };
    this.tokenBytes = options.token === undefined ? undefined : Buffer.from(options.token, 'utf8');
    this.onError = options.onError ?? ((e) => process.stderr.write(`ganglion: ws source "${this.name}": ${e.message}\n`));
  }

  /** The engine actually serving: 'uws' or 'ws' (after start). */
  get engineKind(): 'uws' | 'ws' | undefined {
    return this.engine?.kind;
  }

  /** The bound port (after start; useful with port 0). */
  get port(): number {
    if (!this.engine) throw new Error(`ws source "${this.name}" is not started`);
    return this.engine.port;
  }

  get url(): string {
    const host = this.opts.host === '0.0.0.0' ? '127.0.0.1' : this.opts.host;
    return `ws://${host}:${this.port}${this.opts.path}`;
  }

  async start(sink: FrameSink): Promise<void> {
    if (this.engine) throw new Error(`ws source "${this.name}" is already started`);
    this.sink = sink;
    const engineOpts: WsEngineOptions = { host: this.opts.host, port: this.opts.port, path: this.opts.path, maxFrameBytes: engineFrameCap(this.opts.maxFrameBytes), idleTimeoutSeconds: this.opts.idleTimeoutSeconds };
    let factory: WsEngineFactory | undefined;
    if (this.opts.native) {
      const uws = await import('./ws_uws.js');
      factory = uws.loadUwsEngine((reason) => this.onError(new Error(`uWebSockets.js unavailable, using the ws fallback: ${reason}`)));
    }
    if (!factory) factory = (await import('./ws_fallback.js')).startWsEngine();
    this.engine = await factory(engineOpts, this);
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const c of this.connections) c.peer.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drainHeld();
    if (this.paused) return; // the sink paused again while we drained
    for (const c of this.connections) c.peer.resume();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Flush what is held into the sink even if paused: close() promises it.
    this.paused = false;
    this.drainHeld();
    const engine = this.engine;
    this.engine = undefined;
    this.connections.clear();
    if (engine) await engine.close();
  }

  // ---- WsHandlers (called by the engines) ----

  checkRequest(host: string | undefined, origin: string | undefined): UpgradeCheck {
    const why = this.guard.checkHost(host) ?? this.guard.checkOrigin(origin, host);
    return why === undefined ? { status: 0, message: '' } : { status: 403, message: why };
  }

  checkUpgrade(path: string, query: string, authorization: string | undefined): UpgradeCheck {
    if (this.closing) return { status: 503, message: 'source is closing' };
    if (path !== this.opts.path) return { status: 404, message: `no WebSocket endpoint at ${path}; use ${this.opts.path}` };
    const params = new URLSearchParams(query);
    if (this.tokenBytes) {
      let presented: string | undefined;
      if (authorization && /^bearer /i.test(authorization)) presented = authorization.slice(7).trim();
      else presented = params.get('token') ?? undefined;
      if (presented === undefined) return { status: 401, message: 'missing token: send "Authorization: Bearer <token>" or ?token=' };
      const p = Buffer.from(presented, 'utf8');
      if (p.length !== this.tokenBytes.length || !timingSafeEqual(p, this.tokenBytes)) return { status: 401, message: 'invalid token' };
    }
    const seq = params.get('seq');
    const seqProblem = seq === null ? undefined : producerSeqProblem(seq);
    if (seqProblem) return { status: 400, message: seqProblem };
    const producer = params.get('producer');
    const producerProblem = producer === null ? undefined : producerIdProblem(producer);
    if (producerProblem) return { status: 400, message: producerProblem };
    const acks = params.get('acks');
    if (acks !== null && acks !== '0' && acks !== '1') return { status: 400, message: `acks must be 0 or 1, got "${acks.slice(0, 40)}"` };
    return { status: 0, message: '' };
  }

  open(peer: WsPeer, remoteAddress: string, query: string): WsConnection {
    const params = new URLSearchParams(query);
    const seq = params.get('seq');
    const conn = new WsConnection(peer, remoteAddress, seq === null ? 1 : Number(seq), this.opts.acks && params.get('acks') !== '0');
    const producer = params.get('producer') ?? undefined;
    if (producer !== undefined) {
      conn.producer = producer;
      for (const old of this.connections) if (old.producer === producer && old.open) this.fence(old);
    }
    this.connections.add(conn);
    if (this.paused) peer.pause();
    return conn;
  }

  message(conn: WsConnection, data: Uint8Array, binary: boolean): void {
    if (!conn.open) return;
    const seq = conn.nextSeq++;
    const receivedAtNs = receiveNowNs();
    if (data.byteLength > this.opts.maxFrameBytes) {
      this.refuse(conn, seq, receivedAtNs, binary, 'frame_too_large', `frame of ${data.byteLength} bytes is larger than max_frame_bytes (${this.opts.maxFrameBytes})`, CLOSE_MESSAGE_TOO_BIG);
      return;
    }
    if (!binary && !this.engine?.validatesUtf8 && !isUtf8(data)) {
      this.refuse(conn, seq, receivedAtNs, binary, 'invalid_utf8', `text frame of ${data.byteLength} bytes is not valid UTF-8 (send JSON as UTF-8 text, FlatBuffers as binary)`, CLOSE_INVALID_PAYLOAD, data);
      return;
    }
    if (this.paused || this.heldHead < this.held.length) {
      this.hold(conn, data, binary, receivedAtNs, seq);
      return;
    }
    this.deliver(conn, data, binary, receivedAtNs, seq);
  }

  closed(conn: WsConnection): void {
    conn.open = false;
    this.connections.delete(conn);
    // Held frames of a producer that uses acks are unacked: it resends them
    // after reconnecting, so delivering them too would only duplicate them.
    // Without acks nobody resends, so those frames are still delivered.
    if (conn.acks) this.discardHeld(conn);
  }

  engineRefused(conn: WsConnection, reason: RefusalReason): void {
    const detail = reason === 'frame_too_large'
      ? `frame larger than ${engineFrameCap(this.opts.maxFrameBytes)} bytes (max_frame_bytes ${this.opts.maxFrameBytes}); the ${this.engine?.kind ?? 'ws'} engine cut the connection before reading it`
      : 'text frame is not valid UTF-8; the uws engine cut the connection';
    this.record(conn, conn.nextSeq, receiveNowNs(), reason === 'invalid_utf8' ? false : true, reason, detail, undefined, 'connection cut');
  }

  // ---- internals ----

  /** Refuses one frame the engine handed us: record it, nack it, close the connection with `closeCode` and the reason. */
  private refuse(conn: WsConnection, seq: number, receivedAtNs: bigint, binary: boolean, reason: RefusalReason, detail: string, closeCode: number, raw?: Uint8Array): void {
    this.record(conn, seq, receivedAtNs, binary, reason, detail, raw, `closed ${closeCode}`);
    if (conn.acks) makeAck(conn, seq)(false, { count: 0, rejected: 1, reason: detail });
    conn.open = false;
    // A close reason is at most 123 bytes of UTF-8; these stay well below.
    conn.peer.close(closeCode, detail.length <= 123 ? detail : detail.slice(0, 120) + '...');
  }

  /** Dead letter (through the sink), counter and a rate-limited log line for one refused frame. */
  private record(conn: WsConnection, seq: number, receivedAtNs: bigint, binary: boolean, reason: RefusalReason, detail: string, raw: Uint8Array | undefined, outcome: string): void {
    this.refused++;
    const refusal: RefusedFrame = { origin: conn.origin, receivedAtNs, binary, producerSeq: seq, reason, detail, ...(raw ? { data: raw } : {}) };
    try {
      this.sink?.onRefused?.(refusal);
    } catch (e) {
      this.onError(new Error(`recording a refused frame from ${conn.origin} failed: ${(e as Error).message}`));
    }
    const second = Math.floor(performance.now() / 1000);
    const log = this.refusalLog;
    if (second !== log.second) {
      if (log.suppressed > 0) this.onError(new Error(`${log.suppressed} more refused frames not logged (at most ${REFUSAL_LOG_PER_SECOND} lines a second; every one is in the dead letters)`));
      log.second = second; log.lines = 0; log.suppressed = 0;
    }
    if (log.lines++ < REFUSAL_LOG_PER_SECOND) this.onError(new Error(`refused a frame from ${conn.origin} (seq ${seq}): ${reason}: ${detail}; ${outcome}`));
    else log.suppressed++;
  }

  /** A newer connection of the same producer took over: nothing more of this one reaches the pipeline. */
  private fence(conn: WsConnection): void {
    conn.open = false;
    this.connections.delete(conn);
    // As in closed(): a producer with acks resends what was held; without acks nobody would.
    if (conn.acks) this.discardHeld(conn);
    conn.peer.close(CLOSE_FENCED, `fenced: a newer connection of producer ${conn.producer} took over`);
  }

  private hold(conn: WsConnection, data: Uint8Array, binary: boolean, receivedAtNs: bigint, seq: number): void {
    if (this.heldBytes + data.byteLength > this.opts.maxPausedBytes) {
      // Never buffer without bound and never drop silently: this producer's
      // unacked frames (held ones included) will be resent after reconnecting.
      this.discardHeld(conn);
      conn.open = false;
      conn.peer.close(CLOSE_TRY_AGAIN_LATER, 'ingest paused: resend unacked frames later');
      return;
    }
    this.held.push({ conn, data: data.slice(), binary, receivedAtNs, seq });
    this.heldBytes += data.byteLength;
    conn.queued++;
  }

  private discardHeld(conn: WsConnection): void {
    if (conn.queued === 0) return;
    const kept: Held[] = [];
    for (let i = this.heldHead; i < this.held.length; i++) {
      const h = this.held[i];
      if (h.conn === conn) this.heldBytes -= h.data.byteLength;
      else kept.push(h);
    }
    this.held = kept;
    this.heldHead = 0;
    conn.queued = 0;
  }

  private drainHeld(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.paused && this.heldHead < this.held.length) {
        const h = this.held[this.heldHead++];
        this.heldBytes -= h.data.byteLength;
        h.conn.queued--;
        this.deliver(h.conn, h.data, h.binary, h.receivedAtNs, h.seq);
      }
      if (this.heldHead === this.held.length) {
        this.held = [];
        this.heldHead = 0;
      }
    } finally {
      this.draining = false;
    }
  }

  private deliver(conn: WsConnection, data: Uint8Array, binary: boolean, receivedAtNs: bigint, seq: number): void {
    const frame: Frame = { data, binary, origin: conn.origin, receivedAtNs, producerSeq: seq };
    if (conn.producer !== undefined) frame.producer = conn.producer;
    this.delivered++;
    try {
      this.sink!.onFrame(frame, conn.acks ? makeAck(conn, seq) : noAck);
    } catch (e) {
      this.onError(new Error(`sink failed on a frame from ${conn.origin}: ${(e as Error).message}`));
      if (conn.open) {
        conn.open = false;
        conn.peer.close(CLOSE_INTERNAL_ERROR, 'internal error; resend unacked frames');
      }
    }
  }
}

const noAck: Ack = () => {};

function makeAck(conn: WsConnection, seq: number): Ack {
  let done = false;
  return (accepted, info) => {
    if (done) return;
    done = true;
    if (!conn.open) return; // the producer will resend it after reconnecting
    let text = `{"ack":${seq},"ok":${accepted}`;
    if (info?.duplicate) text += ',"duplicate":true';
    if (info?.count !== undefined) text += `,"accepted":${info.count}`;
    if (info?.rejected !== undefined) text += `,"rejected":${info.rejected}`;
    if (info?.reason !== undefined) text += `,"reason":${JSON.stringify(info.reason)}`;
    if (info?.retry) text += ',"retry":true';
    conn.peer.sendText(text + '}');
  };
}

