import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { createStateTable, stateTableBytes } from '../../host/operators/state_table.js';

// Seeded xorshift so a failure replays exactly.
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

/** The occupancy bitmap after the slots has bit i set exactly when slot i's used word is set. */
function assertBitmapMirrorsUsed(mem: Uint8Array, base: number, step: number): void {
  const dv = new DataView(mem.buffer);
  const slots = dv.getUint32(base + 4, true) + 1, slotBytes = dv.getUint32(base + 12, true);
  const bitmap = base + 64 + slots * slotBytes;
  for (let i = 0; i < slots; i++) {
    const used = dv.getUint32(base + 64 + i * slotBytes + 16, true) !== 0;
    const bit = (mem[bitmap + (i >> 3)] >> (i & 7)) & 1;
    if (used !== (bit === 1)) assert.unreachable(`step ${step}: slot ${i} used=${used} but bitmap bit=${bit}`);
  }
}

test('WASM and JS engines agree byte for byte on random insert/update/remove/evict sequences', () => {
  for (const seed of [1, 7, 42]) {
    const rt = createPartitionRuntime(8 << 20);
    const cap = 200, vb = 16, ttl = 1000n;
    const bytes = stateTableBytes(cap, vb);
    const wb = rt.alloc.alloc(bytes), jb = rt.alloc.alloc(bytes);
    const w = createStateTable('wasm', rt, wb, cap, vb, ttl);
    const j = createStateTable('js', rt, jb, cap, vb, ttl);
    const mem = new Uint8Array(rt.memory.buffer);
    const dv = new DataView(rt.memory.buffer);
    const model = new Map<bigint, { v: number; t: bigint }>();
    const r = rng(seed);
    let now = 1_700_000_000_000_000_000n;
    const keyOf = () => (r() < 0.5 ? BigInt(Math.floor(r() * 400)) : (BigInt(Math.floor(r() * 300)) << 32n) | BigInt(Math.floor(r() * 4294967296)) % 7n);
    for (let step = 0; step < 6000; step++) {
      now += BigInt(Math.floor(r() * 20));
      const op = r(), k = keyOf();
      if (op < 0.6) {
        const pw = w.upsert(k, now), pj = j.upsert(k, now);
        assert.is(pw === 0, pj === 0, `full agreement at step ${step}`);
        assert.is(w.lastInserted(), j.lastInserted());
        if (pw !== 0) {
          assert.is(pw - wb, pj - jb);
          if (w.lastInserted()) { assert.is(dv.getFloat64(pw, true), 0); assert.not.ok(model.has(k)); }
          // Model follows eviction that upsert may have triggered.
          const v = (dv.getFloat64(pw, true) + 1);
          dv.setFloat64(pw, v, true); dv.setFloat64(pj, v, true);
          model.set(k, { v, t: now });
        } else {
          assert.is(w.count(), cap);
        }
      } else if (op < 0.8) {
        assert.is(w.remove(k), j.remove(k));
        model.delete(k);
      } else if (op < 0.83) {
        assert.is(w.evictExpired(now), j.evictExpired(now));
      } else {
        const pw = w.get(k), pj = j.get(k);
        assert.is(pw === 0 ? 0 : pw - wb, pj === 0 ? 0 : pj - jb);
      }
      // Sync the model with TTL evictions (both engines evict identically; checked below).
      for (const [mk, mv] of model) if (w.get(mk) === 0) { assert.ok(now - mv.t >= ttl, `key ${mk} vanished before its TTL`); model.delete(mk); }
      if (step % 500 === 0 || step === 5999) {
        assert.equal(mem.subarray(wb, wb + bytes), mem.subarray(jb, jb + bytes), `regions differ at step ${step}`);
        assertBitmapMirrorsUsed(mem, wb, step);
      }
    }
    assert.is(w.count(), model.size);
    for (const [mk, mv] of model) assert.is(dv.getFloat64(w.get(mk), true), mv.v);
    assert.is(w.evictions(), j.evictions());
    assert.ok(w.evictions() > 0n, 'the sequence exercised TTL eviction');
    assert.is(w.refused(), j.refused());
    // Iteration visits every live key exactly once.
    const seen = new Set<bigint>();
    for (let s = w.next(-1); s >= 0; s = w.next(s)) { const k = w.slotKey(s); assert.not.ok(seen.has(k)); seen.add(k); assert.is(j.slotKey(s), k); assert.is(w.slotValue(s) - wb, j.slotValue(s) - jb); }
    assert.is(seen.size, model.size);
  }
});

test('a full table without TTL refuses inserts, counts them and keeps live state', () => {
  const rt = createPartitionRuntime(1 << 20);
  for (const engine of ['wasm', 'js'] as const) {
    const base = rt.alloc.alloc(stateTableBytes(4, 8));
    const t = createStateTable(engine, rt, base, 4, 8, 0n);
    const dv = new DataView(rt.memory.buffer);
    for (let k = 0n; k < 4n; k++) dv.setFloat64(t.upsert(k, 0n), Number(k) * 10, true);
    assert.is(t.upsert(99n, 5n), 0);
    assert.is(t.refused(), 1n);
    assert.not.ok(t.lastInserted());
    assert.ok(t.upsert(2n, 6n) > 0, 'existing keys still update when full');
    for (let k = 0n; k < 4n; k++) assert.is(dv.getFloat64(t.get(k), true), Number(k) * 10);
    assert.is(t.count(), 4);
  }
});

test('a full table with TTL evicts expired entries to make room', () => {
  const rt = createPartitionRuntime(1 << 20);
  for (const engine of ['wasm', 'js'] as const) {
    const t = createStateTable(engine, rt, rt.alloc.alloc(stateTableBytes(3, 8)), 3, 8, 100n);
    t.upsert(1n, 0n); t.upsert(2n, 50n); t.upsert(3n, 60n);
    assert.ok(t.upsert(4n, 120n) > 0);
    assert.is(t.get(1n), 0, 'the expired key went');
    assert.ok(t.get(2n) > 0 && t.get(3n) > 0 && t.get(4n) > 0);
    assert.is(t.evictions(), 1n);
    assert.is(t.upsert(5n, 130n), 0, 'nothing expired yet: refused');
  }
});

test('bad configuration is rejected with a precise message', () => {
  const rt = createPartitionRuntime(1 << 20);
  assert.throws(() => createStateTable('js', rt, 0, 0, 8), /capacity must be an integer/);
  assert.throws(() => createStateTable('js', rt, 0, 10, 8, -1n), /TTL must be/);
});

test.run();
