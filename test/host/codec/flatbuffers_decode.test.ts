import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventDecoder } from '../../../host/codec/decoder.js';
import { KeyDictionary } from '../../../host/codec/key_dictionary.js';
import { RecordBatch } from '../../../host/codec/record_batch.js';
import { IN_FLAGS, IN_SEQ } from '../../../host/records.js';
import { PAYMENT, QUOTE, TRADE } from '../../../host/schema/event_types.js';
import { paymentTables, quoteTables, referenceStructs, referenceTables, structBatch, tradeTables, type Row } from './frames.js';

const NOW = 1_700_000_000_000_000_000n;
const T0 = NOW - 1_000_000n;
const now = () => NOW;

function setup(type = TRADE, keyFields?: string[]) {
  const dictionary = new KeyDictionary();
  const decoder = new EventDecoder({ type, keyFields, dictionary, now });
  return { dictionary, decoder, batch: new RecordBatch(type.stride, 4) };
}

test('trade struct batch: one copy, seq/flags zeroed, key interned from the numeric id', () => {
  const { decoder, batch, dictionary } = setup();
  const rows: Row[] = Array.from({ length: 100 }, (_, i) => ({ ts: T0 + BigInt(i) * 1_000_001n, seq: 99n, key: 7, fields: [i % 5, 100 + i / 8, i + 1, i % 2 ? 1 : -1, 10 + (i % 3), 20, 3] }));
  const r = decoder.decode(structBatch(TRADE, rows), true, batch);
  assert.equal(r.rejects, []);
  assert.is(r.accepted, 100);
  for (let i = 0; i < 100; i++) {
    assert.is(batch.ts(i), rows[i].ts);
    for (let f = 0; f < 7; f++) assert.is(batch.field(i, f), rows[i].fields[f]);
    assert.is(batch.view.getBigUint64(i * TRADE.stride + IN_SEQ, true), 0n);
    assert.is(dictionary.name(batch.key(i)), String(i % 5));
  }
});

test('quote and payment struct batches round-trip through the generated code', () => {
  for (const type of [QUOTE, PAYMENT]) {
    const { decoder, batch } = setup(type);
    const rows: Row[] = Array.from({ length: 9 }, (_, i) => ({ ts: T0 + BigInt(i), fields: Array.from({ length: type.fields.length }, (_, f) => i * 100 + f + 0.25) }));
    const bytes = structBatch(type, rows);
    assert.equal(referenceStructs(type, bytes).map((r) => r.fields), rows.map((r) => r.fields));
    const r = decoder.decode(bytes, true, batch);
    assert.is(r.accepted, 9, type.name);
    for (let i = 0; i < 9; i++) for (let f = 0; f < type.fields.length; f++) assert.is(batch.field(i, f), rows[i].fields[f]);
  }
});

test('struct batch: a record with flags set or no key is rejected alone, as a replayable one-record frame', () => {
  const { decoder, batch } = setup();
  const rows: Row[] = [
    { ts: T0, fields: [1, 10, 1, 1, 0, 0, 0] },
    { ts: T0 + 1n, flags: 1, fields: [2, 10, 1, 1, 0, 0, 0] },
    { ts: T0 + 2n, fields: [NaN, 10, 1, 1, 0, 0, 0] },
    { ts: T0 + 3n, fields: [4, 10, 1, 1, 0, 0, 0] },
  ];
  const r = decoder.decode(structBatch(TRADE, rows), true, batch);
  assert.is(r.accepted, 2);
  assert.equal(r.rejects.map((x) => [x.index, x.code]), [[1, 'flags_set'], [2, 'missing_key']]);
  assert.equal([batch.field(0, 0), batch.field(1, 0)], [1, 4]);
  assert.is(batch.view.getUint32(IN_FLAGS, true), 0);
  const replay = referenceStructs(TRADE, r.rejects[0].raw);
  assert.is(replay.length, 1);
  assert.is(replay[0].ts, T0 + 1n);
  assert.is(replay[0].flags, 1);
});

test('trade table batch: strings interned, composite key trader|asset_class, side mapped', () => {
  const { decoder, batch, dictionary } = setup(TRADE, ['trader', 'asset_class']);
  const bytes = tradeTables([
    { ts: T0, instrument: 'AAPL', price: 189.5, qty: 100, side: 1, trader: 'T1', account: 'A9', asset_class: 'equity' },
    { ts: T0 + 5n, instrument: 'EURUSD', price: 1.0825, qty: 1e6, side: -1, trader: 'T1', asset_class: 'fx' },
    { ts: T0 + 6n, instrument: 'MSFT', price: 0, qty: 0, side: 0, trader: 'T2', asset_class: 'equity' },
  ]);
  const r = decoder.decode(bytes, true, batch);
  assert.equal(r.rejects, []);
  assert.is(batch.count, 3);
  assert.is(dictionary.name(batch.key(0)), 'T1|equity');
  assert.is(dictionary.name(batch.key(1)), 'T1|fx');
  assert.is(dictionary.name(batch.key(2)), 'T2|equity');
  assert.is(dictionary.name(batch.field(0, 0)), 'AAPL');
  assert.equal([batch.field(0, 1), batch.field(0, 2), batch.field(0, 3)], [189.5, 100, 1]);
  assert.equal([batch.field(1, 1), batch.field(1, 2), batch.field(1, 3)], [1.0825, 1e6, -1]);
  assert.ok(Number.isNaN(batch.field(1, 5)), 'absent account is NaN');
  assert.equal([batch.field(2, 1), batch.field(2, 2)], [0, 0], 'absent scalars read as 0');
  assert.ok(Number.isNaN(batch.field(2, 3)), 'side Unknown is NaN');
  assert.is(batch.ts(1), T0 + 5n);
});

