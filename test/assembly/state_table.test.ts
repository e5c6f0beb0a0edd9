import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBenchRuntime } from '../../bench/wasm.js';
import { createStateTable, stateTableBytes, createSplitTable, splitTableBytes, spLineBytes } from '../../host/operators/state_table.js';

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
    const rt = createBenchRuntime(8 << 20);
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
  const rt = createBenchRuntime(1 << 20);
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
  const rt = createBenchRuntime(1 << 20);
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
  const rt = createBenchRuntime(1 << 20);
  assert.throws(() => createStateTable('js', rt, 0, 0, 8), /capacity must be an integer/);
  assert.throws(() => createStateTable('js', rt, 0, 10, 8, -1n), /TTL must be/);
});

test('split table: WASM and JS agree byte for byte; values and cold words move with their keys', () => {
  for (const seed of [3, 11]) {
    const rt = createBenchRuntime(8 << 20);
    const cap = 300, vb = 56, cb = 16;
    const bytes = splitTableBytes(cap, vb, cb);
    const wb = rt.alloc.alloc(bytes, 64), jb = rt.alloc.alloc(bytes, 64);
    const w = createSplitTable('wasm', rt, wb, cap, vb, cb);
    const j = createSplitTable('js', rt, jb, cap, vb, cb);
    const mem = new Uint8Array(rt.memory.buffer);
    const dv = new DataView(rt.memory.buffer);
    const model = new Map<bigint, number>();
    const r = rng(seed);
    // Few distinct keys so that clusters form, removals shift them and the table fills up.
    const keyOf = () => (BigInt(Math.floor(r() * 40)) << 32n) | BigInt(Math.floor(r() * 12));
    let refusedSeen = false;
    for (let step = 0; step < 8000; step++) {
      const op = r(), k = keyOf();
      if (op < 0.6) {
        const pw = w.upsert(k), pj = j.upsert(k);
        assert.is(pw === 0, pj === 0, `full agreement at step ${step}`);
        assert.is(w.lastInserted(), j.lastInserted());
        if (pw === 0) { assert.is(w.count(), cap); refusedSeen = true; continue; }
        assert.is(pw - wb, pj - jb);
        assert.is((pw - wb) % 64, 8, 'a value starts 8 bytes into its 64-byte line');
        if (w.lastInserted()) assert.not.ok(model.has(k));
        const v = dv.getFloat64(pw, true) + 1;
        dv.setFloat64(pw, v, true); dv.setFloat64(pj, v, true);
        model.set(k, v);
      } else if (op < 0.85) {
        assert.is(w.remove(k), j.remove(k));
        model.delete(k);
      } else {
        const pw = w.get(k), pj = j.get(k);
        assert.is(pw === 0 ? 0 : pw - wb, pj === 0 ? 0 : pj - jb);
        assert.is(pw !== 0, model.has(k));
      }
      // Cold words follow their entry through backward shifts: stamp each live
      // entry's cold with its key, check the stamps after the next removals.
      if (step % 97 === 0) {
        for (const t of [w, j]) for (let s = t.next(-1); s >= 0; s = t.next(s)) dv.setBigUint64(t.slotCold(s), t.slotKey(s), true);
      }
      if (step % 97 === 50) {
        for (const t of [w, j]) for (let s = t.next(-1); s >= 0; s = t.next(s)) {
          const stamp = dv.getBigUint64(t.slotCold(s), true);
          assert.ok(stamp === 0n || stamp === t.slotKey(s), `cold words of slot ${s} belong to another key`);
        }
      }
      if (step % 500 === 0 || step === 7999) assert.equal(mem.subarray(wb, wb + bytes), mem.subarray(jb, jb + bytes), `regions differ at step ${step}`);
    }
    assert.ok(refusedSeen, 'the sequence filled the table');
    assert.is(w.refused(), j.refused());
    assert.ok(w.refused() > 0n);
    assert.is(w.count(), model.size);
    for (const [k, v] of model) assert.is(dv.getFloat64(w.get(k), true), v);
    const seen = new Set<bigint>();
    for (let s = w.next(-1); s >= 0; s = w.next(s)) { const k = w.slotKey(s); assert.not.ok(seen.has(k)); seen.add(k); assert.is(j.slotKey(s), k); assert.is(w.slotValue(s) - wb, j.slotValue(s) - jb); }
    assert.is(seen.size, model.size);
  }
});

