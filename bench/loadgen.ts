// Load generator: a separate process that plays an exchange feed of trades into
// a WebSocket or MQTT source and prints one JSON summary line on stdout.
//
//   npx tsx bench/loadgen.ts --target ws://127.0.0.1:8080/ingest --format fb --rate max --duration 10 --batch 1000
//   npx tsx bench/loadgen.ts --target mqtt://127.0.0.1:1883 --topic trades --format json --rate 200000 --duration 5 --batch 100
//
// Frames are what the codec (host/codec/) accepts for the built-in trade type:
//   fb    TradeRecordBatch, file identifier "GTRR": a vector of 80-byte
//         TradeRecord structs laid out like the ring record (schemas/trades.fbs)
//   json  an array of trade objects with string ids and `ts` as an exact
//         epoch-nanosecond string
//   raw   --batch records of --record-bytes bytes (default 32), each starting
//         with the i64 ts: not a codec format, for measuring transports alone
// Every event's `ts` is the send time (ns since epoch, the same hrtime-anchored
// clock the sources stamp receivedAtNs with), so a receiver on the same host
// computes latency as receive/processing time minus ts.
//
// Frames are encoded once as templates; each send only rewrites the
// timestamps, so the generator itself is not what a benchmark measures.
// Over WebSocket it is the reference producer of the ws_source protocol: it
// keeps unacked frames and after a dropped connection reconnects with
// ?seq=<first unacked> and resends them (up to 30 s of retries).
// Flow control: over WebSocket the source acks every frame and at most
// --window frames are unacked (with --acks 0: the socket's send buffer is
// kept under 8 MiB instead); over MQTT at most --window QoS 1 publishes await
// their PUBACK.
import { pathToFileURL } from 'node:url';
import * as flatbuffers from 'flatbuffers';
import { TradeRecord } from '../schemas/generated/ganglion/wire/trade-record.js';
import { TradeRecordBatch } from '../schemas/generated/ganglion/wire/trade-record-batch.js';
import { receiveNowNs } from '../host/ingest/receive_clock.js';

export interface LoadgenOptions {
  target: string;
  format: 'fb' | 'json' | 'raw';
  /** Record size of the raw format. */
  recordBytes: number;
  /** Events per second, or 'max' for flat out. */
  rate: number | 'max';
  durationSeconds: number;
  batch: number;
  topic?: string;
  token?: string;
  window: number;
  acks: boolean;
  qos: 0 | 1;
  instruments: number;
}

export interface LoadgenSummary {
  target: string;
  format: string;
  events: number;
  frames: number;
  bytes: number;
  seconds: number;
  eventsPerSec: number;
  framesAcked: number;
  eventsAccepted: number;
  eventsRejected: number;
  framesRejected: number;
  /** WebSocket: reconnects after a dropped connection, and frames resent after them. */
  reconnects: number;
  framesResent: number;
  error?: string;
}

export const TRADE_RECORD_BYTES = 80;

/** A TradeRecordBatch frame whose timestamps can be rewritten in place. */
export class FbTradeFrame {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly recordsAt: number;
  constructor(readonly events: number, instruments: number, seed = 1) {
    const b = new flatbuffers.Builder(events * TRADE_RECORD_BYTES + 64);
    const rnd = xorshift(seed);
    TradeRecordBatch.startRecordsVector(b, events);
    // Structs are prepended: write the last one first so record i is at index i.
    for (let i = events - 1; i >= 0; i--) {
      const instrument = i % instruments;
      TradeRecord.createTradeRecord(b, 0n, 0n, 0, 0, instrument, 100 + instrument + rnd() * 2, 1 + Math.floor(rnd() * 500), rnd() < 0.5 ? 1 : -1, i % 37, i % 101, i % 5);
    }
    const vec = b.endVector();
    const root = TradeRecordBatch.createTradeRecordBatch(b, vec);
    b.finish(root, 'GTRR');
    this.bytes = b.asUint8Array().slice();
    this.view = new DataView(this.bytes.buffer);
    const bb = new flatbuffers.ByteBuffer(this.bytes);
    const batch = TradeRecordBatch.getRootAsTradeRecordBatch(bb);
    this.recordsAt = batch.records(0)!.bb_pos;
  }
  stamp(ts: bigint): Uint8Array {
    for (let i = 0, at = this.recordsAt; i < this.events; i++, at += TRADE_RECORD_BYTES) this.view.setBigInt64(at, ts, true);
    return this.bytes;
  }
}

