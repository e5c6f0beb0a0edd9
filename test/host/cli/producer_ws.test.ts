// The WebSocket producer contract, from outside: a child `ganglion run`, a
// producer on a real socket. A frame resent after its ack was lost (dropped
// connection, SIGKILL of ganglion) is acknowledged again as a duplicate and
// counted once; without a producer id it is at-least-once, as documented.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../../../bench/free_port.js';
import { tempDir } from '../../helpers/tmp.js';
import { killAll, spawnRun, type Ganglion } from '../../helpers/ganglion.js';
import { windowLines } from '../../helpers/outputs.js';

const T0 = 1767623400000000000n; // a whole second

function pipeline(dir: string, port: number, native: boolean, checkpoint: string, expiry = '7d'): string {
  const file = join(dir, `p-${port}.yaml`);
  writeFileSync(file, `
name: producer_ws
sources: [{ type: ws, host: 127.0.0.1, port: ${port}, native: ${native} }]
schema: { type: trades }
event_time: { out_of_orderness: 0s, allowed_lateness: 0s, idle_timeout: 0s }
operators: [{ type: window, name: w, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }]
sinks: [{ type: jsonl, path: ${join(dir, 'out.jsonl')} }]
delivery: { mode: exactly_once, checkpoint: { interval: ${checkpoint} }, producer_expiry: ${expiry} }
partitions: 1
`);
  return file;
}

/** `n` trades of instrument A in the second starting at T0 + `second` s. */
function trades(n: number, second = 0): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`{"ts":"${T0 + BigInt(second) * 1_000_000_000n + BigInt(i) * 1000n}","instrument":"A","price":10.5,"qty":2,"side":"buy"}`);
  return '[' + out.join(',') + ']';
}

interface Producer { ws: WebSocket; acks: Array<Record<string, unknown>> }

function connect(port: number, query: string): Promise<Producer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ingest?${query}`);
    const acks: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => acks.push(JSON.parse(String(d))));
    ws.once('open', () => resolve({ ws, acks }));
    ws.once('unexpected-response', (_q, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`)));
    });
    ws.once('error', reject);
  });
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function ackOf(p: Producer, seq: number): Promise<Record<string, unknown>> {
  await until(() => p.acks.some((a) => a.ack === seq), `the ack of frame ${seq}`);
  return p.acks.find((a) => a.ack === seq)!;
}

/**
 * Sends `text` as the connection's next frame and lets ganglion answer, but the
 * producer never reads the answer: the TCP connection is cut first (the ack is
 * lost with it), as when a network drops between ganglion and the producer.
 */
async function sendAndLoseAck(port: number, query: string, text: string): Promise<void> {
  const p = await connect(port, query);
  const sock = (p.ws as unknown as { _socket: import('node:net').Socket })._socket;
  sock.pause(); // nothing more is read from ganglion: its ack stays unread
  p.ws.send(text);
  await new Promise((r) => setTimeout(r, 600)); // ganglion logs (fsync) and acks meanwhile
  p.ws.terminate();
  assert.is(p.acks.length, 0, 'the producer never saw the ack');
}

/** Closes the 1 s window of T0 with a frame 5 s later, stops ganglion, returns that window's count. */
async function closeAndCount(g: Ganglion, port: number, query: string, seq: number, dir: string): Promise<number> {
  const p = await connect(port, `${query}&seq=${seq}`);
  p.ws.send(trades(1, 5));
  assert.is((await ackOf(p, seq)).ok, true);
  p.ws.close();
  assert.is(await g.stop(), 0, 'ganglion exits 0 on SIGTERM');
  const w = windowLines(join(dir, 'out.jsonl')).filter((o) => o.key === 'A' && o.window.start_ns === T0.toString());
  assert.is(w.length, 1, 'the window of T0 fired once');
  return w[0].values.count;
}

/** ganglion_duplicate_frames_total as /metrics reports it. */
async function duplicateFrames(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^ganglion_duplicate_frames_total (\S+)$/m.exec(text);
  assert.ok(m, 'ganglion_duplicate_frames_total is exported');
  return Number(m[1]);
}

