// JSON frames → ring records, with a hand-written scanner instead of JSON.parse.
//
// Why a scanner: JSON.parse turns 1700000000123456789 into a double and loses
// the nanoseconds before any code sees them (Node 20 has no source-text
// access in revivers). The scanner hands timestamp digits to timestamps.ts
// (as bytes, or as text for the rarer forms), so epoch ns stay exact; it also
// builds no objects, looks members up in a precomputed name table, and skips
// unknown members without materialising them. It still checks full JSON
// syntax (escapes, number grammar, nesting), so what it accepts JSON.parse
// accepts.
//
// It scans the frame's UTF-8 bytes, never a string of the whole frame: V8
// puts strings over ~128 KiB in large-object space, and making one for a
// large frame costs more than the scan itself. Strings are made only for
// what needs them (new ids, numeric and ISO strings, error messages). JSON's structural bytes are
// all ASCII and every byte of a multi-byte UTF-8 sequence is ≥ 0x80, so a
// byte scan finds the same tokens as a character scan of the decoded text.
//
// Frame forms: one object (which may span lines), an array of objects, or
// NDJSON: one object per line. A syntax error in an array rejects the whole
// frame (nothing after it can be trusted). In NDJSON each line is its own
// record boundary: the scanner never reads past the line's newline, so a
// truncated line is rejected alone and cannot swallow the valid line after
// it (an unbounded scan would read that line as the truncated object's next
// member or value). A frame that is not valid UTF-8 is rejected whole, except
// in NDJSON, where only the lines holding the invalid bytes are. A member
// with the wrong type rejects its event only. Positions in messages are
// characters of the decoded text (as they were when the scanner read a
// string).
import { isAscii, isUtf8 } from 'node:buffer';
import type { EventType } from '../schema/event_types.js';
import { TS_ALIASES } from '../schema/event_types.js';
import { parseSide } from '../ingest/validation.js';
import { EventScratch, RecordBatch, RecordWriter, type Reject } from './record_batch.js';
import { implausibleEpoch, isIsoText, MIN_PLAUSIBLE_NS, parseEpochDigits, parseEpochText, parseTimestampString, type TimeUnit } from './timestamps.js';

const TS = -1;
const VECTOR = 1 << 16;
const MAX_DEPTH = 64;
const ID_CACHE = 4096;
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

class JsonSyntaxError {
  constructor(readonly message: string, readonly at: number) {}
}

const UNKNOWN = -2;
const TABLE_BITS = 8;
const TABLE_MASK = (1 << TABLE_BITS) - 1;

function hashStep(h: number, c: number): number {
  return (Math.imul(h, 31) + c) | 0;
}

/** b[at, at + name.length) equals the bytes of `name`. */
function sameBytes(b: Uint8Array, at: number, name: Uint8Array): boolean {
  for (let k = 0; k < name.length; k++) if (b[at + k] !== name[k]) return false;
  return true;
}

/**
 * Member names → codes in a small open-addressing table. Looking a name up
 * hashes its UTF-8 bytes straight from the frame, so the scanner never
 * allocates a string per member (a Map would need the name as a string).
 */
class MemberTable {
  readonly names: Uint8Array[] = new Array<Uint8Array>(1 << TABLE_BITS).fill(new Uint8Array(0));
  readonly codes = new Int32Array(1 << TABLE_BITS).fill(UNKNOWN);
  readonly map = new Map<string, number>();

  constructor(type: EventType) {
    // Aliases first so that a canonical name always wins a clash.
    type.fields.forEach((f, i) => f.aliases?.forEach((a) => this.map.set(a, i)));
    type.jsonVectors?.forEach((v, k) => this.map.set(v.name, VECTOR + k));
    for (const a of TS_ALIASES) this.map.set(a, TS);
    type.fields.forEach((f, i) => this.map.set(f.name, i));
    if (this.map.size > (1 << TABLE_BITS) / 2) throw new Error('too many JSON member names for the lookup table');
    for (const [name, code] of this.map) {
      const bytes = encoder.encode(name);
      let h = 0;
      for (let i = 0; i < bytes.length; i++) h = hashStep(h, bytes[i]);
      let slot = h & TABLE_MASK;
      while (this.codes[slot] !== UNKNOWN) slot = (slot + 1) & TABLE_MASK;
      this.names[slot] = bytes;
      this.codes[slot] = code;
    }
  }

