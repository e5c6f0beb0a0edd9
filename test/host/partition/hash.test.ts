import { test } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import { autoPartitions, defaultPartitionCount, fmix32, partitionOf } from '../../../host/partition/hash.js';

test('fmix32 test vectors are pinned (changing them moves every key to another partition)', () => {
  assert.is(fmix32(0), 0x00000000);
  assert.is(fmix32(1), 0x514e28b7);
  assert.is(fmix32(42), 0x087fcd5c);
  assert.is(fmix32(0xffffffff), 0x81f16f39);
});

test('partitionOf is h mod n and stays in range', () => {
  for (const n of [1, 2, 3, 7, 16]) {
    for (let k = 0; k < 1000; k++) {
      const p = partitionOf(k, n);
      assert.ok(p >= 0 && p < n);
      assert.is(p, fmix32(k) % n);
    }
  }
  assert.is(partitionOf(42, 3), 0x087fcd5c % 3);
});

test('consecutive interned ids spread evenly', () => {
  const n = 4, counts = new Array(n).fill(0);
  for (let k = 0; k < 40_000; k++) counts[partitionOf(k, n)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `unbalanced: ${counts}`);
});

test('default partition count is cores - 1, at least 1', () => {
  assert.is(defaultPartitionCount(), Math.max(1, os.availableParallelism() - 1));
});

test('auto: inline on two cores or fewer, cores − 1 workers above', () => {
  assert.equal(autoPartitions(1), { count: 1, inline: true });
  assert.equal(autoPartitions(2), { count: 1, inline: true });
  assert.equal(autoPartitions(3), { count: 2, inline: false });
  assert.equal(autoPartitions(16), { count: 15, inline: false });
});

test.run();
