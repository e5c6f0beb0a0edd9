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

/**
 * Bounds on what input may add. Ids are never reused (state and the log refer
 * to them), so without bounds a feed of unique strings grows the dictionary,
 * its RSS and every checkpoint for the life of the pipeline. The defaults fit
 * market data (instruments, accounts, traders): a key is a short code, and a
 * million distinct ones is far beyond a venue's symbol list.
 */
export interface KeyLimits {
  /** Distinct strings (keys and string ids) over the pipeline's life. */
  maxKeys: number;
  /** UTF-8 bytes of one string. */
  maxKeyBytes: number;
  /** UTF-8 bytes of all strings together (what a checkpoint's dictionary holds). */
  maxBytes: number;
}

const DEFAULT_KEY_LIMITS: Readonly<KeyLimits> = { maxKeys: 1_000_000, maxKeyBytes: 256, maxBytes: 64 * 1024 * 1024 };

/** admit() refusals (negative, so they cannot be ids). */
export const TOO_MANY_KEYS = -1;
export const TOO_MANY_BYTES = -2;
export const KEY_TOO_LONG = -3;
export type Refusal = typeof TOO_MANY_KEYS | typeof TOO_MANY_BYTES | typeof KEY_TOO_LONG;

export class KeyDictionary {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [''];
  readonly limits: Readonly<KeyLimits>;
  /** UTF-8 bytes of every string held. */
  bytes = 0;
  /** Strings admit() refused, by cause (for the metrics). */
  readonly refused = { key_too_long: 0, max_keys: 0, max_bytes: 0 };

  constructor(limits: Partial<KeyLimits> = {}) {
    this.limits = { ...DEFAULT_KEY_LIMITS, ...limits };
  }

  get size(): number {
    return this.names.length - 1;
  }

  /**
   * The id of `s`, assigning the next one if new, whatever the limits: for
   * strings already accepted once (a log or checkpoint being restored) and for
   * the pipeline's own (the synthetic feed's keys). Input goes through admit().
   */
  intern(s: string): number {
    const id = this.ids.get(s);
    if (id !== undefined) return id;
    return this.add(s, Buffer.byteLength(s));
  }

  /**
   * intern() for strings from input: a new string over the limits is refused
   * (a negative Refusal) and nothing is added. Known strings always pass, so
   * the checks cost nothing on the hot path.
   */
  admit(s: string): number {
    const id = this.ids.get(s);
    if (id !== undefined) return id;
    const l = this.limits;
    // A UTF-16 unit is at least one UTF-8 byte: a huge string is refused before it is measured.
    const bytes = s.length > l.maxKeyBytes ? l.maxKeyBytes + 1 : Buffer.byteLength(s);
    if (bytes > l.maxKeyBytes) { this.refused.key_too_long++; return KEY_TOO_LONG; }
    if (this.names.length > l.maxKeys) { this.refused.max_keys++; return TOO_MANY_KEYS; }
    if (this.bytes + bytes > l.maxBytes) { this.refused.max_bytes++; return TOO_MANY_BYTES; }
    return this.add(s, bytes);
  }

  /** Why admit() refused `s`, for a dead letter. */
  describe(refusal: Refusal, s: string): string {
    const l = this.limits;
    if (refusal === KEY_TOO_LONG) return `${quote(s)} is ${Buffer.byteLength(s)} bytes, over the ${l.maxKeyBytes}-byte limit per key (key_dictionary.max_key_bytes)`;
    if (refusal === TOO_MANY_KEYS) return `the key dictionary is full: it holds ${this.size} keys (key_dictionary.max_keys: ${l.maxKeys}) and ${quote(s)} would be a new one`;
    return `the key dictionary is full: its keys take ${this.bytes} bytes and ${quote(s)} would pass key_dictionary.max_bytes (${l.maxBytes})`;
  }

  private add(s: string, bytes: number): number {
    const next = this.names.length;
    this.ids.set(s, next);
    this.names.push(s);
    this.bytes += bytes;
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

  /** Entries over `limits` (lowered since the snapshot) are kept: they were accepted, and state refers to them. */
  static restore(bytes: Uint8Array, limits?: Partial<KeyLimits>): KeyDictionary {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('key dictionary snapshot: bad magic');
    const count = view.getUint32(4, true);
    const dict = new KeyDictionary(limits);
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

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 37) + '...' : s);
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
