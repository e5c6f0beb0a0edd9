// String ↔ u32 interning for keys and string ids. Ids are dense, assigned in
// first-seen order from 1 (0 means "no key"), and never reused, so a record's
// key stays meaningful for the life of the pipeline. The dictionary is part of
// the checkpoint: without it, state keyed by id could not be named after a
// restore, and new strings would collide with ids already in operator state.
//
// Snapshot layout (little-endian):
//
//   0          4          8
//   ┌──────────┬──────────┬───────────┬──────────────┬─────┐
//   │ magic u32│ count u32│ len0 u32  │ utf-8 bytes… │ ... │  entries in id order (id = index + 1)
//   └──────────┴──────────┴───────────┴──────────────┴─────┘

const MAGIC = 0x4b444731; // "KDG1"
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class KeyDictionaryFullError extends Error {}

export class KeyDictionary {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [''];

  /** capacity bounds memory on a hostile feed: interning past it fails instead of growing. */
  constructor(readonly capacity = 16_000_000) {}

  get size(): number {
    return this.names.length - 1;
  }

  /** The id of `s`, assigning the next one if new; -1 when the dictionary is full. */
  intern(s: string): number {
    const id = this.ids.get(s);
    if (id !== undefined) return id;
    if (this.names.length > this.capacity) return -1;
    const next = this.names.length;
    this.ids.set(s, next);
    this.names.push(s);
    return next;
  }

  /** The id of `s` if already interned (never assigns). */
  get(s: string): number | undefined {
    return this.ids.get(s);
  }

  /** The string behind an id (undefined for 0 and unknown ids). */
  name(id: number): string | undefined {
    return id > 0 ? this.names[id] : undefined;
  }

  snapshot(): Uint8Array {
    const parts = this.names.slice(1).map((n) => encoder.encode(n));
    const total = 8 + parts.reduce((a, p) => a + 4 + p.length, 0);
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, parts.length, true);
    let at = 8;
    for (const p of parts) {
      view.setUint32(at, p.length, true);
      out.set(p, at + 4);
      at += 4 + p.length;
    }
    return out;
  }

  static restore(bytes: Uint8Array, capacity?: number): KeyDictionary {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('key dictionary snapshot: bad magic');
    const count = view.getUint32(4, true);
    const dict = new KeyDictionary(Math.max(capacity ?? 16_000_000, count));
    let at = 8;
    for (let i = 0; i < count; i++) {
      if (at + 4 > bytes.length) throw new Error(`key dictionary snapshot: truncated at entry ${i}`);
      const len = view.getUint32(at, true);
      if (at + 4 + len > bytes.length) throw new Error(`key dictionary snapshot: truncated at entry ${i}`);
      const s = decoder.decode(bytes.subarray(at + 4, at + 4 + len));
      if (dict.intern(s) !== i + 1) throw new Error(`key dictionary snapshot: duplicate entry "${s}"`);
      at += 4 + len;
    }
    return dict;
  }
}

/**
 * Joins the parts of a composite key (e.g. trader and asset class) into the
 * string that is interned. `|` separates parts; a part containing `|` or `\`
 * is escaped so that ("a|b","c") and ("a","b|c") stay different keys.
 */
export function compositeKey(parts: readonly string[]): string {
  if (parts.length === 1) return parts[0];
  let s = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i) s += '|';
    s += p.includes('|') || p.includes('\\') ? p.replace(/[\\|]/g, (c) => '\\' + c) : p;
  }
  return s;
}