  /** Code of the name b[from, to) whose hash is h. */
  lookup(b: Uint8Array, from: number, to: number, h: number): number {
    let slot = h & TABLE_MASK;
    for (;;) {
      const code = this.codes[slot];
      if (code === UNKNOWN) return UNKNOWN;
      const name = this.names[slot];
      if (name.length === to - from && sameBytes(b, from, name)) return code;
      slot = (slot + 1) & TABLE_MASK;
    }
  }
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const EMPTY_BUF = Buffer.alloc(0);
const LITERALS = { true: encoder.encode('true'), false: encoder.encode('false'), null: encoder.encode('null') };

/** The frame is not an array and has a line break inside its content: its lines are records of their own. */
function isLineFrame(b: Uint8Array): boolean {
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09) i++;
  if (i >= b.length || b[i] === 0x5b) return false;
  let j = b.length;
  while (j > i && (b[j - 1] === 0x20 || b[j - 1] === 0x0a || b[j - 1] === 0x0d || b[j - 1] === 0x09)) j--;
  const nl = b.indexOf(0x0a, i);
  return nl >= 0 && nl < j;
}

export class JsonDecoder {
  private readonly members: MemberTable;
  private readonly scratch: EventScratch;
  private readonly tsUnit: TimeUnit;
  /** The frame being scanned: always a plain Uint8Array (one hidden class for every access site). */
  private b: Uint8Array = EMPTY;
  /** The same bytes as a Buffer, for the strings that have to be made. */
  private buf: Buffer = EMPTY_BUF;
  private n = 0;
  private i = 0;
  /** Every byte < 0x80: a string is then latin1 of its bytes, and positions are byte offsets. */
  private ascii = true;
  /** The whole frame is valid UTF-8 (else each NDJSON line is checked on its own). */
  private utf8 = true;
  /** Member names (UTF-8) in the order the previous event had them: producers rarely reorder. */
  private readonly expectName: Uint8Array[] = [];
  private readonly expectCode: number[] = [];
  /** Set by memberCode: the name had no escape, so its bytes can be predicted next time. */
  private plainName = false;
  /** Recently seen ASCII id strings by hash, so repeated ids reuse one string (hash cached by V8). */
  private readonly idCache: string[] = new Array<string>(ID_CACHE).fill('');

  constructor(readonly writer: RecordWriter, opts: { tsUnit?: TimeUnit } = {}) {
    this.members = new MemberTable(writer.type);
    this.scratch = new EventScratch(writer.type);
    this.tsUnit = opts.tsUnit ?? 'auto';
  }

  /** Decodes a UTF-8 frame, appending records to `batch`; returns the rejects. */
  decode(bytes: Uint8Array, batch: RecordBatch, rejects: Reject[] = []): Reject[] {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const ascii = isAscii(buf);
    const utf8 = ascii || isUtf8(buf);
    // Only NDJSON can lose part of a frame: one line's bad bytes say nothing about the others.
    if (!utf8 && !isLineFrame(bytes)) {
      rejects.push({ index: -1, code: 'invalid_utf8', reason: 'frame is not valid UTF-8', raw: bytes });
      return rejects;
    }
    this.b = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.buf = buf;
    this.n = bytes.byteLength;
    this.ascii = ascii;
    this.utf8 = utf8;
    this.i = 0;
    try {
      this.frame(batch, rejects, bytes);
    } finally {
      // Do not keep the caller's (possibly reused) buffer alive.
      this.b = EMPTY;
      this.buf = EMPTY_BUF;
      this.n = 0;
    }
    return rejects;
  }

  /** A frame given as text (library use): the same as its UTF-8 bytes. */
  decodeText(text: string, batch: RecordBatch, rejects: Reject[] = []): Reject[] {
    return this.decode(encoder.encode(text), batch, rejects);
  }

  private frame(batch: RecordBatch, rejects: Reject[], frame: Uint8Array): void {
    const b = this.b;
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.i = 3; // byte order mark
    this.ws();
    if (this.i >= this.n) {
      rejects.push({ index: -1, code: 'empty_frame', reason: 'frame holds no JSON', raw: frame });
    } else if (b[this.i] === 0x5b /* [ */) {
      this.array(batch, rejects, frame);
    } else {
      this.lines(batch, rejects);
    }
  }

  /** The frame's text in [from, to). */
  private text(from: number, to: number): string {
    return this.buf.toString(this.ascii ? 'latin1' : 'utf8', from, to);
  }

  /** Character position of byte offset `at` (what error messages show). */
  private charAt(at: number): number {
    return this.ascii ? at : this.buf.toString('utf8', 0, at).length;
  }

