// A FlatBuffers verifier for our schemas. The JS runtime has none: its
// accessors trust every offset, so a hostile or corrupted frame could make
// them read garbage or throw mid-batch. Every binary frame passes through
// verify() before a single value is read; after it says yes, any read the
// schema allows stays in bounds and every string is valid UTF-8.
//
// What it checks (mirrors flatbuffers/verifier.h, slightly stricter):
//
//   buffer   ┌────────────┬────────────┬───────────────────────────────┐
//            │ root u32   │ ident [4]? │ ... tables, vtables, vectors  │
//            └────────────┴────────────┴───────────────────────────────┘
//   table  t: 4-aligned, soffset i32 at t → vtable at t - soffset
//   vtable v: 2-aligned, [vtsize u16][tsize u16][slot0 u16][slot1 u16]...
//             vtsize ≥ 4 and even; v + vtsize and t + tsize inside the buffer;
//             each present field lies inside the table's tsize bytes and is
//             aligned to its own size (relative to the buffer start)
//   offsets   uoffset u32 at p → p + value, non-zero, inside the buffer
//   vectors   4-aligned length u32, elements inside the buffer, struct
//             elements aligned to the struct's alignment
//   strings   length u32, bytes + NUL terminator inside the buffer, UTF-8
//   limits    nesting depth and total table count (guards deep/huge inputs),
//             required fields present

export type FbField =
  | { readonly kind: 'scalar'; readonly size: 1 | 2 | 4 | 8; readonly required?: boolean }
  | { readonly kind: 'string'; readonly required?: boolean }
  | { readonly kind: 'struct'; readonly size: number; readonly align: number; readonly required?: boolean }
  | { readonly kind: 'table'; readonly table: FbTable; readonly required?: boolean }
  | { readonly kind: 'vector_scalar'; readonly size: 1 | 2 | 4 | 8; readonly required?: boolean }
  | { readonly kind: 'vector_struct'; readonly size: number; readonly align: number; readonly required?: boolean }
  | { readonly kind: 'vector_string'; readonly required?: boolean }
  | { readonly kind: 'vector_table'; readonly table: FbTable; readonly required?: boolean };

/** A table's fields by vtable slot (null: deprecated/unused slot). */
export interface FbTable {
  readonly name: string;
  readonly fields: readonly (FbField | null)[];
}

export interface VerifyOptions {
  /** Expected 4-character file_identifier at bytes 4..8. */
  identifier?: string;
  maxDepth?: number;
  maxTables?: number;
}

/** null when the buffer is valid, else what is wrong and where. */
export type VerifyError = string | null;

const MAX_BUFFER = 0x7fffffff; // FlatBuffers' FLATBUFFERS_MAX_BUFFER_SIZE

class Verifier {
  tables = 0;
  constructor(
    readonly view: DataView,
    readonly bytes: Uint8Array,
    readonly maxDepth: number,
    readonly maxTables: number,
  ) {}

  get len(): number {
    return this.bytes.length;
  }

  table(t: number, desc: FbTable, depth: number): VerifyError {
    if (depth > this.maxDepth) return `${desc.name}: nesting deeper than ${this.maxDepth}`;
    if (++this.tables > this.maxTables) return `more than ${this.maxTables} tables`;
    const len = this.len;
    if ((t & 3) !== 0) return `${desc.name} at ${t}: table not 4-byte aligned`;
    if (t + 4 > len) return `${desc.name} at ${t}: table outside the buffer`;
    const vt = t - this.view.getInt32(t, true);
    if ((vt & 1) !== 0) return `${desc.name} at ${t}: vtable at ${vt} not 2-byte aligned`;
    if (vt < 0 || vt + 4 > len) return `${desc.name} at ${t}: vtable at ${vt} outside the buffer`;
    const vtSize = this.view.getUint16(vt, true);
    const tSize = this.view.getUint16(vt + 2, true);
    if (vtSize < 4 || (vtSize & 1) !== 0) return `${desc.name} at ${t}: bad vtable size ${vtSize}`;
    if (vt + vtSize > len) return `${desc.name} at ${t}: vtable of ${vtSize} bytes overruns the buffer`;
    if (tSize < 4 || t + tSize > len) return `${desc.name} at ${t}: table of ${tSize} bytes overruns the buffer`;
    const slots = (vtSize - 4) >> 1;
    for (let i = 0; i < desc.fields.length; i++) {
      const f = desc.fields[i];
      if (!f) continue;
      const off = i < slots ? this.view.getUint16(vt + 4 + 2 * i, true) : 0;
      if (off === 0) {
        if (f.required) return `${desc.name}: required field #${i} missing`;
        continue;
      }
      const p = t + off;
      const inline = f.kind === 'scalar' ? f.size : f.kind === 'struct' ? f.size : 4;
      const align = f.kind === 'scalar' ? f.size : f.kind === 'struct' ? f.align : 4;
      if (off < 4 || off + inline > tSize) return `${desc.name} at ${t}: field #${i} at +${off} outside the table's ${tSize} bytes`;
      if (p % align !== 0) return `${desc.name} at ${t}: field #${i} at ${p} misaligned`;
      if (f.kind === 'scalar' || f.kind === 'struct') continue;
      const target = this.offset(p);
      if (target < 0) return `${desc.name} at ${t}: field #${i} offset points outside the buffer`;
      const err = this.child(target, f, depth, `${desc.name}.#${i}`);
      if (err) return err;
    }
    return null;
  }

