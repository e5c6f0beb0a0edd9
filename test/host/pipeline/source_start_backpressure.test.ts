// Backpressure must reach a source that fills the rings while a later source
// of the same pipeline is still starting. The synthetic feed (first) runs flat
// out into one worker partition; the MQTT source (second) reaches a real
// mosquitto through a proxy that holds the connection for 2 s, so the feed
// fills the ring, is paused, and the ring drains before the pipeline has
// finished starting its sources. The resume must reach the feed: every event
// comes through.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { parsePipeline } from '../../../host/config/load.js';
import { createPipeline, type Pipeline } from '../../../host/pipeline/pipeline.js';
import { freePort } from '../../../bench/free_port.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';

/** A TCP proxy to `port` that connects upstream only `delayMs` after a client arrives. */
async function slowProxy(port: number, delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    setTimeout(() => {
      const upstream = connect(port, '127.0.0.1', () => { client.pipe(upstream); upstream.pipe(client); client.resume(); });
      sockets.add(upstream);
      const end = () => { client.destroy(); upstream.destroy(); };
      upstream.on('error', end); upstream.on('close', end); client.on('error', end); client.on('close', end);
    }, delayMs);
  });
  const listenPort = await freePort();
  await new Promise<void>((r) => server.listen(listenPort, '127.0.0.1', () => r()));
  return { port: listenPort, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

test('a feed paused and resumed while a later source is still starting gets every event through', async () => {
  const broker: Mosquitto = await startMosquitto();
  const proxy = await slowProxy(broker.port, 2000);
  let p: Pipeline | undefined;
  try {
    const events = 600_000;
    const cfg = parsePipeline(`name: start_race
sources:
  - { name: surge, type: synthetic, rate: 0, events: ${events}, seed: 5, instruments: 200, late: 0 }
  - { name: broker, type: mqtt, url: "mqtt://127.0.0.1:${proxy.port}", topics: [{ topic: "trades/#", format: json, qos: 1 }] }
schema: { type: trades }
key: instrument
operators:
  - { name: vwap_1s, type: window, window: tumbling, size: 1s, field: price, weight: qty, aggregates: [count, vwap, min, max] }
  - { name: price_z, type: zscore, field: price, threshold: 6 }
sinks: []
delivery: { mode: at_most_once }
partitions: 1
`, 'start_race.yaml');
    const started = Date.now();
    p = await createPipeline(cfg, { log: () => undefined });
    assert.ok(Date.now() - started >= 1900, 'the MQTT source took its 2 s to start');
    const deadline = Date.now() + 30_000;
    while (p.stats().eventsIn < events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const st = p.stats();
    assert.is(st.eventsIn, events, `stalled at ${st.eventsIn} events (paused ${st.paused})`);
    assert.ok(st.partitions[0].blockedMs > 0, 'the ring filled: the feed was paused at least once');
  } finally {
    await p?.close();
    await proxy.close();
    await broker.stop();
  }
});

test.run();
