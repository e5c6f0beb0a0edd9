// Keyed state: an open-addressing hash table living in a host-allocated region
// of linear memory. No allocation, no globals: everything is at `base`, so a
// snapshot is a byte copy of stBytes(capacity, valueBytes) bytes.
//
// Region layout (little endian):
//
//   0        4        8        12       16       20       24       32       40       48       64
//   ┌────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┐
//   │ limit  │ mask   │valBytes│slotByts│ count  │lastIns │ ttl i64│evict u64│full u64│reserved│
//   └────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┘
//   64: slots[mask + 1], each slotBytes = 24 + align8(valueBytes):
//
//   0        4        8                16       20       24            24+V
//   ┌────────┬────────┬────────────────┬────────┬────────┬─────────────┐
//   │ key lo │ key hi │ touched i64 ns │ used   │ spare  │ value bytes │
//   └────────┴────────┴────────────────┴────────┴────────┴─────────────┘
//   spare  4 bytes the value's owner may use (zeroed on insert, moved with
//          the entry); the tumbling window keeps its flags there.
//
//   then: occupancy bitmap, bit i = slot i used, (mask + 1) bits rounded up
//   to whole u64 words. It mirrors `used` exactly, so a scan over the table
//   (window firing, purge, snapshot iteration) visits only used slots: with
//   200 live keys in a 32,768-slot table that is 512 words instead of 4 MB of
//   slots, which is what makes a window boundary cost microseconds, not ms.
//
//   limit  the capacity asked for: the table never holds more live entries.
//          The slot array is the next power of two ≥ limit·4/3, so linear
//          probes stay short (load ≤ 0.75) and the limit is honoured exactly.
//   full   upserts refused because the table was at its limit even after
//          evicting expired entries (the caller decides what to emit/evict;
//          live state is never overwritten).
//
// Why linear probing with backward-shift deletion: probes walk adjacent
// memory (one or two cache lines for a hit), and deletion leaves no
// tombstones, so lookups of absent keys stop at the first empty slot forever,
// without periodic rehashing (there is no room to rehash into anyway: the
// region is fixed). Robin Hood would shorten the worst probe but costs a swap
// chain per insert; at load ≤ 0.75 with a good mix it buys little.
//
// The hash is 32-bit arithmetic only (murmur3's finaliser over lo ^ hi·φ) so
// the TypeScript twin computes the same slots with Math.imul.
//
// Iteration contract: stNext(slot) returns the next occupied slot. Removing the
// entry at slot i shifts later entries back, possibly into slot i, so a caller
// that removes while iterating resumes with stNext(i - 1). Entries from the
// wrapped head of the table can be moved to the tail and be visited twice,
// never skipped.

export const ST_HEADER: usize = 64;
const H_LIMIT: usize = 0;
const H_MASK: usize = 4;
const H_VALUE_BYTES: usize = 8;
const H_SLOT_BYTES: usize = 12;
const H_COUNT: usize = 16;
const H_LAST_INSERTED: usize = 20;
const H_TTL: usize = 24;
const H_EVICTIONS: usize = 32;
const H_FULL: usize = 40;

export const SLOT_KEY: usize = 0;
export const SLOT_TOUCHED: usize = 8;
export const SLOT_USED: usize = 16;
export const SLOT_SPARE: usize = 20;
export const SLOT_VALUE: usize = 24;

// @ts-ignore: decorator
@inline
export function stHash(key: u64): u32 {
  let h: u32 = (<u32>key) ^ ((<u32>(key >> 32)) * 0x9E3779B1);
  h ^= h >>> 16;
  h *= 0x85EBCA6B;
  h ^= h >>> 13;
  h *= 0xC2B2AE35;
  h ^= h >>> 16;
  return h;
}

export function stSlots(capacity: u32): u32 {
  const want: u64 = max<u64>(8, (<u64>capacity * 4 + 2) / 3);
  let n: u64 = 8;
  while (n < want) n <<= 1;
  return <u32>n;
}

export function stSlotBytes(valueBytes: u32): u32 {
  return 24 + ((valueBytes + 7) & ~7);
}

export function stBitmapBytes(slots: u32): usize {
  return <usize>((slots + 63) >>> 6) << 3;
}

export function stBytes(capacity: u32, valueBytes: u32): usize {
  const slots = stSlots(capacity);
  return ST_HEADER + <usize>slots * <usize>stSlotBytes(valueBytes) + stBitmapBytes(slots);
}

// @ts-ignore: decorator
@inline
function bitmapAt(base: usize): usize {
  return base + ST_HEADER + <usize>(load<u32>(base + H_MASK) + 1) * <usize>load<u32>(base + H_SLOT_BYTES);
}

// @ts-ignore: decorator
@inline
function setUsedBit(base: usize, i: u32): void {
  const w = bitmapAt(base) + (<usize>(i >>> 6) << 3);
  store<u64>(w, load<u64>(w) | (<u64>1 << <u64>(i & 63)));
}

