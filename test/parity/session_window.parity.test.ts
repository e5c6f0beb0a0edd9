// Parity: the session window's WASM engine and its JS twin emit the same bytes
// and hold the same snapshots on seeded out-of-order streams.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionWindow } from '../../host/operators/window/session_window.js';
import { OUT_LATE, OUT_REVISION, OUT_WINDOW } from '../../host/records.js';
import type { Engine } from '../../host/operators/operator.js';
import { randomStream, type Rt } from '../host/operators/window_harness.js';
import { parity } from './window_parity.js';

const S = 1_000_000_000n;
type Cfg = ConstructorParameters<typeof SessionWindow>[3];
function make(engine: Engine, rt: Rt, extra: Partial<Cfg> = {}) {
  return new SessionWindow(engine, rt, 5, { gapNs: 5n * S, valueField: 0, priceField: 0, qtyField: 1, capacity: 64, maxBatch: 256, ...extra });
}

test('parity: seeded out-of-order stream with late events, random batches, watermarks and idle ticks', () => {
  for (const seed of [12, 13, 14]) {
    const evs = randomStream(seed, 3000, 30, 60_000_000, 400_000_000);
    const out = parity((engine, rt) => make(engine, rt, { gapNs: 1n * S, outOfOrderNs: 200_000_000n, allowedLatenessNs: 2n * S, capacity: 256 }), evs, seed, { idle: seed === 14 });
    const kinds = new Set(out.map((o) => o.kind));
    assert.ok(kinds.has(OUT_WINDOW) && kinds.has(OUT_REVISION) && kinds.has(OUT_LATE), `stream exercised every kind: ${[...kinds]}`);
  }
});

test.run();