  /** A copy of the frame's bytes [from, to) for a reject (the frame buffer may be reused). */
  private raw(from: number, to: number): Uint8Array {
    return this.b.slice(from, to);
  }

  private array(batch: RecordBatch, rejects: Reject[], frame: Uint8Array): void {
    const countBefore = batch.count;
    const rejectsBefore = rejects.length;
    const b = this.b;
    try {
      this.i++;
      this.ws();
      let index = 0;
      if (b[this.i] === 0x5d /* ] */) this.i++;
      else {
        for (;;) {
          this.ws();
          if (b[this.i] === 0x7b /* { */) this.event(index, batch, rejects);
          else {
            const start = this.i;
            this.skipValue(0);
            rejects.push({ index, code: 'not_an_object', reason: `array element ${index} is not an object`, raw: this.raw(start, this.i) });
          }
          index++;
          this.ws();
          const c = b[this.i++];
          if (c === 0x5d) break;
          if (c !== 0x2c) throw new JsonSyntaxError(`expected ',' or ']' after array element ${index - 1}`, this.i - 1);
        }
      }
      this.ws();
      if (this.i < this.n) throw new JsonSyntaxError('unexpected data after the array', this.i);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      batch.count = countBefore;
      rejects.length = rejectsBefore;
      rejects.push({ index: -1, code: 'json_syntax', reason: `${e.message} at character ${this.charAt(e.at)}`, raw: frame });
    }
  }

  /**
   * One object, or NDJSON. Each line is scanned with this.n set to its
   * newline, so nothing in a line can consume the next one; only a first
   * object that runs past its line may be one pretty-printed object
   * (wholeFrameObject).
   */
  private lines(batch: RecordBatch, rejects: Reject[]): void {
    const b = this.b, end = this.n;
    let index = 0;
    let line = 1;
    let from = this.i;
    try {
      while (from < end) {
        let nl = b.indexOf(0x0a, from);
        if (nl < 0) nl = end;
        this.n = nl;
        this.i = from;
        this.ws();
        // A dead letter's raw is the line from its first non-blank byte, without its line break (\n or \r\n).
        const to = nl > this.i && b[nl - 1] === 0x0d ? nl - 1 : nl;
        if (!this.utf8 && this.i < nl && !isUtf8(this.buf.subarray(this.i, to))) {
          rejects.push({ index: index++, code: 'invalid_utf8', reason: `line ${line} is not valid UTF-8`, raw: this.raw(this.i, to) });
          this.i = nl;
        }
        if (this.i < nl) {
          const start = this.i;
          try {
            if (b[this.i] !== 0x7b) throw new JsonSyntaxError(`expected '{' or '['`, this.i);
            this.event(index, batch, rejects, true);
          } catch (e) {
            if (!(e instanceof JsonSyntaxError)) throw e;
            if (e.at >= nl && index === 0 && nl < end && this.utf8 && this.wholeFrameObject(start, nl, end, batch, rejects)) return;
            const why = e.at >= nl ? `line ${line} ends inside an object (${e.message})` : `${e.message} at character ${this.charAt(e.at)}`;
            rejects.push({ index, code: 'json_syntax', reason: why, raw: this.raw(start, to) });
          }
          index++;
        }
        from = nl + 1;
        line++;
      }
    } finally {
      this.n = end;
    }
  }

  /**
   * The frame from `start` (an object that runs past its first line, which
   * ends at `nl`) to `end` is one pretty-printed object: decode it as one
   * event. It is one only if it parses whole and no later line is a complete
   * object on its own; a frame with such a line is NDJSON, whose first line
   * is damaged (read across lines, a truncated line followed by a valid one
   * and a stray '}' would parse as one object and hide the valid line).
   * Checked by side-effect-free skips first, so a failed try leaves nothing
   * behind (no record, no interned key).
   */
  private wholeFrameObject(start: number, nl: number, end: number, batch: RecordBatch, rejects: Reject[]): boolean {
    const bound = this.n;
    try {
      if (!this.skips(start, end)) return false;
      for (let from = nl + 1; from < end;) {
        let to = this.b.indexOf(0x0a, from);
        if (to < 0) to = end;
        this.n = to;
        this.i = from;
        this.ws();
        if (this.b[this.i] === 0x7b && this.skips(this.i, to)) return false;
        from = to + 1;
      }
    } finally {
      this.n = bound;
    }
    this.n = end;
    this.i = start;
    this.event(0, batch, rejects, true);
    return true;
  }

