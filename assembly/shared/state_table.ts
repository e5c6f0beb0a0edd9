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
//          the entry).
//
// (The tumbling window uses the split table at the end of this file instead:
// ctrl bytes, 64-byte lines of key + value, cold words.)
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

/**
 * Backward-shift deletion, for both tables: the entry at slot j, whose probe
 * starts at `home`, stays where it is unless the hole lies between them: it
 * stays when its home lies cyclically in (hole, j].
 */
// @ts-ignore: decorator
@inline
function staysPut(home: u32, hole: u32, j: u32): bool {
  return hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
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
    if (!staysPut(stHash(load<u64>(sj + SLOT_KEY)) & mask, hole, j)) {
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
    // `now > touched` first: with no clock yet (i64 min) the difference would wrap.
    const touched = load<i64>(s + SLOT_TOUCHED);
    if (nowNs > touched && nowNs - touched >= ttl) {
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

// Thin exports for the parity tests against the host twin (bench build only: assembly/bench.ts). u64 keys cross the
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

// ───────────────────────────────────────────────────────────────────────────
// Split table: the same open addressing (hash, linear probing, backward-shift
// deletion, exact limit, refusal when full) laid out for a hot path that must
// touch one cache line per lookup. No TTL (its owners free state themselves).
//
//   0        4        8        12       16       20       24       28       32       36       40       48       64
//   ┌────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┐
//   │ limit  │ mask   │valBytes│lineByts│ count  │lastIns │coldByts│linesOff│coldOff │reserved│full u64│reserved│
//   └────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┘
//   64:       ctrl u8[slots] (padded to 64 B): 0 = empty, else 0x80 | hash >>> 25
//             (1 = removed, only between spMarkRemoved and spRepair)
//   linesOff: lines[slots], each lineBytes = 8 + align8(valueBytes) rounded up to 64:
//               0         8                                  lineBytes
//               ┌─────────┬──────────────────────────────────┐
//               │ key u64 │ value bytes (zeroed on insert)   │
//               └─────────┴──────────────────────────────────┘
//   coldOff:  cold[slots], coldBytes each (zeroed on insert): what the owner
//             reads only on insert, firing and the late path.
//
// Why: a slot of the general table spends 24 bytes on key, last-update time,
// used flag and spare word, so a 56-byte value becomes 80 bytes and straddles
// two lines. Here the used flag lives in the ctrl bytes (32 KB for 32 K slots:
// they stay in L1/L2 while the lines do not), the rarely read words live in
// the cold array, and a line is key + value, 64-byte aligned when the region
// base is. The 7-bit hash tag in ctrl lets a probe pass an occupied slot with
// another key without loading its line. Iteration reads ctrl bytes, so a
// firing round scans 1 byte per slot instead of a line.

const SP_LIMIT: usize = 0;
const SP_MASK: usize = 4;
const SP_VALUE_BYTES: usize = 8;
const SP_LINE_BYTES: usize = 12;
const SP_COUNT: usize = 16;
const SP_LAST_INSERTED: usize = 20;
const SP_COLD_BYTES: usize = 24;
const SP_LINES_OFF: usize = 28;
const SP_COLD_OFF: usize = 32;
const SP_FULL: usize = 40;
export const SP_CTRL: usize = 64;
/** ctrl byte of an entry removed by spMarkRemoved until spRepair runs. */
export const SP_PENDING: u8 = 1;
export const LINE_VALUE: usize = 8;

export function spLineBytes(valueBytes: u32): u32 {
  return (8 + ((valueBytes + 7) & ~7) + 63) & ~63;
}

// @ts-ignore: decorator
@inline
function spCtrlBytes(slots: u32): usize {
  return <usize>max<u32>(slots, 64);
}

export function spBytes(capacity: u32, valueBytes: u32, coldBytes: u32): usize {
  const slots = stSlots(capacity);
  return SP_CTRL + spCtrlBytes(slots) + <usize>slots * <usize>(spLineBytes(valueBytes) + ((coldBytes + 7) & ~7));
}

export function spInit(base: usize, capacity: u32, valueBytes: u32, coldBytes: u32): void {
  // Fresh memory (mask 0) is zero already: not touching it keeps an idle table out of RSS (see stInit).
  if (load<u32>(base + SP_MASK) != 0) memory.fill(base, 0, spBytes(capacity, valueBytes, coldBytes));
  const slots = stSlots(capacity);
  const linesOff = SP_CTRL + spCtrlBytes(slots);
  store<u32>(base + SP_LIMIT, capacity);
  store<u32>(base + SP_MASK, slots - 1);
  store<u32>(base + SP_VALUE_BYTES, valueBytes);
  store<u32>(base + SP_LINE_BYTES, spLineBytes(valueBytes));
  store<u32>(base + SP_COLD_BYTES, (coldBytes + 7) & ~7);
  store<u32>(base + SP_LINES_OFF, <u32>linesOff);
  store<u32>(base + SP_COLD_OFF, <u32>(linesOff + <usize>slots * <usize>spLineBytes(valueBytes)));
}

// @ts-ignore: decorator
@inline
export function spTag(h: u32): u8 {
  return <u8>(0x80 | (h >>> 25));
}

// @ts-ignore: decorator
@inline
export function spLine(base: usize, slot: u32): usize {
  return base + <usize>load<u32>(base + SP_LINES_OFF) + <usize>slot * <usize>load<u32>(base + SP_LINE_BYTES);
}

// @ts-ignore: decorator
@inline
export function spCold(base: usize, slot: u32): usize {
  return base + <usize>load<u32>(base + SP_COLD_OFF) + <usize>slot * <usize>load<u32>(base + SP_COLD_BYTES);
}

/** Slot index of a value pointer handed out by spUpsert / spGet. */
export function spSlotOf(base: usize, value: usize): u32 {
  return <u32>((value - LINE_VALUE - base - <usize>load<u32>(base + SP_LINES_OFF)) / <usize>load<u32>(base + SP_LINE_BYTES));
}

/** Slot index holding `key`, or -1. */
export function spFind(base: usize, key: u64): i32 {
  const mask = load<u32>(base + SP_MASK);
  const lineBytes = <usize>load<u32>(base + SP_LINE_BYTES);
  const lines = base + <usize>load<u32>(base + SP_LINES_OFF);
  const h = stHash(key), tag = spTag(h);
  let i = h & mask;
  while (true) {
    const c = load<u8>(base + SP_CTRL + <usize>i);
    if (c == 0) return -1;
    if (c == tag && load<u64>(lines + <usize>i * lineBytes) == key) return <i32>i;
    i = (i + 1) & mask;
  }
}

/** Value pointer of `key`, inserting a zeroed entry (value and cold) if absent;
 *  0 when the table is at its limit (counted, nothing overwritten). */
export function spUpsert(base: usize, key: u64): usize {
  const mask = load<u32>(base + SP_MASK);
  const lineBytes = <usize>load<u32>(base + SP_LINE_BYTES);
  const lines = base + <usize>load<u32>(base + SP_LINES_OFF);
  const h = stHash(key), tag = spTag(h);
  let i = h & mask;
  while (true) {
    const c = load<u8>(base + SP_CTRL + <usize>i);
    if (c == 0) break;
    if (c == tag && load<u64>(lines + <usize>i * lineBytes) == key) {
      store<u32>(base + SP_LAST_INSERTED, 0);
      return lines + <usize>i * lineBytes + LINE_VALUE;
    }
    i = (i + 1) & mask;
  }
  return spInsertAt(base, i, key, tag);
}

/** Inserts `key` (hash tag `tag`) at `slot`, the empty slot its probe ended
 *  on, for callers that probed inline; 0 when the table is at its limit. */
export function spInsertAt(base: usize, slot: u32, key: u64, tag: u8): usize {
  if (load<u32>(base + SP_COUNT) >= load<u32>(base + SP_LIMIT)) {
    store<u64>(base + SP_FULL, load<u64>(base + SP_FULL) + 1);
    store<u32>(base + SP_LAST_INSERTED, 0);
    return 0;
  }
  const lineBytes = <usize>load<u32>(base + SP_LINE_BYTES);
  const l = spLine(base, slot);
  store<u8>(base + SP_CTRL + <usize>slot, tag);
  store<u64>(l, key);
  zero8(l + LINE_VALUE, lineBytes - LINE_VALUE);
  zero8(spCold(base, slot), <usize>load<u32>(base + SP_COLD_BYTES));
  store<u32>(base + SP_COUNT, load<u32>(base + SP_COUNT) + 1);
  store<u32>(base + SP_LAST_INSERTED, 1);
  return l + LINE_VALUE;
}

export function spLastInserted(base: usize): bool {
  return load<u32>(base + SP_LAST_INSERTED) != 0;
}

export function spGet(base: usize, key: u64): usize {
  const i = spFind(base, key);
  return i < 0 ? 0 : spLine(base, <u32>i) + LINE_VALUE;
}

/** Empties slot `hole` and shifts the rest of its cluster back (line, ctrl
 *  byte and cold words move together). Same contract as stRemoveSlot. */
export function spRemoveSlot(base: usize, hole: u32): void {
  const mask = load<u32>(base + SP_MASK);
  const lineBytes = <usize>load<u32>(base + SP_LINE_BYTES);
  const coldBytes = <usize>load<u32>(base + SP_COLD_BYTES);
  const lines = base + <usize>load<u32>(base + SP_LINES_OFF);
  const cold = base + <usize>load<u32>(base + SP_COLD_OFF);
  const ctrl = base + SP_CTRL;
  let j = hole;
  while (true) {
    j = (j + 1) & mask;
    const c = load<u8>(ctrl + <usize>j);
    if (c == 0) break;
    if (!staysPut(stHash(load<u64>(lines + <usize>j * lineBytes)) & mask, hole, j)) {
      store<u8>(ctrl + <usize>hole, c);
      copy8(lines + <usize>hole * lineBytes, lines + <usize>j * lineBytes, lineBytes);
      copy8(cold + <usize>hole * coldBytes, cold + <usize>j * coldBytes, coldBytes);
      hole = j;
    }
  }
  store<u8>(ctrl + <usize>hole, 0);
  store<u32>(base + SP_COUNT, load<u32>(base + SP_COUNT) - 1);
}

/** Removes the entry at `slot` without moving its cluster: its ctrl byte
 *  becomes SP_PENDING and the table needs spRepair before the next lookup or
 *  insert. A scan that frees many entries (a firing round) then pays one
 *  repair pass instead of a backward shift, with its line loads, per entry. */
export function spMarkRemoved(base: usize, slot: u32): void {
  store<u8>(base + SP_CTRL + <usize>slot, SP_PENDING);
  store<u32>(base + SP_COUNT, load<u32>(base + SP_COUNT) - 1);
}

/** Restores the probing invariant after spMarkRemoved: walking the slots once
 *  from an empty slot (no probe crosses one), each entry that follows a freed
 *  slot of its run moves to the first free slot from its home (possibly where
 *  it is), and freed slots become empty. Entries are settled in probe order,
 *  so an entry never moves into the path of one placed before it. Groups of 8
 *  ctrl bytes without entries, or without freed slots while nothing before
 *  them in the run was freed, are settled at once; the result is the same as
 *  the byte-by-byte walk (the JS twin's). */
export function spRepair(base: usize): void {
  const mask = load<u32>(base + SP_MASK);
  const lineBytes = <usize>load<u32>(base + SP_LINE_BYTES);
  const coldBytes = <usize>load<u32>(base + SP_COLD_BYTES);
  const lines = base + <usize>load<u32>(base + SP_LINES_OFF);
  const cold = base + <usize>load<u32>(base + SP_COLD_OFF);
  const ctrl = base + SP_CTRL;
  let e: u32 = 0;
  while (load<u8>(ctrl + <usize>e) != 0) e++; // exists: count ≤ limit < slots, and freed slots are SP_PENDING
  const stop = e + mask + 1;
  let dirty = false;
  let v = e + 1;
  while (v < stop) {
    const i = v & mask;
    if ((i & 7) == 0 && v + 8 <= stop) {
      const g = load<u64>(ctrl + <usize>i);
      const used = g & 0x8080808080808080;
      const pend = g & ~(g >> 7) & 0x0101010101010101;
      if (used == 0) {
        // Only empty and freed slots: clear them; the run state after the
        // group is "freed" iff a freed slot comes after the last empty one.
        if (pend != 0) {
          store<u64>(ctrl + <usize>i, 0);
          const zeros = ~g & 0x0101010101010101;
          dirty = zeros == 0 || clz(pend) < clz(zeros);
        } else dirty = false;
        v += 8;
        continue;
      }
      if (!dirty && pend == 0) {
        // Entries and empty slots, nothing freed before them: all stay.
        v += 8;
        continue;
      }
    }
    const c = load<u8>(ctrl + <usize>i);
    if (c == 0) dirty = false;
    else if (c == SP_PENDING) {
      store<u8>(ctrl + <usize>i, 0);
      dirty = true;
    } else if (dirty) {
      const li = lines + <usize>i * lineBytes;
      let h = stHash(load<u64>(li)) & mask;
      while (h != i && load<u8>(ctrl + <usize>h) >= 0x80) h = (h + 1) & mask;
      if (h != i) {
        store<u8>(ctrl + <usize>h, c);
        copy8(lines + <usize>h * lineBytes, li, lineBytes);
        copy8(cold + <usize>h * coldBytes, cold + <usize>i * coldBytes, coldBytes);
        store<u8>(ctrl + <usize>i, 0);
      }
    }
    v++;
  }
}

export function spCount(base: usize): u32 {
  return load<u32>(base + SP_COUNT);
}

export function spRefused(base: usize): u64 {
  return load<u64>(base + SP_FULL);
}

export function spNext(base: usize, slot: i32): i32 {
  const slots = <i32>load<u32>(base + SP_MASK) + 1;
  for (let i = max<i32>(slot + 1, 0); i < slots; i++) {
    if (load<u8>(base + SP_CTRL + <usize>i) != 0) return i;
  }
  return -1;
}

// Thin exports for the parity tests (sp_ prefix, same conventions as st_; bench build only).
export function sp_bytes(capacity: u32, valueBytes: u32, coldBytes: u32): usize { return spBytes(capacity, valueBytes, coldBytes); }
export function sp_init(base: usize, capacity: u32, valueBytes: u32, coldBytes: u32): void { spInit(base, capacity, valueBytes, coldBytes); }
export function sp_upsert(base: usize, key: u64): usize { return spUpsert(base, key); }
export function sp_last_inserted(base: usize): bool { return spLastInserted(base); }
export function sp_get(base: usize, key: u64): usize { return spGet(base, key); }
export function sp_remove(base: usize, key: u64): bool {
  const i = spFind(base, key);
  if (i < 0) return false;
  spRemoveSlot(base, <u32>i);
  return true;
}
export function sp_count(base: usize): u32 { return spCount(base); }
export function sp_refused(base: usize): u64 { return spRefused(base); }
export function sp_next(base: usize, slot: i32): i32 { return spNext(base, slot); }
export function sp_slot_key(base: usize, slot: i32): u64 { return load<u64>(spLine(base, <u32>slot)); }
export function sp_slot_value(base: usize, slot: i32): usize { return spLine(base, <u32>slot) + LINE_VALUE; }
export function sp_slot_cold(base: usize, slot: i32): usize { return spCold(base, <u32>slot); }
export function sp_mark_removed(base: usize, slot: u32): void { spMarkRemoved(base, slot); }
export function sp_repair(base: usize): void { spRepair(base); }
