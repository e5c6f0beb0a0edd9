// Column packing of input records for the ingest log. Why: with exactly-once
// delivery every event is written and fdatasynced before its producer is
// acknowledged, and on these VMs the disk (not the CPU) then sets the ingest
// rate. A trade ring record is 88 bytes, but most of its 8-byte words are
// redundant within a frame: the seq counts up by one, the enrichment slots
// are NaN, flags are 0, and quantities, sides and ids are small integers
// stored as f64. Packed, a FlatBuffers trade frame logs ~30 bytes an event.
//
// A packed payload holds `count` records of `stride` bytes, column by column,
// where column c is the c-th 8-byte word of every record (little-endian):
//
//   0          2          4                  4+W      (8-aligned)
//   ┌──────────┬──────────┬──────────────────┬────────┬──────────┬──────────┬─────┐
//   │stride u16│ W u16    │ mode u8 × W      │ pad    │ column 0 │ column 1 │ ... │
//   └──────────┴──────────┴──────────────────┴────────┴──────────┴──────────┴─────┘
//
//   mode     column bytes              record i's word
//   RAW      8 × count                 as stored
//   CONST    8                         the stored word, for every record
//   STEP     8 (base)                  base + i, as a u64 (the seq column)
//   DELTA    8 (base) + 4 × count      base + d_i, d_i an i32, 64-bit two's complement
//                                      (event times within ±2 s of the first, key|flags words)
//   INT8     1 × count                 the f64 of a non-negative integer below 2^8
//   INT16    2 × count                 … below 2^16
//   INT32    4 × count                 … below 2^32
//
// Each column is padded to a multiple of 8 bytes, so every column can be read
// and written through typed arrays (the payload itself starts 8-aligned in a
// log slab; readers copy a misaligned one first).
//
// Every mode reproduces the record's bytes exactly: INT modes only take words
// whose f64 is such an integer (−0 and NaN never qualify, and an integer's
// f64 has one bit pattern), so unpack(pack(x)) === x byte for byte.
//
// Speed: the ingest thread packs every logged record. Packing checks every
// record against its plan as it writes it (one compare a word), so the log
// can reuse the previous batch's plan (a producer's batches look alike) and
// read each batch about once; a batch the plan does not fit is planned anew.
// Loops run over typed arrays, not a DataView.
export const MODE_RAW = 0;
export const MODE_CONST = 1;
export const MODE_STEP = 2;
export const MODE_DELTA = 3;
export const MODE_INT8 = 4;
export const MODE_INT16 = 5;
export const MODE_INT32 = 6;

const TWO32 = 4294967296;

/** How each column will be packed (a MODE_* per 8-byte word of the record). */
export interface PackPlan {
  modes: Uint8Array;
}

const pad8 = (n: number) => (n + 7) & ~7;

function columnBytes(mode: number, count: number): number {
  switch (mode) {
    case MODE_CONST: case MODE_STEP: return 8;
    case MODE_DELTA: return 8 + pad8(4 * count);
    case MODE_INT8: return pad8(count);
    case MODE_INT16: return pad8(2 * count);
    case MODE_INT32: return pad8(4 * count);
    default: return 8 * count;
  }
}

function headerBytes(words: number): number {
  return pad8(4 + words);
}

/** Size of the payload that packs `count` records with `plan`. */
export function packedBytes(plan: PackPlan, count: number): number {
  let bytes = headerBytes(plan.modes.length);
  for (const m of plan.modes) bytes += columnBytes(m, count);
  return bytes;
}

/** `bytes` as an 8-aligned view: itself, or an aligned copy (pack an aligned batch to copy it once, not per call). */
export function aligned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset % 8 === 0) return bytes;
  // Not bytes.slice(): on a Buffer that is a view at the same offset.
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/** Word views of 8-aligned bytes: u32 halves (lo at 2k, hi at 2k+1) and f64s. */
function views(bytes: Uint8Array, length: number): { u32: Uint32Array; i32: Int32Array; f64: Float64Array } {
  return {
    u32: new Uint32Array(bytes.buffer, bytes.byteOffset, length >> 2),
    i32: new Int32Array(bytes.buffer, bytes.byteOffset, length >> 2),
    f64: new Float64Array(bytes.buffer, bytes.byteOffset, length >> 3),
  };
}

