// Dedup: drops an event whose (key, id) was already seen within a TTL of event
// time (resent trades, payment retries, at-least-once upstreams). It is a
// filter: process() compacts the batch in place and returns how many events
// survive, so the operators after it see only first occurrences.
// host/operators/dedup.ts owns the JS twin and the wrapper; both read and write
// exactly this layout, so a snapshot is a byte copy of a region.
//
// Region (offsets relative to `base`):
//
//   0                     128                           end
//   ┌─────────────────────┬─────────────────────────────┐
//   │ header (below)      │ state table                 │
//   │                     │ h(key, id) → (id, key) 16 B │
//   └─────────────────────┴─────────────────────────────┘
//
// Header, 128 bytes:
//
//    0 magic u32 'DDP1'  4 version u32      8 field u32       12 op u32
//   16 capacity u32     20 outCapacity u32 24 outCount u32   28 tableOffset u32
//   32 outOffset u32    36 reserved        40 ttlNs i64      48 watermark i64
//   56 events u64       64 duplicates u64  72 expired u64    80 untracked u64
//   88 collisions u64   96 skipped u64    104..128 reserved
//
// (outCapacity is 0: a region operator's header has an output area, this one
// never emits; dropped duplicates are counted, not re-emitted.)
//
// Identity. The table key is a 64-bit mix of the key id and the id field's
// bits; the value holds the exact (id bits, key id), so two identities whose
// mixes collide are told apart: the later one passes (it is not a duplicate
// as far as anything can tell) and is counted as a collision. An operator
// that drops must never drop an event it has not proven to be a duplicate.
//
// Time. An entry holds the event time of the first occurrence (SLOT_TOUCHED).
// It is a duplicate's witness while the watermark has not passed first + TTL;
// after that it is expired and the same (key, id) counts as new again. The
// watermark is the broadcast one, so the decision depends only on the input
// order: a replay or a recovery drops exactly the same events. Expired entries
// leave lazily: on a hit (and re-armed), and all at once when the table is
// full and a new identity needs room (the state table's TTL scan, clocked by
// the watermark). A new identity the full table has no room for passes and is
// counted as untracked.
//
// The id field: -0 is the same id as 0; NaN (a missing id) passes, counted as
// skipped: an event without an identity cannot be shown to repeat.
import { stFind, stSlotValue, stUpsert, SLOT_TOUCHED, SLOT_VALUE } from '../shared/state_table';
import { IN_TS, IN_KEY, IN_FLAGS, IN_FIELDS, FLAG_CONTROL } from '../shared/records';
import { regionBytes, regionInit } from '../shared/region_operator';

const DD_MAGIC: u32 = 0x31504444; // 'DDP1' little-endian
const DD_VERSION: u32 = 1;
const DD_HEADER_BYTES: u32 = 128;
const DD_VALUE_BYTES: u32 = 16;

const H_FIELD: usize = 8;
const H_OP: usize = 12;
const H_CAPACITY: usize = 16;
const H_OUT_CAPACITY: usize = 20;
const H_TABLE: usize = 28;
const H_OUT: usize = 32;
const H_TTL: usize = 40;
const H_WATERMARK: usize = 48;
const H_EVENTS: usize = 56;
const H_DUPLICATES: usize = 64;
const H_EXPIRED: usize = 72;
const H_UNTRACKED: usize = 80;
const H_COLLISIONS: usize = 88;
const H_SKIPPED: usize = 96;

const V_ID: usize = 0;
const V_KEY: usize = 8;

const NO_WATERMARK: i64 = i64.MIN_VALUE;

export function dedup_bytes(capacity: u32): usize {
  return regionBytes(DD_HEADER_BYTES, capacity, DD_VALUE_BYTES, 0);
}

export function dedup_init(base: usize, field: u32, op: u32, capacity: u32, ttlNs: i64): void {
  regionInit(base, DD_HEADER_BYTES, DD_MAGIC, DD_VERSION, H_TABLE, H_OUT, capacity, DD_VALUE_BYTES, ttlNs);
  store<u32>(base + H_FIELD, field);
  store<u32>(base + H_OP, op);
  store<u32>(base + H_CAPACITY, capacity);
  store<u32>(base + H_OUT_CAPACITY, 0);
  store<i64>(base + H_TTL, ttlNs);
  store<i64>(base + H_WATERMARK, NO_WATERMARK);
}

