// TypeScript twin of assembly/aggregates.ts (which owns the accumulator layout
// diagram). Same operations in the same order, so the bits agree. 64-bit times
// and sequence numbers are handled as (hi, lo) u32 halves: BigInt would
// allocate per event.
import { OUT_VALUES } from '../records.js';

export const AGG_BYTES = 104;
export const A_COUNT = 0, A_SUM = 8, A_MIN = 16, A_MAX = 24, A_MEAN = 32, A_M2 = 40;
export const A_FIRST_TS = 48, A_FIRST = 56, A_LAST_TS = 64, A_LAST = 72, A_PQ = 80, A_Q = 88, A_MAX_SEQ = 96;

/** Aggregate mask (bit i = AGG i of host/records.ts) and the per-event work
 *  it needs: see assembly/aggregates.ts. */
export const ALL_AGGS = 0x3ff;
export const NEED_WELFORD = 1, NEED_FIRST_LAST = 2, NEED_VWAP = 4, NEED_ALL = 7;

export function aggNeeds(mask: number): number {
  return ((mask & 0x70) !== 0 ? NEED_WELFORD : 0) | ((mask & 0x180) !== 0 ? NEED_FIRST_LAST : 0) | ((mask & 0x200) !== 0 ? NEED_VWAP : 0);
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
    f64[fa] = 1; f64[fa + 1] = v; f64[fa + 2] = v; f64[fa + 3] = v; f64[fa + 4] = v; f64[fa + 5] = 0;
    u32[wa + 12] = tsLo; u32[wa + 13] = tsHi; f64[fa + 7] = v;
    u32[wa + 16] = tsLo; u32[wa + 17] = tsHi; f64[fa + 9] = v;
    f64[fa + 10] = p * q; f64[fa + 11] = q;
    u32[wa + 24] = seqLo; u32[wa + 25] = seqHi;
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
    const mean = f64[fa + 4];
    const d = v - mean;
    const mean2 = mean + d / n;
    f64[fa + 4] = mean2;
    f64[fa + 5] = f64[fa + 5] + d * (v - mean2);
  }
  if ((need & NEED_FIRST_LAST) !== 0) {
    if (lt64(tsHi, tsLo, i32[wa + 13], u32[wa + 12])) {
      u32[wa + 12] = tsLo; u32[wa + 13] = tsHi; f64[fa + 7] = v;
    }
    if (!lt64(tsHi, tsLo, i32[wa + 17], u32[wa + 16])) {
      u32[wa + 16] = tsLo; u32[wa + 17] = tsHi; f64[fa + 9] = v;
    }
  }
  if ((need & NEED_VWAP) !== 0) {
    f64[fa + 10] = f64[fa + 10] + p * q;
    f64[fa + 11] = f64[fa + 11] + q;
  }
  const sHi = u32[wa + 25], sLo = u32[wa + 24];
  if (seqHi > sHi || (seqHi === sHi && seqLo > sLo)) { u32[wa + 24] = seqLo; u32[wa + 25] = seqHi; }
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
  const ma = f64[fd + 4], mb = f64[fs + 4];
  const d = mb - ma;
  f64[fd] = n;
  f64[fd + 1] = f64[fd + 1] + f64[fs + 1];
  const mn = f64[fd + 2], smn = f64[fs + 2];
  f64[fd + 2] = smn < mn ? smn : mn;
  const mx = f64[fd + 3], smx = f64[fs + 3];
  f64[fd + 3] = smx > mx ? smx : mx;
  f64[fd + 4] = ma + d * nb / n;
  f64[fd + 5] = f64[fd + 5] + f64[fs + 5] + d * d * na * nb / n;
  if (lt64(i32[ws + 13], u32[ws + 12], i32[wd + 13], u32[wd + 12])) {
    u32[wd + 12] = u32[ws + 12]; u32[wd + 13] = u32[ws + 13]; f64[fd + 7] = f64[fs + 7];
  }
  if (!lt64(i32[ws + 17], u32[ws + 16], i32[wd + 17], u32[wd + 16])) {
    u32[wd + 16] = u32[ws + 16]; u32[wd + 17] = u32[ws + 17]; f64[fd + 9] = f64[fs + 9];
  }
  f64[fd + 10] = f64[fd + 10] + f64[fs + 10];
  f64[fd + 11] = f64[fd + 11] + f64[fs + 11];
  const sHi = u32[ws + 25], sLo = u32[ws + 24], dHi = u32[wd + 25], dLo = u32[wd + 24];
  if (sHi > dHi || (sHi === dHi && sLo > dLo)) { u32[wd + 24] = sLo; u32[wd + 25] = sHi; }
}

/** Output values v0..v10 of a window record whose base is `out`; aggregates outside `mask` are NaN. */
export function aggFinish(m: Mem, a: number, out: number, mask = ALL_AGGS): void {
  const f64 = m.f64, fa = a >>> 3, fo = (out + OUT_VALUES) >>> 3;
  const n = f64[fa];
  const variance = f64[fa + 5] / n;
  const q = f64[fa + 11];
  f64[fo] = n;
  f64[fo + 1] = f64[fa + 1];
  f64[fo + 2] = f64[fa + 2];
  f64[fo + 3] = f64[fa + 3];
  f64[fo + 4] = f64[fa + 4];
  f64[fo + 5] = variance;
  f64[fo + 6] = Math.sqrt(variance);
  f64[fo + 7] = f64[fa + 7];
  f64[fo + 8] = f64[fa + 9];
  f64[fo + 9] = q !== 0 ? f64[fa + 10] / q : NaN;
  f64[fo + 10] = 0;
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
    case 4: return f64[fa + 4];
    case 5: return f64[fa + 5] / f64[fa];
    case 6: return Math.sqrt(f64[fa + 5] / f64[fa]);
    case 7: return f64[fa + 7];
    case 8: return f64[fa + 9];
    case 9: { const q = f64[fa + 11]; return q !== 0 ? f64[fa + 10] / q : NaN; }
  }
  return NaN;
}
