// Test helpers: builds frames with the flatc-generated code (so the tests
// prove our decoder and verifier agree with the .fbs schemas) and decodes them
// back with the generated accessors as the reference.
import { Builder, ByteBuffer } from 'flatbuffers';
import { Trade } from '../../../schemas/generated/ganglion/wire/trade.js';
import { TradeBatch } from '../../../schemas/generated/ganglion/wire/trade-batch.js';
import { TradeRecord } from '../../../schemas/generated/ganglion/wire/trade-record.js';
import { TradeRecordBatch } from '../../../schemas/generated/ganglion/wire/trade-record-batch.js';
import { Quote } from '../../../schemas/generated/ganglion/wire/quote.js';
import { QuoteBatch } from '../../../schemas/generated/ganglion/wire/quote-batch.js';
import { QuoteRecord } from '../../../schemas/generated/ganglion/wire/quote-record.js';
import { QuoteRecordBatch } from '../../../schemas/generated/ganglion/wire/quote-record-batch.js';
import { Payment } from '../../../schemas/generated/ganglion/wire/payment.js';
import { PaymentBatch } from '../../../schemas/generated/ganglion/wire/payment-batch.js';
import { PaymentRecord } from '../../../schemas/generated/ganglion/wire/payment-record.js';
import { PaymentRecordBatch } from '../../../schemas/generated/ganglion/wire/payment-record-batch.js';
import { PAYMENT, QUOTE, TRADE, type EventType } from '../../../host/schema/event_types.js';

/** A struct-form row: ts and the numeric fields in record order. */
export interface Row { ts: bigint; fields: number[]; flags?: number; seq?: bigint; key?: number }

export interface TradeEvent { ts: bigint; instrument: string; price: number; qty: number; side: -1 | 0 | 1; trader?: string; account?: string; asset_class?: string }
export interface QuoteEvent { ts: bigint; instrument: string; bid: number; ask: number; bid_size: number; ask_size: number; venue?: string }
export interface PaymentEvent { ts: bigint; account: string; merchant?: string; amount: number; currency?: string; channel?: string; features?: number[] }

const str = (b: Builder, s: string | undefined) => (s === undefined ? 0 : b.createString(s));

function finish(b: Builder, root: number, id: string): Uint8Array {
  b.finish(root, id);
  return b.asUint8Array().slice();
}

export function tradeTables(evs: TradeEvent[]): Uint8Array {
  const b = new Builder(256);
  const offs = evs.map((e) => Trade.createTrade(b, e.ts, b.createString(e.instrument), e.price, e.qty, e.side, str(b, e.trader), str(b, e.account), str(b, e.asset_class)));
  return finish(b, TradeBatch.createTradeBatch(b, TradeBatch.createEventsVector(b, offs)), TRADE.tableIdentifier);
}

export function quoteTables(evs: QuoteEvent[]): Uint8Array {
  const b = new Builder(256);
  const offs = evs.map((e) => Quote.createQuote(b, e.ts, b.createString(e.instrument), e.bid, e.ask, e.bid_size, e.ask_size, str(b, e.venue)));
  return finish(b, QuoteBatch.createQuoteBatch(b, QuoteBatch.createEventsVector(b, offs)), QUOTE.tableIdentifier);
}

export function paymentTables(evs: PaymentEvent[]): Uint8Array {
  const b = new Builder(256);
  const offs = evs.map((e) => {
    const account = b.createString(e.account), merchant = str(b, e.merchant), currency = str(b, e.currency), channel = str(b, e.channel);
    const features = e.features ? Payment.createFeaturesVector(b, e.features) : 0;
    return Payment.createPayment(b, e.ts, account, merchant, e.amount, currency, channel, features);
  });
  return finish(b, PaymentBatch.createPaymentBatch(b, PaymentBatch.createEventsVector(b, offs)), PAYMENT.tableIdentifier);
}

