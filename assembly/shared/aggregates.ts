// The accumulator every window keeps per (key, window) or per pane: all ten
// aggregates at once, because computing them together costs a few adds more
// than computing one, and a single layout lets panes and sessions merge.
//
//   0      8      16     24     32     40     48       56     64     72       80     88      96      104
//   ┌──────┬──────┬──────┬──────┬──────┬──────┬────────┬──────┬──────┬────────┬──────┬───────┬──────┐
//   │count │ sum  │ min  │ max  │ Σp·q │  Σq  │ maxSeq │ mean │  m2  │firstTs │first │lastTs │ last │
//   │ f64  │ f64  │ f64  │ f64  │ f64  │ f64  │ u64    │ f64  │ f64  │ i64    │ f64  │ i64   │ f64  │
//   └──────┴──────┴──────┴──────┴──────┴──────┴────────┴──────┴──────┴────────┴──────┴───────┴──────┘
//   ├────────────── lean prefix (AGG_LEAN_BYTES = 56) ─────────┤├──────────── tail (48 B) ────────────┤
//
// The fields every mask maintains come first, so a window whose mask needs
// neither Welford nor first/last can keep only the 56-byte prefix (the "lean"
// accumulator): with the 8-byte key it fills exactly one 64-byte cache line of
// the tumbling window's table. aggFinish, aggValue and the maxSeq stamp read
// the same offsets in both sizes; the tail is read only for aggregates that
// need it, which a lean accumulator's mask never asks for.
//
// Variance is the POPULATION variance m2 / n (var_samp: the sample variance
// m2 / (n − 1), from the same state), kept with Welford's update (and
// Chan's formula when merging): sum/sum-of-squares cancels catastrophically on
// prices like 10_000.01 ± 0.01, Welford does not. first/last are by EVENT time
// (ties: the earlier arrival stays first, the later arrival becomes last), not
// by arrival. VWAP = Σp·q / Σq; NaN when Σq = 0 (no quantity seen).
//
// Aggregate mask (bit i = aggregate i of the AGG order in host/records.ts,
// ALL_AGGS by default): only what the asked-for aggregates need is maintained
// per event. count, sum, min, max and maxSeq always (count marks emptiness,
// maxSeq stamps the output); Welford (a division per event) only for
// mean/variance/stddev; first/last (two i64 compares) only for first/last;
// Σp·q and Σq only for VWAP. The first event of an accumulator initialises
// the whole prefix whatever the mask, and the whole tail whenever the mask
// needs any of it (NEED_TAIL), so both engines leave identical bytes and a
// lean accumulator never writes past its 56 bytes; aggFinish writes NaN for
// every aggregate outside the mask.
//
// An all-zero accumulator is the empty one (count 0), which is what the state
// table hands out for a new key. The TypeScript twin (host/operators/
// aggregates.ts) performs the same floating-point operations in the same order,
// so both engines produce identical bits.

import { OUT_VALUES } from './records';

export const AGG_BYTES: usize = 104;
export const AGG_LEAN_BYTES: usize = 56;
export const A_COUNT: usize = 0;
export const A_SUM: usize = 8;
export const A_MIN: usize = 16;
export const A_MAX: usize = 24;
export const A_PQ: usize = 32;
export const A_Q: usize = 40;
export const A_MAX_SEQ: usize = 48;
export const A_MEAN: usize = 56;
export const A_M2: usize = 64;
export const A_FIRST_TS: usize = 72;
export const A_FIRST: usize = 80;
export const A_LAST_TS: usize = 88;
export const A_LAST: usize = 96;

export const ALL_AGGS: u32 = 0xfff;
/** Aggregates Welford's state gives: mean, variance, stddev, var_samp, stddev_samp. */
const WELFORD_AGGS: u32 = 0xc70;
/** The sample variance/stddev (var_samp, stddev_samp): output slot 10, see aggFinish. */
const SAMPLE_AGGS: u32 = 0xc00;
export const NEED_WELFORD: u32 = 1;
export const NEED_FIRST_LAST: u32 = 2;
export const NEED_VWAP: u32 = 4;
export const NEED_ALL: u32 = 7;
/** Needs that live in the tail: without them the lean prefix is the whole accumulator. */
export const NEED_TAIL: u32 = NEED_WELFORD | NEED_FIRST_LAST;

