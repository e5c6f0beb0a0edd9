// Parity: the count window's WASM engine and its JS twin emit the same bytes
// and hold the same snapshots on a seeded stream in random batches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CountWindow } from '../../host/operators/window/count_window.js';
import type { Engine } from '../../host/operators/operator.js';
import { randomStream, type Rt } from '../host/operators/window_harness.js';
import { parity } from './window_parity.js';

type Cfg = ConstructorParameters<typeof CountWindow>[3];
function make(engine: Engine, rt: Rt, extra: Partial<Cfg> = {}) {
  return new CountWindow(engine, rt, 4, { size: 3, valueField: 0, priceField: 0, qtyField: 1, capacity: 64, maxBatch: 256, ...extra });
}

test('parity: seeded stream, random batches', () => {
  for (const seed of [7, 8]) {
    const evs = randomStream(seed, 3000, 25, 40_000_000, 300_000_000);
    const out = parity((engine, rt) => make(engine, rt, { size: 7 }), evs, seed, { idle: true });
    const perKey = new Map<number, number>();
    for (const e of evs) perKey.set(e.key, (perKey.get(e.key) ?? 0) + 1);
    const expected = [...perKey.values()].reduce((a, c) => a + Math.floor(c / 7), 0);
    assert.is(out.length, expected);
  }
});

test.run();
