// A producer that follows the producer contract (README "Producing events"):
// a separate process that plays a deterministic feed of trades into a
// WebSocket or MQTT source, keeps every frame until it is acknowledged, and
// after any disconnect (a crash or restart of ganglion, a broker restart)
// reconnects and resends every unacknowledged frame with the same producer id
// and sequence numbers. Used by the crash-loop test and figure run, where
// ganglion is SIGKILLed under it: with a producer id the output must be
// byte-identical to an uninterrupted run (exactly_once); without one nothing
// may be missing (at_least_once).
//
//   npx tsx bench/resend_producer.ts --target ws://127.0.0.1:8080/ingest --producer p1 --frames 2000 --batch 500
//   npx tsx bench/resend_producer.ts --target mqtt://127.0.0.1:1883 --topic trades --producer p1 --frames 2000
//
// Frames are JSON arrays of trades; frame f (producer seq f+1) holds events
// f*batch .. f*batch+batch-1, event i at ts = start + i*step ns, so any two
// runs with the same options send the very same bytes under the same seqs.
// Prints one JSON summary line on stdout; exit 1 if anything was never acked.
//
// WebSocket: frames are acked one by one; at most --window are unacked. On a
// dropped connection it reconnects with ?producer=<id>&seq=<first unacked>
// and resends from there, retrying for up to --give-up-ms.
// MQTT: QoS 1 publishes with user properties producer/seq (when --producer is
// given) on a persistent session; mqtt.js resends un-PUBACKed publishes after
// a reconnect (DUP set). A PUBACK is the broker's, not ganglion's: the caller
// checks ganglion's output to know everything arrived.
import { pathToFileURL } from 'node:url';

export interface ProducerOptions {
  target: string;
  topic?: string;
  producer?: string;
  frames: number;
  batch: number;
  window: number;
  instruments: number;
  /** First event time, ns. */
  startNs: bigint;
  /** Event-time step between consecutive events, ns. */
  stepNs: bigint;
  giveUpMs: number;
  /** Frames per second at most (0 = as fast as acks allow), so a long crash loop has work throughout. */
  rate: number;
}

export interface ProducerSummary {
  frames: number;
  events: number;
  acked: number;
  duplicates: number;
  reconnects: number;
  resent: number;
  seconds: number;
  error?: string;
}

