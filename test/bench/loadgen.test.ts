import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WsSource } from '../../host/sources/ws_source.js';
import { MqttSource } from '../../host/sources/mqtt_source.js';
import type { FrameSink } from '../../host/sources/source.js';
import { EventDecoder, RecordBatch } from '../../host/codec/decoder.js';
import { KeyDictionary } from '../../host/codec/key_dictionary.js';
import { TRADE } from '../../host/schema/event_types.js';
import { IN_TS } from '../../host/records.js';
import { FbTradeFrame, JsonTradeFrame, parseLoadgenArgs, type LoadgenSummary } from '../../bench/loadgen.js';

import { startMosquitto } from '../helpers/mosquitto.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function loadgen(args: string[]): Promise<{ summary: LoadgenSummary; code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/loadgen.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try { resolve({ summary: JSON.parse(out.trim().split('\n').pop() || 'null'), code: code ?? -1, stderr: err }); }
      catch { resolve({ summary: null as unknown as LoadgenSummary, code: code ?? -1, stderr: err + out }); }
    });
  });
}

/** A sink that decodes every frame with the real codec and acks with the counts. */
function decodingSink() {
  const decoder = new EventDecoder({ type: TRADE, dictionary: new KeyDictionary() });
  const batch = new RecordBatch(TRADE.stride, 1024);
  const s = { frames: 0, events: 0, rejected: 0, maxLatencyNs: 0n, minLatencyNs: 1n << 62n };
  const sink: FrameSink = {
    onFrame(frame, ack) {
      batch.count = 0;
      const r = decoder.decode(frame.data, frame.binary, batch, frame.receivedAtNs);
      s.frames++;
      s.events += r.accepted;
      s.rejected += r.rejects.length;
      if (r.accepted > 0) {
        const lat = frame.receivedAtNs - batch.view.getBigInt64(IN_TS, true);
        if (lat > s.maxLatencyNs) s.maxLatencyNs = lat;
        if (lat < s.minLatencyNs) s.minLatencyNs = lat;
      }
      ack(r.rejects.length === 0 || r.accepted > 0, { count: r.accepted, rejected: r.rejects.length });
    },
  };
  return { sink, s };
}

for (const format of ['fb', 'json'] as const) {
  test(`ws ${format}: the load generator's frames all arrive, decode and are acked; timestamps give latency`, async () => {
    const { sink, s } = decodingSink();
    const src = new WsSource({ port: 0 });
    await src.start(sink);
    const { summary, code, stderr } = await loadgen(['--target', src.url, '--format', format, '--rate', '20000', '--duration', '1', '--batch', '500']);
    await src.close();
    assert.is(code, 0, stderr);
    assert.ok(summary.frames >= 10, `frames ${summary.frames}`);
    assert.is(summary.events, summary.frames * 500);
    assert.is(summary.framesAcked, summary.frames);
    assert.is(summary.eventsAccepted, summary.events);
    assert.is(summary.eventsRejected, 0);
    assert.is(s.frames, summary.frames);
    assert.is(s.events, summary.events);
    assert.is(s.rejected, 0);
    assert.ok(summary.eventsPerSec > 5_000 && summary.eventsPerSec < 40_000, `rate ${summary.eventsPerSec} should be near the 20000 asked for`);
    // Both processes anchor hrtime to the wall clock at a millisecond edge: they agree to microseconds.
    assert.ok(s.minLatencyNs > -1_000_000n, `send time precedes receive time (min latency ${s.minLatencyNs} ns)`);
    assert.ok(s.maxLatencyNs < 10_000_000_000n, 'latency is plausible (same clock)');
  });
}

