import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WsSource, type WsSourceOptions } from '../../../host/sources/ws_source.js';
import type { Ack, Frame, RefusedFrame } from '../../../host/sources/source.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Got { frame: Frame; ack: Ack }

async function started(opts: WsSourceOptions, autoAck = true): Promise<{ src: WsSource; got: Got[] }> {
  const got: Got[] = [];
  const src = new WsSource({ port: 0, onError: () => {}, ...opts });
  await src.start({ onFrame: (frame, ack) => { got.push({ frame: { ...frame, data: frame.data.slice() }, ack }); if (autoAck) ack(true, { count: 1, rejected: 0 }); } });
  return { src, got };
}

function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function acksOf(ws: WebSocket): Array<Record<string, unknown>> {
  const acks: Array<Record<string, unknown>> = [];
  ws.on('message', (d, isBinary) => { if (!isBinary) acks.push(JSON.parse(String(d))); });
  return acks;
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try { await p; } catch (e) { assert.match((e as Error).message, re); return; }
  assert.unreachable(`expected a rejection matching ${re}`);
}

const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const native of [true, false]) {
  const engine = native ? 'uws' : 'ws';

  test(`${engine}: serves with the expected engine on a picked port`, async () => {
    const { src } = await started({ native });
    assert.is(src.engineKind, engine);
    assert.ok(src.port > 0);
    assert.match(src.url, new RegExp(`^ws://127\\.0\\.0\\.1:${src.port}/ingest$`));
    await src.close();
  });

  test(`${engine}: binary and text frames arrive intact, acks echo the producer sequence`, async () => {
    const { src, got } = await started({ native });
    const ws = await connect(`${src.url}?seq=41`);
    const acks = acksOf(ws);
    const bin = new Uint8Array(70_000).map((_, i) => (i * 31) & 255);
    ws.send(bin);
    ws.send('{"ts":1,"price":2.5}');
    ws.send(new Uint8Array([0, 255, 1]));
    await until(() => got.length === 3 && acks.length === 3, 'three frames and acks');
    assert.equal([...got[0].frame.data], [...bin]);
    assert.is(got[0].frame.binary, true);
    assert.is(Buffer.from(got[1].frame.data).toString(), '{"ts":1,"price":2.5}');
    assert.is(got[1].frame.binary, false);
    assert.equal([...got[2].frame.data], [0, 255, 1]);
    assert.equal(got.map((g) => g.frame.producerSeq), [41, 42, 43]);
    assert.match(got[0].frame.origin, /^ws:127\.0\.0\.1\/\d+$/);
    assert.ok(got[0].frame.receivedAtNs > BigInt(Date.now() - 60_000) * 1_000_000n);
    assert.ok(got[1].frame.receivedAtNs >= got[0].frame.receivedAtNs);
    assert.equal(acks, [41, 42, 43].map((s) => ({ ack: s, ok: true, accepted: 1, rejected: 0 })));
    ws.close();
    await src.close();
  });

  test(`${engine}: rejected frames are acked with ok:false and the reason; ?acks=0 turns acks off`, async () => {
    const { src, got } = await started({ native }, false);
    const ws = await connect(src.url);
    const acks = acksOf(ws);
    ws.send('not json');
    await until(() => got.length === 1, 'frame');
    got[0].ack(false, { rejected: 1, reason: 'invalid JSON at byte 0' });
    got[0].ack(true); // a second ack is ignored
    await until(() => acks.length === 1, 'ack');
    assert.equal(acks[0], { ack: 1, ok: false, rejected: 1, reason: 'invalid JSON at byte 0' });
    const quiet = await connect(`${src.url}?acks=0`);
    const none = acksOf(quiet);
    quiet.send('{}');
    await until(() => got.length === 2, 'second frame');
    got[1].ack(true, { count: 1 });
    await sleep(100);
    assert.is(none.length, 0);
    ws.close(); quiet.close();
    await src.close();
  });

  test(`${engine}: the token is required when configured (401 otherwise)`, async () => {
    const { src, got } = await started({ native, token: 's3cret' });
    await rejects(connect(src.url), /HTTP 401/);
    await rejects(connect(`${src.url}?token=wrong`), /HTTP 401/);
    await rejects(connect(src.url, { Authorization: 'Bearer s3creT' }), /HTTP 401/);
    const a = await connect(src.url, { Authorization: 'Bearer s3cret' });
    const b = await connect(`${src.url}?token=s3cret`);
    a.send('{}'); b.send('{}');
    await until(() => got.length === 2, 'frames from both authorised producers');
    a.close(); b.close();
    await src.close();
  });

  test(`${engine}: bad paths and bad query parameters are refused with a status`, async () => {
    const { src } = await started({ native });
    const base = `ws://127.0.0.1:${src.port}`;
    await rejects(connect(`${base}/other`), /HTTP 404/);
    await rejects(connect(`${base}/ingest?seq=-3`), /HTTP 400/);
    await rejects(connect(`${base}/ingest?acks=yes`), /HTTP 400/);
    await src.close();
  });

  test(`${engine}: a frame above maxFrameBytes is nacked and refused with 1009 and a reason, never delivered`, async () => {
    const refused: RefusedFrame[] = [];
    const got: Frame[] = [];
    const src = new WsSource({ port: 0, native, maxFrameBytes: 1024, onError: () => {} });
    await src.start({ onFrame: (f, ack) => { got.push(f); ack(true, { count: 1, rejected: 0 }); }, onRefused: (r) => refused.push(r) });
    const ws = await connect(`${src.url}?seq=7`);
    const acks = acksOf(ws);
    ws.send(new Uint8Array(1024));
    await until(() => got.length === 1, 'the frame at the limit');
    const closed = new Promise<[number, string]>((r) => ws.once('close', (c, why) => r([c, String(why)])));
    ws.send(new Uint8Array(1025));
    const [code, reason] = await closed;
    assert.is(code, 1009);
    assert.match(reason, /frame of 1025 bytes is larger than max_frame_bytes \(1024\)/);
    assert.equal(acks.map((a) => [a.ack, a.ok]), [[7, true], [8, false]]);
    assert.is(got.length, 1);
    assert.is(refused.length, 1);
    assert.is(refused[0].reason, 'frame_too_large');
    assert.is(refused[0].producerSeq, 8);
    assert.is(refused[0].data, undefined);
    assert.is(src.refused, 1);
    await src.close();
  });

  test(`${engine}: pause stops delivery, resume delivers everything in order`, async () => {
    const { src, got } = await started({ native });
    const ws = await connect(src.url);
    const acks = acksOf(ws);
    ws.send('{"n":0}');
    await until(() => got.length === 1, 'first frame');
    src.pause();
    src.pause();
    for (let i = 1; i <= 50; i++) ws.send(`{"n":${i}}`);
    await sleep(200);
    assert.is(got.length, 1, 'nothing delivered while paused');
    assert.is(acks.length, 1, 'nothing acked while paused');
    src.resume();
    await until(() => got.length === 51 && acks.length === 51, 'all frames after resume');
    assert.equal(got.map((g) => JSON.parse(Buffer.from(g.frame.data).toString()).n), Array.from({ length: 51 }, (_, i) => i));
    assert.equal(got.map((g) => g.frame.producerSeq), Array.from({ length: 51 }, (_, i) => i + 1));
    ws.close();
    await src.close();
  });

  test(`${engine}: after a disconnect the producer resends from its first unacked frame`, async () => {
    const { src, got } = await started({ native }, false);
    const frames = Array.from({ length: 10 }, (_, i) => `{"n":${i + 1}}`);
    const first = await connect(src.url); // producer seq starts at 1
    const acked = new Set<number>();
    first.on('message', (d) => acked.add(JSON.parse(String(d)).ack));
    for (const f of frames) first.send(f);
    await until(() => got.length === 10, 'first delivery');
    for (const g of got.slice(0, 6)) g.ack(true, { count: 1 });
    await until(() => acked.size === 6, 'six acks');
    const closed = closeCode(first);
    first.terminate();
    await closed;
    for (const g of got.slice(6)) g.ack(true, { count: 1 }); // too late: the connection is gone
    const resendFrom = Math.max(...acked) + 1;
    assert.is(resendFrom, 7);
    const second = await connect(`${src.url}?seq=${resendFrom}`);
    second.on('message', (d) => acked.add(JSON.parse(String(d)).ack));
    for (const f of frames.slice(resendFrom - 1)) second.send(f);
    await until(() => got.length === 14, 'resent frames');
    for (const g of got.slice(10)) g.ack(true, { count: 1 });
    await until(() => acked.size === 10, 'all ten acked');
    assert.equal(got.slice(10).map((g) => g.frame.producerSeq), [7, 8, 9, 10]);
    assert.equal(got.slice(10).map((g) => Buffer.from(g.frame.data).toString()), frames.slice(6));
    assert.is.not(got[10].frame.origin, got[0].frame.origin);
    second.close();
    await src.close();
  });

  test(`${engine}: close() flushes frames held while paused into the sink`, async () => {
    const { src, got } = await started({ native });
    const ws = await connect(src.url);
    ws.send('{"a":1}');
    await until(() => got.length === 1, 'frame');
    src.pause();
    ws.send('{"a":2}');
    await sleep(100);
    const closed = closeCode(ws);
    await src.close();
    assert.is(await closed, 1001);
    // The ws engine stops reading while paused, so frame 2 may still sit in the socket; uWS holds it.
    if (native) assert.is(got.length, 2);
  });
}

