// JSON frames → ring records, with a hand-written scanner instead of JSON.parse.
//
// Why a scanner: JSON.parse turns 1700000000123456789 into a double and loses
// the nanoseconds before any code sees them (Node 20 has no source-text
// access in revivers). The scanner hands timestamp digits to timestamps.ts as
// text, so epoch ns stay exact; it also builds no objects, looks members up in
// a precomputed name table, and skips unknown members without materialising
// them. It still checks full JSON syntax (escapes, number grammar, nesting),
// so what it accepts JSON.parse accepts.
//
// Frame forms: one object, an array of objects, or objects separated by
// whitespace/newlines (NDJSON). A syntax error in an array rejects the whole
// frame (nothing after it can be trusted); in NDJSON it rejects that line
// only, and scanning resumes at the next newline. A member with the wrong
// type rejects its event only.
import { isAscii, isUtf8 } from 'node:buffer';
import type { EventType } from '../schema/event_types.js';
import { TS_ALIASES } from '../schema/event_types.js';
import { parseSide } from '../ingest/validation.js';
import { EventScratch, RecordBatch, RecordWriter, type Reject } from './record_batch.js';
import { parseEpochText, parseTimestampString, type TimeUnit } from './timestamps.js';

const TS = -1;
const VECTOR = 1 << 16;
const MAX_DEPTH = 64;
const ID_CACHE = 4096;
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Largest string the array path makes at once: under V8's 128 KB large-object threshold. */
const CHUNK_BYTES = 64 * 1024;

class JsonSyntaxError {
  constructor(readonly message: string, readonly at: number) {}
}

const UNKNOWN = -2;
const TABLE_BITS = 8;
const TABLE_MASK = (1 << TABLE_BITS) - 1;

function hashStep(h: number, c: number): number {
  return (Math.imul(h, 31) + c) | 0;
}

/**
 * Member names → codes in a small open-addressing table. Looking a name up
 * hashes its characters straight from the frame text, so the scanner never
 * allocates a string per member (a Map would need the sliced key, and V8
 * re-hashes every fresh slice).
 */
class MemberTable {
  readonly names: string[] = new Array<string>(1 << TABLE_BITS).fill('');
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
      let h = 0;
      for (let i = 0; i < name.length; i++) h = hashStep(h, name.charCodeAt(i));
      let slot = h & TABLE_MASK;
      while (this.codes[slot] !== UNKNOWN) slot = (slot + 1) & TABLE_MASK;
      this.names[slot] = name;
      this.codes[slot] = code;
    }
  }

  /** Code of the name s[from, to) whose hash is h. */
  lookup(s: string, from: number, to: number, h: number): number {
    let slot = h & TABLE_MASK;
    for (;;) {
      const code = this.codes[slot];
      if (code === UNKNOWN) return UNKNOWN;
      const name = this.names[slot];
      if (name.length === to - from && s.startsWith(name, from)) return code;
      slot = (slot + 1) & TABLE_MASK;
    }
  }
}

const encoder = new TextEncoder();

export class JsonDecoder {
  private readonly members: MemberTable;
  private readonly scratch: EventScratch;
  private readonly tsUnit: TimeUnit;
  private s = '';
  private i = 0;
  /** Member names in the order the previous event had them: producers rarely reorder. */
  private readonly expectName: string[] = [];
  private readonly expectCode: number[] = [];
  /** Recently seen id strings by hash, so repeated ids reuse one string (hash cached by V8). */
  private readonly idCache: string[] = new Array<string>(ID_CACHE).fill('');

  constructor(readonly writer: RecordWriter, opts: { tsUnit?: TimeUnit } = {}) {
    this.members = new MemberTable(writer.type);
    this.scratch = new EventScratch(writer.type);
    this.tsUnit = opts.tsUnit ?? 'auto';
  }

