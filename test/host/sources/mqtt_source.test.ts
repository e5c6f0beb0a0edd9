import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { MqttSource, topicMatches, type MqttSourceOptions } from '../../../host/sources/mqtt_source.js';
import type { Ack, Frame } from '../../../host/sources/source.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';

let broker: Mosquitto;
let publisher: MqttClient;
let n = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++n}`;

interface Got { frame: Frame; ack: Ack }

async function started(opts: Partial<MqttSourceOptions> & { topics: MqttSourceOptions['topics'] }, autoAck = true) {
  const got: Got[] = [];
  const src = new MqttSource({ url: broker.url, clientId: uniq('ganglion'), onError: () => {}, ...opts });
  await src.start({ onFrame: (frame, ack) => { got.push({ frame, ack }); if (autoAck) ack(true); } });
  return { src, got };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const texts = (got: Got[]) => got.map((g) => Buffer.from(g.frame.data).toString());

async function publishAll(topic: string, payloads: Array<string | Buffer>): Promise<void> {
  for (const p of payloads) await publisher.publishAsync(topic, p, { qos: 1 });
}

test.before(async () => {
  broker = await startMosquitto();
  publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: uniq('publisher') });
});

test.after(async () => {
  await publisher?.endAsync();
  await broker?.stop();
});

test('frames arrive intact, JSON or FlatBuffers by topic filter', async () => {
  const base = uniq('t');
  const { src, got } = await started({ topics: [{ filter: `${base}/json/#`, format: 'json' }, { filter: `${base}/fb/+`, format: 'flatbuffers' }] });
  const bin = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 255));
  await publisher.publishAsync(`${base}/json/a/b`, '{"price":1.5}', { qos: 1 });
  await publisher.publishAsync(`${base}/fb/x`, bin, { qos: 1 });
  await until(() => got.length === 2, 'two frames');
  assert.is(texts(got)[0], '{"price":1.5}');
  assert.is(got[0].frame.binary, false);
  assert.is(got[0].frame.origin, `mqtt:${base}/json/a/b`);
  assert.equal(Buffer.from(got[1].frame.data), bin);
  assert.is(got[1].frame.binary, true);
  assert.is(got[1].frame.origin, `mqtt:${base}/fb/x`);
  assert.ok(got[0].frame.receivedAtNs > BigInt(Date.now() - 60_000) * 1_000_000n);
  await until(() => src.stats.pubacks === 2, 'two PUBACKs');
  await src.close();
});

test('PUBACK is withheld until the pipeline acks: the broker stops at receiveMaximum', async () => {
  const topic = uniq('held');
  const { src, got } = await started({ topics: [topic], receiveMaximum: 3 }, false);
  await publishAll(topic, Array.from({ length: 10 }, (_, i) => `{"n":${i}}`));
  await until(() => got.length === 3, 'three frames');
  await sleep(200);
  assert.is(got.length, 3, 'no fourth message before a PUBACK');
  assert.is(src.stats.pubacks, 0);
  got[1].ack(true); // out of order: PUBACKs must still leave in arrival order
  await sleep(100);
  assert.is(src.stats.pubacks, 0, 'message 1 is not PUBACKed before message 0');
  got[0].ack(true);
  // (mosquitto 2.0 refills more than the freed quota after a PUBACK, so only "more" is asserted.)
  await until(() => got.length > 3, 'more messages once PUBACKs leave');
  assert.is(src.stats.pubacks, 2);
  for (const g of got.slice(2)) g.ack(true);
  while (got.length < 10) {
    const before = got.length;
    await until(() => got.length > before, 'more frames');
    await sleep(20);
    for (const g of got.slice(before)) g.ack(true);
  }
  assert.equal(texts(got), Array.from({ length: 10 }, (_, i) => `{"n":${i}}`));
  await src.close();
});

test('messages delivered but never acked are redelivered to the next session', async () => {
  const topic = uniq('redeliver');
  const clientId = uniq('ganglion-redeliver');
  const first = await started({ topics: [topic], clientId, closeTimeoutMs: 50 }, false);
  await publishAll(topic, ['{"n":1}', '{"n":2}', '{"n":3}']);
  await until(() => first.got.length === 3, 'first delivery');
  first.got[0].ack(true);
  await until(() => first.src.stats.pubacks === 1, 'one PUBACK');
  await first.src.close(); // 2 and 3 are still un-PUBACKed
  const second = await started({ topics: [topic], clientId });
  await until(() => second.got.length === 2, 'redelivery');
  assert.equal(texts(second.got), ['{"n":2}', '{"n":3}']);
  await sleep(100);
  assert.is(second.got.length, 2, 'the acked message is not redelivered');
  await second.src.close();
});

