// Limit check (threshold alerts, e.g. position limits): per key, does a field
// cross an upper bound `above` or a lower bound `below`? host/operators/
// limit_check.ts owns the JS twin and the wrapper; both read and write exactly
// this layout, so a snapshot is a byte copy of a region.
//
// Region (all offsets relative to `base`, so a region can be restored anywhere):
//
//   0                     128                        outOffset              end
//   ┌─────────────────────┬──────────────────────────┬─────────────────────┐
//   │ header (below)      │ state table              │ output records      │
//   │                     │ key → breach (8 B value) │ outCapacity × 128 B │
//   └─────────────────────┴──────────────────────────┴─────────────────────┘
//
// Header, 128 bytes:
//
//    0 magic u32 'LIM1'  4 version u32      8 field u32       12 flags u32 (bit 0 emit every)
//   16 op u32           20 capacity u32    24 outCapacity u32 28 outCount u32
//   32 above f64        40 below f64       48 rearmAbove f64  56 rearmBelow f64
//   64 ttlNs i64        72 tableOffset u32 76 outOffset u32
//   80 events u64       88 crossings u64   96 alerts u64     104 skipped u64
//  112 untracked u64   120 rearms u64
//
// An absent bound is stored as ±Infinity (and so is its re-arm level): a
// finite value never crosses it, and a key restored in a breach of a bound the
// new config dropped re-arms on its next event.
//
// Per-key value in the state table (8 bytes):
//
//   0 state u32 (1 above, 2 below) │ 4 run u32 (breaching events in this episode)
//
// Only keys IN BREACH have an entry: a key within its limits has nothing to
// remember, so the table is sized for simultaneous breaches, not for every
// trader × asset class seen, and the common case (within, no entry) is one
// probe that misses. Re-arming removes the entry. A breach that cannot be
// recorded (table full, nothing expired) is still alerted — an extra alert is
// better than a missed one — and counted as untracked.
//
// Output record: kind OUT_ANOMALY, aux 0 above / 1 below, start = end = event
// ts, values: 0 value, 1 the limit crossed, 2 crossing (1 on the event that
// entered the breach, 0 on later breaching events with emit every), 3 run.
import { stFind, stSlotValue, stRemoveSlot, stUpsert, SLOT_TOUCHED, SLOT_VALUE } from '../shared/state_table';
import { IN_TS, IN_SEQ, IN_KEY, IN_FLAGS, IN_FIELDS, FLAG_CONTROL, OUT_BYTES, OUT_ANOMALY } from '../shared/records';
import { regionBytes, regionInit, writePointOutput } from '../shared/region_operator';

const LC_MAGIC: u32 = 0x314d494c; // 'LIM1' little-endian
const LC_VERSION: u32 = 1;
const LC_HEADER_BYTES: u32 = 128;
const LC_VALUE_BYTES: u32 = 8;
const LC_FLAG_EVERY: u32 = 1;

const LC_ABOVE: u32 = 1;
const LC_BELOW: u32 = 2;
const LC_AUX_ABOVE: u32 = 0;
const LC_AUX_BELOW: u32 = 1;

const H_FIELD: usize = 8;
const H_FLAGS: usize = 12;
const H_OP: usize = 16;
const H_CAPACITY: usize = 20;
const H_OUT_CAPACITY: usize = 24;
const H_OUT_COUNT: usize = 28;
const H_ABOVE: usize = 32;
const H_BELOW: usize = 40;
const H_REARM_ABOVE: usize = 48;
const H_REARM_BELOW: usize = 56;
const H_TTL: usize = 64;
const H_TABLE: usize = 72;
const H_OUT: usize = 76;
const H_EVENTS: usize = 80;
const H_CROSSINGS: usize = 88;
const H_ALERTS: usize = 96;
const H_SKIPPED: usize = 104;
const H_UNTRACKED: usize = 112;
const H_REARMS: usize = 120;

const V_STATE: usize = 0;
const V_RUN: usize = 4;

/** Bytes a region needs: header + state table + output area. */
export function limit_bytes(capacity: u32, outCapacity: u32): usize {
  return regionBytes(LC_HEADER_BYTES, capacity, LC_VALUE_BYTES, outCapacity);
}

/**
 * Lays out a fresh region at `base` (64-byte aligned). The host computes the
 * re-arm levels (so both engines use the very same doubles).
 */
export function limit_init(
  base: usize, field: u32, flags: u32, op: u32, capacity: u32, outCapacity: u32,
  above: f64, below: f64, rearmAbove: f64, rearmBelow: f64, ttlNs: i64,
): void {
  regionInit(base, LC_HEADER_BYTES, LC_MAGIC, LC_VERSION, H_TABLE, H_OUT, capacity, LC_VALUE_BYTES, ttlNs);
  store<u32>(base + H_FIELD, field);
  store<u32>(base + H_FLAGS, flags);
  store<u32>(base + H_OP, op);
  store<u32>(base + H_CAPACITY, capacity);
  store<u32>(base + H_OUT_CAPACITY, outCapacity);
  store<f64>(base + H_ABOVE, above);
  store<f64>(base + H_BELOW, below);
  store<f64>(base + H_REARM_ABOVE, rearmAbove);
  store<f64>(base + H_REARM_BELOW, rearmBelow);
  store<i64>(base + H_TTL, ttlNs);
}

