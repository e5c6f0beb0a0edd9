// The keyed state table, twice: the WASM engine calls assembly/state_table.ts
// (which owns the region layout diagram), the JS engine is a line-by-line port
// working on the very same bytes, so either engine can read, snapshot or
// continue the other's table.
//
// u64 keys: the generic interface takes BigInt; the JS engine's hot-path
// methods take the key as (hi, lo) u32 halves and times as (hi, lo) too, because
// epoch nanoseconds do not fit a JS number and BigInt allocates.
import type { GanglionExports } from '../wasm/module.js';
import type { Engine } from './operator.js';

export const ST_HEADER = 64;
const H_LIMIT = 0, H_MASK = 4, H_VALUE_BYTES = 8, H_SLOT_BYTES = 12, H_COUNT = 16, H_LAST_INSERTED = 20;
const H_TTL = 24, H_EVICTIONS = 32, H_FULL = 40;
export const SLOT_KEY = 0, SLOT_TOUCHED = 8, SLOT_USED = 16, SLOT_SPARE = 20, SLOT_VALUE = 24;

export interface StateTable {
  readonly base: number;
  upsert(key: bigint, nowNs: bigint): number;
  lastInserted(): boolean;
  get(key: bigint): number;
  remove(key: bigint): boolean;
  evictExpired(nowNs: bigint): number;
  count(): number;
  evictions(): bigint;
  /** Upserts refused because the table was at capacity even after TTL eviction. */
  refused(): bigint;
  next(slot: number): number;
  slotKey(slot: number): bigint;
  slotValue(slot: number): number;
}

export function stSlots(capacity: number): number {
  const want = Math.max(8, Math.floor((capacity * 4 + 2) / 3));
  let n = 8;
  while (n < want) n *= 2;
  return n;
}
export function stSlotBytes(valueBytes: number): number {
  return 24 + ((valueBytes + 7) & ~7);
}
export function stBitmapBytes(slots: number): number {
  return ((slots + 63) >>> 6) << 3;
}
/** Region bytes for a table holding at most `capacity` entries of `valueBytes` (slots, then the occupancy bitmap). */
export function stateTableBytes(capacity: number, valueBytes: number): number {
  const slots = stSlots(capacity);
  return ST_HEADER + slots * stSlotBytes(valueBytes) + stBitmapBytes(slots);
}

