// The keyed state table, twice: the WASM engine calls assembly/shared/state_table.ts
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

// MurmurHash3's finaliser over lo ^ hi·φ (assembly/shared/state_table.ts stHash). It
// is fmix32 of host/partition/hash.ts, written out again: V8 does not inline
// the extra call level, which slows every probe of the JS engines.
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

/**
 * Backward-shift deletion, for both tables: the entry at slot j, whose probe
 * starts at `home`, stays where it is unless the hole lies between them: it
 * stays when its home lies cyclically in (hole, j].
 */
function staysPut(home: number, hole: number, j: number): boolean {
  return hole <= j ? home > hole && home <= j : home > hole || home <= j;
}

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
    // Fresh memory (zero header) is zero already: see stInit in assembly/shared/state_table.ts.
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
      if (!staysPut(stHash(u32[wj], u32[wj + 1]) & mask, hole, j)) {
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
      const touched = dv.getBigInt64(s + SLOT_TOUCHED, true);
      if (now > touched && BigInt.asIntN(64, now - touched) >= ttl) {
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

  /** The first used slot ≥ from, or the slot count when there is none (assembly/shared/state_table.ts stNextUsed). */
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

// ───────────────────────────────────────────────────────────────────────────
// Split table (layout diagram and reasons in assembly/shared/state_table.ts): ctrl
// bytes (0 empty, 0x80 | hash >>> 25), lines of key u64 + value rounded up to
// 64 bytes, and a cold array. No TTL.
export const SP_CTRL = 64, LINE_VALUE = 8, SP_PENDING = 1;
const SP_LIMIT = 0, SP_MASK = 4, SP_VALUE_BYTES = 8, SP_LINE_BYTES = 12, SP_COUNT = 16, SP_LAST_INSERTED = 20;
const SP_COLD_BYTES = 24, SP_LINES_OFF = 28, SP_COLD_OFF = 32, SP_FULL = 40;

export function spLineBytes(valueBytes: number): number {
  return (8 + ((valueBytes + 7) & ~7) + 63) & ~63;
}
/** Region bytes of a split table holding at most `capacity` entries. */
export function splitTableBytes(capacity: number, valueBytes: number, coldBytes: number): number {
  const slots = stSlots(capacity);
  return SP_CTRL + Math.max(slots, 64) + slots * (spLineBytes(valueBytes) + ((coldBytes + 7) & ~7));
}
export function spTag(h: number): number {
  return 0x80 | (h >>> 25);
}

export interface SplitTable {
  readonly base: number;
  upsert(key: bigint): number;
  lastInserted(): boolean;
  get(key: bigint): number;
  remove(key: bigint): boolean;
  count(): number;
  refused(): bigint;
  next(slot: number): number;
  slotKey(slot: number): bigint;
  slotValue(slot: number): number;
  slotCold(slot: number): number;
  markRemoved(slot: number): void;
  repair(): void;
}

export class JsSplitTable implements SplitTable {
  private readonly u32: Uint32Array;
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  /** Header words, read once: a JS engine makes one of these per call. */
  readonly mask: number;
  readonly lineBytes: number;
  readonly coldBytes: number;
  readonly lines: number;
  readonly cold: number;
  readonly ctrl: number;

  constructor(readonly memory: WebAssembly.Memory, readonly base: number) {
    this.u32 = new Uint32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
    const u32 = this.u32;
    this.mask = u32[(base + SP_MASK) >>> 2];
    this.lineBytes = u32[(base + SP_LINE_BYTES) >>> 2];
    this.coldBytes = u32[(base + SP_COLD_BYTES) >>> 2];
    this.lines = base + u32[(base + SP_LINES_OFF) >>> 2];
    this.cold = base + u32[(base + SP_COLD_OFF) >>> 2];
    this.ctrl = base + SP_CTRL;
  }

  /** Lays the table out; returns a handle that has read the new header. */
  static init(memory: WebAssembly.Memory, base: number, capacity: number, valueBytes: number, coldBytes: number): JsSplitTable {
    const u32 = new Uint32Array(memory.buffer);
    // Fresh memory (mask 0) is zero already: see spInit in assembly/shared/state_table.ts.
    if (new Uint32Array(memory.buffer)[(base + SP_MASK) >>> 2] !== 0) new Uint8Array(memory.buffer).fill(0, base, base + splitTableBytes(capacity, valueBytes, coldBytes));
    const slots = stSlots(capacity), linesOff = SP_CTRL + Math.max(slots, 64);
    u32[(base + SP_LIMIT) >>> 2] = capacity;
    u32[(base + SP_MASK) >>> 2] = slots - 1;
    u32[(base + SP_VALUE_BYTES) >>> 2] = valueBytes;
    u32[(base + SP_LINE_BYTES) >>> 2] = spLineBytes(valueBytes);
    u32[(base + SP_COLD_BYTES) >>> 2] = (coldBytes + 7) & ~7;
    u32[(base + SP_LINES_OFF) >>> 2] = linesOff;
    u32[(base + SP_COLD_OFF) >>> 2] = linesOff + slots * spLineBytes(valueBytes);
    return new JsSplitTable(memory, base);
  }

  /** Slot index of the key (hi, lo), or -1. */
  find(hi: number, lo: number): number {
    const u32 = this.u32, u8 = this.u8, mask = this.mask, lines = this.lines, lineBytes = this.lineBytes, ctrl = this.ctrl;
    const h = stHash(lo, hi), tag = spTag(h);
    let i = h & mask;
    for (;;) {
      const c = u8[ctrl + i];
      if (c === 0) return -1;
      const w = (lines + i * lineBytes) >>> 2;
      if (c === tag && u32[w] === lo && u32[w + 1] === hi) return i;
      i = (i + 1) & mask;
    }
  }

  /** Value pointer of (hi, lo), inserting a zeroed entry if absent; 0 when full. */
  upsertHL(hi: number, lo: number): number {
    const u32 = this.u32, u8 = this.u8, b = this.base, mask = this.mask, lines = this.lines, lineBytes = this.lineBytes, ctrl = this.ctrl;
    const h = stHash(lo, hi), tag = spTag(h);
    let i = h & mask;
    for (;;) {
      const c = u8[ctrl + i];
      if (c === 0) break;
      const w = (lines + i * lineBytes) >>> 2;
      if (c === tag && u32[w] === lo && u32[w + 1] === hi) {
        u32[(b + SP_LAST_INSERTED) >>> 2] = 0;
        return lines + i * lineBytes + LINE_VALUE;
      }
      i = (i + 1) & mask;
    }
    return this.insertAt(i, hi, lo, tag);
  }

  /** Inserts (hi, lo) with hash tag `tag` at `slot`, the empty slot its probe
   *  ended on (for engines that probe inline); 0 when the table is full. */
  insertAt(slot: number, hi: number, lo: number, tag: number): number {
    const u32 = this.u32, u8 = this.u8, b = this.base;
    if (u32[(b + SP_COUNT) >>> 2] >= u32[(b + SP_LIMIT) >>> 2]) {
      this.dv.setBigUint64(b + SP_FULL, this.dv.getBigUint64(b + SP_FULL, true) + 1n, true);
      u32[(b + SP_LAST_INSERTED) >>> 2] = 0;
      return 0;
    }
    const l = this.lines + slot * this.lineBytes, cl = this.cold + slot * this.coldBytes;
    u8[this.ctrl + slot] = tag;
    u32[l >>> 2] = lo; u32[(l >>> 2) + 1] = hi;
    u8.fill(0, l + LINE_VALUE, l + this.lineBytes);
    u8.fill(0, cl, cl + this.coldBytes);
    u32[(b + SP_COUNT) >>> 2]++;
    u32[(b + SP_LAST_INSERTED) >>> 2] = 1;
    return l + LINE_VALUE;
  }

  upsert(key: bigint): number {
    const k = BigInt.asUintN(64, key);
    return this.upsertHL(Number(k >> 32n), Number(k & MASK32));
  }

  lastInserted(): boolean {
    return this.u32[(this.base + SP_LAST_INSERTED) >>> 2] !== 0;
  }

  get(key: bigint): number {
    const k = BigInt.asUintN(64, key);
    const i = this.find(Number(k >> 32n), Number(k & MASK32));
    return i < 0 ? 0 : this.lines + i * this.lineBytes + LINE_VALUE;
  }

  /** Slot index of a value pointer handed out by upsert/get. */
  slotOf(value: number): number {
    return ((value - LINE_VALUE - this.lines) / this.lineBytes) | 0;
  }

  removeSlot(hole: number): void {
    const u32 = this.u32, u8 = this.u8, mask = this.mask, lines = this.lines, lineBytes = this.lineBytes;
    const cold = this.cold, coldBytes = this.coldBytes, ctrl = this.ctrl;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const c = u8[ctrl + j];
      if (c === 0) break;
      const wj = (lines + j * lineBytes) >>> 2;
      if (!staysPut(stHash(u32[wj], u32[wj + 1]) & mask, hole, j)) {
        u8[ctrl + hole] = c;
        u8.copyWithin(lines + hole * lineBytes, lines + j * lineBytes, lines + (j + 1) * lineBytes);
        u8.copyWithin(cold + hole * coldBytes, cold + j * coldBytes, cold + (j + 1) * coldBytes);
        hole = j;
      }
    }
    u8[ctrl + hole] = 0;
    u32[(this.base + SP_COUNT) >>> 2]--;
  }

  remove(key: bigint): boolean {
    const k = BigInt.asUintN(64, key);
    const i = this.find(Number(k >> 32n), Number(k & MASK32));
    if (i < 0) return false;
    this.removeSlot(i);
    return true;
  }

  /** Removes the entry at `slot` without moving its cluster; repair() must follow (see assembly spMarkRemoved). */
  markRemoved(slot: number): void {
    this.u8[this.ctrl + slot] = SP_PENDING;
    this.u32[(this.base + SP_COUNT) >>> 2]--;
  }

  /** The byte-by-byte walk of assembly spRepair (which skips whole groups with the same result). */
  repair(): void {
    const u32 = this.u32, u8 = this.u8, mask = this.mask, lines = this.lines, lineBytes = this.lineBytes;
    const cold = this.cold, coldBytes = this.coldBytes, ctrl = this.ctrl;
    let e = 0;
    while (u8[ctrl + e] !== 0) e++;
    let dirty = false;
    for (let k = 1; k <= mask; k++) {
      const i = (e + k) & mask, c = u8[ctrl + i];
      if (c === 0) dirty = false;
      else if (c === SP_PENDING) { u8[ctrl + i] = 0; dirty = true; }
      else if (dirty) {
        const li = lines + i * lineBytes, wi = li >>> 2;
        let h = stHash(u32[wi], u32[wi + 1]) & mask;
        while (h !== i && u8[ctrl + h] >= 0x80) h = (h + 1) & mask;
        if (h !== i) {
          u8[ctrl + h] = c;
          u8.copyWithin(lines + h * lineBytes, li, li + lineBytes);
          u8.copyWithin(cold + h * coldBytes, cold + i * coldBytes, cold + (i + 1) * coldBytes);
          u8[ctrl + i] = 0;
        }
      }
    }
  }

  count(): number { return this.u32[(this.base + SP_COUNT) >>> 2]; }
  refused(): bigint { return this.dv.getBigUint64(this.base + SP_FULL, true); }

  next(slot: number): number {
    const u8 = this.u8, ctrl = this.ctrl, slots = this.mask + 1;
    for (let i = Math.max(slot + 1, 0); i < slots; i++) if (u8[ctrl + i] !== 0) return i;
    return -1;
  }
  slotKey(slot: number): bigint { return this.dv.getBigUint64(this.lines + slot * this.lineBytes, true); }
  /** The key's high half (the tumbling window's key) without BigInt. */
  slotKeyHi(slot: number): number { return this.u32[((this.lines + slot * this.lineBytes) >>> 2) + 1]; }
  slotValue(slot: number): number { return this.lines + slot * this.lineBytes + LINE_VALUE; }
  slotCold(slot: number): number { return this.cold + slot * this.coldBytes; }
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

export class WasmSplitTable implements SplitTable {
  private readonly x: Record<string, Fn>;
  constructor(exports: GanglionExports, readonly base: number) {
    this.x = exports as unknown as Record<string, Fn>;
  }
  upsert(key: bigint): number { return this.x.sp_upsert(this.base, BigInt.asIntN(64, key)) >>> 0; }
  lastInserted(): boolean { return this.x.sp_last_inserted(this.base) !== 0; }
  get(key: bigint): number { return this.x.sp_get(this.base, BigInt.asIntN(64, key)) >>> 0; }
  remove(key: bigint): boolean { return this.x.sp_remove(this.base, BigInt.asIntN(64, key)) !== 0; }
  count(): number { return this.x.sp_count(this.base) >>> 0; }
  refused(): bigint { return BigInt.asUintN(64, this.x.sp_refused(this.base)); }
  next(slot: number): number { return this.x.sp_next(this.base, slot); }
  slotKey(slot: number): bigint { return BigInt.asUintN(64, this.x.sp_slot_key(this.base, slot)); }
  slotValue(slot: number): number { return this.x.sp_slot_value(this.base, slot) >>> 0; }
  slotCold(slot: number): number { return this.x.sp_slot_cold(this.base, slot) >>> 0; }
  markRemoved(slot: number): void { this.x.sp_mark_removed(this.base, slot); }
  repair(): void { this.x.sp_repair(this.base); }
}

/** A freshly initialised split table in `base` (splitTableBytes(capacity, valueBytes, coldBytes) bytes). */
export function createSplitTable(engine: Engine, rt: { memory: WebAssembly.Memory; exports: GanglionExports }, base: number,
  capacity: number, valueBytes: number, coldBytes: number): SplitTable {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 28) throw new RangeError(`split table capacity must be an integer in 1..${1 << 28}, got ${capacity}`);
  if (!Number.isInteger(valueBytes) || valueBytes < 0 || valueBytes > 1 << 16) throw new RangeError(`split table value size must be 0..65536 bytes, got ${valueBytes}`);
  if (!Number.isInteger(coldBytes) || coldBytes < 0 || coldBytes > 1 << 16) throw new RangeError(`split table cold size must be 0..65536 bytes, got ${coldBytes}`);
  if (engine === 'js') return JsSplitTable.init(rt.memory, base, capacity, valueBytes, coldBytes);
  (rt.exports as unknown as Record<string, Fn>).sp_init(base, capacity, valueBytes, coldBytes);
  return new WasmSplitTable(rt.exports, base);
}