  /** Decodes a UTF-8 frame, appending records to `batch`; returns the rejects. */
  decode(bytes: Uint8Array, batch: RecordBatch, rejects: Reject[] = []): Reject[] {
    // ASCII frames (the common case) become one-byte strings without a UTF-8 decode.
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let text: string;
    if (isAscii(buf) && buf.length > CHUNK_BYTES && this.arrayInChunks(buf, batch, rejects)) return rejects;
    if (isAscii(buf)) text = buf.toString('latin1');
    else if (isUtf8(buf)) text = buf.toString('utf8');
    else {
      rejects.push({ index: -1, code: 'invalid_utf8', reason: 'frame is not valid UTF-8', raw: bytes });
      return rejects;
    }
    return this.decodeText(text, batch, rejects, bytes);
  }

  /**
   * A large ASCII array frame, decoded element run by element run, each run a
   * string under CHUNK_BYTES. One string of the whole frame would be a V8
   * large object above 128 KB: fresh pages every time, ~1.2 ms for a 140 KB
   * frame of 1,000 trades against ~10 µs for 60 KB (measured on this VM).
   * Element boundaries come from a byte scan that tracks strings and nesting,
   * so a run always holds whole elements. Returns false (nothing decoded) when
   * the frame is not an array; any syntax error rolls everything back and
   * returns false, so the whole-string path reports it exactly as before.
   */
  private arrayInChunks(buf: Buffer, batch: RecordBatch, rejects: Reject[]): boolean {
    const n = buf.length;
    let i = 0;
    while (i < n && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
    if (buf[i] !== 0x5b /* [ */) return false;
    // Element boundaries: commas at depth 1 outside strings; `end` is the closing bracket.
    const cuts: number[] = [i];
    let depth = 0, end = -1;
    for (let j = i; j < n; j++) {
      const c = buf[j];
      if (c === 0x22) {
        for (j++; j < n; j++) { const d = buf[j]; if (d === 0x5c) j++; else if (d === 0x22) break; }
      } else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) { if (--depth === 0) { end = j; break; } }
      else if (c === 0x2c && depth === 1) cuts.push(j);
    }
    if (end < 0 || cuts.length < 2) return false;
    cuts.push(end);
    const countBefore = batch.count, rejectsBefore = rejects.length;
    let index = 0;
    try {
      for (let k = 0; k < cuts.length - 1;) {
        // Elements k .. m-1 in one run: from after cut k to cut m (a comma, or the bracket).
        let m = k + 1;
        while (m < cuts.length - 1 && cuts[m + 1] - cuts[k] <= CHUNK_BYTES) m++;
        this.s = buf.toString('latin1', cuts[k] + 1, cuts[m]);
        this.i = 0;
        for (let e = k; e < m; e++) {
          this.ws();
          if (this.s.charCodeAt(this.i) === 0x7b /* { */) this.event(index, batch, rejects);
          else {
            const start = this.i;
            this.skipValue(0);
            rejects.push({ index, code: 'not_an_object', reason: `array element ${index} is not an object`, raw: encoder.encode(this.s.slice(start, this.i)) });
          }
          index++;
          this.ws();
          if (e < m - 1 && this.s.charCodeAt(this.i++) !== 0x2c) throw new JsonSyntaxError('expected ,', this.i - 1);
        }
        if (this.i !== this.s.length) throw new JsonSyntaxError('unexpected data', this.i);
        k = m;
      }
      for (let j = end + 1; j < n; j++) if (buf[j] !== 0x20 && buf[j] !== 0x0a && buf[j] !== 0x0d && buf[j] !== 0x09) throw new JsonSyntaxError('data after the array', j);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      batch.count = countBefore;
      rejects.length = rejectsBefore;
      this.s = '';
      return false;
    }
    this.s = '';
    return true;
  }

  decodeText(text: string, batch: RecordBatch, rejects: Reject[] = [], frame?: Uint8Array): Reject[] {
    this.s = text;
    this.i = 0;
    if (text.charCodeAt(0) === 0xfeff) this.i = 1;
    this.ws();
    if (this.i >= text.length) {
      rejects.push({ index: -1, code: 'empty_frame', reason: 'frame holds no JSON', raw: frame ?? encoder.encode(text) });
    } else if (text.charCodeAt(this.i) === 0x5b /* [ */) {
      this.array(batch, rejects, frame);
    } else {
      this.lines(batch, rejects);
    }
    this.s = '';
    return rejects;
  }