export function stHash(lo: number, hi: number): number {
  let h = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const MASK32 = 0xffffffffn;

export class JsStateTable implements StateTable {
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly dv: DataView;

  constructor(readonly memory: WebAssembly.Memory, readonly base: number) {
    this.u32 = new Uint32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
  }

  init(capacity: number, valueBytes: number, ttlNs: bigint): void {
    const b = this.base;
    // Fresh memory (zero header) is zero already: see stInit in assembly/state_table.ts.
    if (this.u32[(b + H_MASK) >>> 2] !== 0) this.u8.fill(0, b, b + stateTableBytes(capacity, valueBytes));
    this.u32[(b + H_LIMIT) >>> 2] = capacity;
    this.u32[(b + H_MASK) >>> 2] = stSlots(capacity) - 1;
    this.u32[(b + H_VALUE_BYTES) >>> 2] = valueBytes;
    this.u32[(b + H_SLOT_BYTES) >>> 2] = stSlotBytes(valueBytes);
    this.dv.setBigInt64(b + H_TTL, ttlNs, true);
  }

  /** Slot index of the key (hi, lo), or -1. */
  find(hi: number, lo: number): number {
    const u32 = this.u32, b = this.base;
    const mask = u32[(b + H_MASK) >>> 2], slotBytes = u32[(b + H_SLOT_BYTES) >>> 2];
    const slots = b + ST_HEADER;
    let i = stHash(lo, hi) & mask;
    for (;;) {
      const w = (slots + i * slotBytes) >>> 2;
      if (u32[w + 4] === 0) return -1;
      if (u32[w] === lo && u32[w + 1] === hi) return i;
      i = (i + 1) & mask;
    }
  }

  /** upsert with the key and the time as u32 halves: the JS engines' hot path. */
  upsertHL(hi: number, lo: number, nowHi: number, nowLo: number): number {
    const u32 = this.u32, b = this.base;
    const mask = u32[(b + H_MASK) >>> 2], slotBytes = u32[(b + H_SLOT_BYTES) >>> 2];
    const slots = b + ST_HEADER;
    let i = stHash(lo, hi) & mask;
    for (;;) {
      const w = (slots + i * slotBytes) >>> 2;
      if (u32[w + 4] === 0) break;
      if (u32[w] === lo && u32[w + 1] === hi) {
        u32[w + 2] = nowLo; u32[w + 3] = nowHi;
        u32[(b + H_LAST_INSERTED) >>> 2] = 0;
        return slots + i * slotBytes + SLOT_VALUE;
      }
      i = (i + 1) & mask;
    }
    if (u32[(b + H_COUNT) >>> 2] >= u32[(b + H_LIMIT) >>> 2]) {
      const now = (BigInt(nowHi | 0) << 32n) | BigInt(nowLo >>> 0);
      if (this.dv.getBigInt64(b + H_TTL, true) <= 0n || this.evictExpired(now) === 0) {
        this.dv.setBigUint64(b + H_FULL, this.dv.getBigUint64(b + H_FULL, true) + 1n, true);
        u32[(b + H_LAST_INSERTED) >>> 2] = 0;
        return 0;
      }
      i = stHash(lo, hi) & mask;
      while (u32[((slots + i * slotBytes) >>> 2) + 4] !== 0) i = (i + 1) & mask;
    }
    const s = slots + i * slotBytes, w = s >>> 2;
    this.u8.fill(0, s + SLOT_VALUE, s + slotBytes);
    u32[w] = lo; u32[w + 1] = hi; u32[w + 2] = nowLo; u32[w + 3] = nowHi; u32[w + 4] = 1; u32[w + 5] = 0;
    u32[this.bitmapWord(i)] |= 1 << (i & 31);
    u32[(b + H_COUNT) >>> 2]++;
    u32[(b + H_LAST_INSERTED) >>> 2] = 1;
    return s + SLOT_VALUE;
  }

  upsert(key: bigint, nowNs: bigint): number {
    const k = BigInt.asUintN(64, key), t = BigInt.asUintN(64, nowNs);
    return this.upsertHL(Number(k >> 32n), Number(k & MASK32), Number(t >> 32n), Number(t & MASK32));
  }

  lastInserted(): boolean {
    return this.u32[(this.base + H_LAST_INSERTED) >>> 2] !== 0;
  }

  getHL(hi: number, lo: number): number {
    const i = this.find(hi, lo);
    return i < 0 ? 0 : this.base + ST_HEADER + i * this.u32[(this.base + H_SLOT_BYTES) >>> 2] + SLOT_VALUE;
  }

  get(key: bigint): number {
    const k = BigInt.asUintN(64, key);
    return this.getHL(Number(k >> 32n), Number(k & MASK32));
  }

  removeSlot(hole: number): void {
    const u32 = this.u32, b = this.base;
    const mask = u32[(b + H_MASK) >>> 2], slotBytes = u32[(b + H_SLOT_BYTES) >>> 2];
    const slots = b + ST_HEADER;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const sj = slots + j * slotBytes, wj = sj >>> 2;
      if (u32[wj + 4] === 0) break;
      const home = stHash(u32[wj], u32[wj + 1]) & mask;
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        this.u8.copyWithin(slots + hole * slotBytes, sj, sj + slotBytes);
        hole = j;
      }
    }
    u32[((slots + hole * slotBytes) >>> 2) + 4] = 0;
    u32[this.bitmapWord(hole)] &= ~(1 << (hole & 31));
    u32[(b + H_COUNT) >>> 2]--;
  }

  removeHL(hi: number, lo: number): boolean {
    const i = this.find(hi, lo);
    if (i < 0) return false;
    this.removeSlot(i);
    return true;
  }

  remove(key: bigint): boolean {
    const k = BigInt.asUintN(64, key);
    return this.removeHL(Number(k >> 32n), Number(k & MASK32));
  }

  evictExpired(nowNs: bigint): number {
    const b = this.base, dv = this.dv;
    const ttl = dv.getBigInt64(b + H_TTL, true);
    if (ttl <= 0n) return 0;
    const slots = this.u32[(b + H_MASK) >>> 2] + 1, slotBytes = this.u32[(b + H_SLOT_BYTES) >>> 2];
    const now = BigInt.asIntN(64, nowNs);
    let evicted = 0;
    for (let i = this.nextUsed(0); i < slots;) {
      const s = b + ST_HEADER + i * slotBytes;
      if (BigInt.asIntN(64, now - dv.getBigInt64(s + SLOT_TOUCHED, true)) >= ttl) {
        this.removeSlot(i);
        evicted++;
        i = this.nextUsed(i);
        continue;
      }
      i = this.nextUsed(i + 1);
    }
    dv.setBigUint64(b + H_EVICTIONS, dv.getBigUint64(b + H_EVICTIONS, true) + BigInt(evicted), true);
    return evicted;
  }

  count(): number { return this.u32[(this.base + H_COUNT) >>> 2]; }
  evictions(): bigint { return this.dv.getBigUint64(this.base + H_EVICTIONS, true); }
  refused(): bigint { return this.dv.getBigUint64(this.base + H_FULL, true); }

  next(slot: number): number {
    const i = this.nextUsed(Math.max(slot + 1, 0));
    return i > this.u32[(this.base + H_MASK) >>> 2] ? -1 : i;
  }

  /** u32 index of the bitmap word holding slot i's bit (the bitmap follows the slots). */
  private bitmapWord(i: number): number {
    const b = this.base;
    return ((b + ST_HEADER + (this.u32[(b + H_MASK) >>> 2] + 1) * this.u32[(b + H_SLOT_BYTES) >>> 2]) >>> 2) + (i >>> 5);
  }

  /** The first used slot ≥ from, or the slot count when there is none (assembly/state_table.ts stNextUsed). */
  nextUsed(from: number): number {
    const u32 = this.u32, n = u32[(this.base + H_MASK) >>> 2] + 1;
    if (from >= n) return n;
    const first = this.bitmapWord(0), words = (n + 31) >>> 5;
    let w = from >>> 5;
    let word = u32[first + w] & (~0 << (from & 31));
    while (word === 0) {
      if (++w >= words) return n;
      word = u32[first + w];
    }
    return (w << 5) + (31 - Math.clz32(word & -word));
  }
  slotKey(slot: number): bigint {
    return this.dv.getBigUint64(this.base + ST_HEADER + slot * this.u32[(this.base + H_SLOT_BYTES) >>> 2] + SLOT_KEY, true);
  }
  slotValue(slot: number): number {
    return this.base + ST_HEADER + slot * this.u32[(this.base + H_SLOT_BYTES) >>> 2] + SLOT_VALUE;
  }
  /** key halves of a slot, for JS engines that avoid BigInt */
  slotKeyHi(slot: number): number { return this.u32[((this.base + ST_HEADER + slot * this.u32[(this.base + H_SLOT_BYTES) >>> 2]) >>> 2) + 1]; }
  slotKeyLo(slot: number): number { return this.u32[(this.base + ST_HEADER + slot * this.u32[(this.base + H_SLOT_BYTES) >>> 2]) >>> 2]; }
}

