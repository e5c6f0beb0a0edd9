import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { IN_HEADER_BYTES, OUT_BYTES, OUT_VALUES, OUT_VALUE_COUNT, readOutput, writeOutput, OUT_WINDOW } from '../../host/records.js';

test('assembly/records.ts mirrors host/records.ts', () => {
  const { exports } = createPartitionRuntime(1 << 20);
  const packed = exports.recordsLayoutCheck() >>> 0;
  assert.is(packed >>> 24, IN_HEADER_BYTES);
  assert.is((packed >>> 16) & 0xff, OUT_BYTES);
  assert.is((packed >>> 8) & 0xff, OUT_VALUES);
  assert.is(packed & 0xff, OUT_VALUE_COUNT);
});

test('output records round-trip with exact nanosecond bounds', () => {
  const view = new DataView(new ArrayBuffer(OUT_BYTES));
  const r = { kind: OUT_WINDOW, op: 3, key: 77, aux: 1, start: 1732424400123456789n, end: 1732424401123456789n, seq: 42n, values: Float64Array.from({ length: 11 }, (_, i) => i * 1.5) };
  writeOutput(view, 0, r);
  assert.equal(readOutput(view, 0), r);
});

test.run();