test('uws: a producer that overruns the paused queue is closed with 1013 and its held frames are discarded unacked', async () => {
  const { src, got } = await started({ native: true, maxPausedBytes: 10_000 });
  const greedy = await connect(src.url);
  const polite = await connect(src.url);
  const politeAcks = acksOf(polite);
  src.pause();
  polite.send('{"p":1}');
  await sleep(50);
  const code = closeCode(greedy);
  for (let i = 0; i < 20; i++) greedy.send(new Uint8Array(1000));
  assert.is(await code, 1013);
  src.resume();
  await until(() => politeAcks.length === 1, 'the polite frame');
  assert.is(got.length, 1);
  assert.is(Buffer.from(got[0].frame.data).toString(), '{"p":1}');
  polite.close();
  await src.close();
});

// (uWS only: the ws engine stops reading a paused socket, so it neither holds
// such frames nor sees the disconnect until it reads again.)
test('uws: frames held while paused are dropped when their producer (with acks) disconnects, kept without acks', async () => {
  const { src, got } = await started({ native: true });
  const acked = await connect(src.url);
  const unacked = await connect(`${src.url}?acks=0`);
  acked.send('{"who":"acked","n":0}');
  unacked.send('{"who":"unacked","n":0}');
  await until(() => got.length === 2, 'first frames');
  src.pause();
  acked.send('{"who":"acked","n":1}');
  unacked.send('{"who":"unacked","n":1}');
  await sleep(100);
  const closedA = closeCode(acked), closedU = closeCode(unacked);
  acked.terminate(); unacked.terminate();
  await closedA; await closedU;
  await sleep(50);
  src.resume();
  await until(() => got.length === 3, 'the unacked producer\'s held frame');
  await sleep(50);
  const texts = got.map((g) => Buffer.from(g.frame.data).toString());
  assert.equal(texts.slice(2), ['{"who":"unacked","n":1}'], 'the acked producer resends its frame itself');
  await src.close();
});

