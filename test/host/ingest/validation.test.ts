import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventDecoder } from '../../../host/codec/decoder.js';
import { KeyDictionary } from '../../../host/codec/key_dictionary.js';
import { RecordBatch } from '../../../host/codec/record_batch.js';
import { parseValidationRules, Validator, type ValidationRule } from '../../../host/ingest/validation.js';
import { writeInput } from '../../../host/records.js';
import { TRADE } from '../../../host/schema/event_types.js';
import { structBatch } from '../codec/frames.js';

const NOW = 1_700_000_000_000_000_000n;
const NOW_MS = 1_700_000_000_000;
const enc = new TextEncoder();

function check(rules: ValidationRule[], events: Record<string, unknown>[]) {
  const dictionary = new KeyDictionary();
  const decoder = new EventDecoder({ type: TRADE, dictionary, rules, now: () => NOW });
  const batch = new RecordBatch(TRADE.stride);
  const r = decoder.decode(enc.encode(events.map((e) => JSON.stringify({ ts: NOW_MS, instrument: 'X', ...e })).join('\n')), false, batch);
  return { accepted: r.accepted, rejects: r.rejects.map((x) => [x.index, x.code, x.reason]), dictionary, batch };
}

test('required: absent or null fields fail, present ones pass', () => {
  const r = check([{ rule: 'required', fields: ['price', 'trader'] }], [{ price: 1, trader: 'T' }, { price: 1 }, { trader: 'T', price: null }]);
  assert.is(r.accepted, 1);
  assert.equal(r.rejects, [[1, 'required', 'required field "trader" is missing'], [2, 'required', 'required field "price" is missing']]);
});

test('range: inclusive and exclusive bounds, strings are not numbers, absent passes', () => {
  const rules: ValidationRule[] = [{ rule: 'range', field: 'qty', min: 0 }, { rule: 'range', field: 'price', min: 0, max: 1e6, exclusiveMin: true }];
  const r = check(rules, [{ qty: 0, price: 1 }, { qty: -5, price: 1 }, { qty: 1, price: 0 }, { qty: 1, price: 1e6 }, { qty: 1, price: 1e6 + 1 }, {}, { instrument: 'Y' }]);
  assert.equal(r.rejects.map((x) => [x[0], x[1]]), [[1, 'range'], [2, 'range'], [4, 'range']]);
  assert.is(r.rejects[0][2], '"qty" = -5 is outside [0, Infinity]');
  assert.is(r.rejects[1][2], '"price" = 0 is outside (0, 1000000]');
  const s = check([{ rule: 'range', field: 'trader', min: 0 }], [{ trader: 'abc' }]);
  assert.match(String(s.rejects[0][2]), /"trader" = "abc" is not a number/);
});

test('allowed: strings as given, numbers numerically, sides by meaning', () => {
  const r = check([{ rule: 'allowed', field: 'asset_class', values: ['equity', 'fx'] }, { rule: 'allowed', field: 'side', values: ['buy'] }],
    [{ asset_class: 'fx', side: 'BUY' }, { asset_class: 'crypto' }, { side: 'sell' }, { side: 1 }]);
  assert.equal(r.rejects.map((x) => [x[0], x[1]]), [[1, 'allowed'], [2, 'allowed']]);
  assert.is(r.rejects[0][2], '"asset_class" = "crypto" is not one of "equity", "fx"');
  assert.is(r.accepted, 2);
});

test('timestamp_window: ±5 minutes around now', () => {
  const r = check([{ rule: 'timestamp_window', pastMs: 300_000, futureMs: 300_000 }],
    [{ ts: NOW_MS - 300_000 }, { ts: NOW_MS - 300_001 }, { ts: NOW_MS + 300_000 }, { ts: NOW_MS + 300_001 }, { ts: NOW_MS }]);
  assert.equal(r.rejects, [[1, 'timestamp_window', 'timestamp is 300001.000 ms in the past, outside the allowed window'], [3, 'timestamp_window', 'timestamp is 300001.000 ms in the future, outside the allowed window']]);
});

test('length: string length limits', () => {
  const r = check([{ rule: 'length', field: 'trader', min: 2, max: 4 }], [{ trader: 'ab' }, { trader: 'abcde' }, { trader: 'a' }, { trader: 7 }]);
  assert.equal(r.rejects.map((x) => [x[0], x[1]]), [[1, 'length'], [2, 'length']]);
  assert.is(r.rejects[0][2], '"trader" is 5 characters long, allowed 2..4');
});

test('rejected events leave no trace in the key dictionary', () => {
  const r = check([{ rule: 'length', field: 'trader', max: 4 }], [{ instrument: 'JUNK', trader: 'far-too-long' }, { instrument: 'GOOD', trader: 'ok' }]);
  assert.is(r.dictionary.get('JUNK'), undefined);
  assert.is(r.dictionary.get('far-too-long'), undefined);
  assert.ok(r.dictionary.get('GOOD')! > 0);
});

