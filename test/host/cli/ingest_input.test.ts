// Bad input from outside: a real `ganglion run`, a WebSocket producer on
// 127.0.0.1, and what comes back (acks, the dead-letter file, /metrics, the
// checkpoints on disk). Bad records go to the dead-letter queue with their
// own bytes and a precise reason; the good records of the same frame are
// processed; nothing is dropped silently.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import mqtt from 'mqtt';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../../bench/free_port.js';
import { CheckpointStore } from '../../../host/checkpoint/checkpoint_store.js';
import { tempDir } from '../../helpers/tmp.js';
import { BIN, CLI_ENV, startRun } from '../../helpers/ganglion.js';
import { deadLetters, producer, scrape } from '../../helpers/ingest_client.js';
import { startMosquitto } from '../../helpers/mosquitto.js';

async function pipeline(dir: string, extra = '', schema = 'schema: { type: trades }'): Promise<{ file: string; ws: number; http: number; data: string }> {
  const ws = await freePort();
  const http = await freePort();
  const file = join(dir, 'p.yaml');
  writeFileSync(file, `name: input_test
sources: [{ type: ws, host: 127.0.0.1, port: ${ws} }]
${schema}
operators:
  - { name: vol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }
sinks: [{ type: jsonl, path: ${JSON.stringify(join(dir, 'out.jsonl'))} }]
delivery: { mode: exactly_once, checkpoint: { interval: 200ms, keep: 2 } }
partitions: 1
server: { host: 127.0.0.1, port: ${http}, dashboard: false }
${extra}
`);
  return { file, ws, http, data: join(dir, 'data') };
}

const trade = (instrument: string, qty: number, ts = 1_767_623_400_000 + qty) => JSON.stringify({ ts, instrument, price: 100, qty, side: 'buy' });

test('NDJSON: an unterminated line is one dead letter; the lines around it are all accepted', async () => {
  const dir = tempDir();
  const p = await pipeline(dir.path);
  const run = await startRun(p.file, p.data);
  try {
    const bad = '{"ts":1,"instrument":"BAD",';
    const prod = await producer(p.ws);
    const ack = await prod.send(`${trade('A1', 1)}\n${bad}\n${trade('A2', 2)}\n${trade('A3', 3)}`);
    assert.equal([ack.ok, ack.accepted, ack.rejected], [true, 3, 1]);
    prod.close();
  } finally {
    assert.is(await run.stop(), 0, run.stderr);
  }
  const dl = deadLetters(p.data);
  assert.equal(dl.map((d) => [d.code, d.raw.toString()]), [['json_syntax', '{"ts":1,"instrument":"BAD",']]);
  dir.remove();
});

test('NDJSON over MQTT: the same frame gives the same three events and one dead letter', async () => {
  const dir = tempDir();
  const broker = await startMosquitto();
  const http = await freePort();
  const file = join(dir.path, 'p.yaml');
  writeFileSync(file, `name: input_mqtt
sources: [{ type: mqtt, url: "${broker.url}", topics: [{ topic: trades, format: json, qos: 1 }], client_id: input-test }]
schema: { type: trades }
operators: [{ name: vol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count] }]
sinks: [{ type: jsonl, path: ${JSON.stringify(join(dir.path, 'out.jsonl'))} }]
partitions: 1
server: { host: 127.0.0.1, port: ${http}, dashboard: false }
`);
  const data = join(dir.path, 'data');
  const run = await startRun(file, data);
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'input-test-producer' });
  try {
    const bad = '{"ts":1,"instrument":"BAD",';
    await client.publishAsync('trades', `${trade('A1', 1)}\n${bad}\n${trade('A2', 2)}\n${trade('A3', 3)}`, { qos: 1 });
    let accepted = 0;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      accepted = text.split('\n').filter((l) => l.startsWith('ganglion_events_in_total')).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      if (accepted >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.is(accepted, 3);
  } finally {
    await client.endAsync();
    assert.is(await run.stop(), 0, run.stderr);
    await broker.stop();
  }
  assert.equal(deadLetters(data).map((d) => [d.code, d.raw.toString()]), [['json_syntax', '{"ts":1,"instrument":"BAD",']]);
  dir.remove();
});

