// Where decoders put their output: ring-layout input records (host/records.ts)
// packed in one growable byte buffer, plus the list of rejected events. No
// per-event objects survive a decode: every codec fills one reusable
// EventScratch, and RecordWriter validates it, interns its strings and writes
// the record in place.
//
//   RecordBatch.bytes   ┌──────────┬──────────┬─────┬────────────┐
//                       │ record 0 │ record 1 │ ... │ record n-1 │  n = count, each `stride` bytes
//                       └──────────┴──────────┴─────┴────────────┘
//   seq is written as 0 and flags as 0: the host stamps seq when it appends
//   to the ingest log, and flags belong to the ring (control records).
import * as layout from '../records.js';

// Local copies: module-namespace imports can compile to getters under some loaders.
const IN_TS = layout.IN_TS, IN_SEQ = layout.IN_SEQ, IN_KEY = layout.IN_KEY, IN_FLAGS = layout.IN_FLAGS, IN_FIELDS = layout.IN_FIELDS;
import type { EventType } from '../schema/event_types.js';
import { keyFieldIndexes } from '../schema/event_types.js';
import { compositeKey, KEY_TOO_LONG, KeyDictionary, type Refusal } from './key_dictionary.js';
import type { TimeUnit } from './timestamps.js';
import { Validator, type ValidationRule } from '../ingest/validation.js';

/** Stable reason codes; the dead-letter queue counts rejects per code. */
export type RejectCode =
  | 'invalid_utf8' | 'json_syntax' | 'not_an_object' | 'empty_frame'
  | 'flatbuffers_invalid' | 'flatbuffers_identifier' | 'flags_set'
  | 'missing_timestamp' | 'bad_timestamp' | 'bad_field' | 'missing_key' | 'key_dictionary_full' | 'key_too_long'
  | 'required' | 'range' | 'allowed' | 'length' | 'timestamp_window'
  | 'frame_too_large'
  | 'bad_producer';

export interface Violation {
  code: RejectCode;
  reason: string;
}

export interface Reject extends Violation {
  /** Position of the event within its frame; -1 when the whole frame was rejected. */
  index: number;
  /** The offending bytes: the event's own text/struct/table region, or the whole frame. */
  raw: Uint8Array;
}

export class RecordBatch {
  bytes: Uint8Array;
  view: DataView;
  count = 0;

  /**
   * Pass `bytes` to decode into your own buffer. Decoders grow the batch when
   * it is too small, replacing `bytes` (and `view`) with a larger copy, so
   * always read `batch.bytes` after a decode.
   */
  constructor(readonly stride: number, capacity = 1024, bytes?: Uint8Array) {
    this.bytes = bytes ?? new Uint8Array(stride * Math.max(1, capacity));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** Room for `extra` more records after `count`. */
  ensure(extra: number): void {
    const need = (this.count + extra) * this.stride;
    if (need <= this.bytes.length) return;
    let size = Math.max(this.bytes.length * 2, this.stride * 64);
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.count * this.stride));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  reset(): void {
    this.count = 0;
  }

  /** The records decoded so far, as a view (no copy). */
  records(): Uint8Array {
    return this.bytes.subarray(0, this.count * this.stride);
  }

  ts(i: number): bigint {
    return this.view.getBigInt64(i * this.stride + IN_TS, true);
  }

  key(i: number): number {
    return this.view.getUint32(i * this.stride + IN_KEY, true);
  }

  field(i: number, f: number): number {
    return this.view.getFloat64(i * this.stride + IN_FIELDS + 8 * f, true);
  }
}

/**
 * One decoded event before it becomes a record. `values[i]` is NaN and
 * `present[i]` 0 for an absent field; `strings[i]` holds an id given as a
 * string (interned only once the event passes validation, so rejected junk
 * never fills the dictionary).
 */
export class EventScratch {
  ts: bigint | undefined = undefined;
  readonly values: Float64Array;
  readonly present: Uint8Array;
  readonly strings: (string | undefined)[];
  /** First type error met while decoding (the event is rejected with it). */
  error: Violation | null = null;

  constructor(readonly type: EventType) {
    const n = type.fields.length;
    this.values = new Float64Array(n).fill(NaN);
    this.present = new Uint8Array(n);
    this.strings = new Array<string | undefined>(n).fill(undefined);
  }

  reset(): void {
    this.ts = undefined;
    const values = this.values, present = this.present, strings = this.strings;
    for (let i = 0; i < values.length; i++) {
      values[i] = NaN;
      present[i] = 0;
      strings[i] = undefined;
    }
    this.error = null;
  }

  fail(code: RejectCode, reason: string): void {
    if (!this.error) this.error = { code, reason };
  }
}

export interface DecoderConfig {
  type: EventType;
  /** Fields whose values make the record key (default: the type's defaultKey). */
  keyFields?: readonly string[];
  dictionary: KeyDictionary;
  rules?: readonly ValidationRule[];
  /** Unit of numeric epoch timestamps in JSON ('auto' infers it from magnitude). */
  tsUnit?: TimeUnit;
  /** An event without a timestamp is rejected, or stamped with the receive time. */
  missingTimestamp?: 'reject' | 'receive_time';
  /** Clock for timestamp-window rules (ns since epoch). */
  now?: () => bigint;
}

/** Validates a scratch event, computes its key and writes its record. */
/** Numeric ids below this are cached in a flat table (256 KiB). */
const SMALL_IDS = 1 << 16;