test('a rejected frame is PUBACKed (0x99) so the broker does not redeliver it; on-receipt mode acks at once', async () => {
  const topic = uniq('reject');
  const clientId = uniq('ganglion-reject');
  const first = await started({ topics: [topic], clientId, closeTimeoutMs: 50 }, false);
  await publishAll(topic, ['not json']);
  await until(() => first.got.length === 1, 'frame');
  first.got[0].ack(false, { reason: 'invalid JSON' });
  await until(() => first.src.stats.pubacks === 1, 'PUBACK for the rejected frame');
  await first.src.close();
  const second = await started({ topics: [topic], clientId, puback: 'on-receipt' }, false);
  await publishAll(topic, ['{"n":1}']);
  await until(() => second.got.length === 1, 'fresh frame');
  assert.is(texts(second.got)[0], '{"n":1}', 'the rejected frame is not redelivered');
  await second.src.close();
  const third = await started({ topics: [topic], clientId }, false);
  await sleep(150);
  assert.is(third.got.length, 0, 'on-receipt mode PUBACKed without a pipeline ack');
  await third.src.close();
});

test('QoS 1 messages published while the source is away arrive after it comes back (persistent session)', async () => {
  const topic = uniq('away');
  const clientId = uniq('ganglion-away');
  const first = await started({ topics: [topic], clientId });
  await first.src.close();
  const payloads = Array.from({ length: 200 }, (_, i) => `{"n":${i}}`);
  await publishAll(topic, payloads);
  const second = await started({ topics: [topic], clientId });
  await until(() => second.got.length === 200, 'all 200 queued messages');
  assert.equal(texts(second.got), payloads);
  await second.src.close();
});

test('after a dropped connection the source reconnects by itself and nothing is lost', async () => {
  const topic = uniq('drop');
  const { src, got } = await started({ topics: [topic], reconnectMinMs: 50 });
  await publishAll(topic, ['{"n":0}']);
  await until(() => got.length === 1, 'first frame');
  (src as unknown as { client: MqttClient }).client.stream.destroy();
  await until(() => !src.connected, 'disconnect');
  await publishAll(topic, Array.from({ length: 20 }, (_, i) => `{"n":${i + 1}}`));
  await until(() => got.length >= 21, 'messages published during the outage');
  assert.ok(src.stats.reconnects >= 1);
  assert.equal([...new Set(texts(got))], Array.from({ length: 21 }, (_, i) => `{"n":${i}}`));
  await src.close();
});

test('pause stops delivery and resume delivers everything in order', async () => {
  const topic = uniq('pause');
  const { src, got } = await started({ topics: [topic] });
  await publishAll(topic, ['{"n":0}']);
  await until(() => got.length === 1, 'first frame');
  src.pause();
  src.pause();
  await publishAll(topic, Array.from({ length: 30 }, (_, i) => `{"n":${i + 1}}`));
  await sleep(200);
  assert.is(got.length, 1, 'nothing delivered while paused');
  src.resume();
  await until(() => got.length === 31, 'all frames after resume');
  assert.equal(texts(got), Array.from({ length: 31 }, (_, i) => `{"n":${i}}`));
  await src.close();
});

test('username/password: wrong credentials fail start() with the broker reason; right ones work', async () => {
  const secured = await startMosquitto({ users: { ingest: 'pa55' } });
  try {
    const bad = new MqttSource({ url: secured.url, clientId: uniq('bad'), topics: ['x'], username: 'ingest', password: 'nope' });
    let message = '';
    await bad.start({ onFrame() {} }).catch((e: Error) => (message = e.message));
    assert.match(message, /cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: .*(Not authorized|Bad User Name or Password).*reason code 0x8[67]/);
    const good = new MqttSource({ url: secured.url, clientId: uniq('good'), topics: ['x'], username: 'ingest', password: 'pa55' });
    const got: Frame[] = [];
    await good.start({ onFrame: (f, ack) => { got.push(f); ack(true); } });
    const pub = await mqtt.connectAsync(secured.url, { protocolVersion: 5, username: 'ingest', password: 'pa55' });
    await pub.publishAsync('x', '{}', { qos: 1 });
    await until(() => got.length === 1, 'frame on the secured broker');
    await pub.endAsync();
    await good.close();
  } finally {
    await secured.stop();
  }
});