type Fn = (...a: any[]) => any;

export class WasmStateTable implements StateTable {
  private readonly x: Record<string, Fn>;
  constructor(exports: GanglionExports, readonly base: number) {
    this.x = exports as unknown as Record<string, Fn>;
  }
  init(capacity: number, valueBytes: number, ttlNs: bigint): void { this.x.st_init(this.base, capacity, valueBytes, ttlNs); }
  upsert(key: bigint, nowNs: bigint): number { return this.x.st_upsert(this.base, BigInt.asIntN(64, key), BigInt.asIntN(64, nowNs)) >>> 0; }
  lastInserted(): boolean { return this.x.st_last_inserted(this.base) !== 0; }
  get(key: bigint): number { return this.x.st_get(this.base, BigInt.asIntN(64, key)) >>> 0; }
  remove(key: bigint): boolean { return this.x.st_remove(this.base, BigInt.asIntN(64, key)) !== 0; }
  evictExpired(nowNs: bigint): number { return this.x.st_evict_expired(this.base, BigInt.asIntN(64, nowNs)) >>> 0; }
  count(): number { return this.x.st_count(this.base) >>> 0; }
  evictions(): bigint { return BigInt.asUintN(64, this.x.st_evictions(this.base)); }
  refused(): bigint { return BigInt.asUintN(64, this.x.st_refused(this.base)); }
  next(slot: number): number { return this.x.st_next(this.base, slot); }
  slotKey(slot: number): bigint { return BigInt.asUintN(64, this.x.st_slot_key(this.base, slot)); }
  slotValue(slot: number): number { return this.x.st_slot_value(this.base, slot) >>> 0; }
}

/** A freshly initialised table in `base` (stateTableBytes(capacity, valueBytes) bytes). */
export function createStateTable(engine: Engine, rt: { memory: WebAssembly.Memory; exports: GanglionExports }, base: number,
  capacity: number, valueBytes: number, ttlNs = 0n): JsStateTable | WasmStateTable {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 28) throw new RangeError(`state table capacity must be an integer in 1..${1 << 28}, got ${capacity}`);
  if (!Number.isInteger(valueBytes) || valueBytes < 0 || valueBytes > 1 << 16) throw new RangeError(`state table value size must be 0..65536 bytes, got ${valueBytes}`);
  if (ttlNs < 0n) throw new RangeError(`state table TTL must be ≥ 0 ns (0 = no TTL), got ${ttlNs}`);
  const t = engine === 'wasm' ? new WasmStateTable(rt.exports, base) : new JsStateTable(rt.memory, base);
  t.init(capacity, valueBytes, ttlNs);
  return t;
}