// @ts-ignore: decorator
@inline
function clearUsedBit(base: usize, i: u32): void {
  const w = bitmapAt(base) + (<usize>(i >>> 6) << 3);
  store<u64>(w, load<u64>(w) & ~(<u64>1 << <u64>(i & 63)));
}

/** The first used slot ≥ `from`, or the slot count (mask + 1) when there is none. */
export function stNextUsed(base: usize, from: u32): u32 {
  const n = load<u32>(base + H_MASK) + 1;
  if (from >= n) return n;
  const bits = bitmapAt(base);
  const words = (n + 63) >>> 6;
  let w = from >>> 6;
  let word = load<u64>(bits + (<usize>w << 3)) & (<u64>-1 << <u64>(from & 63));
  while (word == 0) {
    if (++w >= words) return n;
    word = load<u64>(bits + (<usize>w << 3));
  }
  return (w << 6) + <u32>ctz<u64>(word);
}

/**
 * Lays a table out at `base`. A zero header (mask 0: no table was ever laid
 * out here) means fresh memory, which is zero already: regions come from a
 * bump allocator over a new memory. Clearing it anyway would make every page
 * of the table resident (reads and writes alike allocate shared-memory
 * pages): ~4 MB per default-capacity window before the first event, most of
 * which a small key set never touches. Re-initialising a table clears it.
 */
export function stInit(base: usize, capacity: u32, valueBytes: u32, ttlNs: i64): void {
  if (load<u32>(base + H_MASK) != 0) memory.fill(base, 0, stBytes(capacity, valueBytes));
  store<u32>(base + H_LIMIT, capacity);
  store<u32>(base + H_MASK, stSlots(capacity) - 1);
  store<u32>(base + H_VALUE_BYTES, valueBytes);
  store<u32>(base + H_SLOT_BYTES, stSlotBytes(valueBytes));
  store<i64>(base + H_TTL, ttlNs);
}

// Slot-sized copies and clears inline: V8 lowers memory.copy/memory.fill to
// a call out of the WASM code, which costs more than moving one slot by hand
// (slots are multiples of 8 bytes).
// @ts-ignore: decorator
@inline
function copy8(dst: usize, src: usize, n: usize): void {
  for (let i: usize = 0; i < n; i += 8) store<u64>(dst + i, load<u64>(src + i));
}
// @ts-ignore: decorator
@inline
function zero8(dst: usize, n: usize): void {
  for (let i: usize = 0; i < n; i += 8) store<u64>(dst + i, 0);
}

// @ts-ignore: decorator
@inline
function slotAt(base: usize, i: u32): usize {
  return base + ST_HEADER + <usize>i * <usize>load<u32>(base + H_SLOT_BYTES);
}

/** Slot index holding `key`, or -1. */
export function stFind(base: usize, key: u64): i32 {
  const mask = load<u32>(base + H_MASK);
  const slotBytes = <usize>load<u32>(base + H_SLOT_BYTES);
  const slots = base + ST_HEADER;
  let i = stHash(key) & mask;
  while (true) {
    const s = slots + <usize>i * slotBytes;
    if (load<u32>(s + SLOT_USED) == 0) return -1;
    if (load<u64>(s + SLOT_KEY) == key) return <i32>i;
    i = (i + 1) & mask;
  }
}

export function stUpsert(base: usize, key: u64, nowNs: i64): usize {
  const mask = load<u32>(base + H_MASK);
  const slotBytes = <usize>load<u32>(base + H_SLOT_BYTES);
  const slots = base + ST_HEADER;
  let i = stHash(key) & mask;
  while (true) {
    const s = slots + <usize>i * slotBytes;
    if (load<u32>(s + SLOT_USED) == 0) break;
    if (load<u64>(s + SLOT_KEY) == key) {
      store<i64>(s + SLOT_TOUCHED, nowNs);
      store<u32>(base + H_LAST_INSERTED, 0);
      return s + SLOT_VALUE;
    }
    i = (i + 1) & mask;
  }
  // Absent: insert, making room by TTL first if the table is at its limit.
  if (load<u32>(base + H_COUNT) >= load<u32>(base + H_LIMIT)) {
    if (load<i64>(base + H_TTL) <= 0 || stEvictExpired(base, nowNs) == 0) {
      store<u64>(base + H_FULL, load<u64>(base + H_FULL) + 1);
      store<u32>(base + H_LAST_INSERTED, 0);
      return 0;
    }
    // Eviction shifted entries: find the first empty slot of the probe again.
    i = stHash(key) & mask;
    while (load<u32>(slots + <usize>i * slotBytes + SLOT_USED) != 0) i = (i + 1) & mask;
  }
  const s = slots + <usize>i * slotBytes;
  zero8(s + SLOT_VALUE, slotBytes - SLOT_VALUE);
  store<u64>(s + SLOT_KEY, key);
  store<i64>(s + SLOT_TOUCHED, nowNs);
  store<u32>(s + SLOT_USED, 1);
  store<u32>(s + SLOT_SPARE, 0);
  setUsedBit(base, i);
  store<u32>(base + H_COUNT, load<u32>(base + H_COUNT) + 1);
  store<u32>(base + H_LAST_INSERTED, 1);
  return s + SLOT_VALUE;
}