test('ws: when the source restarts mid-run the load generator reconnects and resends every unacked frame', async () => {
  const seen = new Set<number>();
  let frames = 0;
  const sink: FrameSink = { onFrame(f, ack) { frames++; seen.add(f.producerSeq!); ack(true, { count: 200 }); } };
  // The ws engine: after uWS served connections its port stays blocked by
  // TIME_WAIT sockets for a minute (see docs/design/sources.md).
  const first = new WsSource({ port: 0, native: false });
  await first.start(sink);
  const port = first.port;
  const run = loadgen(['--target', first.url, '--format', 'fb', '--rate', '20000', '--duration', '2', '--batch', '200']);
  while (frames < 20) await new Promise((r) => setTimeout(r, 10));
  await first.close();
  await new Promise((r) => setTimeout(r, 300));
  const second = new WsSource({ port, native: false });
  await second.start(sink);
  const { summary, code, stderr } = await run;
  await second.close();
  assert.is(code, 0, stderr + JSON.stringify(summary));
  assert.ok(summary.reconnects >= 1, `reconnects ${summary.reconnects}`);
  assert.is(summary.framesAcked, summary.frames);
  assert.is(seen.size, summary.frames, 'every producer sequence number arrived at least once');
  assert.equal([...seen].sort((a, b) => a - b), Array.from({ length: summary.frames }, (_, i) => i + 1));
});

test('mqtt: the load generator publishes through mosquitto into the MQTT source', async () => {
  const broker = await startMosquitto();
  try {
    const { sink, s } = decodingSink();
    const src = new MqttSource({ url: broker.url, clientId: `loadgen-test-${process.pid}`, topics: [{ filter: 'trades/fb', format: 'flatbuffers' }], cleanStart: true });
    await src.start(sink);
    const { summary, code, stderr } = await loadgen(['--target', broker.url, '--topic', 'trades/fb', '--format', 'fb', '--rate', 'max', '--duration', '0.5', '--batch', '100']);
    assert.is(code, 0, stderr);
    assert.ok(summary.frames > 0);
    assert.is(summary.framesAcked, summary.frames);
    const end = Date.now() + 10_000;
    while (s.frames < summary.frames && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.is(s.frames, summary.frames);
    assert.is(s.events, summary.events);
    await src.close();
  } finally {
    await broker.stop();
  }
});

test('frame templates: FlatBuffers records carry the stamped ts; JSON is valid and exact', () => {
  const fb = new FbTradeFrame(3, 2);
  const bytes = fb.stamp(1_700_000_000_123_456_789n);
  assert.is(Buffer.from(bytes.subarray(4, 8)).toString(), 'GTRR');
  const { s, sink } = decodingSink();
  let acked: unknown;
  sink.onFrame({ data: bytes, binary: true, origin: 't', receivedAtNs: 1_700_000_000_123_456_790n }, (ok, info) => (acked = { ok, ...info }));
  assert.equal(acked, { ok: true, count: 3, rejected: 0 });
  assert.is(s.maxLatencyNs, 1n);
  const jf = new JsonTradeFrame(2, 2);
  const parse = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Array<{ ts: string; instrument: string }>;
  const parsed = parse(jf.stamp(1_700_000_000_123_456_789n));
  assert.equal(parsed.map((e) => e.ts), ['1700000000123456789', '1700000000123456789']);
  assert.equal(parsed.map((e) => e.instrument), ['SYM0', 'SYM1']);
  // Rewritten in place for the next send; a timestamp of another length lays the frame out again.
  assert.equal(parse(jf.stamp(1_800_000_000_000_000_001n)).map((e) => e.ts), ['1800000000000000001', '1800000000000000001']);
  assert.equal(parse(jf.stamp(12_345n)).map((e) => e.ts), ['12345', '12345']);
  assert.equal(parse(jf.stamp(1_700_000_000_123_456_789n)).map((e) => e.instrument), ['SYM0', 'SYM1']);
});

test('bad arguments get a precise message', () => {
  assert.throws(() => parseLoadgenArgs(['--target', 'http://x']), /--target must be a ws:\/\/, wss:\/\/, mqtt:\/\/ or mqtts:\/\/ URL/);
  assert.throws(() => parseLoadgenArgs(['--target', 'ws://x', '--format', 'xml']), /--format must be fb, json or raw/);
  assert.throws(() => parseLoadgenArgs(['--target', 'ws://x', '--rate', 'fast']), /--rate must be events per second/);
  assert.throws(() => parseLoadgenArgs(['--target', 'ws://x', '--batch', '0']), /--batch must be an integer ≥ 1/);
  assert.throws(() => parseLoadgenArgs(['--target', 'ws://x', '--bogus', '1']), /unknown option --bogus/);
  assert.equal(parseLoadgenArgs(['--target', 'ws://x']).rate, 'max');
});

test.run();