/** Every word of column c minus the first fits an i32 (64-bit two's complement). */
function isDelta(u32: Uint32Array, i32: Int32Array, c: number, count: number, words: number): boolean {
  const lo0 = u32[2 * c], hi0 = i32[2 * c + 1];
  for (let i = 1, w = 2 * (c + words); i < count; i++, w += 2 * words) {
    const d = u32[w] - lo0;
    const borrow = d < 0 ? 1 : 0;
    const dh = i32[w + 1] - hi0 - borrow;
    const dl = d + borrow * TWO32;
    if (!((dh === 0 && dl < 0x80000000) || (dh === -1 && dl >= 0x80000000))) return false;
  }
  return true;
}

/** The largest value of column c if every word is the f64 of a non-negative integer below 2^32 (not −0), else -1. */
function intMax(f64: Float64Array, i32: Int32Array, c: number, count: number, words: number): number {
  let max = 0;
  for (let i = 0, w = c; i < count; i++, w += words) {
    const v = f64[w];
    if (!(v >= 0 && v < TWO32 && Math.floor(v) === v) || (v === 0 && i32[2 * w + 1] !== 0)) return -1;
    if (v > max) max = v;
  }
  return max;
}

/** Chooses each column's smallest exact mode for these records. */
export function planPack(records: Uint8Array, count: number, stride: number): PackPlan {
  if (stride % 8 !== 0 || stride <= 0 || stride > 0xffff * 8) throw new Error(`record stride ${stride} is not a positive multiple of 8`);
  const words = stride >>> 3;
  const { u32, i32, f64 } = views(aligned(records.subarray(0, count * stride)), count * stride);
  const modes = new Uint8Array(words);
  for (let c = 0; c < words; c++) {
    let mode = MODE_RAW;
    if (isConst(u32, c, 1, count, words)) mode = MODE_CONST;
    else if (isStep(u32, c, 1, count, words)) mode = MODE_STEP;
    else {
      const max = intMax(f64, i32, c, count, words);
      if (max >= 0 && max < 65536) mode = max < 256 ? MODE_INT8 : MODE_INT16;
      else if (isDelta(u32, i32, c, count, words)) mode = MODE_DELTA;
      else if (max >= 0) mode = MODE_INT32;
    }
    modes[c] = mode;
  }
  return { modes };
}

// Column writers, one per mode and width, over records [i0, i1), each false
// at the first record the mode cannot hold. Separate small functions keep
// every loop monomorphic: V8 optimises a loop over one array type, not over a
// union of them.

/** Every word of column c in records [i0, i1) equals record 0's. */
function isConst(u32: Uint32Array, c: number, i0: number, i1: number, words: number): boolean {
  const lo0 = u32[2 * c], hi0 = u32[2 * c + 1];
  for (let i = i0, w = 2 * (c + i0 * words); i < i1; i++, w += 2 * words) if (u32[w] !== lo0 || u32[w + 1] !== hi0) return false;
  return true;
}

/** Word i of column c in records [i0, i1) is record 0's + i, as a u64. */
function isStep(u32: Uint32Array, c: number, i0: number, i1: number, words: number): boolean {
  const lo0 = u32[2 * c], hi0 = u32[2 * c + 1];
  for (let i = i0, w = 2 * (c + i0 * words); i < i1; i++, w += 2 * words) {
    const l = lo0 + i;
    // l < 2^33: a compare, not `%` (a double modulo is a library call).
    const carry = l >= TWO32 ? 1 : 0;
    if (u32[w] !== l - carry * TWO32 || u32[w + 1] !== (hi0 + carry) >>> 0) return false;
  }
  return true;
}

function packDelta(u32: Uint32Array, c: number, i0: number, i1: number, words: number, d: Int32Array): boolean {
  const lo0 = u32[2 * c], hi0 = u32[2 * c + 1];
  for (let i = i0, w = 2 * (c + i0 * words); i < i1; i++, w += 2 * words) {
    // The low words' difference as an i32; it is the whole difference when the high word agrees.
    const di = (u32[w] - lo0) | 0;
    const l = lo0 + di;
    if (u32[w + 1] !== ((hi0 + (l < 0 ? -1 : l >= TWO32 ? 1 : 0)) >>> 0)) return false;
    d[i] = di;
  }
  return true;
}

