import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime, RegionAllocator } from '../../../host/wasm/module.js';

test('instantiates the module on a fixed-size shared memory', () => {
  const rt = createPartitionRuntime(1 << 20);
  assert.ok(rt.memory.buffer instanceof SharedArrayBuffer);
  assert.is((rt.memory.buffer as ArrayBufferLike).byteLength, 1 << 20);
  assert.ok(rt.exports.heapBase() > 0);
});

test('regions are aligned, disjoint and bounded by the memory', () => {
  const rt = createPartitionRuntime(1 << 20);
  const a = rt.alloc.alloc(100);
  const b = rt.alloc.alloc(100);
  assert.is(a % 64, 0);
  assert.ok(b >= a + 100);
  assert.throws(() => rt.alloc.alloc(2 << 20), /memory exhausted/);
  assert.ok(rt.alloc instanceof RegionAllocator);
});

test.run();
