import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { MqttSink } from '../../../host/sinks/mqtt_sink.js';
import { serializeOutput, type OutputEvent } from '../../../host/output/format.js';

let broker: Mosquitto;
test.before(async () => { broker = await startMosquitto(); });
test.after(async () => { await broker?.stop(); });

const alert = (i: number, key = `ACC${i}`): OutputEvent => ({
  id: `fraud-score-${key}-0-${i}`, kind: 'score', op: 'fraud', key, ts: 't', ts_ns: '0', score: 0.9, threshold: 0.8, alert: true, seq: String(i),
});

async function subscriber(filter: string) {
  const got: { topic: string; payload: string; id?: unknown; qos: number }[] = [];
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `sub-${Math.random()}` });
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), id: packet.properties?.userProperties?.id, qos: packet.qos }));
  await c.subscribeAsync(filter, { qos: 1 });
  return { got, close: () => c.endAsync() };
}

test('publishes each output on its expanded topic, with its id as a user property', async () => {
  const sub = await subscriber('fraud/#');
  const sink = await MqttSink.connect({ url: broker.url, topic: 'fraud/{op}/{key}', pipeline: 'p', qos: 1 });
  sink.write(alert(1));
  sink.write(alert(2, 'a/b+#'));
  await sink.flush();
  assert.is(sink.acknowledged, 2);
  const deadline = Date.now() + 5000;
  while (sub.got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sub.got.map((g) => g.topic), ['fraud/fraud/ACC1', 'fraud/fraud/a_b__']);
  assert.is(sub.got[0].payload, serializeOutput(alert(1)));
  assert.is(sub.got[0].id, 'fraud-score-ACC1-0-1');
  assert.is(sub.got[0].qos, 1);
  await sink.close();
  await sub.close();
});

test('a burst beyond the in-flight bound arrives complete and in order', async () => {
  const sub = await subscriber('burst/#');
  const sink = await MqttSink.connect({ url: broker.url, topic: 'burst/{kind}', pipeline: 'p', qos: 1, maxInFlight: 16 });
  for (let i = 0; i < 500; i++) sink.write(alert(i));
  await sink.flush();
  assert.is(sink.acknowledged, 500);
  const deadline = Date.now() + 5000;
  while (sub.got.length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sub.got.map((g) => JSON.parse(g.payload).seq), Array.from({ length: 500 }, (_, i) => String(i)));
  await sink.close();
  await sub.close();
});

test('selection filters before publishing', async () => {
  const sub = await subscriber('sel/#');
  const sink = await MqttSink.connect({ url: broker.url, topic: 'sel/{op}', pipeline: 'p', operators: ['other'] });
  sink.write(alert(1));
  await sink.close();
  assert.is(sink.acknowledged, 0);
  await sub.close();
});

test('an unreachable broker fails to connect with a clear error', async () => {
  try {
    await MqttSink.connect({ url: 'mqtt://127.0.0.1:1', topic: 'x', pipeline: 'p', connectTimeoutMs: 1000 });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /ECONNREFUSED|connect/i);
  }
});

test.run();
