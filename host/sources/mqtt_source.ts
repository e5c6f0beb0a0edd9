// MQTT 5 ingest: subscribes to topics with QoS 1 on a persistent session and
// hands every message payload to the pipeline as one frame (FlatBuffers or
// JSON by topic). mqtt.js is imported on start(), not on import.
//
// Delivery guarantees come from three MQTT 5 features used together:
// - Persistent session: fixed clientId, Clean Start off, Session Expiry
//   Interval (default 1 day). While ganglion is away (crash, restart, network
//   drop) the broker queues QoS 1 messages for the session and delivers them
//   on reconnect.
// - PUBACK timing: a QoS 1 message is PUBACKed only when the pipeline acks the
//   frame (in exactly-once / at-least-once modes: once it is durable). Until
//   then the broker owns it and redelivers it to the session after a
//   reconnect. PUBACKs leave in the order the messages arrived, as MQTT
//   requires, even if the pipeline acks out of order. With
//   `puback: 'on-receipt'` (at-most-once pipelines) the PUBACK leaves at once.
// - Receive Maximum: the broker never has more than `receiveMaximum`
//   un-PUBACKed QoS 1 messages in flight to us, so withheld acks are the
//   backpressure: a paused pipeline stops acking and the broker stops sending.
//   pause() additionally stops reading the socket (which also holds back
//   QoS 0 traffic); frames already parsed when pause() lands wait in a small
//   queue (bounded by receiveMaximum for QoS 1) and go out on resume().
//
// mqtt.js processes one incoming packet at a time and sends the PUBACK only
// when its customHandleAcks callback is answered, which would serialise the
// pipeline on its ack latency. So the callback is answered at once with a
// private marker error (mqtt.js then moves on without a PUBACK) and this
// module writes the PUBACK itself when the pipeline acks. A reconnect starts a
// new "generation": acks for frames of the old connection are dropped (the
// broker redelivers those messages with DUP set: at-least-once at this layer).
//
// Exactly-once on top (the producer contract, as over WebSocket): a PUBLISH
// carrying the MQTT 5 user properties `producer` (an id, 1..128 printable
// ASCII characters) and `seq` (an integer, increasing per producer) goes
// through the pipeline's producer table (host/ingest/producers.ts): a
// redelivery or a publisher's DUP republish of a message already in the
// ingest log is PUBACKed and not ingested again. Malformed properties put
// the message in the dead-letter queue (reason bad_producer). Without them,
// QoS 1 is at-least-once: a message whose PUBACK was lost (ganglion crashed
// after logging it, or the connection dropped) is ingested twice.
//
// Retained messages: a broker replays a topic's retained message on every
// new subscription, which would ingest the same stale message on every start
// after a session loss. By default (`retained: 'ignore'`) subscriptions use
// Retain Handling 2 (do not send) and any message still flagged retained is
// PUBACKed without being ingested; `'process'` uses Retain Handling 1 (only
// when the subscription is new) and ingests them.
//
// Session loss: when a CONNACK says Session Present = 0 (broker restarted
// without persistence, session expired), the subscriptions are gone with it;
// they are made again at once and the loss is logged (messages the broker
// dropped with the session cannot be recovered here).
import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient, IPublishPacket } from 'mqtt';
import type { Ack, Frame, FrameSink, Source } from './source.js';
import { receiveNowNs } from '../ingest/receive_clock.js';
import { producerIdProblem, producerSeqProblem } from '../ingest/producers.js';

export interface MqttTopic {
  /** Topic filter, wildcards allowed (`trades/#`, `quotes/+/eu`). */
  filter: string;
  /** Payload format of messages matching this filter (default json). */
  format?: 'json' | 'flatbuffers';
  /** Subscription QoS (default 1; 0 only for feeds where loss is acceptable). */
  qos?: 0 | 1;
}

