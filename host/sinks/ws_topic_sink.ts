// Output topics over WebSocket: one topic per operator, clients choose theirs.
//
//   ws://host:port/topics?subscribe=vwap_1s,price_z      subscribe at connect
//   → {"subscribe":["vwap_1s"]}  /  {"unsubscribe":["price_z"]}   change later
//   ← {"subscribed":["vwap_1s"]}                          the client's full set after each change
//   ← {"error":"..."}                                     bad request; the connection stays open
//   ← <output JSON>                                       one text frame per output of a subscribed operator
//
// `*` subscribes to every operator and to dead letters; `dead_letter` to dead
// letters alone (they come from no operator). Each output is serialized once and the same
// buffer is handed to every subscriber. Delivery to a browser is at-most-once by
// nature; what this sink refuses to do is buffer without bound: a subscriber
// whose socket has more than `maxBufferedBytes` queued is closed with 1013
// ("try again later") and a reason, rather than growing memory until the
// process dies.
import type { IncomingMessage } from 'node:http';
import type { WebSocket, RawData } from 'ws';

/** What this sink needs of an output: the operator that produced it (`op`, the config name); dead letters have none. */
export interface TopicOutput {
  op?: string;
  kind?: string;
  [field: string]: unknown;
}

export interface WsTopicSinkOptions {
  /** Operator names of the pipeline; when given, subscribing to any other name is an error. */
  operators?: readonly string[];
  /** Close a subscriber whose send queue exceeds this. Default 8 MiB. */
  maxBufferedBytes?: number;
}

const ALL = '*';
/** The topic of dead letters, which no operator produces. */
export const DEAD_LETTER_TOPIC = 'dead_letter';

/** The topic an output goes to: its operator, or `dead_letter`. */
export function topicOf(out: TopicOutput): string {
  return out.kind === 'dead_letter' || out.op === undefined ? DEAD_LETTER_TOPIC : out.op;
}