// @ts-ignore: decorator
@inline
function emit(at: usize, op: u32, key: u32, aux: u32, ts: i64, seq: u64, x: f64, limit: f64, crossing: f64, run: u32): void {
  writePointOutput(at, OUT_ANOMALY, op, key, aux, ts, seq, x, limit, crossing, <f64>run, 0);
}

/**
 * Checks `count` input records of `stride` bytes at `ptr`. Returns how many
 * were consumed: fewer than `count` only when the output area is full (each
 * event emits at most one record, so it stops before an event it might not
 * have room for); the caller drains and resumes from there.
 */
export function limit_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  const fieldAt = IN_FIELDS + (<usize>load<u32>(base + H_FIELD) << 3);
  const every = (load<u32>(base + H_FLAGS) & LC_FLAG_EVERY) != 0;
  const op = load<u32>(base + H_OP);
  const outCapacity = load<u32>(base + H_OUT_CAPACITY);
  const above = load<f64>(base + H_ABOVE);
  const below = load<f64>(base + H_BELOW);
  const rearmAbove = load<f64>(base + H_REARM_ABOVE);
  const rearmBelow = load<f64>(base + H_REARM_BELOW);
  const table = base + load<u32>(base + H_TABLE);
  const outBase = base + load<u32>(base + H_OUT);
  let outCount = load<u32>(base + H_OUT_COUNT);
  let events = load<u64>(base + H_EVENTS);
  let crossings = load<u64>(base + H_CROSSINGS);
  let alerts = load<u64>(base + H_ALERTS);
  let skipped = load<u64>(base + H_SKIPPED);
  let untracked = load<u64>(base + H_UNTRACKED);
  let rearms = load<u64>(base + H_REARMS);

  let i: u32 = 0;
  for (; i < count; i++) {
    if (outCount >= outCapacity) break;
    const rec = ptr + <usize>i * stride;
    if ((load<u32>(rec + IN_FLAGS) & FLAG_CONTROL) != 0) continue;
    const x = load<f64>(rec + fieldAt);
    if (isNaN<f64>(x)) { skipped++; continue; }
    events++;
    const key = load<u32>(rec + IN_KEY);
    // Beyond a bound right now: which one (0 = within both).
    const side: u32 = x > above ? LC_ABOVE : x < below ? LC_BELOW : 0;
    const slot = stFind(table, <u64>key);
    if (slot < 0) {
      if (side == 0) continue; // within, and was within: the common case
      const ts = load<i64>(rec + IN_TS);
      const v = stUpsert(table, <u64>key, ts);
      if (v == 0) untracked++;
      else { store<u32>(v + V_STATE, side); store<u32>(v + V_RUN, 1); }
      crossings++;
      alerts++;
      emit(outBase + <usize>outCount * OUT_BYTES, op, key, side == LC_ABOVE ? LC_AUX_ABOVE : LC_AUX_BELOW,
        ts, load<u64>(rec + IN_SEQ), x, side == LC_ABOVE ? above : below, 1, 1);
      outCount++;
      continue;
    }
    const v = stSlotValue(table, slot);
    const ts = load<i64>(rec + IN_TS);
    // Any event of a breaching key keeps it alive for the TTL.
    store<i64>(v - SLOT_VALUE + SLOT_TOUCHED, ts);
    const state = load<u32>(v + V_STATE);
    if (side == state) {
      const run = load<u32>(v + V_RUN);
      const next = run == u32.MAX_VALUE ? run : run + 1;
      store<u32>(v + V_RUN, next);
      if (every) {
        alerts++;
        emit(outBase + <usize>outCount * OUT_BYTES, op, key, side == LC_ABOVE ? LC_AUX_ABOVE : LC_AUX_BELOW,
          ts, load<u64>(rec + IN_SEQ), x, side == LC_ABOVE ? above : below, 0, next);
        outCount++;
      }
    } else if (side != 0) {
      // Straight from one bound's breach to the other's: a new crossing.
      store<u32>(v + V_STATE, side);
      store<u32>(v + V_RUN, 1);
      crossings++;
      alerts++;
      emit(outBase + <usize>outCount * OUT_BYTES, op, key, side == LC_ABOVE ? LC_AUX_ABOVE : LC_AUX_BELOW,
        ts, load<u64>(rec + IN_SEQ), x, side == LC_ABOVE ? above : below, 1, 1);
      outCount++;
    } else if (state == LC_ABOVE ? x <= rearmAbove : x >= rearmBelow) {
      stRemoveSlot(table, <u32>slot);
      rearms++;
    }
    // else: back inside the limit but within the hysteresis band: still in breach.
  }

  store<u32>(base + H_OUT_COUNT, outCount);
  store<u64>(base + H_EVENTS, events);
  store<u64>(base + H_CROSSINGS, crossings);
  store<u64>(base + H_ALERTS, alerts);
  store<u64>(base + H_SKIPPED, skipped);
  store<u64>(base + H_UNTRACKED, untracked);
  store<u64>(base + H_REARMS, rearms);
  return i;
}