// (v & mask) === v only for integers in range (NaN, fractions, negatives and
// too large fail); −0 passes it and is caught by its sign bit.
function packInt8(f64: Float64Array, i32: Int32Array, c: number, i0: number, i1: number, words: number, d: Uint8Array): boolean {
  for (let i = i0, w = c + i0 * words; i < i1; i++, w += words) {
    const v = f64[w];
    if ((v & 0xff) !== v || (v === 0 && i32[2 * w + 1] !== 0)) return false;
    d[i] = v;
  }
  return true;
}

function packInt16(f64: Float64Array, i32: Int32Array, c: number, i0: number, i1: number, words: number, d: Uint16Array): boolean {
  for (let i = i0, w = c + i0 * words; i < i1; i++, w += words) {
    const v = f64[w];
    if ((v & 0xffff) !== v || (v === 0 && i32[2 * w + 1] !== 0)) return false;
    d[i] = v;
  }
  return true;
}

function packInt32(f64: Float64Array, i32: Int32Array, c: number, i0: number, i1: number, words: number, d: Uint32Array): boolean {
  for (let i = i0, w = c + i0 * words; i < i1; i++, w += words) {
    const v = f64[w];
    if ((v >>> 0) !== v || (v === 0 && i32[2 * w + 1] !== 0)) return false;
    d[i] = v;
  }
  return true;
}

function packRaw(u32: Uint32Array, c: number, i0: number, i1: number, words: number, d: Uint32Array): void {
  for (let i = i0, w = 2 * (c + i0 * words); i < i1; i++, w += 2 * words) { d[2 * i] = u32[w]; d[2 * i + 1] = u32[w + 1]; }
}

/** Records per pass: a block's records (~6 KB for trades) stay in L1 while every column is written. */
const PACK_BLOCK = 64;

/**
 * Writes the packed payload (packedBytes long) at `out`, checking each record
 * against the plan as it goes: false (and `out` half written) when one does
 * not fit it.
 */
export function packInto(plan: PackPlan, records: Uint8Array, count: number, stride: number, out: Uint8Array): boolean {
  if (out.byteOffset % 8 !== 0) {
    const tmp = new Uint8Array(packedBytes(plan, count));
    if (!packInto(plan, records, count, stride, tmp)) return false;
    out.set(tmp);
    return true;
  }
  const words = stride >>> 3; // an int, so word indexes stay small ints
  const { u32, i32, f64 } = views(aligned(records.subarray(0, count * stride)), count * stride);
  const buf = out.buffer, base = out.byteOffset;
  const head = new Uint16Array(buf, base, 2);
  head[0] = stride; head[1] = words;
  out.set(plan.modes, 4);
  // Each column's destination, laid out once.
  const cols: Array<Int32Array | Uint8Array | Uint16Array | Uint32Array | null> = [];
  let o = headerBytes(words);
  for (let c = 0; c < words; c++) {
    const mode = plan.modes[c];
    if (mode === MODE_CONST || mode === MODE_STEP || mode === MODE_DELTA) {
      const first = new Uint32Array(buf, base + o, 2);
      first[0] = u32[2 * c]; first[1] = u32[2 * c + 1];
    }
    const at = base + o + (mode === MODE_DELTA ? 8 : 0);
    cols.push(mode === MODE_DELTA ? new Int32Array(buf, at, count)
      : mode === MODE_INT8 ? new Uint8Array(buf, at, count)
      : mode === MODE_INT16 ? new Uint16Array(buf, at, count)
      : mode === MODE_INT32 ? new Uint32Array(buf, at, count)
      : mode === MODE_RAW ? new Uint32Array(buf, at, 2 * count) : null);
    o += columnBytes(mode, count);
  }
  for (let i0 = 0; i0 < count; i0 += PACK_BLOCK) {
    const i1 = Math.min(count, i0 + PACK_BLOCK);
    for (let c = 0; c < words; c++) {
      const mode = plan.modes[c], d = cols[c];
      let ok = true;
      if (mode === MODE_CONST) ok = isConst(u32, c, i0, i1, words);
      else if (mode === MODE_STEP) ok = isStep(u32, c, i0, i1, words);
      else if (mode === MODE_DELTA) ok = packDelta(u32, c, i0, i1, words, d as Int32Array);
      else if (mode === MODE_INT8) ok = packInt8(f64, i32, c, i0, i1, words, d as Uint8Array);
      else if (mode === MODE_INT16) ok = packInt16(f64, i32, c, i0, i1, words, d as Uint16Array);
      else if (mode === MODE_INT32) ok = packInt32(f64, i32, c, i0, i1, words, d as Uint32Array);
      else packRaw(u32, c, i0, i1, words, d as Uint32Array);
      if (!ok) return false;
    }
  }
  return true;
}

