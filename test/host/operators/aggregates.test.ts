import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aggUpdate, aggMerge, aggFinish, memViews, AGG_BYTES } from '../../../host/operators/window/aggregates.js';
import { OUT_VALUES } from '../../../host/records.js';
import { runtime, rng } from './window_harness.js';

function setup() {
  const rt = runtime(1 << 20);
  const m = memViews(rt.memory);
  const a = rt.alloc.alloc(AGG_BYTES, 64), b = rt.alloc.alloc(AGG_BYTES, 64), out = rt.alloc.alloc(128, 64);
  const add = (acc: number, ts: number, x: number, q = 1) => aggUpdate(m, acc, 0, ts, 0, ts, x, x, q);
  const finish = (acc: number) => { aggFinish(m, acc, out); return Array.from(m.f64.subarray((out + OUT_VALUES) >>> 3, ((out + OUT_VALUES) >>> 3) + 11)); };
  return { m, a, b, add, finish };
}

test('Welford keeps the population variance of large prices exact where sum/sumsq cancels', () => {
  const { a, add, finish } = setup();
  const xs = [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16];
  xs.forEach((x, i) => add(a, i, x));
  const [count, sum, min, max, mean, variance, stddev] = finish(a);
  assert.is(count, 4); assert.is(sum, 4e9 + 40); assert.is(min, 1e9 + 4); assert.is(max, 1e9 + 16); assert.is(mean, 1e9 + 10);
  assert.is(variance, 22.5, 'population variance (divides by n)');
  assert.is(stddev, Math.sqrt(22.5));
  const naive = xs.reduce((s, x) => s + x * x, 0) / 4 - (sum / 4) ** 2;
  assert.not.equal(naive, 22.5, 'the naive formula would have been wrong here');
});

test('merging two halves equals updating with all events (Chan), first/last by event time', () => {
  const { m, a, b, add, finish } = setup();
  const whole = setup();
  const r = rng(3);
  const evs = Array.from({ length: 200 }, () => ({ ts: 1000 + Math.floor(r() * 100000), x: 50 + r() * 10, q: 1 + Math.floor(r() * 9) }));
  evs.slice(0, 90).forEach((e) => add(a, e.ts, e.x, e.q));
  evs.slice(90).forEach((e) => add(b, e.ts, e.x, e.q));
  evs.forEach((e) => whole.add(whole.a, e.ts, e.x, e.q));
  const w = whole.finish(whole.a);
  aggMerge(m, a, b);
  const merged = finish(a);
  for (const i of [0, 2, 3, 7, 8]) assert.is(merged[i], w[i], `value ${i}`);
  for (const i of [1, 4, 5, 6, 9]) assert.ok(Math.abs(merged[i] - w[i]) <= 1e-9 * Math.abs(w[i]), `value ${i}: ${merged[i]} vs ${w[i]}`);
  const earliest = evs.reduce((p, e) => (e.ts < p.ts ? e : p));
  const latest = evs.reduce((p, e) => (e.ts >= p.ts ? e : p));
  assert.is(merged[7], earliest.x, 'first = value at the earliest event time');
  assert.is(merged[8], latest.x, 'last = value at the latest event time');
  assert.ok(Math.abs(merged[9] - evs.reduce((s, e) => s + e.x * e.q, 0) / evs.reduce((s, e) => s + e.q, 0)) < 1e-9, 'vwap');
});

test('VWAP without quantity is NaN, never a division by zero passed off as a number', () => {
  const { a, add, finish } = setup();
  add(a, 1, 10, 0);
  assert.ok(Number.isNaN(finish(a)[9]));
});

test.run();