test('split table: marking many entries removed then one repair equals in both engines and keeps every survivor reachable', () => {
  const r = rng(5);
  for (const [cap, fill, dropP] of [[48, 48, 0.9], [48, 40, 0.3], [600, 590, 0.5], [600, 300, 0.97], [600, 600, 0.05]] as const) {
    const rt = createBenchRuntime(8 << 20);
    const bytes = splitTableBytes(cap, 56, 16);
    const wb = rt.alloc.alloc(bytes, 64), jb = rt.alloc.alloc(bytes, 64);
    const w = createSplitTable('wasm', rt, wb, cap, 56, 16), j = createSplitTable('js', rt, jb, cap, 56, 16);
    const mem = new Uint8Array(rt.memory.buffer), dv = new DataView(rt.memory.buffer);
    for (let round = 0; round < 6; round++) {
      const live = new Set<bigint>();
      for (let s = w.next(-1); s >= 0; s = w.next(s)) live.add(w.slotKey(s));
      while (live.size < fill) {
        const k = (BigInt(Math.floor(r() * 1000)) << 32n) | BigInt(round);
        if (live.has(k)) continue;
        const pw = w.upsert(k), pj = j.upsert(k);
        dv.setBigUint64(pw, k, true); dv.setBigUint64(pj, k, true);
        live.add(k);
      }
      const keep = new Set<bigint>();
      for (const t of [w, j]) for (let s = t.next(-1); s >= 0; s = t.next(s)) dv.setBigUint64(t.slotCold(s), t.slotKey(s), true);
      const drop: number[] = [], gone: bigint[] = [];
      for (let s = w.next(-1); s >= 0; s = w.next(s)) { if (r() < dropP) { drop.push(s); gone.push(w.slotKey(s)); } else keep.add(w.slotKey(s)); }
      for (const s of drop) { w.markRemoved(s); j.markRemoved(s); }
      w.repair(); j.repair();
      assert.equal(mem.subarray(wb, wb + bytes), mem.subarray(jb, jb + bytes), `cap ${cap} round ${round}: regions differ after repair`);
      assert.is(w.count(), keep.size);
      for (const k of keep) {
        const p = w.get(k);
        assert.ok(p !== 0, `survivor ${k} is reachable`);
        assert.is(dv.getBigUint64(p, true), k, 'its value moved with it');
      }
      for (const k of gone) assert.is(w.get(k), 0, `removed ${k} is gone`);
      for (let s = w.next(-1); s >= 0; s = w.next(s)) assert.is(dv.getBigUint64(w.slotCold(s), true), w.slotKey(s), 'cold words moved with their entry');
    }
  }
});

test('split table lines: key + a 56-byte value is one 64-byte line, 64-byte aligned; larger values round up to 128', () => {
  assert.is(spLineBytes(56), 64);
  assert.is(spLineBytes(57), 128);
  assert.is(spLineBytes(104), 128);
  const rt = createBenchRuntime(1 << 20);
  for (const engine of ['wasm', 'js'] as const) {
    const base = rt.alloc.alloc(splitTableBytes(100, 56, 16), 64);
    const t = createSplitTable(engine, rt, base, 100, 56, 16);
    for (let k = 0n; k < 100n; k++) assert.is((t.upsert(k) - 8) % 64, 0, `${engine}: line of key ${k} is aligned`);
    assert.is(t.upsert(100n), 0, 'the limit holds');
    assert.throws(() => createSplitTable(engine, rt, base, 0, 56, 16), /split table capacity must be an integer/);
  }
});

test.run();