/** ca/cert/key: PEM text (a string containing "-----BEGIN"), a Buffer, or a path to a PEM file. */
export interface MqttTlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface MqttSourceOptions {
  name?: string;
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  /** Fixed client id: the broker keys the persistent session on it. */
  clientId: string;
  topics: Array<string | MqttTopic>;
  username?: string;
  password?: string;
  tls?: MqttTlsOptions;
  /** Seconds the broker keeps the session (and queues for it) after a disconnect. Default 86400. */
  sessionExpirySeconds?: number;
  /** Start with a fresh session (drops whatever the broker queued). Default false. */
  cleanStart?: boolean;
  /** Most un-PUBACKed QoS 1 messages the broker may have in flight to us. Default 1024. */
  receiveMaximum?: number;
  /** 'after-ack' (default): PUBACK when the pipeline acks; 'on-receipt': at once (at-most-once). */
  puback?: 'after-ack' | 'on-receipt';
  /** Reconnect backoff: first delay, doubling up to the maximum. Defaults 100 ms and 10 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Give up on the first connection after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** close() waits this long for outstanding pipeline acks so their PUBACKs leave. Default 2 s. */
  closeTimeoutMs?: number;
  /** Retained messages: 'ignore' (default) never ingests them; 'process' ingests them once per new subscription. */
  retained?: 'ignore' | 'process';
  onError?: (error: Error) => void;
  /** Operational messages (resubscribed after a session loss). Default: stderr. */
  onInfo?: (line: string) => void;
}

interface ResolvedTopic { filter: string; binary: boolean; qos: 0 | 1 }
interface Held { data: Uint8Array; binary: boolean; topic: string; receivedAtNs: bigint; slot: number; generation: number; producer?: Pick<Frame, 'producer' | 'producerSeq' | 'invalid'> }

/** Answering customHandleAcks with this makes mqtt.js skip its own PUBACK (see the header). */
const HOLD_PUBACK = new Error('ganglion: PUBACK held until the pipeline acks');
HOLD_PUBACK.stack = undefined;

const PUBACK_SUCCESS = 0;
const PUBACK_PAYLOAD_FORMAT_INVALID = 0x99;

export class MqttSource implements Source {
  readonly name: string;
  private readonly opts: MqttSourceOptions;
  private readonly topics: ResolvedTopic[];
  private readonly binaryByTopic = new Map<string, boolean>();
  private readonly onError: (e: Error) => void;
  private client: MqttClient | undefined;
  private sink: FrameSink | undefined;
  private paused = false;
  private closing = false;
  private held: Held[] = [];
  private heldHead = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  /** Bumped on every lost connection; acks of older generations are dropped. */
  private generation = 0;
  // In-order PUBACK queue for the current generation: message ids and the
  // reason code to send (-1 while the pipeline has not acked yet).
  private ackIds: number[] = [];
  private ackCodes: number[] = [];
  private ackHead = 0;
  private ackBase = 0;
  private corked = false;
  private readonly onInfo: (line: string) => void;
  /** Counters for metrics and tests. */
  readonly stats = { frames: 0, pubacks: 0, reconnects: 0, resubscribes: 0, retainedIgnored: 0 };