export class RecordWriter {
  readonly type: EventType;
  readonly dictionary: KeyDictionary;
  readonly keyIdx: readonly number[];
  readonly validator: Validator | null;
  readonly missingTimestamp: 'reject' | 'receive_time';
  private readonly numericKeys = new Map<number, number>();
  private readonly smallIds = new Int32Array(SMALL_IDS);
  private readonly parts: string[];
  private stringFields: number[];
  /** The key field when the key is one field (its string, when given, is interned by keyOf); -1 for composite keys. */
  private readonly singleKey: number;
  nowNs = 0n;
  receivedAtNs = 0n;

  constructor(cfg: DecoderConfig) {
    this.type = cfg.type;
    this.dictionary = cfg.dictionary;
    this.keyIdx = keyFieldIndexes(cfg.type, cfg.keyFields);
    this.validator = cfg.rules && cfg.rules.length ? new Validator(cfg.rules, cfg.type) : null;
    this.missingTimestamp = cfg.missingTimestamp ?? 'reject';
    this.parts = new Array<string>(this.keyIdx.length).fill('');
    this.stringFields = cfg.type.fields.flatMap((f, i) => (f.kind === 'id' ? [i] : []));
    this.singleKey = this.keyIdx.length === 1 ? this.keyIdx[0] : -1;
  }

  /** Once per frame: the clock for window rules and the receive time. */
  begin(nowNs: bigint, receivedAtNs: bigint = nowNs): void {
    this.nowNs = nowNs;
    this.receivedAtNs = receivedAtNs;
    this.validator?.begin(nowNs);
  }

  /** Appends the event to `batch`, or returns why it is rejected. */
  commit(ev: EventScratch, batch: RecordBatch): Violation | null {
    if (ev.error) return ev.error;
    if (ev.ts === undefined) {
      if (this.missingTimestamp === 'reject') return { code: 'missing_timestamp', reason: `no timestamp (ts, timestamp or time)` };
      ev.ts = this.receivedAtNs;
    }
    if (this.validator) {
      const v = this.validator.check(ev);
      if (v) return v;
    }
    const key = this.keyOf(ev);
    if (key < 0) return this.keyViolation(key, 'is missing');
    for (const i of this.stringFields) {
      const s = ev.strings[i];
      if (s === undefined) continue;
      // A single string key is already interned: the key's id is the field's id (one Map lookup less per event).
      if (i === this.singleKey) { ev.values[i] = key; continue; }
      const id = this.dictionary.admit(s);
      if (id < 0) return this.refusal(id as Refusal, s, `"${this.type.fields[i].name}"`);
      ev.values[i] = id;
    }
    batch.ensure(1);
    const view = batch.view;
    const at = batch.count * batch.stride;
    view.setBigInt64(at + IN_TS, ev.ts, true);
    view.setBigUint64(at + IN_SEQ, 0n, true);
    view.setUint32(at + IN_KEY, key, true);
    view.setUint32(at + IN_FLAGS, 0, true);
    const values = ev.values;
    for (let i = 0; i < values.length; i++) view.setFloat64(at + IN_FIELDS + 8 * i, values[i], true);
    batch.count++;
    return null;
  }

  /**
   * The violation for a negative keyOf/numericKey result: a dictionary
   * refusal (of the string left in `refusedKey`), or key field k missing
   * (-(4 + k); `missing` says how).
   */
  keyViolation(key: number, missing: string): Violation {
    if (key >= KEY_TOO_LONG) {
      const idx = this.keyIdx;
      const what = idx.length === 1 ? `key "${this.type.fields[idx[0]].name}"` : `key (${idx.map((i) => this.type.fields[i].name).join('|')})`;
      return this.refusal(key as Refusal, this.refusedKey, what);
    }
    return { code: 'missing_key', reason: `key field "${this.type.fields[this.keyIdx[-key - 4]].name}" ${missing}` };
  }

  private refusal(r: Refusal, s: string, what: string): Violation {
    return { code: r === KEY_TOO_LONG ? 'key_too_long' : 'key_dictionary_full', reason: `${what}: ${this.dictionary.describe(r, s)}` };
  }

  /** The last string the dictionary refused in keyOf/numericKey. */
  private refusedKey = '';

  private admitKey(s: string): number {
    const id = this.dictionary.admit(s);
    if (id < 0) this.refusedKey = s;
    return id;
  }

  /** Key id; a dictionary Refusal (-1..-3); -(4 + k) when key field k is missing. */
  keyOf(ev: EventScratch): number {
    const idx = this.keyIdx;
    if (idx.length === 1) {
      const s = ev.strings[idx[0]];
      if (s !== undefined) return this.admitKey(s);
      return this.numericKey(ev.values[idx[0]], 0);
    }
    for (let k = 0; k < idx.length; k++) {
      const s = ev.strings[idx[k]];
      if (s !== undefined) this.parts[k] = s;
      else {
        const v = ev.values[idx[k]];
        if (!Number.isFinite(v)) return -(4 + k);
        this.parts[k] = String(v);
      }
    }
    return this.admitKey(compositeKey(this.parts));
  }

  /** A numeric id as a key: interned by its decimal form, cached by value. */
  numericKey(v: number, k: number): number {
    // Small non-negative integer ids (instruments, accounts) hit a flat table.
    if (v >= 0 && v < SMALL_IDS && (v | 0) === v) {
      const cached = this.smallIds[v];
      if (cached !== 0) return cached;
    }
    if (!Number.isFinite(v)) return -(4 + k);
    let id = this.numericKeys.get(v);
    if (id === undefined) {
      id = this.admitKey(String(v));
      if (id < 0) return id;
      this.numericKeys.set(v, id);
      if (v >= 0 && v < SMALL_IDS && (v | 0) === v) this.smallIds[v] = id;
    }
    return id;
  }
}
