// TypeScript twin of assembly/shared/aggregates.ts (which owns the accumulator layout
// diagram). Same operations in the same order, so the bits agree. 64-bit times
// and sequence numbers are handled as (hi, lo) u32 halves: BigInt would
// allocate per event.
import { OUT_VALUES } from '../../records.js';

export const AGG_BYTES = 104, AGG_LEAN_BYTES = 56;
export const A_COUNT = 0, A_SUM = 8, A_MIN = 16, A_MAX = 24, A_PQ = 32, A_Q = 40, A_MAX_SEQ = 48;
export const A_MEAN = 56, A_M2 = 64, A_FIRST_TS = 72, A_FIRST = 80, A_LAST_TS = 88, A_LAST = 96;

/** Aggregate mask (bit i = AGG i of host/records.ts) and the per-event work
 *  it needs: see assembly/shared/aggregates.ts. */
export const ALL_AGGS = 0xfff;
const WELFORD_AGGS = 0xc70, SAMPLE_AGGS = 0xc00;
export const NEED_WELFORD = 1, NEED_FIRST_LAST = 2, NEED_VWAP = 4, NEED_ALL = 7;
export const NEED_TAIL = NEED_WELFORD | NEED_FIRST_LAST;

export function aggNeeds(mask: number): number {
  return ((mask & WELFORD_AGGS) !== 0 ? NEED_WELFORD : 0) | ((mask & 0x180) !== 0 ? NEED_FIRST_LAST : 0) | ((mask & 0x200) !== 0 ? NEED_VWAP : 0);
}

/** Accumulator bytes when only `mask` is maintained: the lean prefix unless Welford or first/last is asked for. */
export function aggBytesFor(mask: number): number {
  return (aggNeeds(mask) & NEED_TAIL) !== 0 ? AGG_BYTES : AGG_LEAN_BYTES;
}

/** Typed views over one partition memory, shared by the JS engines. */
export interface Mem {
  f64: Float64Array;
  u32: Uint32Array;
  i32: Int32Array;
  u8: Uint8Array;
  dv: DataView;
}

export function memViews(memory: WebAssembly.Memory): Mem {
  const b = memory.buffer;
  return { f64: new Float64Array(b), u32: new Uint32Array(b), i32: new Int32Array(b), u8: new Uint8Array(b), dv: new DataView(b) };
}

/** a < b for i64 values given as (signed hi, unsigned lo). */
export function lt64(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  return aHi < bHi || (aHi === bHi && aLo < bLo);
}

export function aggUpdate(m: Mem, a: number, tsHi: number, tsLo: number, seqHi: number, seqLo: number, v: number, p: number, q: number, need = NEED_ALL): void {
  const f64 = m.f64, u32 = m.u32, i32 = m.i32;
  const fa = a >>> 3, wa = a >>> 2;
  const n0 = f64[fa];
  if (n0 === 0) {
    f64[fa] = 1; f64[fa + 1] = v; f64[fa + 2] = v; f64[fa + 3] = v;
    f64[fa + 4] = p * q; f64[fa + 5] = q;
    u32[wa + 12] = seqLo; u32[wa + 13] = seqHi;
    if ((need & NEED_TAIL) !== 0) {
      f64[fa + 7] = v; f64[fa + 8] = 0;
      u32[wa + 18] = tsLo; u32[wa + 19] = tsHi; f64[fa + 10] = v;
      u32[wa + 22] = tsLo; u32[wa + 23] = tsHi; f64[fa + 12] = v;
    }
    return;
  }
  const n = n0 + 1;
  f64[fa] = n;
  f64[fa + 1] = f64[fa + 1] + v;
  const mn = f64[fa + 2];
  f64[fa + 2] = v < mn ? v : mn;
  const mx = f64[fa + 3];
  f64[fa + 3] = v > mx ? v : mx;
  if ((need & NEED_WELFORD) !== 0) {
    const mean = f64[fa + 7];
    const d = v - mean;
    const mean2 = mean + d / n;
    f64[fa + 7] = mean2;
    f64[fa + 8] = f64[fa + 8] + d * (v - mean2);
  }
  if ((need & NEED_FIRST_LAST) !== 0) {
    if (lt64(tsHi, tsLo, i32[wa + 19], u32[wa + 18])) {
      u32[wa + 18] = tsLo; u32[wa + 19] = tsHi; f64[fa + 10] = v;
    }
    if (!lt64(tsHi, tsLo, i32[wa + 23], u32[wa + 22])) {
      u32[wa + 22] = tsLo; u32[wa + 23] = tsHi; f64[fa + 12] = v;
    }
  }
  if ((need & NEED_VWAP) !== 0) {
    f64[fa + 4] = f64[fa + 4] + p * q;
    f64[fa + 5] = f64[fa + 5] + q;
  }
  const sHi = u32[wa + 13], sLo = u32[wa + 12];
  if (seqHi > sHi || (seqHi === sHi && seqLo > sLo)) { u32[wa + 12] = seqLo; u32[wa + 13] = seqHi; }
}