  private array(batch: RecordBatch, rejects: Reject[], frame?: Uint8Array): void {
    const countBefore = batch.count;
    const rejectsBefore = rejects.length;
    const s = this.s;
    try {
      this.i++;
      this.ws();
      let index = 0;
      if (s.charCodeAt(this.i) === 0x5d /* ] */) this.i++;
      else {
        for (;;) {
          this.ws();
          if (s.charCodeAt(this.i) === 0x7b /* { */) this.event(index, batch, rejects);
          else {
            const start = this.i;
            this.skipValue(0);
            rejects.push({ index, code: 'not_an_object', reason: `array element ${index} is not an object`, raw: encoder.encode(s.slice(start, this.i)) });
          }
          index++;
          this.ws();
          const c = s.charCodeAt(this.i++);
          if (c === 0x5d) break;
          if (c !== 0x2c) throw new JsonSyntaxError(`expected ',' or ']' after array element ${index - 1}`, this.i - 1);
        }
      }
      this.ws();
      if (this.i < s.length) throw new JsonSyntaxError('unexpected data after the array', this.i);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      batch.count = countBefore;
      rejects.length = rejectsBefore;
      rejects.push({ index: -1, code: 'json_syntax', reason: `${e.message} at character ${e.at}`, raw: frame ?? encoder.encode(s) });
    }
  }