test('ws: a peer that stops answering pings is cut after the idle timeout; a live quiet one stays', async () => {
  const { src } = await started({ native: false, idleTimeoutSeconds: 0.4 });
  const live = await connect(src.url);
  const dead = createConnection({ host: '127.0.0.1', port: src.port });
  dead.write(`GET /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let handshake = '';
  dead.on('data', (d) => (handshake += d)); // reads, but never answers a ping
  const cut = new Promise<void>((r) => dead.once('close', () => r()));
  await cut;
  assert.match(handshake, /^HTTP\/1\.1 101/);
  assert.is(live.readyState, live.OPEN);
  live.close();
  await src.close();
});

test('importing the module loads no native addon, and native:false serves without uWS', () => {
  const script = `
    const { WsSource } = await import('./host/sources/ws_source.ts');
    const addons = () => Object.keys(require.cache).filter((k) => k.endsWith('.node'));
    if (addons().length) throw new Error('addon loaded on import: ' + addons());
    const src = new WsSource({ port: 0, native: false });
    await src.start({ onFrame() {} });
    if (src.engineKind !== 'ws') throw new Error('engine ' + src.engineKind);
    const uws = addons().filter((k) => k.includes('uws'));
    if (uws.length) throw new Error('uWS loaded by native:false: ' + uws);
    await src.close();
    console.log('NO-ADDON-OK');
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${script}`], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  assert.ok(r.stdout.includes('NO-ADDON-OK'), r.stderr + r.stdout);
});

test('invalid options fail with a precise message', () => {
  assert.throws(() => new WsSource({ path: 'ingest' }), /path must start with "\/"/);
  assert.throws(() => new WsSource({ port: 70000 }), /port must be an integer 0\.\.65535/);
  assert.throws(() => new WsSource({ maxFrameBytes: 0 }), /maxFrameBytes must be a positive integer/);
  assert.throws(() => new WsSource({ token: '' }), /token must not be empty/);
  assert.throws(() => new WsSource({ idleTimeoutSeconds: -1 }), /idleTimeoutSeconds must be ≥ 0/);
  assert.throws(() => new WsSource({ host: '0.0.0.0' }), /ws source "ws": host: expected a loopback host \(127\.0\.0\.1\) or an auth_token/);
  assert.throws(() => new WsSource({ host: '0.0.0.0', token: 'short' }), /token: expected a token of at least 16 characters/);
  assert.throws(() => new WsSource({ token: 'change-me' }), /not the example token "change-me"/);
});

test.run();