export function stLastInserted(base: usize): bool {
  return load<u32>(base + H_LAST_INSERTED) != 0;
}

export function stGet(base: usize, key: u64): usize {
  const i = stFind(base, key);
  return i < 0 ? 0 : slotAt(base, <u32>i) + SLOT_VALUE;
}

/** Empties slot `hole` and shifts the rest of its cluster back (no tombstones). */
export function stRemoveSlot(base: usize, hole: u32): void {
  const mask = load<u32>(base + H_MASK);
  const slotBytes = <usize>load<u32>(base + H_SLOT_BYTES);
  const slots = base + ST_HEADER;
  let j = hole;
  while (true) {
    j = (j + 1) & mask;
    const sj = slots + <usize>j * slotBytes;
    if (load<u32>(sj + SLOT_USED) == 0) break;
    const home = stHash(load<u64>(sj + SLOT_KEY)) & mask;
    // Entry j may move into the hole unless its home lies cyclically in (hole, j].
    const stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!stays) {
      copy8(slots + <usize>hole * slotBytes, sj, slotBytes);
      hole = j;
    }
  }
  store<u32>(slots + <usize>hole * slotBytes + SLOT_USED, 0);
  clearUsedBit(base, hole);
  store<u32>(base + H_COUNT, load<u32>(base + H_COUNT) - 1);
}

export function stRemove(base: usize, key: u64): bool {
  const i = stFind(base, key);
  if (i < 0) return false;
  stRemoveSlot(base, <u32>i);
  return true;
}

export function stEvictExpired(base: usize, nowNs: i64): u32 {
  const ttl = load<i64>(base + H_TTL);
  if (ttl <= 0) return 0;
  const slots = <i32>load<u32>(base + H_MASK) + 1;
  let evicted: u32 = 0;
  let i = stNextUsed(base, 0);
  while (i < <u32>slots) {
    const s = slotAt(base, i);
    if (nowNs - load<i64>(s + SLOT_TOUCHED) >= ttl) {
      stRemoveSlot(base, i);
      evicted++;
      i = stNextUsed(base, i); // a later entry may have shifted into slot i
      continue;
    }
    i = stNextUsed(base, i + 1);
  }
  store<u64>(base + H_EVICTIONS, load<u64>(base + H_EVICTIONS) + evicted);
  return evicted;
}

export function stCount(base: usize): u32 {
  return load<u32>(base + H_COUNT);
}

export function stEvictions(base: usize): u64 {
  return load<u64>(base + H_EVICTIONS);
}

export function stRefused(base: usize): u64 {
  return load<u64>(base + H_FULL);
}

export function stNext(base: usize, slot: i32): i32 {
  const n = load<u32>(base + H_MASK) + 1;
  const i = stNextUsed(base, <u32>max<i32>(slot + 1, 0));
  return i >= n ? -1 : <i32>i;
}

export function stSlotKey(base: usize, slot: i32): u64 {
  return load<u64>(slotAt(base, <u32>slot) + SLOT_KEY);
}

export function stSlotValue(base: usize, slot: i32): usize {
  return slotAt(base, <u32>slot) + SLOT_VALUE;
}

// Thin exports for tests and the host twin's parity checks. u64 keys cross the
// boundary as BigInt (i64 in WASM); i64 times likewise.
export function st_bytes(capacity: u32, valueBytes: u32): usize { return stBytes(capacity, valueBytes); }
export function st_init(base: usize, capacity: u32, valueBytes: u32, ttlNs: i64): void { stInit(base, capacity, valueBytes, ttlNs); }
export function st_upsert(base: usize, key: u64, nowNs: i64): usize { return stUpsert(base, key, nowNs); }
export function st_last_inserted(base: usize): bool { return stLastInserted(base); }
export function st_get(base: usize, key: u64): usize { return stGet(base, key); }
export function st_remove(base: usize, key: u64): bool { return stRemove(base, key); }
export function st_evict_expired(base: usize, nowNs: i64): u32 { return stEvictExpired(base, nowNs); }
export function st_count(base: usize): u32 { return stCount(base); }
export function st_evictions(base: usize): u64 { return stEvictions(base); }
export function st_refused(base: usize): u64 { return stRefused(base); }
export function st_next(base: usize, slot: i32): i32 { return stNext(base, slot); }
export function st_slot_key(base: usize, slot: i32): u64 { return stSlotKey(base, slot); }
export function st_slot_value(base: usize, slot: i32): usize { return stSlotValue(base, slot); }
