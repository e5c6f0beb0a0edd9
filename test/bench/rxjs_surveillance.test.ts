import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Builder } from 'flatbuffers';
import WebSocket from 'ws';
import { TradeRecordBatch } from '../../schemas/generated/ganglion/wire/trade-record-batch.js';
import { TradeRecord } from '../../schemas/generated/ganglion/wire/trade-record.js';
import {
  loadSurveillanceParams, startBaseline, surveillancePipeline, decodeFrame, FrameError,
  type Output, type Trade,
} from '../../bench/baselines/rxjs_surveillance.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const example = `${root}examples/market-surveillance.yaml`;
const params = loadSurveillanceParams(example);
const S = 1_000_000_000n;
const T0 = 1_763_900_000n * S; // a whole second in 2025

interface T { at: bigint; inst: number; price: number; qty: number }
const trade = (t: T): Trade => ({ ts: T0 + t.at, tsNum: Number(T0 + t.at), instrument: t.inst, price: t.price, qty: t.qty, side: 1 });

// Second 0 of instrument 7: 100×10, 101×30, 99×20 (the last 1 ns before the
// boundary, arriving out of order after a second-1 trade); second 1: 102×5,
// 104×15 (the first exactly on the boundary). Instrument 8 interleaved.
const trades: T[] = [
  { at: 0n, inst: 7, price: 100, qty: 10 },
  { at: 10_000_000n, inst: 8, price: 50, qty: 4 },
  { at: 300_000_000n, inst: 7, price: 101, qty: 30 },
  { at: S, inst: 7, price: 102, qty: 5 },
  { at: S - 1n, inst: 7, price: 99, qty: 20 },
  { at: S + 500_000_000n, inst: 8, price: 52, qty: 6 },
  { at: S + 900_000_000n, inst: 7, price: 104, qty: 15 },
  { at: 2n * S + 500_000_000n, inst: 7, price: 105, qty: 1 },
  { at: S + 200_000_000n, inst: 7, price: 1, qty: 1000 }, // window 1 closed at watermark 2.3 s: late
];

function windowsOf(outs: Output[], op: string, key: number) {
  return outs.filter((o): o is Extract<Output, { kind: 'window' }> => o.kind === 'window' && o.op === op && o.key === key)
    .map((o) => ({ start: o.start - T0, ...o.values }));
}

test('parameters come from the example pipeline', () => {
  assert.equal(params.windows.map((w) => [w.name, w.sizeNs, w.field, w.weight]), [['vwap_1s', 1e9, 'price', 'qty'], ['volume_1s', 1e9, 'qty', undefined]]);
  assert.equal(params.zscores.map((z) => [z.name, z.field, z.mode, z.threshold, z.minSamples]), [['price_z', 'price', 'ewma', 6, 50], ['volume_z', 'volume_1s.sum', 'ewma', 15, 3000]]);
  assert.is(params.outOfOrdernessNs, 200e6);
});

test('1 s event-time VWAP and volume per instrument match a hand computation', () => {
  const outs: Output[] = [];
  const subject = surveillancePipeline(params, (o) => outs.push(o));
  for (const t of trades) subject.next(trade(t));
  // Window 0 of instrument 7 closes when its watermark passes 1 s (the trade at 1.9 s).
  assert.equal(windowsOf(outs, 'vwap_1s', 7).map((w) => w.start), [0n, S]);
  subject.complete();
  const vwap7 = windowsOf(outs, 'vwap_1s', 7);
  assert.equal(vwap7.map((w) => w.start), [0n, S, 2n * S]);
  assert.equal(vwap7[0].count, 3);
  assert.ok(Math.abs(vwap7[0].vwap! - (100 * 10 + 101 * 30 + 99 * 20) / 60) < 1e-12);
  assert.equal([vwap7[0].min, vwap7[0].max], [99, 101]);
  assert.ok(Math.abs(vwap7[1].vwap! - (102 * 5 + 104 * 15) / 20) < 1e-12);
  assert.is(vwap7[2].vwap, 105);
  assert.equal(windowsOf(outs, 'volume_1s', 7).map((w) => [w.count, w.sum]), [[3, 60], [2, 20], [1, 1]]);
  assert.equal(windowsOf(outs, 'vwap_1s', 8).map((w) => w.vwap), [50, 52]);
  assert.equal(windowsOf(outs, 'volume_1s', 8).map((w) => w.sum), [4, 6]);
  const late = outs.filter((o) => o.kind === 'late');
  assert.equal(late.map((o) => [o.op, o.key]), [['vwap_1s', 7], ['volume_1s', 7]]);
});

