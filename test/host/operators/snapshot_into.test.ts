// snapshotInto (cheap checkpoint barriers): the same bytes as snapshot(),
// written into a reused buffer, for every operator that has state; restores
// like snapshot() does; a short buffer is refused, never overrun.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { inputStride, writeInput } from '../../../host/records.js';
import type { Engine, Operator } from '../../../host/operators/operator.js';
import { createOperator, type OperatorConfig } from '../../../host/operators/registry.js';
import { loadXgboostModel } from '../../../host/model/xgboost.js';
import { randomStream, sameBytes } from './window_harness.js';

const FIX = new URL('../../fixtures/xgb/', import.meta.url).pathname;
const MODEL = FIX + 'xgb_fraud_binary.json';
const S = 1_000_000_000n;
const engines: Engine[] = ['wasm', 'js'];

const KINDS: Record<string, (fields: number) => OperatorConfig> = {
  tumbling: () => ({ kind: 'tumbling', valueField: 0, capacity: 256, sizeNs: S, eventTime: 'local', outOfOrderNs: 100_000_000n, allowedLatenessNs: S, enrich: [{ aggregate: 1, field: 3 }] }),
  sliding: () => ({ kind: 'sliding', valueField: 0, capacity: 256, sizeNs: 2n * S, slideNs: S / 2n, eventTime: 'local', outOfOrderNs: 100_000_000n }),
  session: () => ({ kind: 'session', valueField: 0, capacity: 256, gapNs: S / 3n, eventTime: 'local', outOfOrderNs: 100_000_000n }),
  count: () => ({ kind: 'count', valueField: 0, capacity: 256, count: 5 }),
  zscore: () => ({ kind: 'zscore', field: 1, mode: 'ewma', alpha: 0.1, threshold: 2, minSamples: 3 }),
  limit: () => ({ kind: 'limit', field: 1, above: 105 }),
  tree_ensemble: (fields) => ({ kind: 'tree_ensemble', model: MODEL, features: Array.from({ length: fields }, (_, i) => i) }),
};

for (const engine of engines) {
  for (const [kind, cfg] of Object.entries(KINDS)) {
    test(`${engine} ${kind}: snapshotInto writes exactly snapshot()'s bytes into a reused buffer`, () => {
      const fields = kind === 'tree_ensemble' ? loadXgboostModel(MODEL).numFeature : 4;
      const stride = inputStride(fields);
      const rt = createPartitionRuntime(48 << 20);
      const ctx = { op: 3, partition: 0, engine, ...rt, fieldCount: fields, stride, maxBatch: 512 };
      const op: Operator = createOperator(cfg(fields), ctx);
      assert.type(op.snapshotInto, 'function');
      assert.type(op.snapshotSize, 'function');
      const evs = randomStream(5, 1500, 20, 40_000_000, 300_000_000);
      const input = rt.alloc.alloc(512 * stride, 64);
      const view = new DataView(rt.memory.buffer);
      const buf = new Uint8Array(8 << 20).fill(0xee);
      let checked = 0;
      for (let i = 0; i < evs.length; i += 300) {
        const batch = evs.slice(i, i + 300);
        batch.forEach((e, j) => writeInput(view, input + j * stride, e.ts, e.seq!, e.key, Array.from({ length: fields }, (_, f) => e.f[f % 3])));
        op.process(input, batch.length, stride);
        if ((i / 300) % 2 === 0) op.clearOutput(); // sometimes with pending outputs in the snapshot
        const want = op.snapshot();
        assert.is(op.snapshotSize!(), want.byteLength);
        buf.fill(0xee, 0, want.byteLength + 64);
        const n = op.snapshotInto!(buf);
        assert.is(n, want.byteLength);
        sameBytes(buf.subarray(0, n), want, `${kind} after ${i + batch.length} events`);
        assert.ok(buf.subarray(n, n + 64).every((b) => b === 0xee), 'nothing written past the snapshot');
        checked++;
      }
      assert.ok(checked >= 5);
      // What snapshotInto wrote restores like a snapshot() does.
      const rt2 = createPartitionRuntime(48 << 20);
      const twin = createOperator(cfg(fields), { ...ctx, ...rt2, engine: engine === 'wasm' ? 'js' : 'wasm' });
      const n = op.snapshotInto!(buf);
      twin.restore(buf.slice(0, n));
      sameBytes(twin.snapshot(), op.snapshot(), `${kind}: restored from snapshotInto bytes`);
      if (n > 0) assert.throws(() => op.snapshotInto!(new Uint8Array(n - 1)), /snapshotInto needs \d+ bytes/);
    });
  }
}

test.run();