/** The bytes of frame `f` (0-based; producer seq f+1): a pure function of the options. */
export function frameBytes(o: Pick<ProducerOptions, 'batch' | 'instruments' | 'startNs' | 'stepNs'>, f: number): Buffer {
  const parts: string[] = [];
  for (let j = 0; j < o.batch; j++) {
    const i = f * o.batch + j;
    const k = (i * 7919) % o.instruments;
    // Deterministic pseudo-random price and size from the event index.
    const h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
    const price = (100 + k + (h % 10_000) / 5_000).toFixed(4);
    const qty = 1 + (h % 500);
    parts.push(`{"ts":"${o.startNs + BigInt(i) * o.stepNs}","instrument":"S${k}","price":${price},"qty":${qty},"side":"${h & 1 ? 'buy' : 'sell'}"}`);
  }
  return Buffer.from('[' + parts.join(',') + ']');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** How many frames the rate allows by now. */
const due = (o: ProducerOptions, started: number): number => (o.rate > 0 ? Math.floor(((performance.now() - started) / 1000) * o.rate) + 1 : Infinity);

async function runWs(o: ProducerOptions): Promise<ProducerSummary> {
  const { default: WebSocket } = await import('ws');
  const started = performance.now();
  const acked = new Uint8Array(o.frames);
  let firstUnacked = 0; // frame index
  let nextToSend = 0;
  let ackedCount = 0, duplicates = 0, reconnects = 0, resent = 0;
  let error: string | undefined;
  let ws: InstanceType<typeof WebSocket> | undefined;
  let wake: (() => void) | undefined;
  const poke = () => { const w = wake; wake = undefined; w?.(); };

  const connect = (): Promise<InstanceType<typeof WebSocket>> => new Promise((resolve, reject) => {
    const url = new URL(o.target);
    if (o.producer !== undefined) url.searchParams.set('producer', o.producer);
    url.searchParams.set('seq', String(firstUnacked + 1));
    const sock = new WebSocket(url, { perMessageDeflate: false });
    sock.once('open', () => resolve(sock));
    sock.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    sock.once('error', (e) => reject(e));
    sock.on('message', (d, binary) => {
      if (binary) return;
      const a = JSON.parse(String(d)) as { ack: number; ok: boolean; duplicate?: boolean; reason?: string };
      const f = a.ack - 1;
      if (!a.ok) { error ??= `frame ${a.ack} rejected: ${a.reason}`; poke(); return; }
      if (f < 0 || f >= o.frames || acked[f]) return;
      acked[f] = 1;
      ackedCount++;
      if (a.duplicate) duplicates++;
      while (firstUnacked < o.frames && acked[firstUnacked]) firstUnacked++;
      poke();
    });
    sock.on('close', () => { if (sock === ws) { ws = undefined; poke(); } });
  });

  const giveUpAt = () => Date.now() + o.giveUpMs;
  let deadline = giveUpAt();
  while (firstUnacked < o.frames && !error) {
    if (!ws) {
      try {
        const sock = await connect();
        ws = sock;
        if (nextToSend > firstUnacked) { reconnects++; resent += nextToSend - firstUnacked; }
        // Seqs are positional on a connection: resend everything from the first unacked frame.
        nextToSend = firstUnacked;
        deadline = giveUpAt();
      } catch (e) {
        if (Date.now() > deadline) { error = `no connection for ${o.giveUpMs} ms: ${(e as Error).message}`; break; }
        await sleep(50);
        continue;
      }
    }
    while (ws && nextToSend < o.frames && nextToSend - firstUnacked < o.window && due(o, started) > nextToSend) ws.send(frameBytes(o, nextToSend++), { binary: false });
    await new Promise<void>((r) => { wake = r; setTimeout(r, o.rate > 0 ? 5 : 200); });
  }
  const sock = ws as InstanceType<typeof WebSocket> | undefined;
  ws = undefined;
  sock?.close(1000);
  return { frames: o.frames, events: o.frames * o.batch, acked: ackedCount, duplicates, reconnects, resent, seconds: (performance.now() - started) / 1000, ...(error ? { error } : {}) };
}

async function runMqtt(o: ProducerOptions): Promise<ProducerSummary> {
  if (!o.topic) throw new Error('--topic is required for an mqtt:// target');
  const mqtt = await import('mqtt');
  const started = performance.now();
  const client = mqtt.connect(o.target, {
    protocolVersion: 5, clientId: `resend-producer-${o.producer ?? process.pid}`, clean: false,
    properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 100, connectTimeout: 5000,
  });
  let acked = 0, reconnects = 0;
  let error: string | undefined;
  client.on('reconnect', () => reconnects++);
  client.on('error', () => undefined); // connection errors end in reconnects; give-up below
  let inflight = 0;
  let wake: (() => void) | undefined;
  let lastProgress = Date.now();
  for (let f = 0; f < o.frames && !error; f++) {
    while (due(o, started) <= f) await sleep(5);
    while (inflight >= o.window) {
      await new Promise<void>((r) => { wake = r; setTimeout(r, 200); });
      if (Date.now() - lastProgress > o.giveUpMs) { error = `no PUBACK for ${o.giveUpMs} ms`; break; }
    }
    if (error) break;
    inflight++;
    const properties = o.producer !== undefined ? { userProperties: { producer: o.producer, seq: String(f + 1) } } : undefined;
    client.publish(o.topic, frameBytes(o, f), { qos: 1, ...(properties ? { properties } : {}) }, (err) => {
      inflight--;
      lastProgress = Date.now();
      if (err) error ??= err.message; else acked++;
      const w = wake; wake = undefined; w?.();
    });
  }
  while (inflight > 0 && !error && Date.now() - lastProgress < o.giveUpMs) await sleep(20);
  await client.endAsync();
  if (!error && acked < o.frames) error = `${o.frames - acked} publishes were never acknowledged by the broker`;
  return { frames: o.frames, events: o.frames * o.batch, acked, duplicates: 0, reconnects, resent: 0, seconds: (performance.now() - started) / 1000, ...(error ? { error } : {}) };
}

export function runProducer(o: ProducerOptions): Promise<ProducerSummary> {
  return /^mqtts?:/.test(o.target) ? runMqtt(o) : runWs(o);
}

export function parseProducerArgs(argv: string[]): ProducerOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i < 0 ? undefined : argv[i + 1];
  };
  const known = new Set(['target', 'topic', 'producer', 'frames', 'batch', 'window', 'instruments', 'start-ns', 'step-ns', 'give-up-ms', 'rate']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a.slice(2))) throw new Error(`unknown option ${a}`);
  const int = (name: string, dflt: number): number => {
    const v = get(name);
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${v}"`);
    return n;
  };
  const target = get('target');
  if (!target || !/^(wss?|mqtts?):\/\//.test(target)) throw new Error(`--target must be a ws:// or mqtt:// URL, got "${target ?? ''}"`);
  return {
    target, topic: get('topic'), producer: get('producer'),
    frames: int('frames', 1000), batch: int('batch', 500), window: int('window', 32), instruments: int('instruments', 50),
    startNs: BigInt(get('start-ns') ?? '1767623400000000000'), stepNs: BigInt(get('step-ns') ?? '100000'),
    giveUpMs: int('give-up-ms', 60_000), rate: get('rate') === undefined ? 0 : int('rate', 0),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const summary = await runProducer(parseProducerArgs(process.argv.slice(2)));
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.exitCode = summary.error ? 1 : 0;
  } catch (e) {
    process.stderr.write(`resend_producer: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
