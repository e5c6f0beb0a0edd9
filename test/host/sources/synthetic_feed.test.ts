import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { SyntheticFeed, isoToNs, type SyntheticOptions } from '../../../host/sources/synthetic_feed.js';
import { EVENT_TYPES } from '../../../host/schema/event_types.js';
import { IN_KEY, IN_TS } from '../../../host/records.js';
import { parsePipeline } from '../../../host/config/load.js';

const START = 1_767_623_400_000_000_000n;
const base = (o: Partial<SyntheticOptions> = {}): SyntheticOptions => ({
  kind: 'trades', seed: 1, instruments: 500, zipf: 1.1, rate: 100_000, startNs: START,
  outOfOrder: 0.02, maxDelayNs: 200_000_000n, late: 0.002, lateByNs: 3_000_000_000n, anomalies: 0.001, ...o,
});

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

test('same seed, same events; another seed, other events', () => {
  const a = json(new SyntheticFeed(base()).take(2000));
  assert.is(json(new SyntheticFeed(base()).take(2000)), a);
  assert.is.not(json(new SyntheticFeed(base({ seed: 2 })).take(2000)), a);
});

test('keys follow a Zipf law: the top key dominates, the tail is long', () => {
  const counts = new Map<string, number>();
  for (const e of new SyntheticFeed(base({ anomalies: 0 })).take(50_000)) counts.set(e.instrument as string, (counts.get(e.instrument as string) ?? 0) + 1);
  const sorted = [...counts.values()].sort((a, b) => b - a);
  assert.ok(sorted[0] > 10 * sorted[99], `top ${sorted[0]} vs 100th ${sorted[99]}`);
  assert.ok(counts.size > 300, `distinct keys ${counts.size}`);
});

test('event time: mostly in order at 1/rate, some out of order within the bound, some late beyond it', () => {
  const feed = new SyntheticFeed(base());
  let max = 0n, ooo = 0, late = 0;
  const n = 50_000;
  for (const e of feed.take(n)) {
    const ts = e.ts as bigint;
    if (ts < max) {
      if (max - ts > 200_000_000n + 10_000n) { late++; assert.ok(max - ts >= 3_000_000_000n - 200_000_000n); } else ooo++;
    }
    if (ts > max) max = ts;
  }
  assert.ok(ooo > n * 0.01 && ooo < n * 0.03, `out of order ${ooo}`);
  assert.ok(late > n * 0.001 && late < n * 0.004, `late ${late}`);
  assert.is(max, START + 500_000_000n); // 50k events at 100k/s
});

test('bursts compress event time', () => {
  const feed = new SyntheticFeed(base({ outOfOrder: 0, late: 0, rate: 1000, burst: { everyNs: 10_000_000_000n, lengthNs: 1_000_000_000n, factor: 10 } }));
  const ev = feed.take(20_000);
  // 10 000 events in the first burst second, then 1 000/s: the 20 000th is at 11 s.
  assert.is(ev[9_999].ts as bigint, START + 1_000_000_000n);
  assert.ok((ev[19_999].ts as bigint) - START >= 10_000_000_000n);
});

test('trades: price spikes and heavy size bursts are injected', () => {
  const ev = new SyntheticFeed(base({ anomalies: 0.002 })).take(50_000);
  const big = ev.filter((e) => (e.qty as number) >= 20_000);
  assert.ok(big.length > 100, `heavy trades ${big.length}`);
  // A spike: a print more than 10 % away from the same instrument's previous print.
  const last = new Map<string, number>();
  let spikes = 0;
  for (const e of ev) {
    const p = last.get(e.instrument as string);
    if (p !== undefined && Math.abs((e.price as number) / p - 1) > 0.1) spikes++;
    last.set(e.instrument as string, e.price as number);
  }
  assert.ok(spikes > 5, `spikes ${spikes}`);
});