/** dst ⊕= src (Chan et al. for the variance); `src` is the later part on ties. */
export function aggMerge(m: Mem, dst: number, src: number): void {
  const f64 = m.f64, u32 = m.u32, i32 = m.i32;
  const fd = dst >>> 3, fs = src >>> 3, wd = dst >>> 2, ws = src >>> 2;
  const nb = f64[fs];
  if (nb === 0) return;
  const na = f64[fd];
  if (na === 0) { m.u8.copyWithin(dst, src, src + AGG_BYTES); return; }
  const n = na + nb;
  const ma = f64[fd + 7], mb = f64[fs + 7];
  const d = mb - ma;
  f64[fd] = n;
  f64[fd + 1] = f64[fd + 1] + f64[fs + 1];
  const mn = f64[fd + 2], smn = f64[fs + 2];
  f64[fd + 2] = smn < mn ? smn : mn;
  const mx = f64[fd + 3], smx = f64[fs + 3];
  f64[fd + 3] = smx > mx ? smx : mx;
  f64[fd + 7] = ma + d * nb / n;
  f64[fd + 8] = f64[fd + 8] + f64[fs + 8] + d * d * na * nb / n;
  if (lt64(i32[ws + 19], u32[ws + 18], i32[wd + 19], u32[wd + 18])) {
    u32[wd + 18] = u32[ws + 18]; u32[wd + 19] = u32[ws + 19]; f64[fd + 10] = f64[fs + 10];
  }
  if (!lt64(i32[ws + 23], u32[ws + 22], i32[wd + 23], u32[wd + 22])) {
    u32[wd + 22] = u32[ws + 22]; u32[wd + 23] = u32[ws + 23]; f64[fd + 12] = f64[fs + 12];
  }
  f64[fd + 4] = f64[fd + 4] + f64[fs + 4];
  f64[fd + 5] = f64[fd + 5] + f64[fs + 5];
  const sHi = u32[ws + 13], sLo = u32[ws + 12], dHi = u32[wd + 13], dLo = u32[wd + 12];
  if (sHi > dHi || (sHi === dHi && sLo > dLo)) { u32[wd + 12] = sLo; u32[wd + 13] = sHi; }
}

/** Output values v0..v10 of a window record whose base is `out`; aggregates outside `mask` are NaN;
 *  v10 = the sample variance when the mask asks for var_samp/stddev_samp (see the WASM twin).
 *  The tail is read only when the mask asks for a tail aggregate (lean accumulators). */
export function aggFinish(m: Mem, a: number, out: number, mask = ALL_AGGS): void {
  const f64 = m.f64, fa = a >>> 3, fo = (out + OUT_VALUES) >>> 3;
  const n = f64[fa];
  const q = f64[fa + 5];
  f64[fo] = n;
  f64[fo + 1] = f64[fa + 1];
  f64[fo + 2] = f64[fa + 2];
  f64[fo + 3] = f64[fa + 3];
  if ((mask & 0x1f0) !== 0) {
    const variance = f64[fa + 8] / n;
    f64[fo + 4] = f64[fa + 7];
    f64[fo + 5] = variance;
    f64[fo + 6] = Math.sqrt(variance);
    f64[fo + 7] = f64[fa + 10];
    f64[fo + 8] = f64[fa + 12];
  }
  f64[fo + 9] = q !== 0 ? f64[fa + 4] / q : NaN;
  f64[fo + 10] = (mask & SAMPLE_AGGS) !== 0 ? f64[fa + 8] / (n - 1) : 0;
  if (mask !== ALL_AGGS) for (let i = 0; i < 10; i++) if ((mask & (1 << i)) === 0) f64[fo + i] = NaN;
}

/** One aggregate (AGG order) of a non-empty accumulator, the same operations as aggFinish. */
export function aggValue(m: Mem, a: number, which: number): number {
  const f64 = m.f64, fa = a >>> 3;
  switch (which) {
    case 0: return f64[fa];
    case 1: return f64[fa + 1];
    case 2: return f64[fa + 2];
    case 3: return f64[fa + 3];
    case 4: return f64[fa + 7];
    case 5: return f64[fa + 8] / f64[fa];
    case 6: return Math.sqrt(f64[fa + 8] / f64[fa]);
    case 7: return f64[fa + 10];
    case 8: return f64[fa + 12];
    case 9: { const q = f64[fa + 5]; return q !== 0 ? f64[fa + 4] / q : NaN; }
    case 10: return f64[fa + 8] / (f64[fa] - 1);
    case 11: return Math.sqrt(f64[fa + 8] / (f64[fa] - 1));
  }
  return NaN;
}