test('NDJSON in a replayed file: the damaged line is one dead letter, the window counts the other three', async () => {
  const dir = tempDir();
  const input = join(dir.path, 'in.jsonl');
  const out = join(dir.path, 'out.jsonl');
  writeFileSync(input, `${trade('A', 1)}\n{"ts":1,"instrument":"BAD",\n${trade('A', 2)}\n${trade('A', 3)}\n`);
  const file = join(dir.path, 'p.yaml');
  writeFileSync(file, `name: input_replay
schema: { type: trades }
operators: [{ name: vol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }]
`);
  const r = spawnSync(process.execPath, [BIN, 'replay', file, '--input', input, '--output', out], { encoding: 'utf8', env: CLI_ENV });
  assert.is(r.status, 0, r.stderr);
  const outs = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(outs.filter((o) => o.kind === 'window').map((o) => o.values), [{ count: 3, sum: 6 }]);
  const dl = outs.filter((o) => o.kind === 'dead_letter');
  assert.is(dl.length, 1);
  assert.match(JSON.stringify(dl[0]), /json_syntax/);
  assert.match(JSON.stringify(dl[0]), /BAD/);
  dir.remove();
});

test('the key dictionary is bounded: long and surplus new keys are dead letters, reported in /metrics; checkpoints stay small', async () => {
  const dir = tempDir();
  const MAX_KEYS = 300;
  const p = await pipeline(dir.path, `key_dictionary: { max_keys: ${MAX_KEYS}, max_key_bytes: 64 }`);
  const run = await startRun(p.file, p.data);
  const long = (i: number) => `L${i}-`.padEnd(1024, 'x');
  const short = (i: number) => `S${i}-`.padEnd(32, 'y');
  let accepted = 0, rejected = 0, longSent = 0, shortSent = 0, known = 0;
  try {
    const prod = await producer(p.ws);
    for (let f = 0; f < 20; f++) {
      const lines: string[] = [];
      for (let k = 0; k < 500; k++) {
        const i = f * 500 + k;
        if (k % 5 === 0) { lines.push(trade('KNOWN', i)); known++; }
        else if (k % 5 < 3) { lines.push(trade(long(i), i)); longSent++; }
        else { lines.push(trade(short(i), i)); shortSent++; }
      }
      const ack = await prod.send(lines.join('\n'));
      accepted += ack.accepted ?? 0;
      rejected += ack.rejected ?? 0;
    }
    prod.close();
    // The dictionary holds KNOWN and the first MAX_KEYS - 1 short keys; everything else new was refused.
    const admittedShort = MAX_KEYS - 1;
    assert.is(accepted, known + admittedShort);
    assert.is(rejected, longSent + shortSent - admittedShort);
    await new Promise((r) => setTimeout(r, 600)); // a checkpoint after the last frame
    const metric = await scrape(p.http);
    assert.is(metric('ganglion_key_dictionary_keys'), MAX_KEYS);
    assert.is(metric('ganglion_key_dictionary_bytes'), 'KNOWN'.length + 32 * admittedShort);
    assert.is(metric('ganglion_key_dictionary_refused_total', 'limit="key_too_long"'), longSent);
    assert.is(metric('ganglion_key_dictionary_refused_total', 'limit="max_keys"'), shortSent - admittedShort);
    assert.is(metric('ganglion_dead_letters_total', 'reason="key_too_long"'), longSent);
    assert.is(metric('ganglion_dead_letters_total', 'reason="key_dictionary_full"'), shortSent - admittedShort);
    // 10 MB of unique keys went in; the checkpoint's dictionary holds MAX_KEYS keys of ≤ 64 bytes.
    const cp = new CheckpointStore(join(p.data, 'checkpoints')).loadLatest();
    assert.ok(cp, 'a checkpoint was taken');
    assert.is(cp!.sections.get('dictionary')!.length, 8 + 4 * MAX_KEYS + 'KNOWN'.length + 32 * admittedShort);
    const cps = join(p.data, 'checkpoints');
    const sizes = readdirSync(cps).map((f) => statSync(join(cps, f)).size);
    assert.ok(Math.max(...sizes) < 4 * 1024 * 1024, `checkpoint sizes ${sizes.join(', ')} (the operator state is ~2.6 MB)`);
  } finally {
    assert.is(await run.stop(), 0, run.stderr);
  }
  const dl = deadLetters(p.data);
  assert.is(dl.length, rejected);
  const tooLong = dl.filter((d) => d.code === 'key_too_long');
  const full = dl.filter((d) => d.code === 'key_dictionary_full');
  assert.equal([tooLong.length, full.length], [longSent, rejected - longSent]);
  // Each dead letter is its own event's bytes, with a reason naming the field and the limit.
  assert.ok(tooLong.every((d) => JSON.parse(d.raw.toString()).instrument.length === 1024));
  assert.match(tooLong[0].detail, /^key "instrument": "L\d+-x+\.\.\." is 1024 bytes, over the 64-byte limit per key \(key_dictionary\.max_key_bytes\)$/);
  assert.match(full[0].detail, new RegExp(`the key dictionary is full: it holds ${MAX_KEYS} keys \\(key_dictionary\\.max_keys: ${MAX_KEYS}\\)`));
  assert.ok(full.every((d) => JSON.parse(d.raw.toString()).instrument.startsWith('S')));
  dir.remove();
});

