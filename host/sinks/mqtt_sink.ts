// Outputs published to an MQTT broker (MQTT 5), one message per output on a
// topic expanded from a template such as `alerts/{op}/{key}`. Values that
// would change a topic's shape (`/`, `+`, `#`) are replaced by `_`.
//
// Every message carries the output's stable id as the MQTT 5 user property
// `id` (and inside the JSON), so a subscriber can drop the duplicates a
// recovery replays. flush() resolves once the broker has acknowledged every
// message published so far at the sink's QoS (PUBACK for 1, PUBCOMP for 2).
// Outstanding publishes are bounded: write() queues, and past `maxInFlight`
// the queue is drained by flush() before more go out.
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { expandTopic, serializeOutput, type OutputEvent } from '../output/format.js';
import { selector, type OutputSink, type Selection } from './output_sink.js';

export interface MqttSinkOptions extends Selection {
  name?: string;
  url: string;
  /** Topic template: {op}, {kind}, {key}, {pipeline}. */
  topic: string;
  pipeline: string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  clientId?: string;
  username?: string;
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string; reject_unauthorized?: boolean };
  /** Publishes awaiting their acknowledgement before write() starts queueing. Default 1000. */
  maxInFlight?: number;
  connectTimeoutMs?: number;
}

export class MqttSink implements OutputSink {
  readonly name: string;
  private readonly client: MqttClient;
  private readonly opts: MqttSinkOptions;
  private readonly wants: (out: OutputEvent) => boolean;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly queue: OutputEvent[] = [];
  private error: Error | undefined;
  private published = 0;
  private closed = false;

  private constructor(client: MqttClient, options: MqttSinkOptions) {
    this.client = client;
    this.opts = options;
    this.name = options.name ?? `mqtt:${options.url}`;
    this.wants = selector(options);
  }

  /** Connects (MQTT 5) and resolves once the broker accepted the connection. */
  static async connect(options: MqttSinkOptions): Promise<MqttSink> {
    const tls = options.tls;
    const client = await mqtt.connectAsync(options.url, {
      protocolVersion: 5,
      clientId: options.clientId ?? `ganglion-sink-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
      username: options.username,
      password: options.password,
      ca: tls?.ca ? readFileSync(tls.ca) : undefined,
      cert: tls?.cert ? readFileSync(tls.cert) : undefined,
      key: tls?.key ? readFileSync(tls.key) : undefined,
      rejectUnauthorized: tls?.reject_unauthorized ?? true,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      reconnectPeriod: 1000,
    });
    return new MqttSink(client, options);
  }

  /** Messages acknowledged by the broker so far. */
  get acknowledged(): number {
    return this.published;
  }

  write(out: OutputEvent): void {
    if (this.closed) throw new Error(`${this.name}: write after close`);
    if (!this.wants(out)) return;
    if (this.inFlight.size >= (this.opts.maxInFlight ?? 1000) || this.queue.length > 0) this.queue.push(out);
    else this.publish(out);
  }

  private publish(out: OutputEvent): void {
    const topic = expandTopic(this.opts.topic, out, this.opts.pipeline);
    const p: Promise<void> = this.client
      .publishAsync(topic, serializeOutput(out), {
        qos: this.opts.qos ?? 1,
        retain: this.opts.retain ?? false,
        properties: { contentType: 'application/json', userProperties: { id: out.id } },
      })
      .then(
        () => { this.published++; },
        (e: Error) => { this.error ??= e; },
      )
      .finally(() => { this.inFlight.delete(p); });
    this.inFlight.add(p);
  }

  async flush(): Promise<void> {
    const max = this.opts.maxInFlight ?? 1000;
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      while (this.queue.length > 0 && this.inFlight.size < max) this.publish(this.queue.shift()!);
      await Promise.race(this.inFlight);
    }
    if (this.error) {
      const e = this.error;
      this.error = undefined;
      throw new Error(`${this.name}: publish failed: ${e.message}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.client.endAsync();
    }
  }
}