test('quote and payment table batches', () => {
  const q = setup(QUOTE);
  assert.equal(q.decoder.decode(quoteTables([{ ts: T0, instrument: 'ES', bid: 5000.25, ask: 5000.5, bid_size: 12, ask_size: 7, venue: 'XCME' }]), true, q.batch).rejects, []);
  assert.equal(Array.from({ length: 4 }, (_, f) => q.batch.field(0, f + 1)), [5000.25, 5000.5, 12, 7]);
  assert.is(q.dictionary.name(q.batch.field(0, 5)), 'XCME');

  const p = setup(PAYMENT);
  const bytes = paymentTables([
    { ts: T0, account: 'acct-1', merchant: 'm-42', amount: 12.5, currency: 'EUR', channel: 'ecom', features: [0.5, 1, 2] },
    { ts: T0, account: 'acct-2', amount: 3, features: Array(9).fill(1) },
  ]);
  const r = p.decoder.decode(bytes, true, p.batch);
  assert.is(r.accepted, 1);
  assert.equal(r.rejects.map((x) => [x.index, x.code]), [[1, 'bad_field']]);
  assert.match(r.rejects[0].reason, /features/);
  assert.is(p.dictionary.name(p.batch.key(0)), 'acct-1');
  assert.equal([p.batch.field(0, 2), p.batch.field(0, 5), p.batch.field(0, 6), p.batch.field(0, 7)], [12.5, 0.5, 1, 2]);
  assert.ok(Number.isNaN(p.batch.field(0, 8)), 'missing feature is NaN (XGBoost missing)');
});

test('table batch: a rejected event is re-encoded as a one-event batch with its raw values', () => {
  const { decoder, batch } = setup();
  const bytes = tradeTables([
    { ts: T0, instrument: 'AAPL', price: 1, qty: 1, side: 1 },
    { ts: 0n, instrument: 'NOTS', price: 2.5, qty: 3, side: -1, trader: 'tr' },
  ]);
  const r = decoder.decode(bytes, true, batch);
  assert.is(r.accepted, 1);
  assert.is(r.rejects[0].code, 'missing_timestamp');
  const d2 = setup();
  const again = d2.decoder.decode(r.rejects[0].raw, true, d2.batch);
  assert.is(again.rejects[0].code, 'missing_timestamp');
  const ref = referenceTables(TRADE, r.rejects[0].raw);
  assert.equal(ref[0].slots, ['NOTS', 2.5, 3, -1, 'tr', null, null]);
});

test('frames with a foreign identifier or too short are rejected whole with a precise reason', () => {
  const { decoder, batch } = setup();
  const quotes = quoteTables([{ ts: T0, instrument: 'X', bid: 1, ask: 2, bid_size: 1, ask_size: 1 }]);
  const r = decoder.decode(quotes, true, batch);
  assert.equal(r.rejects.map((x) => [x.index, x.code]), [[-1, 'flatbuffers_identifier']]);
  assert.match(r.rejects[0].reason, /"GQTT" is neither "GTRR" \(trade records\) nor "GTRT"/);
  assert.is(decoder.decode(new Uint8Array(3), true, batch).rejects[0].code, 'flatbuffers_identifier');
  const bad = tradeTables([{ ts: T0, instrument: 'A', price: 1, qty: 1, side: 1 }]);
  const r2 = decoder.decode(bad.subarray(0, bad.length - 6), true, batch);
  assert.is(r2.rejects[0].code, 'flatbuffers_invalid');
  assert.is(batch.count, 0);
});

test('batch grows past its initial capacity and keeps earlier records', () => {
  const { decoder, batch } = setup();
  for (let k = 0; k < 3; k++) {
    decoder.decode(structBatch(TRADE, Array.from({ length: 50 }, (_, i) => ({ ts: T0 + BigInt(k * 50 + i), fields: [1, k * 50 + i, 1, 1, 0, 0, 0] }))), true, batch);
  }
  assert.is(batch.count, 150);
  for (let i = 0; i < 150; i++) assert.is(batch.field(i, 1), i);
});

test.run();