export function structBatch(type: EventType, rows: Row[]): Uint8Array {
  const b = new Builder(64 + rows.length * type.stride);
  const start = type === TRADE ? TradeRecordBatch.startRecordsVector : type === QUOTE ? QuoteRecordBatch.startRecordsVector : PaymentRecordBatch.startRecordsVector;
  start(b, rows.length);
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    const f = r.fields;
    const head = [b, r.ts, r.seq ?? 0n, r.key ?? 0, r.flags ?? 0] as const;
    if (type === TRADE) TradeRecord.createTradeRecord(...head, f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
    else if (type === QUOTE) QuoteRecord.createQuoteRecord(...head, f[0], f[1], f[2], f[3], f[4], f[5]);
    else PaymentRecord.createPaymentRecord(...head, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12]);
  }
  const vec = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, vec, 0);
  return finish(b, b.endObject(), type.structIdentifier);
}

/** What the generated accessors read: per event, ts and each table slot's value (string, number or null). */
export interface RefEvent { ts: bigint; slots: (string | number | null | number[])[] }

export function referenceTables(type: EventType, bytes: Uint8Array): RefEvent[] {
  const bb = new ByteBuffer(bytes);
  const out: RefEvent[] = [];
  if (type === TRADE) {
    const root = TradeBatch.getRootAsTradeBatch(bb);
    for (let i = 0; i < root.eventsLength(); i++) {
      const e = root.events(i)!;
      out.push({ ts: e.ts(), slots: [e.instrument(), e.price(), e.qty(), e.side(), e.trader(), e.account(), e.assetClass()] });
    }
  } else if (type === QUOTE) {
    const root = QuoteBatch.getRootAsQuoteBatch(bb);
    for (let i = 0; i < root.eventsLength(); i++) {
      const e = root.events(i)!;
      out.push({ ts: e.ts(), slots: [e.instrument(), e.bid(), e.ask(), e.bidSize(), e.askSize(), e.venue()] });
    }
  } else {
    const root = PaymentBatch.getRootAsPaymentBatch(bb);
    for (let i = 0; i < root.eventsLength(); i++) {
      const e = root.events(i)!;
      const features = e.featuresLength() ? Array.from({ length: e.featuresLength() }, (_, k) => e.features(k)!) : null;
      out.push({ ts: e.ts(), slots: [e.account(), e.merchant(), e.amount(), e.currency(), e.channel(), features] });
    }
  }
  return out;
}

export function referenceStructs(type: EventType, bytes: Uint8Array): Row[] {
  const bb = new ByteBuffer(bytes);
  const out: Row[] = [];
  if (type === TRADE) {
    const root = TradeRecordBatch.getRootAsTradeRecordBatch(bb);
    for (let i = 0; i < root.recordsLength(); i++) {
      const r = root.records(i)!;
      out.push({ ts: r.ts(), flags: r.flags(), fields: [r.instrument(), r.price(), r.qty(), r.side(), r.trader(), r.account(), r.assetClass()] });
    }
  } else if (type === QUOTE) {
    const root = QuoteRecordBatch.getRootAsQuoteRecordBatch(bb);
    for (let i = 0; i < root.recordsLength(); i++) {
      const r = root.records(i)!;
      out.push({ ts: r.ts(), flags: r.flags(), fields: [r.instrument(), r.bid(), r.ask(), r.bidSize(), r.askSize(), r.venue()] });
    }
  } else {
    const root = PaymentRecordBatch.getRootAsPaymentRecordBatch(bb);
    for (let i = 0; i < root.recordsLength(); i++) {
      const r = root.records(i)!;
      out.push({ ts: r.ts(), flags: r.flags(), fields: [r.account(), r.merchant(), r.amount(), r.currency(), r.channel(), r.f0(), r.f1(), r.f2(), r.f3(), r.f4(), r.f5(), r.f6(), r.f7()] });
    }
  }
  return out;
}

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
