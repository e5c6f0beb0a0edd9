// Binary frames: verify, then decode into ring records. Two forms per event
// type, told apart by the file_identifier (host/schema/event_types.ts):
//
//  struct batch ("GTRR"...): root table { records: [Record] } where Record is
//    a struct with the ring record's exact layout. Fast path: after the O(1)
//    verification, ONE `set()` copies all n×stride bytes into the batch; a
//    pass per record then zeroes seq, checks flags, applies validation rules
//    and computes the key from the key fields (numeric ids, interned by their
//    decimal form so keys are stable across processes and restarts).
//
//  table batch ("GTRT"...): root table { events: [Event] } with string ids.
//    Each event table is read slot by slot (no generated-code objects) into
//    the EventScratch and written by the RecordWriter. FlatBuffers semantics:
//    an absent scalar reads as 0; ts = 0 counts as "no timestamp".
//
// Rejected events are re-encoded as a one-event batch of the same form, so a
// dead-letter entry's raw bytes are a valid frame that can be replayed as is.
import { Builder } from 'flatbuffers';
import * as layout from '../records.js';

// Local copies: module-namespace imports can compile to getters under some loaders.
const IN_TS = layout.IN_TS, IN_SEQ = layout.IN_SEQ, IN_KEY = layout.IN_KEY, IN_FLAGS = layout.IN_FLAGS, IN_FIELDS = layout.IN_FIELDS;
import type { EventType } from '../schema/event_types.js';
import { hasIdentifier, identifierOf, verify, type FbTable } from './flatbuffers_verifier.js';
import { EventScratch, RecordBatch, RecordWriter, type Reject } from './record_batch.js';

export interface FbSchemas {
  /** Root of the struct form: { records: [Record] (required) }. */
  structBatch: FbTable;
  /** Root of the table form: { events: [Event] (required) }. */
  tableBatch: FbTable;
  event: FbTable;
}

const schemaCache = new WeakMap<EventType, FbSchemas>();

/** Verifier descriptors for an event type, derived from the same description as the .fbs. */
export function fbSchemasFor(type: EventType): FbSchemas {
  let s = schemaCache.get(type);
  if (s) return s;
  const event: FbTable = {
    name: type.name,
    fields: [
      { kind: 'scalar', size: 8 },
      ...type.tableSlots.map((slot) => {
        switch (slot.type) {
          case 'string': return { kind: 'string' as const, required: slot.required };
          case 'f64': return { kind: 'scalar' as const, size: 8 as const };
          case 'i8': return { kind: 'scalar' as const, size: 1 as const };
          case 'vector_f64': return { kind: 'vector_scalar' as const, size: 8 as const };
        }
      }),
    ],
  };
  s = {
    structBatch: { name: `${type.name} record batch`, fields: [{ kind: 'vector_struct', size: type.stride, align: 8, required: true }] },
    tableBatch: { name: `${type.name} batch`, fields: [{ kind: 'vector_table', table: event, required: true }] },
    event,
  };
  schemaCache.set(type, s);
  return s;
}

/** Position of a table field, or 0 when absent. Only call on verified buffers. */
function fieldAt(view: DataView, t: number, slot: number): number {
  const vt = t - view.getInt32(t, true);
  const at = 4 + 2 * slot;
  if (at >= view.getUint16(vt, true)) return 0;
  const off = view.getUint16(vt + at, true);
  return off === 0 ? 0 : t + off;
}

const utf8 = new TextDecoder('utf-8');

