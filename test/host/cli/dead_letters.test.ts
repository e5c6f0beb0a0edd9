// Dead letters from outside: a real `ganglion run` with a WebSocket source gets
// good and bad events; the bad ones must come out in the one documented shape
// (docs/OUTPUTS.md `dead_letter`) in <data-dir>/dead-letters.jsonl, in a JSONL
// sink that selects `kinds: [dead_letter]`, and on `/topics?subscribe=*`; after
// a crash the sink still holds each of them exactly once. A replay gives no
// 1970 receive time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { freePort } from '../../../bench/free_port.js';
import { ganglion } from '../../helpers/ganglion.js';
import { tempDir } from '../../helpers/tmp.js';

const T0 = 1767623400000;
const GOOD = `{"ts":${T0},"instrument":"AAPL","price":10,"qty":5}`;
const RANGE = `{"ts":${T0 + 1},"instrument":"AAPL","price":-1,"qty":5}`;
const SYNTAX = `{"ts":${T0 + 2},"instrument":"AAPL","price":oops}`;
const GARBAGE = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

function pipeline(dir: string, port: number, mqttUrl?: string, interval = '1h'): string {
  const file = join(dir, 'p.yaml');
  writeFileSync(file, `name: dlq_routing
sources: [{ name: gw, type: ws, host: 127.0.0.1, port: ${port}, path: /ingest }]
schema: { type: trades }
validation: { required: [instrument, price, qty], ranges: { price: { min: 0 } } }
operators: [{ name: vol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }]
sinks:
  - { name: dead, type: jsonl, path: ${JSON.stringify(join(dir, 'dead.jsonl'))}, kinds: [dead_letter] }
  - { name: everything_else, type: jsonl, path: ${JSON.stringify(join(dir, 'windows.jsonl'))}, kinds: [window] }
${mqttUrl ? `  - { name: broker, type: mqtt, url: "${mqttUrl}", topic: "dlq/{pipeline}/{kind}", kinds: [dead_letter], qos: 1 }\n` : ''}delivery: { mode: exactly_once, checkpoint: { interval: ${interval} } }
partitions: 1
server: { port: 0, dashboard: false }
`);
  return file;
}