/** The per-event work an aggregate mask needs (NEED_* bits). */
export function aggNeeds(mask: u32): u32 {
  return ((mask & WELFORD_AGGS) != 0 ? NEED_WELFORD : 0) | ((mask & 0x180) != 0 ? NEED_FIRST_LAST : 0) | ((mask & 0x200) != 0 ? NEED_VWAP : 0);
}

/** Accumulator bytes a mask needs when only that mask is maintained (tumbling):
 *  the lean prefix unless Welford or first/last is asked for. */
export function aggBytesFor(mask: u32): u32 {
  return (aggNeeds(mask) & NEED_TAIL) != 0 ? <u32>AGG_BYTES : <u32>AGG_LEAN_BYTES;
}

// @ts-ignore: decorator
@inline
export function aggUpdate(a: usize, ts: i64, seq: u64, v: f64, p: f64, q: f64, need: u32 = NEED_ALL): void {
  const n0 = load<f64>(a + A_COUNT);
  if (n0 == 0) {
    store<f64>(a + A_COUNT, 1);
    store<f64>(a + A_SUM, v);
    store<f64>(a + A_MIN, v);
    store<f64>(a + A_MAX, v);
    store<f64>(a + A_PQ, p * q);
    store<f64>(a + A_Q, q);
    store<u64>(a + A_MAX_SEQ, seq);
    if (need & NEED_TAIL) {
      store<f64>(a + A_MEAN, v);
      store<f64>(a + A_M2, 0);
      store<i64>(a + A_FIRST_TS, ts);
      store<f64>(a + A_FIRST, v);
      store<i64>(a + A_LAST_TS, ts);
      store<f64>(a + A_LAST, v);
    }
    return;
  }
  const n = n0 + 1;
  store<f64>(a + A_COUNT, n);
  store<f64>(a + A_SUM, load<f64>(a + A_SUM) + v);
  // min and max side by side: pmin(m, v) is exactly `v < m ? v : m` and
  // pmax(m, v) `m < v ? v : m` (NaN and ±0 included, as the twin's scalar
  // compares), but without a branch: V8 compiled the scalar selects to
  // branches that mispredicted whenever a value set a new min or max (about
  // one event in ten at 50 events per window).
  const mm = v128.load(a + A_MIN), vv = f64x2.splat(v);
  v128.store(a + A_MIN, v128.shuffle<f64>(f64x2.pmin(mm, vv), f64x2.pmax(mm, vv), 0, 3));
  if (need & NEED_WELFORD) {
    const mean = load<f64>(a + A_MEAN);
    const d = v - mean;
    const mean2 = mean + d / n;
    store<f64>(a + A_MEAN, mean2);
    store<f64>(a + A_M2, load<f64>(a + A_M2) + d * (v - mean2));
  }
  if (need & NEED_FIRST_LAST) {
    if (ts < load<i64>(a + A_FIRST_TS)) {
      store<i64>(a + A_FIRST_TS, ts);
      store<f64>(a + A_FIRST, v);
    }
    if (ts >= load<i64>(a + A_LAST_TS)) {
      store<i64>(a + A_LAST_TS, ts);
      store<f64>(a + A_LAST, v);
    }
  }
  if (need & NEED_VWAP) {
    store<f64>(a + A_PQ, load<f64>(a + A_PQ) + p * q);
    store<f64>(a + A_Q, load<f64>(a + A_Q) + q);
  }
  const s = load<u64>(a + A_MAX_SEQ);
  store<u64>(a + A_MAX_SEQ, seq > s ? seq : s);
}

/** dst ⊕= src. `src` is the later pane/session when times tie. */
export function aggMerge(dst: usize, src: usize): void {
  const nb = load<f64>(src + A_COUNT);
  if (nb == 0) return;
  const na = load<f64>(dst + A_COUNT);
  if (na == 0) {
    memory.copy(dst, src, AGG_BYTES);
    return;
  }
  const n = na + nb;
  const ma = load<f64>(dst + A_MEAN), mb = load<f64>(src + A_MEAN);
  const d = mb - ma;
  store<f64>(dst + A_COUNT, n);
  store<f64>(dst + A_SUM, load<f64>(dst + A_SUM) + load<f64>(src + A_SUM));
  const mn = load<f64>(dst + A_MIN), smn = load<f64>(src + A_MIN);
  store<f64>(dst + A_MIN, smn < mn ? smn : mn);
  const mx = load<f64>(dst + A_MAX), smx = load<f64>(src + A_MAX);
  store<f64>(dst + A_MAX, smx > mx ? smx : mx);
  store<f64>(dst + A_MEAN, ma + d * nb / n);
  store<f64>(dst + A_M2, load<f64>(dst + A_M2) + load<f64>(src + A_M2) + d * d * na * nb / n);
  if (load<i64>(src + A_FIRST_TS) < load<i64>(dst + A_FIRST_TS)) {
    store<i64>(dst + A_FIRST_TS, load<i64>(src + A_FIRST_TS));
    store<f64>(dst + A_FIRST, load<f64>(src + A_FIRST));
  }
  if (load<i64>(src + A_LAST_TS) >= load<i64>(dst + A_LAST_TS)) {
    store<i64>(dst + A_LAST_TS, load<i64>(src + A_LAST_TS));
    store<f64>(dst + A_LAST, load<f64>(src + A_LAST));
  }
  store<f64>(dst + A_PQ, load<f64>(dst + A_PQ) + load<f64>(src + A_PQ));
  store<f64>(dst + A_Q, load<f64>(dst + A_Q) + load<f64>(src + A_Q));
  const s = load<u64>(dst + A_MAX_SEQ), ss = load<u64>(src + A_MAX_SEQ);
  store<u64>(dst + A_MAX_SEQ, ss > s ? ss : s);
}

