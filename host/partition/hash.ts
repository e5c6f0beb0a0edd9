// Which partition owns a key. The mapping must never change between restarts
// or versions: checkpoints hold per-partition state, so a different mapping
// would hand a key's state to the wrong worker after recovery.
//
//   h = fmix32(key)           MurmurHash3's 32-bit finaliser (public domain,
//                             Austin Appleby), on the interned u32 key id
//   partition = h mod n       (as unsigned 32-bit integers)
//
//   fmix32(h): h ^= h >>> 16; h *= 0x85ebca6b; h ^= h >>> 13; h *= 0xc2b2ae35; h ^= h >>> 16
//
// fmix32 is a bijection with full avalanche, so consecutive interned ids (the
// common case: the dictionary hands them out 0, 1, 2, ...) still spread evenly.
// Test vectors (test/host/partition/hash.test.ts pins them):
//   fmix32(0) = 0x00000000   fmix32(1) = 0x514e28b7   fmix32(42) = 0x087fcd5c
//   fmix32(0xffffffff) = 0x81f16f39
import os from 'node:os';

export function fmix32(key: number): number {
  let h = key >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function partitionOf(key: number, partitions: number): number {
  return fmix32(key) % partitions;
}

/** Cores available minus one (one core stays with ingest and the sinks), at least one. */
export function defaultPartitionCount(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

/**
 * What `partitions: auto` means on a machine with `cores` cores: cores − 1
 * worker partitions, but on two cores or fewer one inline partition. There a
 * worker runs nothing in parallel that the ingest thread could not, and costs
 * two cross-thread wake-ups per batch in latency (figures: docs/perf/).
 */
export function autoPartitions(cores = os.availableParallelism()): { count: number; inline: boolean } {
  return cores <= 2 ? { count: 1, inline: true } : { count: cores - 1, inline: false };
}
