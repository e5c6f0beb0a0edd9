// MQTT delivery from outside: a child `ganglion run`, a real mosquitto, a
// publisher on its own connection. Redeliveries (a PUBACK lost with the
// connection), a publisher's DUP republish and retained messages over
// restarts must not be counted twice; after the broker lost its session
// (restart without persistence) ganglion subscribes again; SIGTERM exits 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../../../bench/free_port.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { killAll, spawnRun } from '../../helpers/ganglion.js';
import { windowLines } from '../../helpers/outputs.js';

const T0 = 1767623400000000000n;

function pipeline(dir: string, url: string, opts: { retained?: string; partitions?: string; topic?: string } = {}): string {
  const file = join(dir, 'p.yaml');
  writeFileSync(file, `
name: producer_mqtt
sources: [{ type: mqtt, url: "${url}", client_id: ganglion-${opts.topic ?? 'test'}, topics: [{ topic: ${opts.topic ?? 't'}, format: json, qos: 1 }]${opts.retained ? `, retained: ${opts.retained}` : ''} }]
schema: { type: trades }
event_time: { out_of_orderness: 0s, allowed_lateness: 0s, idle_timeout: 0s }
operators: [{ type: window, name: w, window: tumbling, size: 1s, field: qty, aggregates: [count] }]
sinks: [{ type: jsonl, path: ${join(dir, 'out.jsonl')} }]
delivery: { mode: exactly_once, checkpoint: { interval: 100ms } }
partitions: ${opts.partitions ?? '1'}
`);
  return file;
}

function trades(n: number, atMs = 0): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`{"ts":"${T0 + BigInt(atMs) * 1_000_000n + BigInt(i) * 1000n}","instrument":"A","price":1.5,"qty":1,"side":"buy"}`);
  return '[' + out.join(',') + ']';
}

type Props = { producer: string; seq: string } | undefined;

async function publish(url: string, messages: Array<{ payload: string; props?: Props; retain?: boolean; dup?: boolean }>): Promise<void> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  for (const m of messages) {
    await c.publishAsync('t', m.payload, { qos: 1, retain: m.retain ?? false, dup: m.dup ?? false, ...(m.props ? { properties: { userProperties: m.props } } : {}) });
  }
  await c.endAsync();
}

