// Faults in, in the background, every page the partitions have laid out
// (rings and operator state), a few at a time. Shared-memory pages are
// allocated on first touch, a slow fault each; without this the hot path pays
// them one by one for as long as new keys keep landing on untouched
// state-table pages or the rings have not wrapped once (seconds at modest
// rates). Each page gets an atomic add of 0 to one word: a read alone only
// maps the shared zero page (on Linux 6.x RSS does not grow) and the first real
// write still faults, while a locked read-modify-write that stores back what it
// read allocates the page and cannot lose a worker's concurrent store to that
// word. The snapshot slabs of checkpointed programs are warmed too (the part a
// snapshot uses now), so the first barrier's pause is a copy, not page faults.
// The set starts this at the first push, so an idle service keeps its memory
// (see docs/design/startup.md).
import type { Partition } from './partition.js';

const PAGE = 4096;

/** The bytes of `partitions` to warm: each one's laid-out memory, then its snapshot slab. */
function regions(partitions: readonly Partition[]): Array<{ i32: Int32Array; from: number; to: number }> {
  return partitions.flatMap((p) => [
    { i32: new Int32Array(p.memory.buffer), from: 0, to: Math.ceil((p.layout.used ?? 0) / PAGE) },
    ...(p.slab ? [{ i32: new Int32Array(p.slab.buffer), from: 0, to: Math.ceil(p.slab.bytes / PAGE) }] : []),
  ]);
}

/**
 * Touches `pagesPerTurn` pages per event-loop turn until every page is warm or
 * `stop()` says the set is closing. Not unref'd: the set is closing or done
 * within seconds, and closing stops it.
 */
export function warmMemory(partitions: readonly Partition[], pagesPerTurn: number, stop: () => boolean): Promise<void> {
  const pages = regions(partitions);
  return new Promise<void>((resolve) => {
    const turn = (): void => {
      if (stop()) { resolve(); return; }
      let budget = pagesPerTurn;
      for (const w of pages) {
        while (budget > 0 && w.from < w.to) { Atomics.add(w.i32, w.from * (PAGE / 4), 0); w.from++; budget--; }
      }
      if (budget === 0) { setImmediate(turn); return; }
      resolve();
    };
    setImmediate(turn);
  });
}