export function dedup_watermark(base: usize, watermarkNs: i64): void {
  if (watermarkNs > load<i64>(base + H_WATERMARK)) store<i64>(base + H_WATERMARK, watermarkNs);
}

/** The table key of (key, id bits): the id's bits folded with the key spread by φ (64-bit odd constant). */
// @ts-ignore: decorator
@inline
function identity(key: u32, id: u64): u64 {
  return id ^ (<u64>key * 0x9E3779B97F4A7C15);
}

/** A record moved down by words: memory.copy leaves the WASM code for a call, which costs more than a 40-byte record. */
// @ts-ignore: decorator
@inline
function copyRecord(dst: usize, src: usize, stride: u32): void {
  for (let o: usize = 0; o < <usize>stride; o += 8) store<u64>(dst + o, load<u64>(src + o));
}

/**
 * Filters `count` records of `stride` bytes at `ptr` in place: first
 * occurrences (and everything that cannot be proven a duplicate) move down to
 * close the gaps, in order. Returns how many remain.
 */
export function dedup_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  const fieldAt = IN_FIELDS + (<usize>load<u32>(base + H_FIELD) << 3);
  const ttl = load<i64>(base + H_TTL);
  const wm = load<i64>(base + H_WATERMARK);
  const table = base + load<u32>(base + H_TABLE);
  let events = load<u64>(base + H_EVENTS);
  let duplicates = load<u64>(base + H_DUPLICATES);
  let expired = load<u64>(base + H_EXPIRED);
  let untracked = load<u64>(base + H_UNTRACKED);
  let collisions = load<u64>(base + H_COLLISIONS);
  let skipped = load<u64>(base + H_SKIPPED);

  let kept: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const rec = ptr + <usize>i * stride;
    let drop = false;
    if ((load<u32>(rec + IN_FLAGS) & FLAG_CONTROL) == 0) {
      const x = load<f64>(rec + fieldAt);
      if (isNaN<f64>(x)) {
        skipped++;
      } else {
        events++;
        const id = reinterpret<u64>(x == 0 ? <f64>0 : x);
        const key = load<u32>(rec + IN_KEY);
        const ts = load<i64>(rec + IN_TS);
        const k = identity(key, id);
        const slot = stFind(table, k);
        if (slot >= 0) {
          const v = stSlotValue(table, slot);
          if (load<u64>(v + V_ID) != id || load<u32>(v + V_KEY) != key) {
            collisions++;
          } else {
            const first = load<i64>(v - SLOT_VALUE + SLOT_TOUCHED);
            if (wm != NO_WATERMARK && wm > first && wm - first >= ttl) {
              // The witness expired: this occurrence is the new first one.
              store<i64>(v - SLOT_VALUE + SLOT_TOUCHED, ts);
              expired++;
            } else {
              duplicates++;
              drop = true;
            }
          }
        } else {
          // Eviction when full is clocked by the watermark (before the first
          // one, i64 min: nothing has expired).
          const v = stUpsert(table, k, wm);
          if (v == 0) {
            untracked++;
          } else {
            store<u64>(v + V_ID, id);
            store<u32>(v + V_KEY, key);
            store<i64>(v - SLOT_VALUE + SLOT_TOUCHED, ts);
          }
        }
      }
    }
    if (drop) continue;
    if (kept != i) copyRecord(ptr + <usize>kept * stride, rec, stride);
    kept++;
  }

  store<u64>(base + H_EVENTS, events);
  store<u64>(base + H_DUPLICATES, duplicates);
  store<u64>(base + H_EXPIRED, expired);
  store<u64>(base + H_UNTRACKED, untracked);
  store<u64>(base + H_COLLISIONS, collisions);
  store<u64>(base + H_SKIPPED, skipped);
  return kept;
}