  /** b[from, to) is exactly one JSON value (and whitespace). */
  private skips(from: number, to: number): boolean {
    this.n = to;
    this.i = from;
    try {
      this.skipValue(0);
      this.ws();
      return this.i === to;
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      return false;
    }
  }

  /** An object at this.i; with `alone`, nothing but whitespace may follow it before this.n (one object per line). */
  private event(index: number, batch: RecordBatch, rejects: Reject[], alone = false): void {
    const b = this.b;
    const start = this.i;
    const ev = this.scratch;
    ev.reset();
    this.i++;
    this.ws();
    let member = 0;
    if (b[this.i] === 0x7d /* } */) this.i++;
    else {
      for (;;) {
        if (b[this.i] !== 0x22) throw new JsonSyntaxError('expected a member name', this.i);
        const nameAt = this.i;
        const code = this.predictedMember(member++);
        this.ws();
        if (b[this.i] !== 0x3a) throw new JsonSyntaxError(`expected ':' after ${this.text(nameAt, this.i)}`, this.i);
        this.i++;
        this.ws();
        if (code === UNKNOWN) this.skipValue(1);
        else if (code === TS) this.timestamp(ev);
        else if (code >= VECTOR) this.vector(ev, code - VECTOR);
        else this.field(ev, code);
        this.ws();
        const c = b[this.i++];
        if (c === 0x7d) break;
        if (c !== 0x2c) {
          const colon = b.indexOf(0x3a, nameAt);
          throw new JsonSyntaxError(`expected ',' or '}' after the value of ${this.text(nameAt, colon < 0 ? this.n : colon)}`, this.i - 1);
        }
        this.ws();
      }
    }
    const end = this.i;
    if (alone) {
      this.ws();
      if (this.i < this.n) throw new JsonSyntaxError('unexpected data after the object (one object per line)', this.i);
    }
    const v = this.writer.commit(ev, batch);
    if (v) rejects.push({ index, ...v, raw: this.raw(start, end) });
  }

  private timestamp(ev: EventScratch): void {
    const b = this.b;
    const c = b[this.i];
    let r: bigint | string | undefined;
    /** Where the epoch digits are (quotes excluded); -1 for ISO text. */
    let from = -1, to = -1;
    if (c === 0x22) {
      // Epoch digits in a string (how ns usually travel): parsed from the bytes.
      let j = this.i + 1;
      while (b[j] >= 0x30 && b[j] <= 0x39) j++;
      if (b[j] === 0x22 && j > this.i + 1) {
        r = parseEpochDigits(b, this.i + 1, j, this.tsUnit);
        if (r !== undefined) { from = this.i + 1; to = j; this.i = j + 1; }
      }
      if (r === undefined) {
        const at = this.i + 1;
        const text = this.string();
        r = parseTimestampString(text, this.tsUnit);
        if (!isIsoText(text)) { from = at; to = this.i - 1; }
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      from = this.i;
      this.number(false);
      to = this.i;
      r = parseEpochDigits(b, from, to, this.tsUnit) ?? parseEpochText(this.text(from, to), this.tsUnit);
    } else if (c === 0x6e) { this.literal(LITERALS.null); return; }
    else { this.skipValue(1); r = 'timestamp must be a number or a string'; }
    if (typeof r === 'string') ev.fail('bad_timestamp', r);
    else if (this.tsUnit !== 'auto' && r < MIN_PLAUSIBLE_NS && from >= 0) ev.fail('bad_timestamp', implausibleEpoch(r, this.tsUnit, this.text(from, to))!);
    else ev.ts = r;
  }

  private field(ev: EventScratch, f: number): void {
    const def = this.writer.type.fields[f];
    const b = this.b;
    const c = b[this.i];
    if (c === 0x22) {
      if (def.kind === 'id') { ev.strings[f] = this.idString(); ev.present[f] = 1; return; }
      // Sides repeat ("buy"/"sell"): the id cache spares a string per event.
      const str = def.kind === 'side' ? this.idString() : this.string();
      const v = def.kind === 'side' ? parseSide(str) : str.trim() === '' ? NaN : Number(str);
      if (Number.isFinite(v)) { ev.values[f] = v; ev.present[f] = 1; }
      else ev.fail('bad_field', `"${def.name}" = ${JSON.stringify(str.length > 40 ? str.slice(0, 37) + '...' : str)} is not ${def.kind === 'side' ? 'a side (buy/sell)' : 'a number'}`);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = this.i;
      let v = this.number();
      if (def.kind === 'side') v = parseSide(v);
      if (Number.isFinite(v)) { ev.values[f] = v; ev.present[f] = 1; }
      else ev.fail('bad_field', `"${def.name}" = ${this.text(start, this.i)} is not ${def.kind === 'side' ? 'a side (1 buy, -1 sell)' : 'a finite number'}`);
    } else if (c === 0x6e) {
      this.literal(LITERALS.null);
    } else {
      this.skipValue(1);
      ev.fail('bad_field', `"${def.name}" must be ${def.kind === 'id' ? 'a string or a number' : def.kind === 'side' ? 'a side (buy/sell)' : 'a number'}`);
    }
  }

  private vector(ev: EventScratch, k: number): void {
    const vec = this.writer.type.jsonVectors![k];
    const b = this.b;
    if (b[this.i] === 0x6e) { this.literal(LITERALS.null); return; }
    if (b[this.i] !== 0x5b) {
      this.skipValue(1);
      ev.fail('bad_field', `"${vec.name}" must be an array of numbers`);
      return;
    }
    this.i++;
    this.ws();
    if (b[this.i] === 0x5d) { this.i++; return; }
    for (let n = 0; ; n++) {
      this.ws();
      const c = b[this.i];
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        const v = this.number();
        if (n >= vec.length) ev.fail('bad_field', `"${vec.name}" has more than ${vec.length} entries`);
        else if (!Number.isFinite(v)) ev.fail('bad_field', `"${vec.name}"[${n}] is not a finite number`);
        else { ev.values[vec.field + n] = v; ev.present[vec.field + n] = 1; }
      } else if (c === 0x6e) {
        this.literal(LITERALS.null);
        if (n >= vec.length) ev.fail('bad_field', `"${vec.name}" has more than ${vec.length} entries`);
      } else {
        this.skipValue(2);
        ev.fail('bad_field', `"${vec.name}"[${n}] is not a number`);
      }
      this.ws();
      const d = b[this.i++];
      if (d === 0x5d) return;
      if (d !== 0x2c) throw new JsonSyntaxError(`expected ',' or ']' in "${vec.name}"`, this.i - 1);
    }
  }