/** Short ASCII strings (tickers, account ids) skip TextDecoder's call overhead. */
function readString(bytes: Uint8Array, from: number, len: number): string {
  if (len <= 32) {
    let s = '';
    for (let i = from, end = from + len; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return utf8.decode(bytes.subarray(from, from + len));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(from, from + len));
}

export class FlatBuffersDecoder {
  readonly schemas: FbSchemas;
  private readonly scratch: EventScratch;

  constructor(readonly writer: RecordWriter) {
    this.schemas = fbSchemasFor(writer.type);
    this.scratch = new EventScratch(writer.type);
  }

  /** Appends the frame's events to `batch`; returns the rejects (frame-level: index -1). */
  decode(bytes: Uint8Array, batch: RecordBatch, rejects: Reject[] = []): Reject[] {
    const type = this.writer.type;
    if (hasIdentifier(bytes, type.structIdentifier)) {
      const err = verify(bytes, this.schemas.structBatch);
      if (err) rejects.push({ index: -1, code: 'flatbuffers_invalid', reason: `invalid ${type.name} record batch: ${err}`, raw: bytes });
      else this.decodeStructs(bytes, batch, rejects);
    } else if (hasIdentifier(bytes, type.tableIdentifier)) {
      const err = verify(bytes, this.schemas.tableBatch);
      if (err) rejects.push({ index: -1, code: 'flatbuffers_invalid', reason: `invalid ${type.name} batch: ${err}`, raw: bytes });
      else this.decodeTables(bytes, batch, rejects);
    } else {
      rejects.push({
        index: -1,
        code: 'flatbuffers_identifier',
        reason: bytes.length < 8
          ? `binary frame of ${bytes.length} bytes is too short for a FlatBuffer`
          : `file identifier "${identifierOf(bytes)}" is neither "${type.structIdentifier}" (${type.name} records) nor "${type.tableIdentifier}" (${type.name} tables)`,
        raw: bytes,
      });
    }
    return rejects;
  }

  private decodeStructs(bytes: Uint8Array, batch: RecordBatch, rejects: Reject[]): void {
    const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const stride = batch.stride;
    const vecField = fieldAt(src, src.getUint32(0, true), 0);
    const vec = vecField + src.getUint32(vecField, true);
    const n = src.getUint32(vec, true);
    const data = vec + 4;
    batch.ensure(n);
    const base = batch.count * stride;
    batch.bytes.set(bytes.subarray(data, data + n * stride), base);
    const view = batch.view;
    const w = this.writer;
    const ev = this.scratch;
    const validator = w.validator;
    const single = w.keyIdx.length === 1 ? IN_FIELDS + 8 * w.keyIdx[0] : -1;
    const fieldCount = w.type.fields.length;
    const fast = single >= 0 && validator !== null;
    // Records before `suspect` pass every rule: no per-record rule calls for them.
    let suspect = fast ? validator.firstSuspect(view, base, 0, n, stride) : n;
    let out = base;
    for (let r = 0; r < n; r++) {
      const at = base + r * stride;
      let reason: Reject | null = null;
      let key = 0;
      if (view.getUint32(at + IN_FLAGS, true) !== 0) {
        reason = { index: r, code: 'flags_set', reason: `record ${r} has flags ${view.getUint32(at + IN_FLAGS, true)}; producers must send 0`, raw: bytes };
      } else if ((view.getUint32(at + IN_TS, true) | view.getUint32(at + IN_TS + 4, true)) === 0 && w.missingTimestamp === 'reject') {
        reason = { index: r, code: 'missing_timestamp', reason: `record ${r} has ts = 0`, raw: bytes };
      } else {
        // (ts read as two words: no BigInt per record on the fast path)
        if ((view.getUint32(at + IN_TS, true) | view.getUint32(at + IN_TS + 4, true)) === 0) view.setBigInt64(at + IN_TS, w.receivedAtNs, true);
        if (fast) {
          // Numeric-only struct events: rules run on the record itself, only where the scan flagged one.
          if (r === suspect) {
            const v = validator.checkRecord(view, at);
            if (v) reason = { index: r, ...v, raw: bytes };
            suspect = validator.firstSuspect(view, base, r + 1, n, stride);
          }
        } else if (validator !== null || single < 0) {
          ev.reset();
          ev.ts = view.getBigInt64(at + IN_TS, true);
          for (let f = 0; f < fieldCount; f++) {
            const v = view.getFloat64(at + IN_FIELDS + 8 * f, true);
            ev.values[f] = v;
            ev.present[f] = v === v ? 1 : 0;
          }
          const v = validator?.check(ev) ?? null;
          if (v) reason = { index: r, ...v, raw: bytes };
        }
        if (!reason) {
          key = single >= 0 ? w.numericKey(view.getFloat64(at + single, true), 0) : w.keyOf(ev);
          if (key < 0) reason = { index: r, ...w.keyViolation(key, 'is not a finite number'), raw: bytes };
        }
      }
      if (reason) {
        reason.raw = structFrame(w.type, bytes.subarray(data + r * stride, data + (r + 1) * stride));
        rejects.push(reason);
        continue;
      }
      if (out !== at) batch.bytes.copyWithin(out, at, at + stride);
      view.setUint32(out + IN_SEQ, 0, true);
      view.setUint32(out + IN_SEQ + 4, 0, true);
      view.setUint32(out + IN_KEY, key, true);
      out += stride;
    }
    batch.count = out / stride;
  }

  private decodeTables(bytes: Uint8Array, batch: RecordBatch, rejects: Reject[]): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const slots = this.writer.type.tableSlots;
    const ev = this.scratch;
    const vecField = fieldAt(view, view.getUint32(0, true), 0);
    const vec = vecField + view.getUint32(vecField, true);
    const n = view.getUint32(vec, true);
    batch.ensure(n);
    for (let k = 0; k < n; k++) {
      const p = vec + 4 + 4 * k;
      const t = p + view.getUint32(p, true);
      ev.reset();
      const tsAt = fieldAt(view, t, 0);
      if (tsAt) {
        const ts = view.getBigInt64(tsAt, true);
        if (ts !== 0n) ev.ts = ts;
      }
      for (let s = 0; s < slots.length; s++) {
        const slot = slots[s];
        const at = fieldAt(view, t, s + 1);
        const f = slot.field;
        switch (slot.type) {
          case 'string':
            if (at) {
              const str = at + view.getUint32(at, true);
              ev.strings[f] = readString(bytes, str + 4, view.getUint32(str, true));
              ev.present[f] = 1;
            }
            break;
          case 'f64':
            ev.values[f] = at ? view.getFloat64(at, true) : 0;
            ev.present[f] = 1;
            break;
          case 'i8': {
            const side = at ? view.getInt8(at) : 0;
            if (side === 1 || side === -1) { ev.values[f] = side; ev.present[f] = 1; }
            else if (side !== 0) ev.fail('bad_field', `"${this.writer.type.fields[f].name}" = ${side} is not a valid side (-1 sell, 1 buy)`);
            break;
          }
          case 'vector_f64':
            if (at) {
              const v = at + view.getUint32(at, true);
              const len = view.getUint32(v, true);
              if (len > slot.length) ev.fail('bad_field', `"${this.writer.type.jsonVectors?.find((j) => j.field === f)?.name ?? 'vector'}" has ${len} entries, at most ${slot.length} allowed`);
              else for (let i = 0; i < len; i++) { ev.values[f + i] = view.getFloat64(v + 4 + 8 * i, true); ev.present[f + i] = 1; }
            }
            break;
        }
      }
      const v = this.writer.commit(ev, batch);
      if (v) rejects.push({ index: k, ...v, raw: tableFrame(this.writer.type, view, bytes, t) });
    }
  }
}