/** Waits until the output holds the window of T0 + `second` s; returns the count of every T0-based window by second. */
async function counts(dir: string, untilSecond: number): Promise<Map<number, number>> {
  const file = join(dir, 'out.jsonl');
  const want = (T0 + BigInt(untilSecond) * 1_000_000_000n).toString();
  const end = Date.now() + 15_000;
  while (!windowLines(file).some((w) => w.window.start_ns === want)) {
    if (Date.now() > end) throw new Error(`no window at +${untilSecond}s in the output`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = new Map<number, number>();
  for (const w of windowLines(file)) m.set(Number((BigInt(w.window.start_ns) - T0) / 1_000_000_000n), w.values.count);
  return m;
}

/** A TCP proxy in front of the broker that can swallow what ganglion sends (its PUBACKs) and cut the connection. */
async function proxy(brokerPort: number): Promise<{ port: number; swallow(on: boolean): void; cut(): void; close(): Promise<void> }> {
  let swallow = false;
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = tcpConnect(brokerPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (d) => { if (!swallow) upstream.write(d); });
    upstream.on('data', (d) => client.write(d));
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('close', end); upstream.on('close', end);
    client.on('error', end); upstream.on('error', end);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port,
    swallow: (on) => { swallow = on; },
    cut: () => { for (const [a, b] of pairs) { a.destroy(); b.destroy(); } pairs.clear(); },
    close: () => new Promise((r) => { for (const [a, b] of pairs) { a.destroy(); b.destroy(); } server.close(() => r()); }),
  };
}

let broker: Mosquitto;
test.before(async () => { broker = await startMosquitto(); });
test.after(async () => { await broker.stop(); });

for (const withProps of [true, false]) {
  test(`a redelivery after a lost PUBACK is ${withProps ? 'counted once with producer/seq user properties' : 'counted twice without them (QoS 1 is at-least-once)'}`, async () => {
    const dir = tempDir();
    const px = await proxy(broker.port);
    const g = spawnRun(pipeline(dir.path, `mqtt://127.0.0.1:${px.port}`), join(dir.path, 'data'));
    await g.waitFor('running producer_mqtt');
    px.swallow(true); // ganglion's PUBACK never reaches the broker
    await publish(broker.url, [{ payload: trades(1000), props: withProps ? { producer: 'pm', seq: '1' } : undefined }]);
    await new Promise((r) => setTimeout(r, 800)); // ganglion logs it (and its PUBACK is swallowed)
    px.swallow(false);
    px.cut(); // ganglion reconnects; the broker redelivers the un-PUBACKed message with DUP set
    await new Promise((r) => setTimeout(r, 800));
    await publish(broker.url, [{ payload: trades(1, 5000), props: withProps ? { producer: 'pm', seq: '2' } : undefined }]);
    const c = await counts(dir.path, 0);
    assert.is(await g.stop(), 0);
    assert.is(c.get(0), withProps ? 1000 : 2000);
    assert.match(g.stderr, withProps ? /stopped: 1001 events/ : /stopped: 2001 events/);
    await px.close();
    dir.remove();
  });
}

test('a DUP republish with the same producer/seq is counted once', async () => {
  const dir = tempDir();
  const g = spawnRun(pipeline(dir.path, broker.url), join(dir.path, 'data'));
  await g.waitFor('running producer_mqtt');
  const props = { producer: 'pd', seq: '7' };
  await publish(broker.url, [{ payload: trades(500), props }, { payload: trades(500), props, dup: true }, { payload: trades(1, 5000), props: { producer: 'pd', seq: '8' } }]);
  const c = await counts(dir.path, 0);
  assert.is(await g.stop(), 0);
  assert.is(c.get(0), 500);
  dir.remove();
});

test('malformed producer/seq properties send the message to the dead-letter queue, naming the property', async () => {
  const dir = tempDir();
  const g = spawnRun(pipeline(dir.path, broker.url), join(dir.path, 'data'));
  await g.waitFor('running producer_mqtt');
  await publish(broker.url, [{ payload: trades(3), props: { producer: 'pd', seq: 'x1' } }, { payload: trades(1) }, { payload: trades(1, 5000) }]);
  const c = await counts(dir.path, 0);
  assert.is(await g.stop(), 0);
  assert.is(c.get(0), 1, 'only the good message counted');
  const dl = readFileSync(join(dir.path, 'data', 'dead-letters.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.is(dl.length, 1);
  assert.is(dl[0].reason, 'bad_producer');
  assert.match(dl[0].detail, /user property seq must be an integer/);
  dir.remove();
});

for (const retained of ['ignore', 'process']) {
  test(`a retained message over 4 starts of ganglion: ${retained === 'ignore' ? 'never ingested (default)' : 'ingested once with retained: process'}`, async () => {
    const dir = tempDir();
    const t = `retained-${retained}`;
    // A fresh topic per case: the retained message stays on the broker.
    const file = pipeline(dir.path, broker.url, retained === 'process' ? { retained, topic: t } : { topic: t });
    const c0 = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    await c0.publishAsync(t, trades(1), { qos: 1, retain: true });
    for (let i = 0; i < 3; i++) {
      const g = spawnRun(file, join(dir.path, 'data'));
      await g.waitFor('running producer_mqtt');
      await new Promise((r) => setTimeout(r, 300));
      assert.is(await g.stop(), 0);
    }
    const g = spawnRun(file, join(dir.path, 'data'));
    await g.waitFor('running producer_mqtt');
    await c0.publishAsync(t, trades(1, 1500), { qos: 1 });
    await c0.publishAsync(t, trades(1, 5000), { qos: 1 });
    const c = await counts(dir.path, 1);
    assert.is(await g.stop(), 0);
    await c0.publishAsync(t, '', { qos: 1, retain: true }); // clear it
    await c0.endAsync();
    assert.is(c.get(0), retained === 'ignore' ? undefined : 1);
    assert.is(c.get(1), 1);
    dir.remove();
  });
}

test('after a broker restart without persistence ganglion subscribes again: 10 of 10 later messages ingested', async () => {
  const own = await startMosquitto();
  const dir = tempDir();
  const file = pipeline(dir.path, own.url, { partitions: 'inline' });
  const g = spawnRun(file, join(dir.path, 'data'));
  await g.waitFor('running producer_mqtt');
  await own.restart(); // sessions and subscriptions are gone
  await g.waitFor(/no session for client "ganglion-test".*subscribing again to t/, 15_000);
  await new Promise((r) => setTimeout(r, 300));
  await publish(own.url, [...Array.from({ length: 10 }, (_, i) => ({ payload: trades(1, i * 10) })), { payload: trades(1, 5000) }]);
  const c = await counts(dir.path, 0);
  assert.is(c.get(0), 10, '10 of 10 messages after the restart');
  assert.is(await g.stop(), 0);
  await own.stop();
  dir.remove();
});

test('restarts with nothing new since the last checkpoint exit 0 on SIGTERM (they hung, or exited 13 with inline partitions)', async () => {
  const dir = tempDir();
  const file = pipeline(dir.path, broker.url, { partitions: 'inline', topic: 'quiet' });
  const data = join(dir.path, 'data');
  let g = spawnRun(file, data);
  await g.waitFor('running producer_mqtt');
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  await c.publishAsync('quiet', trades(5), { qos: 1 });
  await c.endAsync();
  await new Promise((r) => setTimeout(r, 500)); // logged and checkpointed (interval 100ms)
  assert.is(await g.stop(), 0);
  for (let i = 0; i < 2; i++) {
    g = spawnRun(file, data);
    await g.waitFor('running producer_mqtt');
    await new Promise((r) => setTimeout(r, 300));
    assert.is(await g.stop(10_000), 0, `restart ${i + 1} exits 0 on SIGTERM: ${g.stderr}`);
  }
  dir.remove();
});

test.after.each(killAll);

test.run();