  constructor(options: MqttSourceOptions) {
    this.name = options.name ?? 'mqtt';
    const where = `mqtt source "${this.name}"`;
    if (!/^mqtts?:\/\/[^/]+/.test(options.url ?? '')) throw new Error(`${where}: url must look like mqtt://host:port or mqtts://host:port, got "${options.url}"`);
    if (!options.clientId) throw new Error(`${where}: clientId is required (the broker keeps the persistent session under it)`);
    if (!Array.isArray(options.topics) || options.topics.length === 0) throw new Error(`${where}: topics must list at least one topic filter`);
    this.topics = options.topics.map((t, i) => {
      const topic = typeof t === 'string' ? { filter: t } : t;
      if (!validFilter(topic.filter)) throw new Error(`${where}: topics[${i}] "${topic.filter}" is not a valid MQTT topic filter`);
      if (topic.format !== undefined && topic.format !== 'json' && topic.format !== 'flatbuffers') throw new Error(`${where}: topics[${i}].format must be "json" or "flatbuffers", got "${topic.format}"`);
      if (topic.qos !== undefined && topic.qos !== 0 && topic.qos !== 1) throw new Error(`${where}: topics[${i}].qos must be 0 or 1, got ${topic.qos}`);
      return { filter: topic.filter, binary: topic.format === 'flatbuffers', qos: topic.qos ?? 1 };
    });
    const rm = options.receiveMaximum ?? 1024;
    if (!Number.isInteger(rm) || rm < 1 || rm > 65535) throw new Error(`${where}: receiveMaximum must be an integer 1..65535, got ${rm}`);
    const se = options.sessionExpirySeconds ?? 86400;
    if (!Number.isInteger(se) || se < 0 || se > 0xffffffff) throw new Error(`${where}: sessionExpirySeconds must be an integer 0..4294967295, got ${se}`);
    this.opts = options;
    this.reconnectDelay = options.reconnectMinMs ?? 100;
    if (options.retained !== undefined && options.retained !== 'ignore' && options.retained !== 'process') throw new Error(`${where}: retained must be "ignore" or "process", got "${options.retained}"`);
    this.onError = options.onError ?? ((e) => process.stderr.write(`ganglion: ${where}: ${e.message}\n`));
    this.onInfo = options.onInfo ?? ((l) => process.stderr.write(`ganglion: ${where}: ${l}\n`));
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(sink: FrameSink): Promise<void> {
    if (this.client) throw new Error(`mqtt source "${this.name}" is already started`);
    this.sink = sink;
    const mqtt = await import('mqtt');
    const o = this.opts;
    const clientOpts: IClientOptions = {
      protocolVersion: 5,
      clientId: o.clientId,
      clean: o.cleanStart ?? false,
      properties: { sessionExpiryInterval: o.sessionExpirySeconds ?? 86400, receiveMaximum: o.receiveMaximum ?? 1024 },
      username: o.username,
      password: o.password,
      reconnectPeriod: 0, // our own backoff below
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      keepalive: 30,
      // mqtt.js only remembers subscriptions when it reconnects by itself
      // (reconnectPeriod > 0); ours are made again on a CONNACK without a session.
      resubscribe: false,
      customHandleAcks: (topic, message, packet, done) => this.onQos1(topic, message, packet, done),
      ...(o.tls ? this.tlsOptions(o.tls) : {}),
    };
    const client = mqtt.connect(o.url, clientOpts);
    this.client = client;
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (e: Error) => { cleanup(); reject(e); };
        const ok = () => { cleanup(); resolve(); };
        const closed = () => fail(new Error('connection closed'));
        const cleanup = () => { client.off('error', fail); client.off('connect', ok); client.off('close', closed); };
        client.once('error', fail);
        client.once('connect', ok);
        client.once('close', closed);
      });
    } catch (e) {
      this.client = undefined;
      client.end(true);
      throw new Error(`mqtt source "${this.name}": cannot connect to ${o.url}: ${describe(e as Error)}`);
    }
    client.on('error', (e) => { if (e !== HOLD_PUBACK) this.onError(new Error(describe(e))); });
    client.on('message', (topic, payload, packet) => { if (packet.qos === 0 && !this.skipRetained(topic, packet)) this.accept(topic, payload, -1, packet); });
    client.on('close', () => this.connectionLost());
    client.on('connect', (connack) => {
      this.reconnectDelay = o.reconnectMinMs ?? 100;
      if (this.paused) client.stream.pause();
      if (!connack.sessionPresent) {
        this.stats.resubscribes++;
        // With cleanStart every connection begins without a session: expected, not worth a line.
        if (!o.cleanStart) this.onInfo(`the broker has no session for client "${o.clientId}" (restarted without persistence, or the session expired): subscribing again to ${this.topics.map((t) => t.filter).join(', ')}; messages the broker dropped with the session are lost at the broker`);
        this.subscribe(client).catch((e: Error) => this.onError(e));
      }
    });
    await this.subscribe(client).catch(async (e: Error) => {
      await this.close();
      throw e;
    });
  }

  /** Subscribes to every topic; a refusal or failure is an error naming the topic. */
  private async subscribe(client: MqttClient): Promise<void> {
    // Retain Handling: 2 = never send retained messages on subscribing, 1 = only for a new subscription.
    const rh = this.opts.retained === 'process' ? 1 : 2;
    const granted = await client.subscribeAsync(Object.fromEntries(this.topics.map((t) => [t.filter, { qos: t.qos, rh }]))).catch((e: Error) => {
      throw new Error(`mqtt source "${this.name}": subscribe failed: ${describe(e)}`);
    });
    for (const g of granted) {
      if (g.qos >= 0x80) throw new Error(`mqtt source "${this.name}": the broker refused the subscription to "${g.topic}" (reason code 0x${g.qos.toString(16)})`);
    }
  }

  /** A retained message with `retained: ignore`: PUBACKed (QoS 1) by the caller, never ingested. */
  private skipRetained(topic: string, packet: IPublishPacket): boolean {
    if (!packet.retain || this.opts.retained === 'process') return false;
    if (this.stats.retainedIgnored++ === 0) this.onInfo(`ignoring retained messages (first on "${topic}"); set retained: process to ingest them`);
    return true;
  }

  private tlsOptions(tls: MqttTlsOptions): MqttTlsOptions {
    const pem = (what: 'ca' | 'cert' | 'key'): string | Buffer | undefined => {
      const v = tls[what];
      if (v === undefined || Buffer.isBuffer(v) || v.includes('-----BEGIN')) return v;
      try {
        return readFileSync(v);
      } catch (e) {
        throw new Error(`mqtt source "${this.name}": tls.${what}: cannot read PEM file "${v}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    return { ...tls, ca: pem('ca'), cert: pem('cert'), key: pem('key') };
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.client?.stream?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drainHeld();
    if (!this.paused) this.client?.stream?.resume();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    this.paused = false;
    this.drainHeld();
    const client = this.client;
    if (!client) return;
    // Give the pipeline a moment to ack what it has, so those PUBACKs leave and
    // the broker does not redeliver them to the next session.
    const deadline = Date.now() + (this.opts.closeTimeoutMs ?? 2000);
    while (this.ackHead < this.ackIds.length && client.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // A normal DISCONNECT keeps the session for sessionExpirySeconds.
    await new Promise<void>((resolve) => client.end(false, { reasonCode: 0 }, () => resolve()));
    this.client = undefined;
  }

  // ---- receive path ----

  private onQos1(topic: string, payload: Buffer, packet: IPublishPacket, done: (error: Error | number) => void): void {
    const skip = this.skipRetained(topic, packet);
    if (this.opts.puback === 'on-receipt') {
      if (!skip) this.accept(topic, payload, -1, packet);
      done(PUBACK_SUCCESS);
      return;
    }
    this.ackIds.push(packet.messageId!);
    this.ackCodes.push(skip ? PUBACK_SUCCESS : -1);
    if (skip) this.flushPubacks();
    else this.accept(topic, payload, this.ackBase + this.ackIds.length - 1, packet);
    done(HOLD_PUBACK);
  }

  private accept(topic: string, payload: Buffer, slot: number, packet: IPublishPacket): void {
    const held: Held = { data: payload, binary: this.isBinary(topic), topic, receivedAtNs: receiveNowNs(), slot, generation: this.generation };
    const props = packet.properties?.userProperties;
    if (props && (props.producer !== undefined || props.seq !== undefined)) held.producer = producerOf(props);
    if (this.paused || this.heldHead < this.held.length) this.held.push(held);
    else this.deliver(held);
  }

  private deliver(h: Held): void {
    const frame: Frame = { data: h.data, binary: h.binary, origin: `mqtt:${h.topic}`, receivedAtNs: h.receivedAtNs, ...h.producer };
    this.stats.frames++;
    try {
      this.sink!.onFrame(frame, h.slot < 0 ? noAck : this.makeAck(h.generation, h.slot));
    } catch (e) {
      // The message stays un-PUBACKed: the broker redelivers it after a reconnect.
      this.onError(new Error(`sink failed on a frame from ${frame.origin}: ${(e as Error).message}`));
    }
  }

  private drainHeld(): void {
    while (!this.paused && this.heldHead < this.held.length) this.deliver(this.held[this.heldHead++]);
    if (this.heldHead === this.held.length) { this.held = []; this.heldHead = 0; }
  }

  private isBinary(topic: string): boolean {
    let b = this.binaryByTopic.get(topic);
    if (b === undefined) {
      b = this.topics.find((t) => topicMatches(t.filter, topic))?.binary ?? false;
      if (this.binaryByTopic.size < 10_000) this.binaryByTopic.set(topic, b);
    }
    return b;
  }

  // ---- PUBACK path ----

  private makeAck(generation: number, slot: number): Ack {
    let done = false;
    return (accepted, info) => {
      if (done) return;
      done = true;
      if (generation !== this.generation) return;
      // Refused for the pipeline's own reason (not durable): no PUBACK, so the
      // broker redelivers it; a failure PUBACK would end its delivery for good.
      if (!accepted && info?.retry) return;
      this.ackCodes[slot - this.ackBase] = accepted ? PUBACK_SUCCESS : PUBACK_PAYLOAD_FORMAT_INVALID;
      this.flushPubacks();
    };
  }

  private flushPubacks(): void {
    const client = this.client;
    while (this.ackHead < this.ackIds.length && this.ackCodes[this.ackHead] >= 0) {
      const messageId = this.ackIds[this.ackHead];
      const reasonCode = this.ackCodes[this.ackHead];
      this.ackHead++;
      if (client?.connected) {
        this.corkUntilNextTurn(client);
        // noStore: a PUBACK must never be queued for a later connection.
        (client as unknown as { _sendPacket(p: object, cb?: () => void, s?: () => void, noStore?: boolean): void })
          ._sendPacket({ cmd: 'puback', messageId, reasonCode }, undefined, undefined, true);
        this.stats.pubacks++;
      }
    }
    if (this.ackHead > 4096 && this.ackHead * 2 > this.ackIds.length) {
      this.ackIds = this.ackIds.slice(this.ackHead);
      this.ackCodes = this.ackCodes.slice(this.ackHead);
      this.ackBase += this.ackHead;
      this.ackHead = 0;
    }
  }

  /**
   * mqtt.js handles one packet per process.nextTick, and mqtt-packet corks only
   * until the next tick, so every PUBACK would cost its own write syscall.
   * Holding the socket corked until the event loop turns sends the PUBACKs of
   * a whole burst of PUBLISHes in one write.
   */
  private corkUntilNextTurn(client: MqttClient): void {
    if (this.corked) return;
    const stream = client.stream as { cork?: () => void; uncork?: () => void };
    if (!stream.cork || !stream.uncork) return;
    this.corked = true;
    stream.cork();
    setImmediate(() => {
      this.corked = false;
      stream.uncork!();
    });
  }

  private connectionLost(): void {
    this.generation++;
    this.ackBase += this.ackIds.length;
    this.ackIds = [];
    this.ackCodes = [];
    this.ackHead = 0;
    if (this.closing || !this.client || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.opts.reconnectMaxMs ?? 10_000, delay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closing || !this.client) return;
      this.stats.reconnects++;
      this.client.reconnect();
    }, delay);
  }
}

const noAck: Ack = () => {};

/** The producer id and seq of a PUBLISH's user properties, or why they are unusable. */
function producerOf(props: Record<string, string | string[]>): Pick<Frame, 'producer' | 'producerSeq' | 'invalid'> {
  const bad = (reason: string) => ({ invalid: { code: 'bad_producer' as const, reason } });
  for (const name of ['producer', 'seq']) {
    const v = props[name];
    if (Array.isArray(v) && v.length !== 1) return bad(`user property "${name}" appears ${v.length} times, expected once`);
  }
  const one = (name: string): string | undefined => { const v = props[name]; return Array.isArray(v) ? v[0] : v; };
  const producer = one('producer');
  const seq = one('seq');
  if (producer === undefined) return bad('user property "seq" without "producer": give both or neither');
  if (seq === undefined) return bad('user property "producer" without "seq": give both or neither');
  const idProblem = producerIdProblem(producer);
  if (idProblem) return bad(`user property ${idProblem}`);
  const seqProblem = producerSeqProblem(seq);
  if (seqProblem) return bad(`user property ${seqProblem}`);
  return { producer, producerSeq: Number(seq) };
}

function describe(e: Error & { code?: number | string }): string {
  if (typeof e.code === 'number') return `${e.message} (MQTT reason code 0x${e.code.toString(16)})`;
  return e.message;
}

function validFilter(f: unknown): f is string {
  if (typeof f !== 'string' || f.length === 0 || f.length > 65535) return false;
  const parts = f.split('/');
  return parts.every((p, i) => (p === '#' ? i === parts.length - 1 : p === '+' || (!p.includes('#') && !p.includes('+'))));
}

/** MQTT topic filter matching ('+' one level, '#' the rest; '$' topics only match explicit filters). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
