// OVER: assembly/operators/over.ts and its JS twin emit the same bytes, batch
// by batch, and hold the same region on seeded streams (skewed keys, ties,
// out-of-order events, late ones, NaN values, control records, pools small
// enough to sweep and refuse); and every emitted row equals a brute-force
// frame computed from scratch over the rows that were accepted, RANGE and
// ROWS alike. Snapshots restore across engines mid-stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { FLAG_CONTROL, OUT_BYTES, OUT_LATE, OUT_OVER, readOutput, writeInput, type OutputRecord } from '../../host/records.js';
import { createOver, type OverOperator, type OverOptions } from '../../host/operators/over/over.js';
import type { Engine } from '../../host/operators/operator.js';
import { STRIDE, T0, mulberry32 } from './region_parity.js';

interface Ev { ts: bigint; seq: bigint; key: number; value: number; control: boolean }

const MS = 1_000_000n;

/** ~1 ms apart on a 1 ms grid (so many equal timestamps), jitter up to `jitterMs` back, a few far back (late). */
function stream(n: number, keys: number, seed: number, jitterMs: number): Ev[] {
  const rnd = mulberry32(seed);
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    let ms = Math.floor(i / 3) - Math.floor(rnd() * jitterMs);
    if (r < 0.01) ms -= 500 + Math.floor(rnd() * 2000); // late
    const key = Math.floor(Math.pow(rnd(), 2) * keys);
    let value = Math.floor(rnd() * 2000) - 1000;
    if (r > 0.97) value = NaN;
    else if (r > 0.9) value += 0.25;
    out.push({ ts: T0 + BigInt(ms) * MS, seq: BigInt(i + 1), key, value, control: r > 0.5 && r < 0.503 });
  }
  return out;
}

type Plan = Array<{ from: number; to: number; wm: bigint | null }>;

function batches(n: number, seed: number, events: Ev[], lag: bigint): Plan {
  const rnd = mulberry32(seed ^ 0xbadc0de);
  const out: Plan = [];
  let max = -(1n << 63n);
  for (let from = 0; from < n;) {
    const to = Math.min(n, from + 1 + Math.floor(rnd() * 600));
    for (let i = from; i < to; i++) if (!events[i].control && events[i].ts > max) max = events[i].ts;
    out.push({ from, to, wm: rnd() < 0.5 ? max - lag : null });
    from = to;
  }
  return out;
}

const END = (1n << 63n) - 1n;

function run(engine: Engine, options: OverOptions, events: Ev[], plan: Plan, restoreAt = -1, restoreInto?: Engine) {
  const rt = createPartitionRuntime(96 * 1024 * 1024);
  const input = rt.alloc.alloc(events.length * STRIDE);
  const view = new DataView(rt.memory.buffer);
  const u8 = new Uint8Array(rt.memory.buffer);
  events.forEach((e, i) => writeInput(view, input + i * STRIDE, e.ts, e.seq, e.key, [i, e.value, 7], e.control ? FLAG_CONTROL : 0));
  let op: OverOperator = createOver(engine, rt, options);
  const bytes: number[][] = [];
  const outs: OutputRecord[] = [];
  const drain = () => {
    const { ptr, count } = op.output();
    bytes.push(Array.from(u8.subarray(ptr, ptr + count * OUT_BYTES)));
    for (let i = 0; i < count; i++) outs.push(readOutput(view, ptr + i * OUT_BYTES));
    op.clearOutput();
  };
  plan.forEach((b, n) => {
    if (n === restoreAt) {
      const snap = op.snapshot();
      op = createOver(restoreInto ?? engine, rt, options);
      op.restore(snap);
    }
    op.process(input + b.from * STRIDE, b.to - b.from, STRIDE);
    drain();
    if (b.wm !== null) { op.onWatermark(b.wm); drain(); }
  });
  op.onWatermark(END);
  drain();
  return { bytes, outs, counters: op.counters(), region: op.snapshot(), stats: op.stats() };
}

/** Lateness decided as the operator states it: per event, watermark = max(broadcast, max ts - ooo), late iff ts < watermark - lateness. */
function lateByRule(events: Ev[], plan: Plan, ooo: bigint, lateness: bigint): Set<bigint> {
  const late = new Set<bigint>();
  let wm: bigint | null = null;
  for (const b of plan) {
    for (let i = b.from; i < b.to; i++) {
      const e = events[i];
      if (e.control) continue;
      if (wm === null || e.ts - ooo > wm) wm = e.ts - ooo;
      if (e.ts < wm - lateness) late.add(e.seq);
    }
    if (b.wm !== null && (wm === null || b.wm > wm)) wm = b.wm;
  }
  return late;
}

