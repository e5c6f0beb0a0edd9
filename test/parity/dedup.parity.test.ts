// Dedup: assembly/dedup.ts and its JS twin keep exactly the same events and
// hold the same bytes on seeded streams (resends near and far, expired
// witnesses, missing ids, ±0, control records, tables small enough to fill),
// and both keep exactly what a brute-force reference over a plain Map keeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { FLAG_CONTROL, IN_SEQ, writeInput } from '../../host/records.js';
import { createDedup, type DedupOptions, type DedupOperator } from '../../host/operators/dedup/dedup.js';
import type { Engine } from '../../host/operators/operator.js';
import { STRIDE, T0, mulberry32 } from './region_parity.js';

interface Ev { ts: bigint; seq: bigint; key: number; id: number; control: boolean }

/** Trades with ids; ~15 % are resends of an earlier trade (same key, id and ts), some from long ago. */
function stream(n: number, keys: number, seed: number): Ev[] {
  const rnd = mulberry32(seed);
  const out: Ev[] = [];
  let nextId = 1;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const ts = T0 + BigInt(i) * 1_000_000n + BigInt(Math.floor(rnd() * 5_000_000)); // 1 ms apart, 5 ms jitter
    if (r < 0.15 && out.length > 0) {
      // A resend: mostly recent (a reconnect), sometimes far back (a replayed file).
      const back = rnd() < 0.8 ? 1 + Math.floor(rnd() * 50) : 1 + Math.floor(rnd() * out.length);
      const o = out[Math.max(0, out.length - back)];
      out.push({ ...o, seq: BigInt(i + 1), control: false });
      continue;
    }
    const key = Math.floor(Math.pow(rnd(), 2) * keys); // skewed: low ids are hot
    let id = nextId++ * 7 + 0.5;
    if (r < 0.16) id = NaN;
    else if (r < 0.17) id = rnd() < 0.5 ? 0 : -0; // 0 and -0 are one id
    out.push({ ts, seq: BigInt(i + 1), key, id, control: r > 0.998 });
  }
  return out;
}

/** What dedup must keep, computed with a Map and no table: the rule of assembly/dedup.ts stated plainly. */
function reference(events: Ev[], batches: Array<{ from: number; to: number; wm: bigint | null }>, ttl: bigint): Set<bigint> {
  const first = new Map<string, bigint>();
  const kept = new Set<bigint>();
  let wm: bigint | null = null;
  for (const b of batches) {
    for (let i = b.from; i < b.to; i++) {
      const e = events[i];
      if (e.control || Number.isNaN(e.id)) { kept.add(e.seq); continue; }
      const k = `${e.key}/${Object.is(e.id, -0) ? 0 : e.id}`;
      const f = first.get(k);
      if (f !== undefined && !(wm !== null && wm > f && wm - f >= ttl)) continue; // a repeat within the TTL
      first.set(k, e.ts);
      kept.add(e.seq);
    }
    if (b.wm !== null && (wm === null || b.wm > wm)) wm = b.wm;
  }
  return kept;
}

function batches(n: number, seed: number, events: Ev[], ooo: bigint) {
  const rnd = mulberry32(seed ^ 0xbadc0de);
  const out: Array<{ from: number; to: number; wm: bigint | null }> = [];
  let max = -(1n << 63n);
  for (let from = 0; from < n;) {
    const to = Math.min(n, from + 1 + Math.floor(rnd() * 600));
    for (let i = from; i < to; i++) if (events[i].ts > max) max = events[i].ts;
    out.push({ from, to, wm: rnd() < 0.7 ? max - ooo : null });
    from = to;
  }
  return out;
}

function run(engine: Engine, options: DedupOptions, events: Ev[], plan: ReturnType<typeof batches>, restoreAt = -1, restoreInto?: Engine) {
  const rt = createPartitionRuntime(64 * 1024 * 1024);
  const input = rt.alloc.alloc(events.length * STRIDE);
  const view = new DataView(rt.memory.buffer);
  events.forEach((e, i) => writeInput(view, input + i * STRIDE, e.ts, e.seq, e.key, [1, e.id, i], e.control ? FLAG_CONTROL : 0));
  let op: DedupOperator = createDedup(engine, rt, options);
  const kept: bigint[] = [];
  plan.forEach((b, n) => {
    if (n === restoreAt) {
      const snap = op.snapshot();
      op = createDedup(restoreInto ?? engine, rt, options);
      op.restore(snap);
    }
    const ptr = input + b.from * STRIDE;
    const k = op.process(ptr, b.to - b.from, STRIDE);
    for (let i = 0; i < k; i++) kept.push(view.getBigUint64(ptr + i * STRIDE + IN_SEQ, true));
    if (b.wm !== null) op.onWatermark(b.wm);
  });
  const region = op.snapshot();
  return { kept, counters: op.counters(), region, stats: op.stats() };
}