/**
 * The records of a packed payload that claims `count` records, or a reason
 * it cannot be unpacked (a payload that passed its CRC but was written by
 * something else). `stride` is read from the payload.
 */
export function unpack(payload: Uint8Array, count: number): { records: Uint8Array; stride: number } | string {
  if (payload.length < 4) return 'packed records shorter than their header';
  const p = aligned(payload);
  const [stride, words] = new Uint16Array(p.buffer, p.byteOffset, 2);
  if (stride !== words * 8 || words === 0) return `packed records with stride ${stride} and ${words} columns`;
  let need = headerBytes(words);
  if (p.length < need) return 'packed records shorter than their column modes';
  for (let c = 0; c < words; c++) {
    const m = p[4 + c];
    if (m > MODE_INT32) return `unknown column mode ${m}`;
    need += columnBytes(m, count);
  }
  if (need !== p.length) return `packed records are ${p.length} bytes, their modes say ${need}`;
  const records = new Uint8Array(count * stride);
  const dst = views(records, records.length);
  const src = views(p, p.length - (p.length % 8));
  const buf = p.buffer, base = p.byteOffset;
  let o = headerBytes(words);
  for (let c = 0; c < words; c++) {
    const mode = p[4 + c];
    let lo0 = 0, hi0 = 0;
    if (mode === MODE_CONST || mode === MODE_STEP || mode === MODE_DELTA) {
      lo0 = src.u32[o >> 2]; hi0 = src.u32[(o >> 2) + 1];
      o += 8;
    }
    if (mode === MODE_CONST) {
      for (let i = 0, w = 2 * c; i < count; i++, w += 2 * words) { dst.u32[w] = lo0; dst.u32[w + 1] = hi0; }
    } else if (mode === MODE_STEP) {
      for (let i = 0, w = 2 * c; i < count; i++, w += 2 * words) {
        const l = lo0 + i;
        const carry = l >= TWO32 ? 1 : 0;
        dst.u32[w] = l - carry * TWO32; dst.u32[w + 1] = (hi0 + carry) >>> 0;
      }
    } else if (mode === MODE_DELTA) {
      const d = new Int32Array(buf, base + o, count);
      for (let i = 0, w = 2 * c; i < count; i++, w += 2 * words) {
        const l = lo0 + d[i]; // in (-2^31, 2^33): carry or borrow into the high word
        const carry = l < 0 ? -1 : l >= TWO32 ? 1 : 0;
        dst.u32[w] = l - carry * TWO32; dst.u32[w + 1] = (hi0 + carry) >>> 0;
      }
      o += pad8(4 * count);
    } else if (mode === MODE_INT8) {
      const d = new Uint8Array(buf, base + o, count), f64 = dst.f64;
      for (let i = 0, w = c; i < count; i++, w += words) f64[w] = d[i];
      o += pad8(count);
    } else if (mode === MODE_INT16) {
      const d = new Uint16Array(buf, base + o, count), f64 = dst.f64;
      for (let i = 0, w = c; i < count; i++, w += words) f64[w] = d[i];
      o += pad8(2 * count);
    } else if (mode === MODE_INT32) {
      const d = new Uint32Array(buf, base + o, count), f64 = dst.f64;
      for (let i = 0, w = c; i < count; i++, w += words) f64[w] = d[i];
      o += pad8(4 * count);
    } else {
      for (let i = 0, w = 2 * c; i < count; i++, w += 2 * words, o += 8) { dst.u32[w] = src.u32[o >> 2]; dst.u32[w + 1] = src.u32[(o >> 2) + 1]; }
    }
  }
  return { records, stride };
}