test('payments: card-testing bursts score as fraud with the real XGBoost model, normal traffic does not', () => {
  const ev = new SyntheticFeed(base({ kind: 'payments', instruments: 20_000, zipf: 0.8, rate: 50_000, anomalies: 0.0008 })).take(60_000);
  // Features as payment-fraud.yaml maps them: amount, f1, f2, f3, acct_1m.count, f5, acct_1h.mean, f7.
  const history = new Map<string, { ts: bigint; amount: number }[]>();
  const rows: string[] = [];
  const fraud: boolean[] = [];
  for (const e of ev) {
    const h = history.get(e.account as string) ?? [];
    const ts = e.ts as bigint;
    h.push({ ts, amount: e.amount as number });
    history.set(e.account as string, h);
    const lastMin = h.filter((x) => ts - x.ts < 60_000_000_000n).length;
    const lastHour = h.filter((x) => ts - x.ts < 3_600_000_000_000n);
    const mean = lastHour.reduce((s, x) => s + x.amount, 0) / lastHour.length;
    rows.push([e.amount, e.f1, e.f2, e.f3, lastMin, e.f5, mean, e.f7].join(','));
    fraud.push(e.channel === 'online' && (e.amount as number) <= 60 && (e.f3 as number) < -1.2 && (e.f7 as number) < -1.2);
  }
  const script = `
import sys, numpy as np, xgboost as xgb
b = xgb.Booster(); b.load_model('examples/models/xgb_fraud_binary.json')
X = np.loadtxt(sys.stdin, delimiter=',', dtype=np.float32, ndmin=2)
print('\\n'.join('%.6f' % p for p in b.predict(xgb.DMatrix(X))))`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input: rows.join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, r.stderr);
  const p = r.stdout.trim().split('\n').map(Number);
  assert.is(p.length, ev.length);
  const fraudIdx = fraud.flatMap((f, i) => (f ? [i] : []));
  const hits = fraudIdx.filter((i) => p[i] >= 0.8).length;
  const falseAlerts = p.filter((x, i) => !fraud[i] && x >= 0.8).length;
  assert.ok(fraudIdx.length > 200, `fraud events ${fraudIdx.length}`);
  assert.ok(hits / fraudIdx.length > 0.9, `fraud caught ${hits}/${fraudIdx.length}`);
  assert.ok(falseAlerts / ev.length < 0.01, `false alerts ${falseAlerts}`);
});

test('records: the ring layout, keys interned once, the pool replays shifted in time', () => {
  const t = EVENT_TYPES.trades;
  const ids = new Map<string, number>();
  const intern = (s: string) => { let v = ids.get(s); if (v === undefined) { v = ids.size; ids.set(s, v); } return v; };
  const direct = new SyntheticFeed(base());
  const view = new DataView(new ArrayBuffer(t.stride * 100));
  assert.is(direct.writeRecords(view, 0, 100, t, ['instrument'], intern), 100);
  const events = new SyntheticFeed(base()).take(100);
  for (let i = 0; i < 100; i++) {
    assert.is(view.getBigInt64(i * t.stride + IN_TS, true), events[i].ts);
    assert.is(view.getUint32(i * t.stride + IN_KEY, true), ids.get(events[i].instrument as string));
    assert.is(view.getFloat64(i * t.stride + 24 + 8 * 1, true), events[i].price); // field 1 = price
    assert.is(view.getFloat64(i * t.stride + 24 + 8 * 3, true), events[i].side === 'buy' ? 1 : -1);
  }
  const pooled = new SyntheticFeed(base());
  const pv = new DataView(new ArrayBuffer(t.stride * 250));
  assert.is(pooled.fillRecords(pv, 0, 250, t, ['instrument'], intern, 100, 0), 250);
  const span = 100n * 10_000n; // 100 events at 100k/s
  for (let i = 0; i < 50; i++) {
    assert.is(pv.getBigInt64((i + 200) * t.stride + IN_TS, true), (events[i].ts as bigint) + 2n * span);
    assert.is(pv.getUint32((i + 100) * t.stride + IN_KEY, true), ids.get(events[i].instrument as string));
  }
});

