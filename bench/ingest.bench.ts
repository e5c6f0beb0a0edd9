// Ingest transports without decoding: how many events/s the WebSocket and MQTT
// sources hand to the pipeline when one producer process (bench/loadgen.ts)
// sends flat out on loopback. The sink counts bytes and acks every frame at
// once, so what is measured is the source (and the producer), never a codec.
//
//   ws binary   frames of 1,000 × 32-byte records: uWS vs the `ws` fallback
//   ws fb       TradeRecordBatch frames (1,000 × 80-byte records), uWS
//   ws json     frames of 1,000 JSON trades: uWS vs the `ws` fallback
//   mqtt        100 × 32-byte records per QoS 1 message through mosquitto
//
// The rate is taken at the receiver, between the first and the last frame.
// The whole ingest path (decode, validation, log, rings) behind these same
// sources is bench/ingest_rings.bench.ts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compared, type BenchContext, type BenchResult } from './lib.js';
import { WsSource } from '../host/sources/ws_source.js';
import { MqttSource } from '../host/sources/mqtt_source.js';
import type { FrameSink, Source } from '../host/sources/source.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';
import type { LoadgenSummary } from './loadgen.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Measured { eventsPerSec: number; bytesPerSec: number; summary: LoadgenSummary }

function runLoadgen(args: string[]): Promise<LoadgenSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/loadgen.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line) reject(new Error(`loadgen ${args.join(' ')} exited ${code}: ${err || out}`));
      else resolve(JSON.parse(line) as LoadgenSummary);
    });
  });
}

/** Counts events from the frame size (records) or the batch size (JSON), acks at once. */
function countingSink(eventsPerFrame: (data: Uint8Array, binary: boolean) => number) {
  const c = { events: 0, bytes: 0, first: 0, last: 0, firstEvents: 0, firstBytes: 0 };
  const sink: FrameSink = {
    onFrame(frame, ack) {
      const n = eventsPerFrame(frame.data, frame.binary);
      const now = performance.now();
      if (c.first === 0) { c.first = now; c.firstEvents = n; c.firstBytes = frame.data.byteLength; }
      c.last = now;
      c.events += n;
      c.bytes += frame.data.byteLength;
      ack(true, { count: n, rejected: 0 });
    },
  };
  return { sink, c };
}

async function measure(source: Source, loadgenArgs: string[], eventsPerFrame: (d: Uint8Array, b: boolean) => number, target: string): Promise<Measured> {
  const { sink, c } = countingSink(eventsPerFrame);
  await source.start(sink);
  try {
    const summary = await runLoadgen(['--target', target, ...loadgenArgs]);
    if (summary.error) throw new Error(`loadgen: ${summary.error}`);
    const end = Date.now() + 10_000;
    while (c.events < summary.events && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    if (c.events !== summary.events) throw new Error(`sent ${summary.events} events, received ${c.events}`);
    const secs = (c.last - c.first) / 1000;
    return { eventsPerSec: (c.events - c.firstEvents) / secs, bytesPerSec: (c.bytes - c.firstBytes) / secs, summary };
  } finally {
    await source.close();
  }
}

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const want = (name: string) => !ctx.filter || name.includes(ctx.filter) || 'ingest'.includes(ctx.filter) || ctx.filter.includes('ingest.bench');
  const duration = ctx.quick ? '0.5' : '4';
  const results: BenchResult[] = [];
  const per32 = (d: Uint8Array) => d.byteLength / 32;
  const per80 = (d: Uint8Array) => (d.byteLength - 16) / 80 | 0; // root offset + id + table + vector length
  const perBatch = () => 1000;
  const mb = (m: Measured) => `${(m.bytesPerSec / 1e6).toFixed(0)} MB/s`;

  // The WebSocket URL (port 0) is only known after start().
  async function wsCase(native: boolean, format: string, count: (d: Uint8Array, b: boolean) => number): Promise<Measured> {
    const src = new WsSource({ port: 0, native, maxFrameBytes: 64 << 20, onError: (e) => ctx.log(`  ${e.message}`) });
    const { sink, c } = countingSink(count);
    await src.start(sink);
    try {
      const summary = await runLoadgen(['--target', src.url, '--format', format, '--rate', 'max', '--duration', duration, '--batch', '1000', '--record-bytes', '32', '--window', '256']);
      if (summary.error) throw new Error(`loadgen: ${summary.error}`);
      if (c.events !== summary.events) throw new Error(`sent ${summary.events} events, received ${c.events}`);
      const secs = (c.last - c.first) / 1000;
      return { eventsPerSec: (c.events - c.firstEvents) / secs, bytesPerSec: (c.bytes - c.firstBytes) / secs, summary };
    } finally {
      await src.close();
    }
  }

  if (want('ingest ws binary')) {
    const u = await wsCase(true, 'raw', per32);
    const f = await wsCase(false, 'raw', per32);
    results.push(compared('ingest ws binary 1000×32B: uWS vs ws', 'events/s', u.eventsPerSec, 'ws fallback', f.eventsPerSec, `uWS ${mb(u)}, ws ${mb(f)}; one producer process`));
  }
  // --quick keeps the binary uWS-vs-ws pair and MQTT: FlatBuffers into the rings
  // is in ingest_rings, FlatBuffers against JSON in codec.
  if (want('ingest ws fb') && !ctx.quick) {
    const u = await wsCase(true, 'fb', per80);
    results.push({ name: 'ingest ws fb TradeRecordBatch 1000×80B (uWS)', unit: 'events/s', value: u.eventsPerSec, note: mb(u) });
  }
  if (want('ingest ws json') && !ctx.quick) {
    const u = await wsCase(true, 'json', perBatch);
    const f = await wsCase(false, 'json', perBatch);
    results.push(compared('ingest ws json 1000 trades/frame: uWS vs ws', 'events/s', u.eventsPerSec, 'ws fallback', f.eventsPerSec, `uWS ${mb(u)}, ws ${mb(f)}`));
  }
  if (want('ingest mqtt')) {
    const broker = await startMosquitto();
    try {
      const src = new MqttSource({ url: broker.url, clientId: `bench-${process.pid}`, topics: [{ filter: 'bench/raw', format: 'flatbuffers' }], cleanStart: true, receiveMaximum: 4096 });
      const m = await measure(src, ['--topic', 'bench/raw', '--format', 'raw', '--record-bytes', '32', '--rate', 'max', '--duration', duration, '--batch', '100', '--window', '1024'], per32, broker.url);
      results.push({ name: 'ingest mqtt 100×32B per QoS1 message (mosquitto)', unit: 'events/s', value: m.eventsPerSec, note: `${mb(m)}, ${(m.eventsPerSec / 100 / 1000).toFixed(1)} K msg/s` });
    } finally {
      await broker.stop();
    }
  }
  return results;
}