test('TLS: connects to an mqtts:// broker trusting its CA; an untrusted certificate fails clearly', async () => {
  const secure = await startMosquitto({ tls: true });
  try {
    const untrusted = new MqttSource({ url: secure.url, clientId: uniq('tls-bad'), topics: ['x'], connectTimeoutMs: 3000 });
    let message = '';
    await untrusted.start({ onFrame() {} }).catch((e: Error) => (message = e.message));
    assert.match(message, /cannot connect to mqtts:\/\/127\.0\.0\.1:\d+: .*self[- ]signed/i);
    const missing = new MqttSource({ url: secure.url, clientId: uniq('tls-missing'), topics: ['x'], tls: { ca: '/nonexistent/ca.pem' } });
    message = '';
    await missing.start({ onFrame() {} }).catch((e: Error) => (message = e.message));
    assert.match(message, /tls\.ca: cannot read PEM file "\/nonexistent\/ca\.pem": ENOENT/);
    // A path to the PEM file works as well as the PEM text (pipeline configs give paths).
    const caFile = join(mkdtempSync(join(tmpdir(), 'ganglion-ca-')), 'ca.pem');
    writeFileSync(caFile, secure.caPem!);
    const byPath = new MqttSource({ url: secure.url, clientId: uniq('tls-path'), topics: ['x'], tls: { ca: caFile } });
    await byPath.start({ onFrame() {} });
    await byPath.close();
    rmSync(dirname(caFile), { recursive: true, force: true });
    const src = new MqttSource({ url: secure.url, clientId: uniq('tls'), topics: ['x'], tls: { ca: secure.caPem } });
    const got: Frame[] = [];
    await src.start({ onFrame: (f, ack) => { got.push(f); ack(true); } });
    const pub = await mqtt.connectAsync(secure.url, { protocolVersion: 5, ca: secure.caPem });
    await pub.publishAsync('x', '{"tls":true}', { qos: 1 });
    await until(() => got.length === 1, 'frame over TLS');
    assert.is(Buffer.from(got[0].data).toString(), '{"tls":true}');
    await pub.endAsync();
    await src.close();
  } finally {
    await secure.stop();
  }
});

test('an unreachable broker fails start() with a clear message', async () => {
  const src = new MqttSource({ url: 'mqtt://127.0.0.1:1', clientId: uniq('x'), topics: ['x'], connectTimeoutMs: 2000 });
  let message = '';
  await src.start({ onFrame() {} }).catch((e: Error) => (message = e.message));
  assert.match(message, /mqtt source "mqtt": cannot connect to mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
});

test('invalid options fail with a precise message', () => {
  const ok = { url: 'mqtt://127.0.0.1:1883', clientId: 'c', topics: ['a/#'] };
  assert.throws(() => new MqttSource({ ...ok, url: 'http://x' }), /url must look like mqtt:\/\/host:port/);
  assert.throws(() => new MqttSource({ ...ok, clientId: '' }), /clientId is required/);
  assert.throws(() => new MqttSource({ ...ok, topics: [] }), /at least one topic filter/);
  assert.throws(() => new MqttSource({ ...ok, topics: ['a/#/b'] }), /topics\[0\] "a\/#\/b" is not a valid MQTT topic filter/);
  assert.throws(() => new MqttSource({ ...ok, topics: [{ filter: 'a', format: 'xml' as 'json' }] }), /format must be "json" or "flatbuffers"/);
  assert.throws(() => new MqttSource({ ...ok, receiveMaximum: 0 }), /receiveMaximum must be an integer 1\.\.65535/);
});

test('topic filters match like the broker does', () => {
  assert.ok(topicMatches('a/#', 'a/b/c'));
  assert.ok(topicMatches('a/#', 'a'));
  assert.ok(topicMatches('a/+/c', 'a/b/c'));
  assert.not.ok(topicMatches('a/+/c', 'a/b/d'));
  assert.not.ok(topicMatches('a/+', 'a/b/c'));
  assert.not.ok(topicMatches('#', '$SYS/x'));
  assert.ok(topicMatches('a/b', 'a/b'));
});

test.run();