/** Fixed-size records with only the timestamp set: transport benchmarks. */
export class RawFrame {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(readonly events: number, readonly recordBytes: number) {
    if (recordBytes < 8) throw new Error(`--record-bytes must be at least 8 (the timestamp), got ${recordBytes}`);
    this.bytes = new Uint8Array(events * recordBytes);
    this.view = new DataView(this.bytes.buffer);
    for (let i = 0; i < this.bytes.length; i++) if (i % recordBytes >= 8) this.bytes[i] = i & 255;
  }
  stamp(ts: bigint): Uint8Array {
    for (let at = 0; at < this.bytes.length; at += this.recordBytes) this.view.setBigInt64(at, ts, true);
    return this.bytes;
  }
}

/**
 * A JSON array of trades as UTF-8 bytes whose `ts` digits are rewritten in
 * place, like the FlatBuffers template: building a 140 KB string per frame
 * (concatenation, then flattening and encoding it for the socket) cost the
 * producer more than the receiver's whole decode, so the generator, not the
 * target, set the JSON rate.
 */
export class JsonTradeFrame {
  private bytes = new Uint8Array(0);
  /** Offset of each event's ts digits. */
  private tsAt: number[] = [];
  private tsDigits = -1;
  private readonly rest: string[] = [];
  constructor(readonly events: number, instruments: number, seed = 1) {
    const rnd = xorshift(seed);
    for (let i = 0; i < events; i++) {
      const instrument = i % instruments;
      const price = (100 + instrument + rnd() * 2).toFixed(4);
      this.rest.push(`","instrument":"SYM${instrument}","price":${price},"qty":${1 + Math.floor(rnd() * 500)},"side":"${rnd() < 0.5 ? 'buy' : 'sell'}","trader":"T${i % 37}","account":"A${i % 101}","asset_class":"AC${i % 5}"}`);
    }
  }
  /** Lays the frame out for timestamps of `digits` digits (19 for epoch ns until 2286). */
  private layout(digits: number): void {
    const placeholder = '0'.repeat(digits);
    let text = '[';
    this.tsAt = [];
    for (let i = 0; i < this.events; i++) {
      text += '{"ts":"';
      this.tsAt.push(text.length); // ASCII: characters are bytes
      text += placeholder + this.rest[i] + (i === this.events - 1 ? ']' : ',');
    }
    this.bytes = new TextEncoder().encode(text);
    this.tsDigits = digits;
  }
  stamp(ts: bigint): Uint8Array {
    const t = ts.toString();
    if (t.length !== this.tsDigits) this.layout(t.length);
    const b = this.bytes;
    for (const at of this.tsAt) for (let k = 0; k < t.length; k++) b[at + k] = t.charCodeAt(k);
    return b;
  }
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

const tick = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Transport {
  /** Binary (FlatBuffers, raw) or text (JSON) frames, by the run's format. */
  send(frame: Uint8Array): void;
  /** Frames that may still be sent now without exceeding the window. */
  room(): number;
  finish(): Promise<void>;
  stats: { framesAcked: number; eventsAccepted: number; eventsRejected: number; framesRejected: number; reconnects: number; framesResent: number };
  error?: string;
}

const newStats = () => ({ framesAcked: 0, eventsAccepted: 0, eventsRejected: 0, framesRejected: 0, reconnects: 0, framesResent: 0 });

/**
 * The reference producer of the ws_source protocol: every frame gets the next
 * producer sequence number and is kept until its ack arrives; when the
 * connection drops (source restart, network) it reconnects with
 * ?seq=<first unacked> and resends from there, in order.
 */
const EMPTY = new Uint8Array(0);

async function wsTransport(o: LoadgenOptions): Promise<Transport> {
  const { default: WebSocket } = await import('ws');
  // JSON goes in text frames (the source hands those to the JSON decoder), from bytes all the same.
  const binary = o.format !== 'json';
  type Ws = InstanceType<typeof WebSocket>;
  // Frames from the first unacked one on, in sequence order: pending[i] has
  // producer seq pendingBase + i; acked[i] says whether its ack came.
  let pending: Uint8Array[] = [];
  let acked: boolean[] = [];
  let pendingHead = 0;
  let pendingBase = 1;
  let nextSeq = 1;
  let finishing = false;
  let ws: Ws;
  const t: Transport = {
    stats: newStats(),
    send: (frame) => {
      // ws copies a frame while masking it, but the template is re-stamped
      // in place: keep a copy of what this sequence number carried.
      if (o.acks) { pending.push(frame.slice()); acked.push(false); }
      nextSeq++;
      ws.send(frame, { binary });
    },
    room: () => {
      if (ws.readyState !== ws.OPEN) return 0;
      if (!o.acks) return ws.bufferedAmount < 8 * 1024 * 1024 ? 1 : 0;
      return o.window - (pending.length - pendingHead);
    },
    finish: async () => {
      const end = Date.now() + 15_000;
      while (o.acks && pendingHead < pending.length && !t.error && Date.now() < end) await sleep(2);
      if (o.acks && pendingHead < pending.length) t.error ??= `${pending.length - pendingHead} frames were never acked`;
      finishing = true;
      await new Promise<void>((r) => { if (ws.readyState === ws.CLOSED) r(); else { ws.once('close', () => r()); ws.close(1000); } });
    },
  };

  const onAck = (a: { ack: number; ok: boolean; accepted?: number; rejected?: number }) => {
    const i = a.ack - pendingBase;
    if (i < pendingHead || i >= pending.length || acked[i]) return; // a resent frame acked twice
    acked[i] = true;
    t.stats.framesAcked++;
    if (!a.ok) t.stats.framesRejected++;
    t.stats.eventsAccepted += a.accepted ?? 0;
    t.stats.eventsRejected += a.rejected ?? 0;
    while (pendingHead < pending.length && acked[pendingHead]) pending[pendingHead++] = EMPTY;
    if (pendingHead > 1024 && pendingHead * 2 > pending.length) {
      pending = pending.slice(pendingHead);
      acked = acked.slice(pendingHead);
      pendingBase += pendingHead;
      pendingHead = 0;
    }
  };

  const open = (firstSeq: number): Promise<Ws> => new Promise((resolve, reject) => {
    const url = new URL(o.target);
    if (o.token) url.searchParams.set('token', o.token);
    if (!o.acks) url.searchParams.set('acks', '0');
    url.searchParams.set('seq', String(firstSeq));
    const sock = new WebSocket(url, { perMessageDeflate: false });
    sock.once('open', () => resolve(sock));
    sock.once('unexpected-response', (_req, res) => reject(new Error(`${o.target} refused the connection: HTTP ${res.statusCode}`)));
    sock.once('error', (e) => reject(new Error(`cannot connect to ${o.target}: ${e.message}`)));
    sock.on('message', (data, isBinary) => { if (!isBinary) onAck(JSON.parse(String(data))); });
    sock.on('close', (code, reason) => { if (sock === ws && !finishing) void reconnect(code, String(reason)); });
  });

  const reconnect = async (code: number, reason: string) => {
    if (!o.acks) { t.error ??= `connection closed: ${code} ${reason} (no acks: cannot resend)`; return; }
    const giveUp = Date.now() + 30_000;
    let delay = 50;
    for (;;) {
      await sleep(delay);
      try {
        const from = pendingBase + pendingHead;
        const sock = await open(from);
        ws = sock;
        t.stats.reconnects++;
        for (let i = pendingHead; i < pending.length; i++) {
          // Frames acked after the first unacked one are resent too: the
          // connection's sequence numbers are positional.
          sock.send(pending[i], { binary });
          t.stats.framesResent++;
        }
        return;
      } catch (e) {
        if (Date.now() > giveUp) { t.error ??= `reconnect failed for 30 s after ${code} ${reason}: ${(e as Error).message}`; return; }
        delay = Math.min(1000, delay * 2);
      }
    }
  };

  ws = await open(nextSeq);
  return t;
}

async function mqttTransport(o: LoadgenOptions): Promise<Transport> {
  if (!o.topic) throw new Error('--topic is required for an mqtt:// target');
  const mqtt = await import('mqtt');
  const client = await mqtt.connectAsync(o.target, { protocolVersion: 5, clientId: `ganglion-loadgen-${process.pid}`, reconnectPeriod: 0 }).catch((e: Error) => {
    throw new Error(`cannot connect to ${o.target}: ${e.message}`);
  });
  let inflight = 0;
  const t: Transport = {
    stats: newStats(),
    send: (frame) => {
      inflight++;
      client.publish(o.topic!, frame as Buffer, { qos: o.qos }, (err) => {
        inflight--;
        if (err) { t.error ??= err.message; return; }
        t.stats.framesAcked++;
      });
    },
    room: () => (client.connected ? o.window - inflight : 0),
    finish: async () => {
      const end = Date.now() + 10_000;
      while (inflight > 0 && client.connected && Date.now() < end) await sleep(2);
      if (inflight > 0) t.error ??= `${inflight} publishes were never acked`;
      await client.endAsync();
    },
  };
  client.on('error', (e) => (t.error ??= e.message));
  return t;
}

export async function runLoadgen(o: LoadgenOptions): Promise<LoadgenSummary> {
  const isMqtt = /^mqtts?:/.test(o.target);
  const transport = isMqtt ? await mqttTransport(o) : await wsTransport(o);
  const fb = o.format === 'fb' ? new FbTradeFrame(o.batch, o.instruments) : o.format === 'raw' ? new RawFrame(o.batch, o.recordBytes) : undefined;
  const js = o.format === 'json' ? new JsonTradeFrame(o.batch, o.instruments) : undefined;
  const framesPerSec = o.rate === 'max' ? Infinity : o.rate / o.batch;
  let frames = 0, bytes = 0;
  const started = performance.now();
  const endAt = started + o.durationSeconds * 1000;
  while (!transport.error) {
    const now = performance.now();
    if (now >= endAt) break;
    const due = framesPerSec === Infinity ? Infinity : Math.floor(((now - started) / 1000) * framesPerSec) - frames;
    let n = Math.min(due, transport.room());
    if (n <= 0) {
      await (framesPerSec === Infinity || due > 0 ? tick() : sleep(1));
      continue;
    }
    n = Math.min(n, 64); // yield to the event loop regularly so acks are read
    const ts = receiveNowNs();
    for (let i = 0; i < n; i++) {
      let frame: Uint8Array = fb ? fb.stamp(ts) : js!.stamp(ts);
      if (isMqtt) frame = Buffer.from(frame);
      bytes += frame.byteLength;
      transport.send(frame);
      frames++;
    }
    await tick();
  }
  const sendSeconds = (performance.now() - started) / 1000;
  await transport.finish();
  const events = frames * o.batch;
  return {
    target: o.target,
    format: o.format,
    events,
    frames,
    bytes,
    seconds: Number(sendSeconds.toFixed(3)),
    eventsPerSec: Math.round(events / sendSeconds),
    ...transport.stats,
    ...(transport.error ? { error: transport.error } : {}),
  };
}

export function parseLoadgenArgs(argv: string[]): LoadgenOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const known = new Set(['target', 'format', 'rate', 'duration', 'batch', 'topic', 'token', 'window', 'acks', 'qos', 'instruments', 'record-bytes']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a.slice(2))) throw new Error(`unknown option ${a} (known: ${[...known].map((k) => '--' + k).join(' ')})`);
  const int = (name: string, dflt: number, min: number): number => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const target = get('target');
  if (!target || !/^(wss?|mqtts?):\/\//.test(target)) throw new Error(`--target must be a ws://, wss://, mqtt:// or mqtts:// URL, got "${target ?? ''}"`);
  const format = get('format') ?? 'fb';
  if (format !== 'fb' && format !== 'json' && format !== 'raw') throw new Error(`--format must be fb, json or raw, got "${format}"`);
  const rateText = get('rate') ?? 'max';
  const rate = rateText === 'max' ? 'max' : Number(rateText);
  if (rate !== 'max' && (!Number.isFinite(rate) || rate <= 0)) throw new Error(`--rate must be events per second (> 0) or "max", got "${rateText}"`);
  const durationText = get('duration') ?? '10';
  const durationSeconds = Number(durationText);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) throw new Error(`--duration must be seconds (> 0), got "${durationText}"`);
  const qos = int('qos', 1, 0);
  if (qos > 1) throw new Error(`--qos must be 0 or 1, got ${qos}`);
  const acks = get('acks') ?? '1';
  if (acks !== '0' && acks !== '1') throw new Error(`--acks must be 0 or 1, got "${acks}"`);
  return {
    target,
    format,
    rate,
    durationSeconds,
    batch: int('batch', 1000, 1),
    topic: get('topic'),
    token: get('token'),
    window: int('window', 128, 1),
    acks: acks === '1',
    qos: qos as 0 | 1,
    instruments: int('instruments', 100, 1),
    recordBytes: int('record-bytes', 32, 8),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const summary = await runLoadgen(parseLoadgenArgs(process.argv.slice(2)));
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.exitCode = summary.error ? 1 : 0;
  } catch (e) {
    process.stderr.write(`loadgen: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