  /** Follows a uoffset at p; -1 when it is zero or leaves the buffer. */
  offset(p: number): number {
    const rel = this.view.getUint32(p, true);
    if (rel === 0) return -1;
    const target = p + rel;
    return target < this.len ? target : -1;
  }

  /** Checks a vector header at v; returns its length, or -1 when bad. */
  vector(v: number, elemSize: number, elemAlign: number): number {
    if ((v & 3) !== 0 || v + 4 > this.len) return -1;
    const n = this.view.getUint32(v, true);
    if (v + 4 + n * elemSize > this.len) return -1;
    if (elemAlign > 4 && (v + 4) % elemAlign !== 0) return -1;
    return n;
  }

  string(s: number, where: string): VerifyError {
    const n = this.vector(s, 1, 1);
    if (n < 0) return `${where}: string at ${s} overruns the buffer`;
    if (s + 4 + n >= this.len || this.bytes[s + 4 + n] !== 0) return `${where}: string at ${s} lacks its NUL terminator`;
    const bad = utf8Invalid(this.bytes, s + 4, s + 4 + n);
    if (bad >= 0) return `${where}: string at ${s} is not valid UTF-8 (byte ${bad - s - 4})`;
    return null;
  }

  child(target: number, f: FbField, depth: number, where: string): VerifyError {
    switch (f.kind) {
      case 'string':
        return this.string(target, where);
      case 'table':
        return this.table(target, f.table, depth + 1);
      case 'vector_scalar':
        return this.vector(target, f.size, f.size) < 0 ? `${where}: vector at ${target} overruns the buffer or is misaligned` : null;
      case 'vector_struct':
        return this.vector(target, f.size, f.align) < 0 ? `${where}: vector at ${target} overruns the buffer or is misaligned` : null;
      case 'vector_string':
      case 'vector_table': {
        const n = this.vector(target, 4, 4);
        if (n < 0) return `${where}: vector at ${target} overruns the buffer or is misaligned`;
        for (let k = 0; k < n; k++) {
          const p = target + 4 + 4 * k;
          const e = this.offset(p);
          if (e < 0) return `${where}[${k}]: offset points outside the buffer`;
          const err = f.kind === 'vector_string' ? this.string(e, `${where}[${k}]`) : this.table(e, f.table, depth + 1);
          if (err) return err;
        }
        return null;
      }
      default:
        return null;
    }
  }
}

/** Verifies a whole buffer whose root is a `root` table. */
export function verify(bytes: Uint8Array, root: FbTable, opts: VerifyOptions = {}): VerifyError {
  const len = bytes.length;
  if (len < 8) return `buffer of ${len} bytes is too short for a FlatBuffer`;
  if (len > MAX_BUFFER) return `buffer of ${len} bytes exceeds the FlatBuffers limit`;
  if (opts.identifier !== undefined && !hasIdentifier(bytes, opts.identifier)) {
    return `file identifier "${identifierOf(bytes)}" is not "${opts.identifier}"`;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, len);
  const v = new Verifier(view, bytes, opts.maxDepth ?? 64, opts.maxTables ?? 1_000_000);
  const rootAt = v.offset(0);
  if (rootAt < 0) return 'root offset points outside the buffer';
  return v.table(rootAt, root, 1);
}

export function hasIdentifier(bytes: Uint8Array, id: string): boolean {
  return bytes.length >= 8 && bytes[4] === id.charCodeAt(0) && bytes[5] === id.charCodeAt(1)
    && bytes[6] === id.charCodeAt(2) && bytes[7] === id.charCodeAt(3);
}

/** The four identifier bytes, printable or escaped, for messages and dispatch. */
export function identifierOf(bytes: Uint8Array): string {
  let s = '';
  for (let i = 4; i < 8 && i < bytes.length; i++) {
    const c = bytes[i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/**
 * Index of the first byte of an invalid UTF-8 sequence in bytes[from, to), or
 * -1. Rejects overlongs, surrogates and code points above U+10FFFF, exactly
 * the set TextDecoder('utf-8', {fatal: true}) rejects.
 */
export function utf8Invalid(bytes: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = bytes[i];
    if (c < 0x80) { i++; continue; }
    let need: number, min: number, cp: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; cp = c & 0x07; }
    else return i;
    if (i + need >= to) return i;
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if ((b & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