const cases: Array<[string, DedupOptions, number]> = [
  ['10 s TTL (every resend within it)', { field: 1, ttlNs: 10_000_000_000n, op: 2 }, 500],
  ['200 ms TTL (far resends expired)', { field: 1, ttlNs: 200_000_000n }, 500],
  ['tiny table: untracked identities and full-table expiry', { field: 1, ttlNs: 50_000_000n, capacity: 64 }, 200],
];

for (const [name, options, keys] of cases) {
  test(`parity and reference: ${name}`, () => {
    const events = stream(40_000, keys, name.length * 104729);
    const plan = batches(events.length, name.length, events, 20_000_000n);
    const w = run('wasm', options, events, plan);
    const j = run('js', options, events, plan);
    assert.equal(w.kept, j.kept, 'engines kept different events');
    assert.equal(w.counters, j.counters);
    assert.equal(w.stats, j.stats);
    assert.ok(Buffer.from(w.region).equals(Buffer.from(j.region)), 'regions differ');
    const ref = reference(events, plan, options.ttlNs);
    const keptSet = new Set(w.kept);
    // Never drops what the reference keeps; drops exactly the reference's drops unless the table had no room.
    for (const s of ref) assert.ok(keptSet.has(s), `seq ${s} is a first occurrence but was dropped`);
    if (w.counters.untracked === 0 && w.counters.collisions === 0) assert.equal(w.kept.length, ref.size);
    else assert.ok(w.kept.length >= ref.size);
    assert.is(events.length - w.kept.length, w.counters.duplicates, 'every dropped event is counted');
    assert.ok(w.counters.duplicates > 500, `only ${w.counters.duplicates} duplicates dropped`);
    assert.ok(w.counters.skipped > 0, 'no missing id seen');
  });
}

test('runs exercise expiry and a full table', () => {
  const events = stream(40_000, 200, 7);
  const expiring = run('wasm', cases[1][1], events, batches(events.length, 3, events, 20_000_000n)).counters;
  assert.ok(expiring.expired > 0, 'no witness expired');
  const tiny = run('wasm', cases[2][1], events, batches(events.length, 3, events, 20_000_000n));
  assert.ok(tiny.counters.untracked > 0, 'the tiny table never filled');
  assert.ok(tiny.stats.evictions > 0, 'a full table evicted nothing expired');
});

test('snapshot from either engine restores into either, mid-stream', () => {
  const events = stream(20_000, 300, 11);
  const plan = batches(events.length, 5, events, 20_000_000n);
  const whole = run('wasm', cases[0][1], events, plan);
  for (const [a, b] of [['wasm', 'js'], ['js', 'wasm']] as const) {
    const cut = run(a, cases[0][1], events, plan, Math.floor(plan.length / 2), b);
    assert.equal(cut.kept, whole.kept, `${a} → ${b}`);
    assert.equal(cut.counters, whole.counters);
  }
});

test('the TTL boundary: a witness expires when the watermark reaches first + TTL, not before', () => {
  for (const engine of ['wasm', 'js'] as const) {
    const ttl = 1_000n;
    const ev = (i: number, ts: bigint): Ev => ({ ts, seq: BigInt(i), key: 3, id: 42, control: false });
    const events = [ev(1, T0), ev(2, T0), ev(3, T0 + 2n * ttl), ev(4, T0 + 2n * ttl)];
    // first at T0; a repeat under wm T0+ttl−1 is dropped; one under wm T0+ttl is
    // a new first occurrence (its own ts the new witness); its repeat is dropped.
    const plan = [{ from: 0, to: 1, wm: T0 + ttl - 1n }, { from: 1, to: 2, wm: T0 + ttl }, { from: 2, to: 3, wm: null }, { from: 3, to: 4, wm: null }];
    const r = run(engine, { field: 1, ttlNs: ttl, capacity: 16 }, events, plan);
    assert.equal(r.kept, [1n, 3n], engine);
    assert.equal({ d: r.counters.duplicates, e: r.counters.expired }, { d: 2, e: 1 }, engine);
  }
});

test('config errors name the problem', () => {
  const rt = createPartitionRuntime(1 << 22);
  assert.throws(() => createDedup('wasm', rt, { field: 1, ttlNs: 0n }), /ttlNs must be > 0/);
  assert.throws(() => createDedup('js', rt, { field: 1, ttlNs: 1n, fieldCount: 1 }), /field must be an integer in 0\.\.0/);
  assert.throws(() => createDedup('js', rt, { field: 1, ttlNs: 1n, emit: 'x' } as DedupOptions), /unknown option "emit"/);
});

test.run();