  /** One object, or several separated by whitespace (NDJSON). */
  private lines(batch: RecordBatch, rejects: Reject[]): void {
    const s = this.s;
    let index = 0;
    while (this.i < s.length) {
      const start = this.i;
      try {
        if (s.charCodeAt(this.i) !== 0x7b) throw new JsonSyntaxError(`expected '{' or '['`, this.i);
        this.event(index, batch, rejects);
      } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        let nl = s.indexOf('\n', Math.max(e.at, start));
        if (nl < 0) nl = s.length;
        rejects.push({ index, code: 'json_syntax', reason: `${e.message} at character ${e.at}`, raw: encoder.encode(s.slice(start, nl)) });
        this.i = nl;
      }
      index++;
      this.ws();
    }
  }

  private event(index: number, batch: RecordBatch, rejects: Reject[]): void {
    const s = this.s;
    const start = this.i;
    const ev = this.scratch;
    ev.reset();
    this.i++;
    this.ws();
    let member = 0;
    if (s.charCodeAt(this.i) === 0x7d /* } */) this.i++;
    else {
      for (;;) {
        if (s.charCodeAt(this.i) !== 0x22) throw new JsonSyntaxError('expected a member name', this.i);
        const nameAt = this.i;
        const code = this.predictedMember(member++);
        this.ws();
        if (s.charCodeAt(this.i) !== 0x3a) throw new JsonSyntaxError(`expected ':' after ${s.slice(nameAt, this.i)}`, this.i);
        this.i++;
        this.ws();
        if (code === UNKNOWN) this.skipValue(1);
        else if (code === TS) this.timestamp(ev);
        else if (code >= VECTOR) this.vector(ev, code - VECTOR);
        else this.field(ev, code);
        this.ws();
        const c = s.charCodeAt(this.i++);
        if (c === 0x7d) break;
        if (c !== 0x2c) throw new JsonSyntaxError(`expected ',' or '}' after the value of ${s.slice(nameAt, s.indexOf(':', nameAt))}`, this.i - 1);
        this.ws();
      }
    }
    const v = this.writer.commit(ev, batch);
    if (v) rejects.push({ index, ...v, raw: encoder.encode(s.slice(start, this.i)) });
  }

  private timestamp(ev: EventScratch): void {
    const c = this.s.charCodeAt(this.i);
    let r: bigint | string;
    if (c === 0x22) r = parseTimestampString(this.string(), this.tsUnit);
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = this.i;
      this.number(false);
      r = parseEpochText(this.s.slice(start, this.i), this.tsUnit);
    } else if (c === 0x6e) { this.literal('null'); return; }
    else { this.skipValue(1); r = 'timestamp must be a number or a string'; }
    if (typeof r === 'string') ev.fail('bad_timestamp', r);
    else ev.ts = r;
  }

  private field(ev: EventScratch, f: number): void {
    const def = this.writer.type.fields[f];
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === 0x22) {
      if (def.kind === 'id') { ev.strings[f] = this.idString(); ev.present[f] = 1; return; }
      const str = this.string();
      const v = def.kind === 'side' ? parseSide(str) : str.trim() === '' ? NaN : Number(str);
      if (Number.isFinite(v)) { ev.values[f] = v; ev.present[f] = 1; }
      else ev.fail('bad_field', `"${def.name}" = ${JSON.stringify(str.length > 40 ? str.slice(0, 37) + '...' : str)} is not ${def.kind === 'side' ? 'a side (buy/sell)' : 'a number'}`);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = this.i;
      let v = this.number();
      if (def.kind === 'side') v = parseSide(v);
      if (Number.isFinite(v)) { ev.values[f] = v; ev.present[f] = 1; }
      else ev.fail('bad_field', `"${def.name}" = ${s.slice(start, this.i)} is not ${def.kind === 'side' ? 'a side (1 buy, -1 sell)' : 'a finite number'}`);
    } else if (c === 0x6e) {
      this.literal('null');
    } else {
      this.skipValue(1);
      ev.fail('bad_field', `"${def.name}" must be ${def.kind === 'id' ? 'a string or a number' : def.kind === 'side' ? 'a side (buy/sell)' : 'a number'}`);
    }
  }

  private vector(ev: EventScratch, k: number): void {
    const vec = this.writer.type.jsonVectors![k];
    const s = this.s;
    if (s.charCodeAt(this.i) === 0x6e) { this.literal('null'); return; }
    if (s.charCodeAt(this.i) !== 0x5b) {
      this.skipValue(1);
      ev.fail('bad_field', `"${vec.name}" must be an array of numbers`);
      return;
    }
    this.i++;
    this.ws();
    if (s.charCodeAt(this.i) === 0x5d) { this.i++; return; }
    for (let n = 0; ; n++) {
      this.ws();
      const c = s.charCodeAt(this.i);
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        const v = this.number();
        if (n >= vec.length) ev.fail('bad_field', `"${vec.name}" has more than ${vec.length} entries`);
        else if (!Number.isFinite(v)) ev.fail('bad_field', `"${vec.name}"[${n}] is not a finite number`);
        else { ev.values[vec.field + n] = v; ev.present[vec.field + n] = 1; }
      } else if (c === 0x6e) {
        this.literal('null');
        if (n >= vec.length) ev.fail('bad_field', `"${vec.name}" has more than ${vec.length} entries`);
      } else {
        this.skipValue(2);
        ev.fail('bad_field', `"${vec.name}"[${n}] is not a number`);
      }
      this.ws();
      const d = s.charCodeAt(this.i++);
      if (d === 0x5d) return;
      if (d !== 0x2c) throw new JsonSyntaxError(`expected ',' or ']' in "${vec.name}"`, this.i - 1);
    }
  }

  // --- lexical level -------------------------------------------------------

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  /** Member `k` of an object: a hit on the previous event's k-th name costs one startsWith. */
  private predictedMember(k: number): number {
    const s = this.s;
    const name = this.expectName[k];
    if (name !== undefined && s.charCodeAt(this.i + 1 + name.length) === 0x22 && s.startsWith(name, this.i + 1)) {
      this.i += name.length + 2;
      return this.expectCode[k];
    }
    const start = this.i;
    const code = this.memberCode();
    const raw = s.slice(start + 1, this.i - 1);
    if (raw.indexOf('\\') < 0) { this.expectName[k] = raw; this.expectCode[k] = code; }
    return code;
  }

  /** An id string token: like string(), but repeated ids come back as the same string object. */
  private idString(): string {
    const s = this.s;
    const start = this.i + 1;
    let h = 0;
    for (let i = start; ; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        const slot = h & (ID_CACHE - 1);
        const cached = this.idCache[slot];
        this.i = i + 1;
        if (cached.length === i - start && s.startsWith(cached, start)) return cached;
        const str = s.slice(start, i);
        this.idCache[slot] = str;
        return str;
      }
      if (c === 0x5c || c < 0x20 || i >= s.length) break;
      h = hashStep(h, c);
    }
    return this.string();
  }

  /** The code of the member name at this.i (on its opening quote); leaves this.i after it. */
  private memberCode(): number {
    const s = this.s;
    const start = this.i + 1;
    let h = 0;
    for (let i = start; ; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        return this.members.lookup(s, start, i, h);
      }
      if (c === 0x5c || c < 0x20 || i >= s.length) break;
      h = hashStep(h, c);
    }
    return this.members.map.get(this.string()) ?? UNKNOWN;
  }

  /** A string token at this.i (on the opening quote); returns its value. */
  private string(): string {
    const s = this.s;
    const start = this.i + 1;
    let i = start;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        return s.slice(start, i);
      }
      if (c === 0x5c) break;
      if (c < 0x20 || i >= s.length) throw new JsonSyntaxError(i >= s.length ? 'unterminated string' : 'control character in string', i);
      i++;
    }
    // Escapes: find the end, then let JSON.parse check and decode them.
    for (;;) {
      const c = s.charCodeAt(i);
      if (i >= s.length) throw new JsonSyntaxError('unterminated string', i);
      if (c === 0x5c) i += 2;
      else if (c === 0x22) break;
      else if (c < 0x20) throw new JsonSyntaxError('control character in string', i);
      else i++;
    }
    this.i = i + 1;
    try {
      return JSON.parse(s.slice(start - 1, i + 1)) as string;
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
    const s = this.s;
    const start = this.i;
    let i = start;
    const neg = s.charCodeAt(i) === 0x2d;
    if (neg) i++;
    let m = 0, digits = 0, scale = 0, simple = true;
    let c = s.charCodeAt(i);
    if (c === 0x30) i++;
    else if (c >= 0x31 && c <= 0x39) { do { m = m * 10 + (c - 48); digits++; i++; } while ((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39); }
    else throw new JsonSyntaxError('invalid number', i);
    if (s.charCodeAt(i) === 0x2e) {
      i++;
      if (!((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39)) throw new JsonSyntaxError('invalid number', i);
      do { m = m * 10 + (c - 48); digits++; scale++; i++; } while ((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39);
    }
    c = s.charCodeAt(i);
    if (c === 0x65 || c === 0x45) {
      simple = false;
      i++;
      c = s.charCodeAt(i);
      if (c === 0x2b || c === 0x2d) i++;
      if (!((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39)) throw new JsonSyntaxError('invalid number', i);
      do i++; while ((c = s.charCodeAt(i)) >= 0x30 && c <= 0x39);
    }
    this.i = i;
    if (!wantValue) return 0;
    if (simple && digits <= 15) {
      const v = scale ? m / POW10[scale] : m;
      return neg ? -v : v;
    }
    return +s.slice(start, i);
  }

  private literal(word: 'true' | 'false' | 'null'): void {
    if (!this.s.startsWith(word, this.i)) throw new JsonSyntaxError('invalid literal', this.i);
    this.i += word.length;
  }

  private skipValue(depth: number): void {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(`nesting deeper than ${MAX_DEPTH}`, this.i);
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === 0x22) { this.string(); return; }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) { this.number(false); return; }
    if (c === 0x74) { this.literal('true'); return; }
    if (c === 0x66) { this.literal('false'); return; }
    if (c === 0x6e) { this.literal('null'); return; }
    const close = c === 0x7b ? 0x7d : c === 0x5b ? 0x5d : -1;
    if (close < 0) throw new JsonSyntaxError(this.i >= s.length ? 'unexpected end of input' : 'unexpected character', this.i);
    this.i++;
    this.ws();
    if (s.charCodeAt(this.i) === close) { this.i++; return; }
    for (;;) {
      this.ws();
      if (close === 0x7d) {
        if (s.charCodeAt(this.i) !== 0x22) throw new JsonSyntaxError('expected a member name', this.i);
        this.string();
        this.ws();
        if (s.charCodeAt(this.i++) !== 0x3a) throw new JsonSyntaxError(`expected ':'`, this.i - 1);
        this.ws();
      }
      this.skipValue(depth + 1);
      this.ws();
      const d = s.charCodeAt(this.i++);
      if (d === close) return;
      if (d !== 0x2c) throw new JsonSyntaxError(`expected ',' or '${String.fromCharCode(close)}'`, this.i - 1);
    }
  }
}
