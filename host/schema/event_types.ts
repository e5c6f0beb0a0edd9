// The built-in event types: which numeric fields an event carries into its
// ring record (in record order), what they are called on the wire (JSON
// aliases, FlatBuffers table slots), and which fields make the default key.
//
// One description drives every codec so the JSON path, the FlatBuffers table
// path and the FlatBuffers struct path cannot drift apart: the struct path's
// struct IS the ring record (schemas/*.fbs), the table path fills the same
// record from the table's slots, and JSON fills it from named members.
//
// Field kinds:
//   number  a plain f64 (price, qty, amount, features)
//   id      an identity (instrument, trader, account...). On the struct path it
//           is a producer-assigned number; on the table and JSON paths it is a
//           string, interned by the host's key dictionary, and the record slot
//           holds the interned id. A JSON number is kept as that number.
//   side    trade direction: +1 buy, -1 sell (JSON: "buy"/"sell"/"B"/"S"/1/-1)
import { inputStride } from '../records.js';

export type FieldKind = 'number' | 'id' | 'side';

export interface FieldDef {
  readonly name: string;
  readonly kind: FieldKind;
  /** Other JSON member names accepted for this field. */
  readonly aliases?: readonly string[];
}

/**
 * One slot of the FlatBuffers table form (vtable slot = array index + 1; slot
 * 0 is always `ts: long`). `field` is the record field it fills; a `vector`
 * slot fills `length` consecutive fields starting there.
 */
export type TableSlot =
  | { readonly type: 'string'; readonly field: number; readonly required?: boolean }
  | { readonly type: 'f64'; readonly field: number }
  | { readonly type: 'i8'; readonly field: number }
  | { readonly type: 'vector_f64'; readonly field: number; readonly length: number };

export interface EventType {
  readonly name: string;
  /** Numeric record fields, in ring-record order. */
  readonly fields: readonly FieldDef[];
  /** The key when the pipeline does not choose one. */
  readonly defaultKey: readonly string[];
  /** file_identifier of the struct-batch form (ring-record structs). */
  readonly structIdentifier: string;
  /** file_identifier of the table-batch form (string ids). */
  readonly tableIdentifier: string;
  readonly tableSlots: readonly TableSlot[];
  /** JSON arrays spread over consecutive fields (payments: `features` → f0..f7). */
  readonly jsonVectors?: readonly { readonly name: string; readonly field: number; readonly length: number }[];
  /** Bytes per ring record: 24 + 8 × fields. */
  readonly stride: number;
}

/** JSON member names accepted for the event time, in order of preference. */
export const TS_ALIASES = ['ts', 'timestamp', 'time', 'event_time', 'eventTime', 't'] as const;

function eventType(e: Omit<EventType, 'stride'>): EventType {
  return Object.freeze({ ...e, stride: inputStride(e.fields.length) });
}

export const TRADE = eventType({
  name: 'trade',
  fields: [
    { name: 'instrument', kind: 'id', aliases: ['symbol', 'instrument_id', 'sym'] },
    { name: 'price', kind: 'number', aliases: ['px'] },
    { name: 'qty', kind: 'number', aliases: ['quantity', 'size', 'volume'] },
    { name: 'side', kind: 'side' },
    { name: 'trader', kind: 'id', aliases: ['trader_id'] },
    { name: 'account', kind: 'id', aliases: ['account_id'] },
    { name: 'asset_class', kind: 'id', aliases: ['assetClass'] },
  ],
  defaultKey: ['instrument'],
  structIdentifier: 'GTRR',
  tableIdentifier: 'GTRT',
  tableSlots: [
    { type: 'string', field: 0, required: true }, { type: 'f64', field: 1 }, { type: 'f64', field: 2 },
    { type: 'i8', field: 3 }, { type: 'string', field: 4 }, { type: 'string', field: 5 },
    { type: 'string', field: 6 },
  ],
});

export const QUOTE = eventType({
  name: 'quote',
  fields: [
    { name: 'instrument', kind: 'id', aliases: ['symbol', 'instrument_id', 'sym'] },
    { name: 'bid', kind: 'number', aliases: ['bid_price', 'bidPrice'] },
    { name: 'ask', kind: 'number', aliases: ['ask_price', 'askPrice', 'offer'] },
    { name: 'bid_size', kind: 'number', aliases: ['bidSize', 'bid_qty'] },
    { name: 'ask_size', kind: 'number', aliases: ['askSize', 'ask_qty', 'offer_size'] },
    { name: 'venue', kind: 'id', aliases: ['exchange', 'mic'] },
  ],
  defaultKey: ['instrument'],
  structIdentifier: 'GQTR',
  tableIdentifier: 'GQTT',
  tableSlots: [
    { type: 'string', field: 0, required: true }, { type: 'f64', field: 1 }, { type: 'f64', field: 2 },
    { type: 'f64', field: 3 }, { type: 'f64', field: 4 }, { type: 'string', field: 5 },
  ],
});

const PAYMENT_FEATURES = 8;

export const PAYMENT = eventType({
  name: 'payment',
  fields: [
    { name: 'account', kind: 'id', aliases: ['account_id', 'card', 'pan_token'] },
    { name: 'merchant', kind: 'id', aliases: ['merchant_id', 'mid'] },
    { name: 'amount', kind: 'number', aliases: ['amt', 'value'] },
    { name: 'currency', kind: 'id', aliases: ['ccy', 'currency_code'] },
    { name: 'channel', kind: 'id' },
    ...Array.from({ length: PAYMENT_FEATURES }, (_, i) => ({ name: `f${i}`, kind: 'number' as const })),
  ],
  defaultKey: ['account'],
  structIdentifier: 'GPYR',
  tableIdentifier: 'GPYT',
  tableSlots: [
    { type: 'string', field: 0, required: true }, { type: 'string', field: 1 }, { type: 'f64', field: 2 },
    { type: 'string', field: 3 }, { type: 'string', field: 4 },
    { type: 'vector_f64', field: 5, length: PAYMENT_FEATURES },
  ],
  jsonVectors: [{ name: 'features', field: 5, length: PAYMENT_FEATURES }],
});

export const EVENT_TYPES: Readonly<Record<string, EventType>> = Object.freeze({
  trade: TRADE, trades: TRADE, quote: QUOTE, quotes: QUOTE, payment: PAYMENT, payments: PAYMENT,
});

/** Record-field index of a field name (or alias); -1 when the type has none. */
export function fieldIndex(type: EventType, name: string): number {
  return type.fields.findIndex((f) => f.name === name || (f.aliases?.includes(name) ?? false));
}

/** Resolves the pipeline's key fields to record-field indexes, with a precise error. */
export function keyFieldIndexes(type: EventType, keyFields: readonly string[] = type.defaultKey): number[] {
  if (keyFields.length === 0) throw new Error(`key for ${type.name} events needs at least one field`);
  return keyFields.map((k) => {
    const i = fieldIndex(type, k);
    if (i < 0) throw new Error(`key field "${k}" is not a field of ${type.name} events (fields: ${type.fields.map((f) => f.name).join(', ')})`);
    return i;
  });
}