/** Each accepted row's frame from scratch: RANGE [ts - range, ts] peers included, or the last n + 1 rows in (ts, arrival) order. */
function reference(rows: Ev[], options: OverOptions): Map<bigint, { count: number; sum: number; min: number; max: number; start: bigint }> {
  const byKey = new Map<number, Ev[]>();
  for (const r of rows) (byKey.get(r.key) ?? byKey.set(r.key, []).get(r.key)!).push(r);
  const out = new Map<bigint, { count: number; sum: number; min: number; max: number; start: bigint }>();
  for (const list of byKey.values()) {
    list.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : Number(a.seq - b.seq)));
    list.forEach((r, i) => {
      const frame = options.frame === 'range'
        ? list.filter((x) => x.ts >= r.ts - options.rangeNs! && x.ts <= r.ts)
        : list.slice(Math.max(0, i - options.rows!), i + 1);
      const vals = frame.map((x) => x.value).filter((x) => !Number.isNaN(x));
      out.set(r.seq, {
        count: vals.length, sum: vals.length ? vals.reduce((a, b) => a + b, 0) : NaN,
        min: vals.length ? Math.min(...vals) : NaN, max: vals.length ? Math.max(...vals) : NaN,
        start: options.frame === 'range' ? r.ts - options.rangeNs! : frame[0].ts,
      });
    });
  }
  return out;
}

const close = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

const OOO = 20n * MS;
const cases: Array<[string, OverOptions, number, number]> = [
  ['RANGE 200 ms, all aggregates', { frame: 'range', rangeNs: 200n * MS, field: 1, outOfOrderNs: OOO, op: 3 }, 300, 15],
  ['RANGE 0 (peers only), sum', { frame: 'range', rangeNs: 0n, field: 1, aggregates: ['sum', 'count'], outOfOrderNs: OOO }, 100, 15],
  ['RANGE 1 s with 30 ms allowed lateness', { frame: 'range', rangeNs: 1000n * MS, field: 1, outOfOrderNs: OOO, allowedLatenessNs: 30n * MS }, 50, 40],
  ['ROWS 5', { frame: 'rows', rows: 5, field: 1, outOfOrderNs: OOO }, 300, 15],
  ['ROWS 0', { frame: 'rows', rows: 0, field: 1, aggregates: ['min', 'max'], outOfOrderNs: OOO }, 40, 15],
  ['tiny pool: sweeps and refusals', { frame: 'range', rangeNs: 100n * MS, field: 1, outOfOrderNs: OOO, rowCapacity: 400, capacity: 64, maxPending: 300 }, 200, 15],
  // Without min/max the rows are 32 bytes (no deque links): the sweep and the free list over the smaller stride.
  ['tiny pool, sum and mean only: sweeps and refusals', { frame: 'range', rangeNs: 100n * MS, field: 1, aggregates: ['sum', 'mean'], outOfOrderNs: OOO,
    rowCapacity: 400, capacity: 64, maxPending: 300 }, 200, 15],
];

for (const [name, options, keys, jitter] of cases) {
  test(`parity and brute force: ${name}`, () => {
    const events = stream(12_000, keys, name.length * 7919, jitter);
    const plan = batches(events.length, name.length, events, OOO + 5n * MS);
    const w = run('wasm', options, events, plan);
    const j = run('js', options, events, plan);
    assert.equal(w.bytes.length, j.bytes.length);
    w.bytes.forEach((b, i) => { if (Buffer.compare(Buffer.from(b), Buffer.from(j.bytes[i])) !== 0) assert.unreachable(`outputs differ at drain ${i}`); });
    assert.equal(w.counters, j.counters);
    assert.equal(w.stats, j.stats);
    assert.ok(Buffer.from(w.region).equals(Buffer.from(j.region)), 'regions differ');

    const data = events.filter((e) => !e.control);
    const late = w.outs.filter((o) => o.kind === OUT_LATE);
    const over = w.outs.filter((o) => o.kind === OUT_OVER);
    // Nothing lost: every event is an OVER row or a late record, once.
    assert.is(over.length + late.length, data.length);
    assert.is(new Set([...over, ...late].map((o) => o.seq)).size, data.length);
    const beyond = new Set(late.filter((o) => o.aux === 0).map((o) => o.seq));
    if (w.counters.refused === 0) assert.equal(beyond, lateByRule(events, plan, options.outOfOrderNs ?? 0n, options.allowedLatenessNs ?? 0n));
    else assert.ok(w.counters.swept > 0, 'refused without having swept');
    assert.ok(beyond.size > 0, 'no late event in the stream');
    if (options.rowCapacity !== undefined) assert.ok(w.counters.swept > 0 && w.counters.refused > 0, `the tiny pool never swept or refused (${JSON.stringify(w.counters)})`);

    const lateSeqs = new Set(late.map((o) => o.seq));
    const ref = reference(data.filter((e) => !lateSeqs.has(e.seq)), options);
    const aggs = options.aggregates ?? ['count', 'sum', 'min', 'max', 'mean'];
    for (const o of over) {
      const r = ref.get(o.seq)!;
      const what = `seq ${o.seq} key ${o.key}`;
      assert.is(o.start, r.start, `${what}: frame start`);
      assert.is(o.values[0], r.count, `${what}: count`);
      assert.ok(close(o.values[1], r.sum), `${what}: sum ${o.values[1]} ≠ ${r.sum}`);
      if (aggs.includes('min')) assert.ok(Object.is(o.values[2], r.min), `${what}: min ${o.values[2]} ≠ ${r.min}`);
      if (aggs.includes('max')) assert.ok(Object.is(o.values[3], r.max), `${what}: max ${o.values[3]} ≠ ${r.max}`);
      assert.ok(close(o.values[4], r.sum / r.count), `${what}: mean`);
    }
    // Per key, rows leave in (ts, arrival) order.
    const lastOf = new Map<number, OutputRecord>();
    for (const o of over) {
      const p = lastOf.get(o.key);
      if (p) assert.ok(p.end < o.end || (p.end === o.end && p.seq < o.seq), `key ${o.key}: out of order`);
      lastOf.set(o.key, o);
    }
  });
}