  // --- lexical level -------------------------------------------------------

  private ws(): void {
    const b = this.b, n = this.n;
    let i = this.i;
    while (i < n) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  /** Member `k` of an object: a hit on the previous event's k-th name costs one byte compare. */
  private predictedMember(k: number): number {
    const b = this.b;
    const name = this.expectName[k];
    if (name !== undefined) {
      const at = this.i + 1;
      if (b[at + name.length] === 0x22 && sameBytes(b, at, name)) {
        this.i = at + name.length + 1;
        return this.expectCode[k];
      }
    }
    const start = this.i;
    const code = this.memberCode();
    if (this.plainName) { this.expectName[k] = b.slice(start + 1, this.i - 1); this.expectCode[k] = code; }
    return code;
  }

  /**
   * An id string token: like string(), but repeated ASCII ids come back as
   * the same string object (compared byte by byte, no string made).
   */
  private idString(): string {
    const b = this.b;
    const start = this.i + 1;
    let h = 0;
    for (let i = start; ; i++) {
      const c = b[i];
      if (c === 0x22) {
        const len = i - start;
        const slot = h & (ID_CACHE - 1);
        const cached = this.idCache[slot];
        this.i = i + 1;
        if (cached.length === len) {
          let k = 0;
          while (k < len && cached.charCodeAt(k) === b[start + k]) k++;
          if (k === len) return cached;
        }
        const str = this.buf.toString('latin1', start, i);
        this.idCache[slot] = str;
        return str;
      }
      // Escapes, non-ASCII and errors take the general path.
      if (c === 0x5c || c < 0x20 || c >= 0x80 || i >= this.n) break;
      h = hashStep(h, c);
    }
    return this.string();
  }

  /** The code of the member name at this.i (on its opening quote); leaves this.i after it. */
  private memberCode(): number {
    const b = this.b;
    const start = this.i + 1;
    let h = 0;
    for (let i = start; ; i++) {
      const c = b[i];
      if (c === 0x22) {
        this.i = i + 1;
        this.plainName = true;
        return this.members.lookup(b, start, i, h);
      }
      if (c === 0x5c || c < 0x20 || i >= this.n) break;
      h = hashStep(h, c);
    }
    this.plainName = false;
    return this.members.map.get(this.string()) ?? UNKNOWN;
  }

  /** A string token at this.i (on the opening quote); returns its value. */
  private string(): string {
    const b = this.b, n = this.n;
    const start = this.i + 1;
    let i = start;
    for (;;) {
      const c = b[i];
      if (c === 0x22) {
        this.i = i + 1;
        return this.text(start, i);
      }
      if (c === 0x5c) break;
      if (i >= n || c < 0x20) throw new JsonSyntaxError(i >= n ? 'unterminated string' : 'control character in string', i);
      i++;
    }
    // Escapes: find the end, then let JSON.parse check and decode them.
    for (;;) {
      const c = b[i];
      if (i >= n) throw new JsonSyntaxError('unterminated string', i);
      if (c === 0x5c) i += 2;
      else if (c === 0x22) break;
      else if (c < 0x20) throw new JsonSyntaxError('control character in string', i);
      else i++;
    }
    this.i = i + 1;
    try {
      return JSON.parse(this.text(start - 1, i + 1)) as string;
    } catch {
      throw new JsonSyntaxError('invalid escape in string', start);
    }
  }

  /**
   * A number token per the JSON grammar; leaves this.i after it and returns
   * its value. Up to 15 significant digits without exponent the value is
   * computed here (an exact integer divided by an exact power of ten is
   * correctly rounded, so it equals Number(text)); otherwise Number() decides.
   */
  private number(wantValue = true): number {
    const b = this.b;
    const start = this.i;
    let i = start;
    const neg = b[i] === 0x2d;
    if (neg) i++;
    let m = 0, digits = 0, scale = 0, simple = true;
    let c = b[i];
    if (c === 0x30) i++;
    else if (c >= 0x31 && c <= 0x39) { do { m = m * 10 + (c - 48); digits++; i++; } while ((c = b[i]) >= 0x30 && c <= 0x39); }
    else throw new JsonSyntaxError('invalid number', i);
    if (b[i] === 0x2e) {
      i++;
      if (!((c = b[i]) >= 0x30 && c <= 0x39)) throw new JsonSyntaxError('invalid number', i);
      do { m = m * 10 + (c - 48); digits++; scale++; i++; } while ((c = b[i]) >= 0x30 && c <= 0x39);
    }
    c = b[i];
    if (c === 0x65 || c === 0x45) {
      simple = false;
      i++;
      c = b[i];
      if (c === 0x2b || c === 0x2d) i++;
      if (!((c = b[i]) >= 0x30 && c <= 0x39)) throw new JsonSyntaxError('invalid number', i);
      do i++; while ((c = b[i]) >= 0x30 && c <= 0x39);
    }
    this.i = i;
    if (!wantValue) return 0;
    if (simple && digits <= 15) {
      const v = scale ? m / POW10[scale] : m;
      return neg ? -v : v;
    }
    return +this.text(start, i);
  }

  private literal(word: Uint8Array): void {
    if (!sameBytes(this.b, this.i, word)) throw new JsonSyntaxError('invalid literal', this.i);
    this.i += word.length;
  }

  private skipValue(depth: number): void {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(`nesting deeper than ${MAX_DEPTH}`, this.i);
    const b = this.b;
    const c = b[this.i];
    if (c === 0x22) { this.string(); return; }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) { this.number(false); return; }
    if (c === 0x74) { this.literal(LITERALS.true); return; }
    if (c === 0x66) { this.literal(LITERALS.false); return; }
    if (c === 0x6e) { this.literal(LITERALS.null); return; }
    const close = c === 0x7b ? 0x7d : c === 0x5b ? 0x5d : -1;
    if (close < 0) throw new JsonSyntaxError(this.i >= this.n ? 'unexpected end of input' : 'unexpected character', this.i);
    this.i++;
    this.ws();
    if (b[this.i] === close) { this.i++; return; }
    for (;;) {
      this.ws();
      if (close === 0x7d) {
        if (b[this.i] !== 0x22) throw new JsonSyntaxError('expected a member name', this.i);
        this.string();
        this.ws();
        if (b[this.i++] !== 0x3a) throw new JsonSyntaxError(`expected ':'`, this.i - 1);
        this.ws();
      }
      this.skipValue(depth + 1);
      this.ws();
      const d = b[this.i++];
      if (d === close) return;
      if (d !== 0x2c) throw new JsonSyntaxError(`expected ',' or '${String.fromCharCode(close)}'`, this.i - 1);
    }
  }
}
