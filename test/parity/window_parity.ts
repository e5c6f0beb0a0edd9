// The two-engine parity driver of the window operators (their
// <window>.parity.test.ts next to this file): one seeded stream through the
// WASM engine and the JS twin in the same batch cuts.
import * as assert from 'uvu/assert';
import type { OutputRecord } from '../../host/records.js';
import type { WindowOperator } from '../../host/operators/window/event_time.js';
import type { Engine } from '../../host/operators/operator.js';
import { drainBytes, put, rng, runtime, sameBytes, type Ev, type Rt } from '../host/operators/window_harness.js';

/**
 * Feeds the same stream to a WASM and a JS operator in the same random batch
 * cuts, with host watermarks and idle ticks sprinkled in; asserts identical
 * output bytes and identical snapshots, and returns the decoded outputs.
 */
export function parity(make: (engine: Engine, rt: Rt) => WindowOperator, evs: Ev[], seed: number, opts: { idle?: boolean } = {}): OutputRecord[] {
  const rt = runtime();
  const w = make('wasm', rt), j = make('js', rt);
  const r = rng(seed * 31 + 7);
  const all: OutputRecord[] = [];
  let i = 0, proc = 1_000_000_000n;
  while (i < evs.length) {
    const n = Math.min(evs.length - i, 1 + Math.floor(r() * 200));
    const batch = put(rt, evs.slice(i, i + n));
    i += n;
    for (const op of [w, j]) op.process(batch.ptr, batch.count, batch.stride);
    if (opts.idle) { proc += 1_000_000n; for (const op of [w, j]) op.advanceIdle(proc); }
    if (r() < 0.05) { const wm = w.watermark() + BigInt(Math.floor(r() * 1e6)); for (const op of [w, j]) op.onWatermark(wm); }
    const ow = w.outputs();
    const bw = drainBytes(w, rt), bj = drainBytes(j, rt);
    sameBytes(bw, bj, `output bytes differ after event ${i}`);
    all.push(...ow);
    if (r() < 0.1) sameBytes(w.snapshot(), j.snapshot(), `snapshots differ after event ${i}`);
  }
  for (const op of [w, j]) op.onWatermark(0x7fffffffffffff00n);
  const ow = w.outputs();
  sameBytes(drainBytes(w, rt), drainBytes(j, rt), 'final flush differs');
  all.push(...ow);
  sameBytes(w.snapshot(), j.snapshot(), 'final snapshots differ');
  assert.equal(w.stats(), j.stats());
  return all;
}