test('ties: peers share one RANGE frame, whichever arrives first', () => {
  for (const engine of ['wasm', 'js'] as const) {
    const ev = (seq: number, ms: number, value: number): Ev => ({ ts: T0 + BigInt(ms) * MS, seq: BigInt(seq), key: 1, value, control: false });
    const events = [ev(1, 10, 1), ev(2, 12, 10), ev(3, 11, 100), ev(4, 12, 1000), ev(5, 20, 5)];
    const r = run(engine, { frame: 'range', rangeNs: 1n * MS, field: 1, outOfOrderNs: 5n * MS }, events, [{ from: 0, to: 5, wm: null }]);
    const got = r.outs.map((o) => [Number(o.seq), o.values[1]]);
    // 10 → 1; 11 → 1+100; both ts-12 rows see 100+10+1000 (ts 11..12); 20 → 5.
    assert.equal(got, [[1, 1], [3, 101], [2, 1110], [4, 1110], [5, 5]], engine);
  }
});

test('snapshot from either engine restores into either, mid-stream', () => {
  const options: OverOptions = { frame: 'range', rangeNs: 300n * MS, field: 1, outOfOrderNs: OOO, capacity: 1024, rowCapacity: 1 << 16 };
  const events = stream(8_000, 200, 11, 15);
  const plan = batches(events.length, 5, events, OOO);
  // All aggregates (48-byte rows with deque links) and SUM only (32-byte rows).
  for (const opts of [options, { ...options, aggregates: ['sum'] }]) {
    const whole = run('wasm', opts, events, plan);
    for (const [a, b] of [['wasm', 'js'], ['js', 'wasm']] as const) {
      const cut = run(a, opts, events, plan, Math.floor(plan.length / 2), b);
      assert.equal(cut.bytes, whole.bytes, `${a} → ${b} (${opts.aggregates ?? 'all'})`);
      assert.equal(cut.counters, whole.counters);
    }
  }
  const rt = createPartitionRuntime(1 << 26);
  const snap = createOver('js', rt, options).snapshot();
  assert.throws(() => createOver('wasm', rt, { ...options, rangeNs: 1n }).restore(snap), /different frame/);
  assert.throws(() => createOver('wasm', rt, { ...options, frame: 'rows', rangeNs: undefined, rows: 3 }).restore(snap), /different layout/);
});

test('config errors name the problem', () => {
  const rt = createPartitionRuntime(1 << 24);
  assert.throws(() => createOver('js', rt, { field: 1, frame: 'range' }), /needs rangeNs/);
  assert.throws(() => createOver('js', rt, { field: 1, frame: 'rows', rows: 2, rangeNs: 1n }), /takes rows, not rangeNs/);
  assert.throws(() => createOver('wasm', rt, { field: 1, frame: 'rows', rows: 10, aggregates: ['vwap'] }), /unknown aggregate "vwap"/);
  assert.throws(() => createOver('wasm', rt, { field: 1, frame: 'rows', rows: 10, rowCapacity: 5 }), /cannot hold one key's 11 rows/);
});

test.run();