/** The shipped example with its synthetic feed swapped for a WebSocket source (what a user wiring a live feed does). */
async function exampleWithWs(dir: string, eventTime: Record<string, unknown> = {}): Promise<{ file: string; ws: number; data: string; out: string }> {
  const doc = parseYaml(readFileSync(new URL('../../../examples/market-surveillance.yaml', import.meta.url), 'utf8')) as Record<string, any>;
  const ws = await freePort();
  const out = join(dir, 'out.jsonl');
  doc.sources = [{ name: 'gateway', type: 'ws', host: '127.0.0.1', port: ws }];
  doc.sinks = [{ type: 'jsonl', path: out }];
  doc.server = { host: '127.0.0.1', port: await freePort(), dashboard: false };
  doc.partitions = 1;
  doc.memory = '64MiB';
  Object.assign(doc.event_time, eventTime);
  const file = join(dir, 'p.yaml');
  writeFileSync(file, stringifyYaml(doc));
  return { file, ws, data: join(dir, 'data'), out };
}

test('market-surveillance example: epoch ms trades land at their date, and max_future refuses one an hour ahead', async () => {
  const dir = tempDir();
  const p = await exampleWithWs(dir.path);
  const run = await startRun(p.file, p.data);
  const now = Date.now();
  try {
    const prod = await producer(p.ws);
    const frame = Array.from({ length: 50 }, (_, i) => trade('AAPL', i + 1, now - 1000 + i));
    const ack = await prod.send([...frame, trade('MSFT', 7, now + 3_600_000)].join('\n'));
    assert.equal([ack.accepted, ack.rejected], [50, 1]);
    // Event time moves 3 s on: the watermark passes the first trades' second and its windows fire.
    await prod.send(trade('AAPL', 1, now + 3000));
    const deadline = Date.now() + 10_000;
    while (!(existsSync(p.out) && readFileSync(p.out, 'utf8').includes('"vwap_1s-window-AAPL')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    prod.close();
  } finally {
    assert.is(await run.stop(), 0, run.stderr);
  }
  const outs = readFileSync(p.out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const windows = outs.filter((o) => o.kind === 'window' && o.key === 'AAPL');
  assert.ok(windows.length > 0, 'windows fired');
  for (const w of windows) assert.ok(Math.abs(Number(BigInt(w.window.start_ns) / 1_000_000n) - now) < 5000, `window at ${w.window.start}, sent at ${new Date(now).toISOString()}`);
  assert.is(outs.filter((o) => o.kind === 'late').length, 0);
  const dl = deadLetters(p.data);
  assert.equal(dl.map((d) => d.code), ['timestamp_window']);
  const ahead = Number(/([\d.]+) ms in the future/.exec(dl[0].detail)?.[1]);
  assert.ok(ahead > 3_590_000 && ahead <= 3_600_000, dl[0].detail);
  dir.remove();
});

test('a declared unit rejects implausible epoch values into the dead-letter queue (ms sent with unit: ns)', async () => {
  const dir = tempDir();
  const p = await exampleWithWs(dir.path, { unit: 'ns' });
  const run = await startRun(p.file, p.data);
  const now = Date.now();
  try {
    const prod = await producer(p.ws);
    const ns = `{"ts":"${BigInt(now) * 1_000_000n}","instrument":"AAPL","price":100,"qty":1,"side":"buy"}`;
    const ack = await prod.send(`${trade('AAPL', 1, now)}\n${ns}\n${trade('AAPL', 2, now)}`);
    assert.equal([ack.accepted, ack.rejected], [1, 2]);
    prod.close();
  } finally {
    assert.is(await run.stop(), 0, run.stderr);
  }
  const dl = deadLetters(p.data);
  assert.equal(dl.map((d) => d.code), ['bad_timestamp', 'bad_timestamp']);
  assert.match(dl[0].detail, new RegExp(`timestamp ${now} is implausible in event_time.unit ns: it would be 1970-01-01T.*; it looks like ms \\(set unit: ms, or auto\\)`));
  assert.is(JSON.parse(dl[1].raw.toString()).qty, 2);
  dir.remove();
});

test.run();