test('rules apply to struct batches too; one bad record rejects only itself', () => {
  const dictionary = new KeyDictionary();
  const decoder = new EventDecoder({ type: TRADE, dictionary, rules: [{ rule: 'range', field: 'qty', min: 0 }, { rule: 'timestamp_window', pastMs: 1000 }], now: () => NOW });
  const batch = new RecordBatch(TRADE.stride);
  const rows = [5, -1, 7].map((qty, i) => ({ ts: NOW - BigInt(i), fields: [1, 100, qty, 1, 0, 0, 0] }));
  rows.push({ ts: NOW - 2_000_000_000n, fields: [1, 100, 1, 1, 0, 0, 0] });
  const r = decoder.decode(structBatch(TRADE, rows), true, batch);
  assert.equal(r.rejects.map((x) => [x.index, x.code]), [[1, 'range'], [3, 'timestamp_window']]);
  assert.equal([batch.field(0, 2), batch.field(1, 2)], [5, 7]);
});

test('struct batches: the per-frame rule scan flags exactly what the per-record rules reject (random frames)', () => {
  const rules: ValidationRule[] = [
    { rule: 'required', fields: ['price', 'qty'] },
    { rule: 'range', field: 'qty', min: 1, max: 1000, exclusiveMax: true },
    { rule: 'range', field: 'price', min: 0, exclusiveMin: true },
    { rule: 'allowed', field: 'side', values: ['buy', 'sell'] },
    { rule: 'timestamp_window', pastMs: 1000, futureMs: 500 },
  ];
  let seed = 99;
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  for (let frame = 0; frame < 200; frame++) {
    const rows = Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => {
      const bad = rnd() < 0.1;
      const ts = bad ? NOW + pick([-1_000_000_001n, -1_000_000_000n, 500_000_000n, 500_000_001n, -(1n << 40n), 1n << 40n]) : NOW - BigInt(Math.floor(rnd() * 900_000_000));
      const price = bad && rnd() < 0.3 ? pick([0, -1, NaN]) : 1 + rnd() * 100;
      const qty = bad && rnd() < 0.3 ? pick([0, 1000, 999.5, NaN, -3]) : 1 + Math.floor(rnd() * 998);
      const side = bad && rnd() < 0.3 ? pick([0, 2, NaN]) : pick([1, -1]);
      return { ts, fields: [1 + Math.floor(rnd() * 5), price, qty, side, 0, 0, 0] };
    });
    const decoder = new EventDecoder({ type: TRADE, dictionary: new KeyDictionary(), rules, now: () => NOW });
    const got = decoder.decode(structBatch(TRADE, rows), true, new RecordBatch(TRADE.stride));
    // The reference: every record through every per-record rule, no scan.
    const validator = new Validator(rules, TRADE);
    validator.begin(NOW);
    const rec = new DataView(new ArrayBuffer(TRADE.stride));
    const want: Array<[number, string]> = [];
    rows.forEach((row, i) => {
      writeInput(rec, 0, row.ts, 0n, 0, row.fields);
      const v = validator.checkRecord(rec, 0);
      if (v) want.push([i, v.code]);
    });
    assert.ok(frame > 20 || want.length < rows.length);
    assert.equal(got.rejects.map((r) => [r.index, r.code]), want, `frame ${frame}`);
    assert.is(got.accepted, rows.length - want.length);
  }
});

test('parseValidationRules: precise config errors', () => {
  const cases: [unknown, RegExp][] = [
    [{}, /expected a list of rules/],
    [[{ rule: 'range', field: 'qtty', min: 0 }], /validation\[0\]: "qtty" is not a field of trade events/],
    [[{ rule: 'range', field: 'qty' }], /range needs "min" or "max"/],
    [[{ rule: 'range', field: 'qty', min: 5, max: 1 }], /min 5 is above max 1/],
    [[{ rule: 'range', field: 'qty', minimum: 0 }], /unknown option "minimum"/],
    [[{ rule: 'allowed', field: 'side', values: ['up'] }], /"up" is not a side/],
    [[{ rule: 'timestamp_window', pastMs: -1 }], /"pastMs" must be a non-negative number/],
    [[{ rule: 'regex', field: 'qty' }], /unknown rule "regex"/],
    [[{ rule: 'required', fields: [] }], /non-empty list/],
  ];
  for (const [raw, re] of cases) assert.throws(() => parseValidationRules(raw, TRADE), re);
  assert.equal(parseValidationRules([{ rule: 'required', fields: ['ts', 'qty'] }], TRADE), [{ rule: 'required', fields: ['ts', 'qty'] }]);
  assert.equal(parseValidationRules(undefined, TRADE), []);
});

test.run();