for (const native of [true, false]) {
  const engine = native ? 'uws' : 'ws';

  test(`${engine}: a frame resent after its ack was lost is acknowledged as a duplicate and counted once`, async () => {
    const dir = tempDir();
    const [port, httpPort] = [await freePort(), await freePort()];
    const g = spawnRun(pipeline(dir.path, port, native, '1h'), join(dir.path, 'data'), { args: ['--port', String(httpPort)] });
    await g.waitFor('running producer_ws');
    assert.is(await duplicateFrames(httpPort), 0);
    await sendAndLoseAck(port, 'producer=p-1&seq=1', trades(1000));
    const again = await connect(port, 'producer=p-1&seq=1');
    again.ws.send(trades(1000));
    const ack = await ackOf(again, 1);
    assert.equal(ack, { ack: 1, ok: true, duplicate: true, accepted: 0, rejected: 0 });
    again.ws.close();
    assert.is(await duplicateFrames(httpPort), 1, 'the resend is counted in /metrics');
    assert.is(await closeAndCount(g, port, 'producer=p-1', 2, dir.path), 1000, 'the 1 s window counts 1,000, not 2,000');
    assert.match(g.stderr, /stopped: 1001 events/);
    dir.remove();
  });

  test(`${engine}: without a producer id a resend is at-least-once (ingested again), as the README says`, async () => {
    const dir = tempDir();
    const port = await freePort();
    const g = spawnRun(pipeline(dir.path, port, native, '1h'), join(dir.path, 'data'));
    await g.waitFor('running producer_ws');
    await sendAndLoseAck(port, 'seq=1', trades(1000));
    const again = await connect(port, 'seq=1');
    again.ws.send(trades(1000));
    assert.equal(await ackOf(again, 1), { ack: 1, ok: true, accepted: 1000, rejected: 0 });
    again.ws.close();
    assert.is(await closeAndCount(g, port, 'x=0', 2, dir.path), 2000);
    dir.remove();
  });

  for (const checkpoint of ['1h', '50ms']) {
    test(`${engine}: a resend after SIGKILL of ganglion run is idempotent (${checkpoint === '1h' ? 'table rebuilt from the log' : 'table from a checkpoint'})`, async () => {
      const dir = tempDir();
      const data = join(dir.path, 'data');
      // uWS cannot bind a port with connections in TIME_WAIT: each life gets its own port.
      const port1 = await freePort();
      let g = spawnRun(pipeline(dir.path, port1, native, checkpoint), data);
      await g.waitFor('running producer_ws');
      const p = await connect(port1, 'producer=kill-me&seq=1');
      p.ws.send(trades(1000));
      assert.is((await ackOf(p, 1)).accepted, 1000);
      if (checkpoint !== '1h') await new Promise((r) => setTimeout(r, 400)); // checkpoints taken after the frame
      await g.kill();
      const port2 = native ? await freePort() : port1;
      g = spawnRun(pipeline(dir.path, port2, native, checkpoint), data);
      await g.waitFor('running producer_ws');
      // The producer does as the contract says: every frame again, same id and seqs.
      const again = await connect(port2, 'producer=kill-me&seq=1');
      again.ws.send(trades(1000));
      assert.equal(await ackOf(again, 1), { ack: 1, ok: true, duplicate: true, accepted: 0, rejected: 0 });
      again.ws.close();
      assert.is(await closeAndCount(g, port2, 'producer=kill-me', 2, dir.path), 1000);
      dir.remove();
    });
  }
}

test('a resent frame whose events were all rejected is dead-lettered once, also across a SIGKILL', async () => {
  const dir = tempDir();
  const data = join(dir.path, 'data');
  const port = await freePort();
  let g = spawnRun(pipeline(dir.path, port, false, '1h'), data);
  await g.waitFor('running producer_ws');
  const bad = '[{"ts":"soon","instrument":"A","price":1,"qty":1,"side":"buy"}]';
  const p = await connect(port, 'producer=dl&seq=1');
  p.ws.send(bad);
  assert.is((await ackOf(p, 1)).ok, false);
  p.ws.close();
  const again = await connect(port, 'producer=dl&seq=1');
  again.ws.send(bad);
  assert.is((await ackOf(again, 1)).duplicate, true);
  again.ws.close();
  await g.kill();
  g = spawnRun(pipeline(dir.path, port, false, '1h'), data);
  await g.waitFor('running producer_ws');
  const third = await connect(port, 'producer=dl&seq=1');
  third.ws.send(bad);
  assert.is((await ackOf(third, 1)).duplicate, true);
  third.ws.close();
  assert.is(await g.stop(), 0);
  const lines = readFileSync(join(data, 'dead-letters.jsonl'), 'utf8').split('\n').filter(Boolean);
  assert.is(lines.length, 1, 'one dead letter for three deliveries of the frame');
  dir.remove();
});

for (const native of [true, false]) test(`${native ? 'uws' : 'ws'}: a second connection with the same producer id fences the first (close 4001); bad ids are refused with 400`, async () => {
  const dir = tempDir();
  const port = await freePort();
  const g = spawnRun(pipeline(dir.path, port, native, '1h'), join(dir.path, 'data'));
  await g.waitFor('running producer_ws');
  const first = await connect(port, 'producer=twin&seq=1');
  const closed = new Promise<[number, string]>((r) => first.ws.once('close', (code, reason) => r([code, String(reason)])));
  const second = await connect(port, 'producer=twin&seq=1');
  const [code, reason] = await Promise.race([closed, new Promise<[number, string]>((r) => setTimeout(() => r([0, 'the first connection was not closed within 5 s']), 5000))]);
  assert.is(code, 4001);
  assert.match(reason, /newer connection of producer twin/);
  second.ws.send(trades(10));
  assert.is((await ackOf(second, 1)).accepted, 10);
  second.ws.close();
  for (const id of ['', 'has space', 'x'.repeat(129), 'é']) {
    try {
      await connect(port, `producer=${encodeURIComponent(id)}`);
      assert.unreachable(`producer id ${JSON.stringify(id)} was accepted`);
    } catch (e) {
      assert.match((e as Error).message, /^HTTP 400: producer id must be 1 to 128 printable ASCII characters/);
    }
  }
  assert.is(await g.stop(), 0);
  dir.remove();
});

test('a producer id silent for longer than delivery.producer_expiry is forgotten at a checkpoint: its old seq is ingested again', async () => {
  const dir = tempDir();
  const port = await freePort();
  const g = spawnRun(pipeline(dir.path, port, false, '50ms', '300ms'), join(dir.path, 'data'));
  await g.waitFor('running producer_ws');
  const p = await connect(port, 'producer=brief&seq=1');
  p.ws.send(trades(10));
  assert.is((await ackOf(p, 1)).accepted, 10);
  p.ws.close();
  await new Promise((r) => setTimeout(r, 900)); // several checkpoints after the expiry
  const again = await connect(port, 'producer=brief&seq=1');
  again.ws.send(trades(10));
  assert.equal(await ackOf(again, 1), { ack: 1, ok: true, accepted: 10, rejected: 0 });
  again.ws.close();
  assert.is(await g.stop(), 0);
  dir.remove();
});

test.after.each(killAll);

test.run();