test('price z-score alerts after min_samples, with the EWMA of the values before', () => {
  const outs: Output[] = [];
  const subject = surveillancePipeline(params, (o) => outs.push(o));
  for (let i = 0; i < 60; i++) subject.next(trade({ at: BigInt(i) * 1_000_000n, inst: 1, price: 100 + (i % 2), qty: 1 }));
  assert.is(outs.filter((o) => o.kind === 'anomaly').length, 0);
  subject.next(trade({ at: 61_000_000n, inst: 1, price: 130, qty: 1 }));
  const a = outs.filter((o): o is Extract<Output, { kind: 'anomaly' }> => o.kind === 'anomaly');
  assert.is(a.length, 1);
  assert.is(a[0].op, 'price_z');
  assert.is(a[0].n, 60);
  assert.ok(a[0].z > 6 && a[0].mean > 100 && a[0].mean < 101, `z ${a[0].z} mean ${a[0].mean}`);
});

test('bad frames are refused with a precise reason', () => {
  assert.throws(() => decodeFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), true), (e: Error) => e instanceof FrameError && /neither a GTRR nor a GTRT/.test(e.message));
  assert.throws(() => decodeFrame(new TextEncoder().encode('{"ts":'), false), (e: Error) => e instanceof FrameError && /invalid JSON/.test(e.message));
  assert.equal(decodeFrame(new TextEncoder().encode('[{"ts":1}]'), false), ['missing instrument']);
});

function structBatch(rows: T[]): Uint8Array {
  const b = new Builder(1024);
  TradeRecordBatch.startRecordsVector(b, rows.length);
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    TradeRecord.createTradeRecord(b, T0 + r.at, 0n, 0, 0, r.inst, r.price, r.qty, 1, 0, 0, 0);
  }
  const vec = b.endVector();
  b.finish(TradeRecordBatch.createTradeRecordBatch(b, vec), 'GTRR');
  return b.asUint8Array();
}

test('service: FlatBuffers and JSON frames over ws, acks, snapshot', async () => {
  const outs: Output[] = [];
  const svc = await startBaseline({ port: 0, params, onOutput: (o) => outs.push(o) });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${svc.port}/ingest?seq=10`);
    const acks: any[] = [];
    ws.on('message', (d) => acks.push(JSON.parse(String(d))));
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    ws.send(structBatch(trades.slice(0, 5)));
    const json = trades.slice(5).map((t) => ({ ts: String(T0 + t.at), instrument: t.inst, price: t.price, qty: t.qty, side: 'buy' }));
    ws.send(JSON.stringify([...json, { ts: String(T0), instrument: 7, price: -5, qty: 1 }]));
    ws.send(Buffer.from('not a flatbuffer'));
    while (acks.length < 3) await new Promise((r) => setTimeout(r, 10));
    assert.equal(acks[0], { ack: 10, ok: true, accepted: 5, rejected: 0 });
    assert.equal(acks[1], { ack: 11, ok: true, accepted: 4, rejected: 1 });
    assert.is(acks[2].ack, 12);
    assert.is(acks[2].ok, false);
    assert.match(acks[2].reason, /neither a GTRR nor a GTRT/);
    ws.close();
    const snap = await (await fetch(`http://127.0.0.1:${svc.port}/api/snapshot`)).json() as any;
    assert.ok(snap.eventsInTotal === 9 || snap.eventsInTotal === 0, 'snapshot is the last completed second');
    const now = svc.snapshot();
    assert.is(now.eventsInTotal, 9);
    assert.is(now.deadLettersTotal, 2);
    // Latency once per accepted event (frame receive → the frame's outputs emitted), as ganglion records it.
    assert.is(now.latencyTotal.count, 9);
    assert.ok(now.latencyTotal.max > 0);
    assert.ok(windowsOf(outs, 'vwap_1s', 7).length >= 2);
    assert.ok(Math.abs(windowsOf(outs, 'vwap_1s', 7)[0].vwap! - 6010 / 60) < 1e-12);
    assert.is((await fetch(`http://127.0.0.1:${svc.port}/ready`)).status, 200);
  } finally {
    await svc.close();
  }
});

test('command line: prints where it listens and a summary on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', `${root}bench/baselines/rxjs_surveillance.ts`, '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  try {
    while (!out.includes('\n')) {
      if (child.exitCode !== null) throw new Error(`baseline exited: ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const { listening } = JSON.parse(out.split('\n')[0]);
    assert.ok(listening.port > 0);
    const ws = new WebSocket(`${listening.ingest}?acks=0`);
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    ws.send(structBatch(trades));
    ws.close();
    await new Promise((r) => ws.once('close', r));
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const summary = JSON.parse(out.trim().split('\n').at(-1)!).summary;
    assert.is(summary.eventsInTotal, trades.length);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a bad pipeline file is a clear error', () => {
  assert.throws(() => loadSurveillanceParams(`${root}examples/payment-fraud.yaml`), /payment-fraud.yaml: operator acct_1m: the RxJS baseline implements tumbling windows only, got sliding/);
});

test.run();