/** Writes the output values v0..v10 of a window record at `out` (the record's
 *  base); aggregates outside `mask` are NaN. v10 is the SAMPLE variance
 *  m2 / (n − 1) when the mask asks for var_samp or stddev_samp (0 otherwise, as
 *  before they existed): the record has eleven value slots, so stddev_samp is
 *  not stored but is √v10 wherever it is read (host/records.ts aggregateValue;
 *  √ is correctly rounded in WASM and JS alike, so the bits agree with
 *  aggValue's). With one event m2 = 0 and 0 / 0 is NaN, which is output as
 *  null: SQL's VAR_SAMP of one row is NULL. The tail is read only when the
 *  mask asks for a tail aggregate, so a lean accumulator is never read past
 *  its 56 bytes. */
export function aggFinish(a: usize, out: usize, mask: u32 = ALL_AGGS): void {
  const v = out + OUT_VALUES;
  const n = load<f64>(a + A_COUNT);
  const q = load<f64>(a + A_Q);
  store<f64>(v, n);
  store<f64>(v + 8, load<f64>(a + A_SUM));
  store<f64>(v + 16, load<f64>(a + A_MIN));
  store<f64>(v + 24, load<f64>(a + A_MAX));
  if ((mask & 0x1f0) != 0) {
    const variance = load<f64>(a + A_M2) / n;
    store<f64>(v + 32, load<f64>(a + A_MEAN));
    store<f64>(v + 40, variance);
    store<f64>(v + 48, Math.sqrt(variance));
    store<f64>(v + 56, load<f64>(a + A_FIRST));
    store<f64>(v + 64, load<f64>(a + A_LAST));
  }
  store<f64>(v + 72, q != 0 ? load<f64>(a + A_PQ) / q : NaN);
  store<f64>(v + 80, (mask & SAMPLE_AGGS) != 0 ? load<f64>(a + A_M2) / (n - 1) : 0);
  if (mask != ALL_AGGS) {
    for (let i: u32 = 0; i < 10; i++) if ((mask & (1 << i)) == 0) store<f64>(v + (<usize>i << 3), NaN);
  }
}

/** One aggregate (AGG order of host/records.ts) of a non-empty accumulator,
 *  computed exactly as aggFinish computes it, so an enriched field equals the
 *  window output's value bit for bit. */
export function aggValue(a: usize, which: u32): f64 {
  switch (which) {
    case 0: return load<f64>(a + A_COUNT);
    case 1: return load<f64>(a + A_SUM);
    case 2: return load<f64>(a + A_MIN);
    case 3: return load<f64>(a + A_MAX);
    case 4: return load<f64>(a + A_MEAN);
    case 5: return load<f64>(a + A_M2) / load<f64>(a + A_COUNT);
    case 6: return Math.sqrt(load<f64>(a + A_M2) / load<f64>(a + A_COUNT));
    case 7: return load<f64>(a + A_FIRST);
    case 8: return load<f64>(a + A_LAST);
    case 9: {
      const q = load<f64>(a + A_Q);
      return q != 0 ? load<f64>(a + A_PQ) / q : NaN;
    }
    case 10: return load<f64>(a + A_M2) / (load<f64>(a + A_COUNT) - 1);
    case 11: return Math.sqrt(load<f64>(a + A_M2) / (load<f64>(a + A_COUNT) - 1));
  }
  return NaN;
}