const lines = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function produce(port: number, shift = 0): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ingest?seq=1`);
  const acks: string[] = [];
  ws.on('message', (d) => acks.push(String(d)));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const bump = (l: string) => l.replace(/"ts":(\d+)/, (_, t) => `"ts":${Number(t) + shift}`);
  ws.send([GOOD, RANGE, SYNTAX].map(bump).join('\n'), { binary: false });
  ws.send(GARBAGE, { binary: true });
  await until('two acks', () => acks.length >= 2);
  ws.close();
}

function checkShape(all: Record<string, unknown>[], started: number): void {
  assert.is(all.length, 3, JSON.stringify(all));
  for (const d of all) {
    assert.equal(Object.keys(d), ['id', 'kind', 'origin', 'reason', 'detail', 'index', 'received_at', 'received_at_ns', 'encoding', 'data', 'seq']);
    assert.is(d.kind, 'dead_letter');
    const ms = Number(BigInt(d.received_at_ns as string) / 1_000_000n);
    assert.ok(ms >= started - 1000 && ms <= Date.now(), `received_at ${d.received_at} is the receive time`);
    assert.is(new Date(d.received_at as string).getTime(), ms);
  }
  const [range, syntax, frame] = all;
  assert.equal([range.reason, range.index, range.encoding, range.data], ['range', 1, 'utf8', RANGE]);
  assert.match(range.detail as string, /"price" = -1 is outside/);
  assert.equal([syntax.reason, syntax.index, syntax.encoding, syntax.data], ['json_syntax', 2, 'utf8', SYNTAX]);
  assert.equal([frame.index, frame.encoding], [-1, 'base64']);
  assert.equal(Uint8Array.from(Buffer.from(frame.data as string, 'base64')), GARBAGE);
  assert.is(new Set(all.map((d) => d.id)).size, 3, 'ids are unique');
}

test('dead letters: one documented shape in the data dir, a kinds [dead_letter] JSONL sink, an MQTT sink and /topics?subscribe=*', async () => {
  const dir = tempDir('ganglion-dlq-');
  const broker = await startMosquitto();
  const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `dlq-sub-${process.pid}` });
  const viaMqtt: Array<{ topic: string; body: Record<string, unknown>; id: unknown }> = [];
  sub.on('message', (topic, payload, packet) => viaMqtt.push({ topic, body: JSON.parse(payload.toString()), id: packet.properties?.userProperties?.id }));
  await sub.subscribeAsync('dlq/#', { qos: 1 });
  try {
    const port = await freePort();
    const started = Date.now();
    const g = ganglion(['run', pipeline(dir.path, port, broker.url), '--data-dir', join(dir.path, 'data'), '--no-status']);
    const [, url] = await g.waitFor(/dashboard (http:\/\/\S+)\//);
    const topics = new WebSocket(`${url.replace('http', 'ws')}/topics?subscribe=*`);
    const got: Record<string, unknown>[] = [];
    topics.on('message', (d) => { const m = JSON.parse(String(d)); if (m.kind) got.push(m); });
    await new Promise((r, j) => { topics.once('message', r); topics.once('error', j); });
    const only = new WebSocket(`${url.replace('http', 'ws')}/topics?subscribe=dead_letter`);
    const onlyGot: Record<string, unknown>[] = [];
    only.on('message', (d) => { const m = JSON.parse(String(d)); if (m.kind) onlyGot.push(m); });
    await new Promise((r, j) => { only.once('message', r); only.once('error', j); });

    await produce(port);
    await until('3 dead letters on /topics and MQTT', () => got.filter((o) => o.kind === 'dead_letter').length >= 3 && onlyGot.length >= 3 && viaMqtt.length >= 3);
    topics.close();
    only.close();
    g.child.kill('SIGTERM');
    assert.is(await g.exited, 0, g.stderr);

    const file = lines(join(dir.path, 'data', 'dead-letters.jsonl'));
    checkShape(file, started);
    assert.equal(lines(join(dir.path, 'dead.jsonl')), file, 'the kinds [dead_letter] sink has the same entries');
    assert.equal(got.filter((o) => o.kind === 'dead_letter'), file, '/topics?subscribe=* has them');
    assert.equal(onlyGot, file, '/topics?subscribe=dead_letter has them (and nothing else)');
    assert.ok(lines(join(dir.path, 'windows.jsonl')).every((o) => o.kind === 'window'), 'a kinds [window] sink gets no dead letter');
    assert.equal(viaMqtt.map((m) => m.body), file, 'the MQTT sink published them');
    assert.ok(viaMqtt.every((m) => m.topic === 'dlq/dlq_routing/dead_letter'), viaMqtt.map((m) => m.topic).join(' '));
    assert.equal(viaMqtt.map((m) => m.id), file.map((d) => d.id), 'with the id as the MQTT 5 user property');
  } finally {
    await sub.endAsync();
    await broker.stop();
    dir.remove();
  }
});

test('after a crash with no checkpoint the kinds [dead_letter] sink holds every dead letter exactly once', async () => {
  const dir = tempDir('ganglion-dlq-');
  try {
    const port = await freePort();
    const file = pipeline(dir.path, port);
    const data = join(dir.path, 'data');
    const started = Date.now();
    const a = ganglion(['run', file, '--data-dir', data, '--no-status']);
    await a.waitFor(/running dlq_routing/);
    await produce(port);
    // In the dead-letter file; the sink buffers them until a checkpoint that never comes.
    await until('the dead-letter file to hold them', () => lines(join(data, 'dead-letters.jsonl')).length >= 3);
    a.child.kill('SIGKILL');
    await a.exited;
    // The restart replays the log from the start and cuts the file sinks back to empty.
    const b = ganglion(['run', file, '--data-dir', data, '--no-status']);
    await b.waitFor(/running dlq_routing/);
    b.child.kill('SIGTERM');
    assert.is(await b.exited, 0, b.stderr);
    const dead = lines(join(dir.path, 'dead.jsonl'));
    checkShape(dead, started);
    assert.equal(dead, lines(join(data, 'dead-letters.jsonl')));
  } finally {
    dir.remove();
  }
});

test('a crash after a checkpoint: the sink ends with every dead letter once, committed or not', async () => {
  const dir = tempDir('ganglion-dlq-');
  try {
    const port = await freePort();
    const file = pipeline(dir.path, port, undefined, '300ms');
    const data = join(dir.path, 'data');
    const a = ganglion(['run', file, '--data-dir', data, '--no-status']);
    await a.waitFor(/running dlq_routing/);
    await produce(port);
    // The sink file is written at a checkpoint: these three are committed.
    await until('a checkpoint to commit the first three', () => lines(join(dir.path, 'dead.jsonl')).length >= 3);
    await produce(port, 10);
    await until('the dead-letter file to hold six', () => lines(join(data, 'dead-letters.jsonl')).length >= 6);
    a.child.kill('SIGKILL');
    await a.exited;
    const b = ganglion(['run', file, '--data-dir', data, '--no-status']);
    await b.waitFor(/running dlq_routing/);
    b.child.kill('SIGTERM');
    assert.is(await b.exited, 0, b.stderr);
    const dead = lines(join(dir.path, 'dead.jsonl'));
    const all = lines(join(data, 'dead-letters.jsonl'));
    assert.is(all.length, 6);
    assert.equal(dead, all, 'each dead letter exactly once, in order');
  } finally {
    dir.remove();
  }
});

test('replay: a dead letter carries no receive time (never 1970)', async () => {
  const dir = tempDir('ganglion-dlq-');
  try {
    const input = join(dir.path, 'in.jsonl');
    writeFileSync(input, [GOOD, RANGE, SYNTAX].join('\n') + '\n');
    const out = join(dir.path, 'out.jsonl');
    const g = ganglion(['replay', pipeline(dir.path, 1), '--input', input, '--output', out]);
    assert.is(await g.exited, 0, g.stderr);
    const dead = lines(out).filter((o) => o.kind === 'dead_letter');
    assert.is(dead.length, 2);
    for (const d of dead) {
      assert.not.ok('received_at' in d, JSON.stringify(d));
      assert.not.ok(JSON.stringify(d).includes('1970-'));
    }
    assert.equal(dead.map((d) => [d.reason, d.data]), [['range', RANGE], ['json_syntax', SYNTAX]]);
  } finally {
    dir.remove();
  }
});

test.run();
