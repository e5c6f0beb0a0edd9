// Parity of feature enrichment: for every window type, the WASM engine and
// the JS twin write identical enriched record bytes, outputs and snapshots on
// seeded out-of-order streams with late and revised events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AGG, OUT_LATE, OUT_REVISION, inputStride, type AggregateName } from '../../host/records.js';
import type { Engine } from '../../host/operators/operator.js';
import type { EnrichSpec, WindowOperator } from '../../host/operators/window/event_time.js';
import { TumblingWindow } from '../../host/operators/window/tumbling_window.js';
import { CumulateWindow, SlidingWindow } from '../../host/operators/window/sliding_window.js';
import { SessionWindow } from '../../host/operators/window/session_window.js';
import { CountWindow } from '../../host/operators/window/count_window.js';
import { runtime, put, drainBytes, rng, randomStream, sameBytes, type Ev, type Rt } from '../host/operators/window_harness.js';

const S = 1_000_000_000n;

const ENRICH_ALL: EnrichSpec[] = ['count', 'sum', 'min', 'max', 'mean', 'stddev', 'last', 'vwap'].map((a, i) => ({ aggregate: AGG[a as AggregateName], field: 3 + i }));
const AGG_BIT = { var_samp: 1 << AGG.var_samp, stddev_samp: 1 << AGG.stddev_samp };
const PF = 11; // price, price, qty, 8 slots

function recordParity(name: string, make: (engine: Engine, rt: Rt) => WindowOperator, evs: Ev[], seed: number): { late: number; revisions: number } {
  const rt = runtime();
  const w = make('wasm', rt), j = make('js', rt);
  const r = rng(seed * 17 + 3);
  const u8 = new Uint8Array(rt.memory.buffer);
  const stride = inputStride(PF);
  let i = 0, late = 0, revisions = 0;
  while (i < evs.length) {
    const n = Math.min(evs.length - i, 1 + Math.floor(r() * 200));
    const slice = evs.slice(i, i + n).map((e) => ({ ...e, f: [...e.f, -1, -1, -1, -1, -1, -1, -1, -1] }));
    const bw = put(rt, slice, PF), bj = put(rt, slice, PF);
    i += n;
    w.process(bw.ptr, bw.count, stride);
    j.process(bj.ptr, bj.count, stride);
    sameBytes(u8.slice(bw.ptr, bw.ptr + n * stride), u8.slice(bj.ptr, bj.ptr + n * stride), `${name}: records differ after event ${i}`);
    const ow = w.outputs();
    sameBytes(drainBytes(w, rt), drainBytes(j, rt), `${name}: outputs differ after event ${i}`);
    late += ow.filter((o) => o.kind === OUT_LATE).length;
    revisions += ow.filter((o) => o.kind === OUT_REVISION).length;
    if (r() < 0.05) { const wm = w.watermark() + BigInt(Math.floor(r() * 1e8)); w.onWatermark(wm); j.onWatermark(wm); }
  }
  sameBytes(w.snapshot(), j.snapshot(), `${name}: final snapshots differ`);
  return { late, revisions };
}

test('parity: enriched record bytes, every window type, out-of-order and late events', () => {
  const cfg = { valueField: 0, priceField: 1, qtyField: 2, enrich: ENRICH_ALL, capacity: 512, maxBatch: 256, outOfOrderNs: 100_000_000n, allowedLatenessNs: 1n * S };
  for (const seed of [31, 32]) {
    const evs = randomStream(seed, 3000, 15, 40_000_000, 300_000_000);
    const t = recordParity('tumbling', (e, rt) => new TumblingWindow(e, rt, 0, { ...cfg, sizeNs: S }), evs, seed);
    const s = recordParity('sliding', (e, rt) => new SlidingWindow(e, rt, 0, { ...cfg, sizeNs: 2n * S, slideNs: 500_000_000n }), evs, seed);
    const x = recordParity('session', (e, rt) => new SessionWindow(e, rt, 0, { ...cfg, gapNs: 300_000_000n }), evs, seed);
    recordParity('count', (e, rt) => new CountWindow(e, rt, 0, { ...cfg, size: 7 }), evs, seed);
    const c = recordParity('cumulate', (e, rt) => new CumulateWindow(e, rt, 0, { ...cfg, stepNs: 500_000_000n, maxSizeNs: 2n * S }), evs, seed);
    for (const [name, k] of Object.entries({ t, s, x, c })) assert.ok(k.late > 0 && k.revisions > 0, `${name} stream exercised late and revised events: ${JSON.stringify(k)}`);
  }
});

test('parity: enriched records on the lean accumulator (tumbling, no Welford, no first/last)', () => {
  const lean: EnrichSpec[] = ['count', 'sum', 'min', 'max', 'vwap'].map((a, i) => ({ aggregate: AGG[a as AggregateName], field: 3 + i }));
  const cfg = { valueField: 0, priceField: 1, qtyField: 2, enrich: lean, aggMask: 0x20f, capacity: 512, maxBatch: 256, outOfOrderNs: 100_000_000n, allowedLatenessNs: 1n * S };
  const evs = randomStream(33, 3000, 15, 40_000_000, 300_000_000);
  const t = recordParity('tumbling lean', (e, rt) => new TumblingWindow(e, rt, 0, { ...cfg, sizeNs: S }), evs, 33);
  assert.ok(t.late > 0 && t.revisions > 0, `stream exercised late and revised events: ${JSON.stringify(t)}`);
});

test('parity: enriched sample variance and standard deviation (var_samp, stddev_samp: NaN for one event), every window type', () => {
  const samp: EnrichSpec[] = ['var_samp', 'stddev_samp', 'count'].map((a, i) => ({ aggregate: AGG[a as AggregateName], field: 3 + i }));
  const cfg = { valueField: 0, priceField: 1, qtyField: 2, enrich: samp, aggMask: AGG_BIT.var_samp | AGG_BIT.stddev_samp, capacity: 512, maxBatch: 256, outOfOrderNs: 100_000_000n, allowedLatenessNs: 1n * S };
  const evs = randomStream(34, 3000, 15, 40_000_000, 300_000_000);
  recordParity('tumbling samp', (e, rt) => new TumblingWindow(e, rt, 0, { ...cfg, sizeNs: S }), evs, 34);
  recordParity('sliding samp', (e, rt) => new SlidingWindow(e, rt, 0, { ...cfg, sizeNs: 2n * S, slideNs: 500_000_000n }), evs, 34);
  recordParity('session samp', (e, rt) => new SessionWindow(e, rt, 0, { ...cfg, gapNs: 300_000_000n }), evs, 34);
  recordParity('count samp', (e, rt) => new CountWindow(e, rt, 0, { ...cfg, size: 7 }), evs, 34);
});

test.run();