/** A one-record struct batch holding `record` (for the dead-letter queue). */
function structFrame(type: EventType, record: Uint8Array): Uint8Array {
  const b = new Builder(record.length + 64);
  b.startVector(record.length, 1, 8);
  for (let i = record.length - 1; i >= 0; i--) b.writeInt8(record[i]);
  const vec = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, vec, 0);
  b.finish(b.endObject(), type.structIdentifier);
  return b.asUint8Array().slice();
}

/** Re-encodes the verified event table at `t` as a one-event table batch, slot values copied raw. */
function tableFrame(type: EventType, view: DataView, bytes: Uint8Array, t: number): Uint8Array {
  const b = new Builder(256);
  const slots = type.tableSlots;
  const offsets: number[] = [];
  for (let s = 0; s < slots.length; s++) {
    const at = fieldAt(view, t, s + 1);
    const slot = slots[s];
    if (!at || (slot.type !== 'string' && slot.type !== 'vector_f64')) continue;
    const p = at + view.getUint32(at, true);
    const len = view.getUint32(p, true);
    if (slot.type === 'string') offsets[s] = b.createString(bytes.subarray(p + 4, p + 4 + len));
    else {
      b.startVector(8, len, 8);
      for (let i = len - 1; i >= 0; i--) b.addFloat64(view.getFloat64(p + 4 + 8 * i, true));
      offsets[s] = b.endVector();
    }
  }
  b.startObject(slots.length + 1);
  const tsAt = fieldAt(view, t, 0);
  if (tsAt) b.addFieldInt64(0, view.getBigInt64(tsAt, true), 0n);
  for (let s = 0; s < slots.length; s++) {
    const at = fieldAt(view, t, s + 1);
    if (!at) continue;
    const slot = slots[s];
    if (slot.type === 'f64') b.addFieldFloat64(s + 1, view.getFloat64(at, true), 0);
    else if (slot.type === 'i8') b.addFieldInt8(s + 1, view.getInt8(at), 0);
    else if (offsets[s] !== undefined) b.addFieldOffset(s + 1, offsets[s], 0);
  }
  const event = b.endObject();
  b.startVector(4, 1, 4);
  b.addOffset(event);
  const vec = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, vec, 0);
  b.finish(b.endObject(), type.tableIdentifier);
  return b.asUint8Array().slice();
}