test('paced feeds up to freshUpTo get fresh events, never the pool', () => {
  const t = EVENT_TYPES.trades;
  const a = new DataView(new ArrayBuffer(t.stride * 300));
  const b = new DataView(new ArrayBuffer(t.stride * 300));
  new SyntheticFeed(base()).fillRecords(a, 0, 300, t, ['instrument'], () => 0, 100);
  new SyntheticFeed(base()).writeRecords(b, 0, 300, t, ['instrument'], () => 0);
  assert.equal(new Uint8Array(a.buffer), new Uint8Array(b.buffer));
});

test('a feed given another\'s exported state (through JSON) goes on exactly as it would, for every kind', () => {
  for (const kind of ['trades', 'quotes', 'payments'] as const) {
    const t = EVENT_TYPES[kind];
    const key = t.defaultKey as readonly string[];
    const whole = new DataView(new ArrayBuffer(t.stride * 3000));
    new SyntheticFeed(base({ kind, anomalies: 0.01 })).writeRecords(whole, 0, 3000, t, key, () => 0);
    const first = new SyntheticFeed(base({ kind, anomalies: 0.01 }));
    first.writeRecords(new DataView(new ArrayBuffer(t.stride * 1777)), 0, 1777, t, key, () => 0);
    const state = JSON.parse(JSON.stringify(first.exportState()));
    assert.is(state.produced, 1777);
    const resumed = new SyntheticFeed(base({ kind, anomalies: 0.01 }));
    resumed.importState(state);
    const rest = new DataView(new ArrayBuffer(t.stride * 1223));
    assert.is(resumed.writeRecords(rest, 0, 1223, t, key, () => 0), 1223);
    assert.equal(new Uint8Array(rest.buffer), new Uint8Array(whole.buffer, t.stride * 1777), kind);
  }
  const pooled = new SyntheticFeed(base({ rate: 0 }));
  pooled.fillRecords(new DataView(new ArrayBuffer(EVENT_TYPES.trades.stride * 10)), 0, 10, EVENT_TYPES.trades, ['instrument'], () => 0, 100);
  assert.is(pooled.exportState(), undefined, 'the throughput path has no state to export');
});

test('a bounded feed stops after `events`', () => {
  const f = new SyntheticFeed(base({ events: 10 }));
  assert.is(f.take(100).length, 10);
  assert.is(f.next(), undefined);
  const g = new SyntheticFeed(base({ events: 10 }));
  assert.is(g.fillRecords(new DataView(new ArrayBuffer(EVENT_TYPES.trades.stride * 64)), 0, 64, EVENT_TYPES.trades, ['instrument'], () => 0), 10);
  const h = new SyntheticFeed(base({ events: 10, rate: 0 }));
  assert.is(h.fillRecords(new DataView(new ArrayBuffer(EVENT_TYPES.trades.stride * 64)), 0, 64, EVENT_TYPES.trades, ['instrument'], () => 0), 10);
});

test('fromConfig: kind from the schema, lateness beyond the largest window plus allowed lateness', () => {
  const c = parsePipeline(`name: p
sources: [{ type: synthetic, seed: 9, start: "2026-01-05T14:30:00Z", late: 0.5, out_of_order: 0 }]
schema: { type: payments }
event_time: { out_of_orderness: 1s, allowed_lateness: 2s }
operators: [{ name: w, type: window, window: tumbling, size: 10s, aggregates: [count] }]
`, 'p.yaml');
  const f = SyntheticFeed.fromConfig(c);
  assert.is(f.options.kind, 'payments');
  assert.is(f.options.startNs, isoToNs('2026-01-05T14:30:00Z'));
  assert.is(f.options.lateByNs, 14_000_000_000n);
  assert.ok(typeof f.next()!.account === 'string');
  assert.is(isoToNs('2026-01-05T14:30:00.000000001+01:00'), START - 3_600_000_000_000n + 1n);
});

test.run();