/** JSON of an output; bigint fields (ns timestamps, sequence numbers) become decimal strings. */
export function serializeOutput(out: TopicOutput): string {
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
const MAX_CONTROL_BYTES = 16 * 1024;

export class WsTopicSink {
  private readonly byTopic = new Map<string, Set<WebSocket>>();
  private readonly clients = new Map<WebSocket, Set<string>>();
  private readonly known: Set<string> | undefined;
  private readonly maxBufferedBytes: number;
  private sent = 0;
  private slowClosed = 0;

  constructor(options: WsTopicSinkOptions = {}) {
    this.known = options.operators ? new Set(options.operators) : undefined;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  /** Adopts an upgraded connection to `/topics`; reads `?subscribe=` from the request URL. */
  accept(ws: WebSocket, req: IncomingMessage): void {
    this.clients.set(ws, new Set());
    ws.on('close', () => this.drop(ws));
    ws.on('error', () => this.drop(ws));
    ws.on('message', (data, isBinary) => this.onMessage(ws, data, isBinary));
    const initial = new URL(req.url ?? '/', 'http://x').searchParams.get('subscribe');
    if (initial !== null) this.change(ws, initial.split(',').map((s) => s.trim()).filter(Boolean), true);
  }

  /** Sends one output to the subscribers of its operator. `json`: the output already serialized. */
  write(out: TopicOutput, json?: string): void {
    const direct = this.byTopic.get(topicOf(out));
    const wildcard = this.byTopic.get(ALL);
    if (!direct?.size && !wildcard?.size) return;
    const frame = Buffer.from(json ?? serializeOutput(out));
    if (direct) for (const ws of direct) this.send(ws, frame);
    if (wildcard) for (const ws of wildcard) if (!direct?.has(ws)) this.send(ws, frame);
  }

  /** Sockets write as they go; nothing is held back here. */
  flush(): void {}

  subscribers(op: string): number {
    return (this.byTopic.get(op)?.size ?? 0) + (op === ALL ? 0 : this.byTopic.get(ALL)?.size ?? 0);
  }

  stats(): { clients: number; sent: number; slowClosed: number } {
    return { clients: this.clients.size, sent: this.sent, slowClosed: this.slowClosed };
  }

  close(): void {
    for (const ws of [...this.clients.keys()]) ws.close(1001, 'server shutting down');
    this.clients.clear();
    this.byTopic.clear();
  }

  private send(ws: WebSocket, frame: Buffer): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.maxBufferedBytes) {
      this.slowClosed++;
      ws.close(1013, `slow consumer: more than ${this.maxBufferedBytes} bytes queued`);
      this.drop(ws);
      return;
    }
    ws.send(frame, { binary: false });
    this.sent++;
  }

  private onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) return this.error(ws, 'control messages are JSON text, e.g. {"subscribe":["vwap_1s"]}');
    if (bytes.length > MAX_CONTROL_BYTES) return this.error(ws, `control message is ${bytes.length} bytes; the limit is ${MAX_CONTROL_BYTES}`);
    let msg: unknown;
    try { msg = JSON.parse(bytes.toString('utf8')); } catch (e) {
      return this.error(ws, `control message is not valid JSON (${(e as Error).message}); expected {"subscribe":["op"]} or {"unsubscribe":["op"]}`);
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      return this.error(ws, 'control message must be an object: {"subscribe":["op"]} or {"unsubscribe":["op"]}');
    }
    const m = msg as Record<string, unknown>;
    const extra = Object.keys(m).filter((k) => k !== 'subscribe' && k !== 'unsubscribe');
    if (extra.length) return this.error(ws, `unknown field ${JSON.stringify(extra[0])}; expected "subscribe" or "unsubscribe"`);
    if (m.subscribe === undefined && m.unsubscribe === undefined) return this.error(ws, 'control message needs "subscribe" or "unsubscribe"');
    for (const field of ['subscribe', 'unsubscribe'] as const) {
      const v = m[field];
      if (v === undefined) continue;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) {
        return this.error(ws, `"${field}" must be an array of operator names, got ${JSON.stringify(v).slice(0, 80)}`);
      }
    }
    // Validate both lists before applying either, so a bad message changes nothing.
    const sub = (m.subscribe as string[] | undefined) ?? [];
    const unsub = (m.unsubscribe as string[] | undefined) ?? [];
    const unknown = this.unknownTopic(sub);
    if (unknown) return this.error(ws, unknown);
    this.apply(ws, sub, unsub);
  }

  private change(ws: WebSocket, sub: string[], atConnect: boolean): void {
    const unknown = this.unknownTopic(sub);
    if (unknown) return this.error(ws, atConnect ? `?subscribe: ${unknown}` : unknown);
    this.apply(ws, sub, []);
  }

  private apply(ws: WebSocket, sub: string[], unsub: string[]): void {
    const mine = this.clients.get(ws);
    if (!mine) return;
    for (const t of unsub) { mine.delete(t); this.byTopic.get(t)?.delete(ws); }
    for (const t of sub) {
      mine.add(t);
      let set = this.byTopic.get(t);
      if (!set) this.byTopic.set(t, (set = new Set()));
      set.add(ws);
    }
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ subscribed: [...mine].sort() }));
  }

  private unknownTopic(names: string[]): string | undefined {
    if (!this.known) return undefined;
    const bad = names.find((n) => n !== ALL && n !== DEAD_LETTER_TOPIC && !this.known!.has(n));
    if (bad === undefined) return undefined;
    return `unknown operator ${JSON.stringify(bad)}; this pipeline has: ${[...this.known].join(', ') || '(none)'} (or "${DEAD_LETTER_TOPIC}" for dead letters, "*" for all)`;
  }

  private error(ws: WebSocket, message: string): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ error: message }));
  }

  private drop(ws: WebSocket): void {
    const mine = this.clients.get(ws);
    if (!mine) return;
    for (const t of mine) this.byTopic.get(t)?.delete(ws);
    this.clients.delete(ws);
  }
}
