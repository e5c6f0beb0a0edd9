import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventDecoder } from '../../../host/codec/decoder.js';
import { KeyDictionary } from '../../../host/codec/key_dictionary.js';
import { RecordBatch } from '../../../host/codec/record_batch.js';
import { PAYMENT, QUOTE, TRADE } from '../../../host/schema/event_types.js';
import type { TimeUnit } from '../../../host/codec/timestamps.js';

const NOW = 1_700_000_000_000_000_000n;
const enc = new TextEncoder();
const dec = new TextDecoder();

function setup(type = TRADE, opts: { keyFields?: string[]; tsUnit?: TimeUnit; missingTimestamp?: 'reject' | 'receive_time' } = {}) {
  const dictionary = new KeyDictionary();
  const decoder = new EventDecoder({ type, dictionary, now: () => NOW, ...opts });
  const batch = new RecordBatch(type.stride, 2);
  const run = (text: string, receivedAtNs?: bigint) => decoder.decode(enc.encode(text), false, batch, receivedAtNs);
  return { dictionary, decoder, batch, run };
}

const trade = (extra: Record<string, unknown> = {}) => JSON.stringify({ ts: 1700000000123, instrument: 'AAPL', price: 189.5, qty: 100, side: 'buy', ...extra });

test('one object, an array, and NDJSON give the same records', () => {
  const a = setup(); a.run(trade());
  const b = setup(); b.run(`[${trade()}, ${trade({ qty: 2 })}]`);
  const c = setup(); c.run(`${trade()}\n${trade({ qty: 2 })}\r\n\n  ${trade({ qty: 3 })}\n`);
  assert.is(a.batch.count, 1);
  assert.is(b.batch.count, 2);
  assert.is(c.batch.count, 3);
  assert.equal(a.batch.records(), b.batch.records().subarray(0, TRADE.stride));
  assert.equal(b.batch.records(), c.batch.records().subarray(0, 2 * TRADE.stride));
  assert.equal([c.batch.field(2, 2), c.batch.ts(2)], [3, 1_700_000_000_123_000_000n]);
  assert.is(c.dictionary.name(c.batch.key(0)), 'AAPL');
  assert.is(c.dictionary.name(c.batch.field(0, 0)), 'AAPL');
  assert.equal(setup().run('[]'), { accepted: 0, rejects: [] });
});

test('timestamp forms: epoch s/ms/us/ns as numbers and strings, ISO 8601; ns exact beyond 2^53', () => {
  // JSON text exactly as a producer would send it (a JS number literal would round the ns case).
  const cases: [string, bigint][] = [
    ['1700000000123', 1_700_000_000_123_000_000n],
    ['"1700000000123"', 1_700_000_000_123_000_000n],
    ['1700000000123456789', 1_700_000_000_123_456_789n],
    ['"1700000000123456789"', 1_700_000_000_123_456_789n],
    ['1700000000', 1_700_000_000_000_000_000n],
    ['1700000000.25', 1_700_000_000_250_000_000n],
    ['1700000000123456', 1_700_000_000_123_456_000n],
    ['1.700000000123e12', 1_700_000_000_123_000_000n],
    ['1.700000000123456789E18', 1_700_000_000_123_456_789n],
    ['"2023-11-14T22:13:20.123456789Z"', 1_700_000_000_123_456_789n],
    ['"2023-11-15T00:13:20.5+02:00"', 1_700_000_000_500_000_000n],
    ['"2023-11-14 22:13:20Z"', 1_700_000_000_000_000_000n],
    ['"2024-02-29T00:00:00Z"', 1_709_164_800_000_000_000n],
  ];
  for (const [ts, want] of cases) {
    const { run, batch } = setup();
    const r = run(`{"ts": ${ts}, "instrument": "X", "price": 1, "qty": 1}`);
    assert.equal(r.rejects, [], String(ts));
    assert.is(batch.ts(0), want, String(ts));
  }
  // 1700000000123456789 as a double would be ...456768: the digits must not pass through a number.
  const { run, batch } = setup();
  run('{"timestamp":1700000000123456789,"instrument":"X"}\n{"time":1700000000123456788,"instrument":"X"}');
  assert.equal([batch.ts(0), batch.ts(1)], [1_700_000_000_123_456_789n, 1_700_000_000_123_456_788n]);
});

test('a declared unit reads epoch values in that unit (decimals too); ISO text as always', () => {
  const { run, batch } = setup(TRADE, { tsUnit: 'ms' });
  assert.is(run('{"ts": 1700000000123.5, "instrument": "X"}\n{"ts": "2023-11-14T22:13:20Z", "instrument": "X"}').accepted, 2);
  assert.equal([batch.ts(0), batch.ts(1)], [1_700_000_000_123_500_000n, 1_700_000_000_000_000_000n]);
});

test('a declared unit rejects epoch values implausible in it (before 1973 or past 2262); ISO text is unaffected', () => {
  const cases: [TimeUnit, string, string | bigint][] = [
    ['ns', '1767623400000', /is implausible in event_time.unit ns: it would be 1970-01-01T00:29:27.623400000Z, and ns epoch values start at 1e17 \(1973-03-03\); it looks like ms \(set unit: ms, or auto\)/.source],
    ['ns', '"1767623400000"', 'implausible in event_time.unit ns'],
    ['ns', '1767623400000.5', 'implausible in event_time.unit ns'],
    ['ns', '-1767623400000000000', 'implausible in event_time.unit ns'],
    ['ns', '99999999999999999', 'implausible in event_time.unit ns'],
    ['ns', '100000000000000000', 100_000_000_000_000_000n],
    ['ns', '"1767623400123456789"', 1_767_623_400_123_456_789n],
    ['us', '1767623400000', 'it looks like ms'],
    ['us', '1767623400000000', 1_767_623_400_000_000_000n],
    ['ms', '1767623400', 'it looks like s'],
    ['ms', '1767623400123', 1_767_623_400_123_000_000n],
    ['ms', '1767623400123456789', /out of range in event_time.unit ms \(past 2262-04-11\); it looks like ns/.source],
    ['s', '99999999', 'implausible in event_time.unit s'],
    ['s', '1767623400', 1_767_623_400_000_000_000n],
    ['s', '1767623400123', 'out of range in event_time.unit s'],
    ['ns', '"2026-01-05T14:30:00Z"', 1_767_623_400_000_000_000n],
    ['auto', '5', 5_000_000_000n],
  ];
  for (const [unit, ts, want] of cases) {
    const { run, batch } = setup(TRADE, { tsUnit: unit });
    const r = run(`{"ts": ${ts}, "instrument": "X"}`);
    if (typeof want === 'bigint') {
      assert.equal(r.rejects, [], `${unit} ${ts}`);
      assert.is(batch.ts(0), want, `${unit} ${ts}`);
    } else {
      assert.equal(r.rejects.map((x) => x.code), ['bad_timestamp'], `${unit} ${ts}`);
      assert.match(r.rejects[0].reason, new RegExp(want), `${unit} ${ts}`);
    }
  }
});

test('aliases, numeric strings, numeric ids, unknown members (nested) skipped, escapes', () => {
  const { run, batch, dictionary } = setup(TRADE, { keyFields: ['trader', 'asset_class'] });
  const r = run('{"timestamp":"1700000000000","symbol":"BR\\u004bB","px":"101.25","quantity":5e2,"side":"SELL","trader_id":42,"assetClass":"eq\\"x","meta":{"a":[1,{"b":null},true,false,"\\n"]},"extra":-0.5e-3}');
  assert.equal(r.rejects, []);
  assert.is(dictionary.name(batch.field(0, 0)), 'BRKB');
  assert.equal([batch.field(0, 1), batch.field(0, 2), batch.field(0, 3), batch.field(0, 4)], [101.25, 500, -1, 42]);
  assert.is(dictionary.name(batch.key(0)), '42|eq"x');
});

test('payments: features array spreads into f0..f7, nulls and absent entries are NaN', () => {
  const { run, batch, dictionary } = setup(PAYMENT);
  const r = run('{"ts":1700000000000,"account":"acc-1","merchant":"m1","amount":12.5,"currency":"EUR","channel":"ecom","features":[0.5,null,2]}');
  assert.equal(r.rejects, []);
  assert.is(dictionary.name(batch.key(0)), 'acc-1');
  assert.is(batch.field(0, 5), 0.5);
  assert.ok(Number.isNaN(batch.field(0, 6)));
  assert.is(batch.field(0, 7), 2);
  assert.ok(Number.isNaN(batch.field(0, 12)));
  const bad = run('{"ts":1700000000000,"account":"a","features":[1,2,3,4,5,6,7,8,9]}');
  assert.equal(bad.rejects.map((x) => x.code), ['bad_field']);
});

test('one bad event in a batch rejects only that event, with its own bytes', () => {
  const { run, batch } = setup(QUOTE);
  const lines = [
    '{"ts":1700000000000,"instrument":"ES","bid":1,"ask":2}',
    '{"ts":1700000000000,"instrument":"ES","bid":"abc","ask":2}',
    '{"ts":"yesterday","instrument":"ES","bid":1,"ask":2}',
    '{"ts":1700000000000,"bid":1,"ask":2}',
    '{"ts":1700000000000,"instrument":"NQ","bid":1,"ask":2,"venue":{}}',
    '{"ts":1700000000000,"instrument":"NQ","bid":3,"ask":4}',
  ];
  const r = run(`[${lines.join(',\n')}]`);
  assert.is(r.accepted, 2);
  assert.equal(r.rejects.map((x) => [x.index, x.code]), [[1, 'bad_field'], [2, 'bad_timestamp'], [3, 'missing_key'], [4, 'bad_field']]);
  assert.equal(r.rejects.map((x) => dec.decode(x.raw)), lines.slice(1, 5));
  assert.match(r.rejects[0].reason, /"bid" = "abc" is not a number/);
  assert.match(r.rejects[1].reason, /"yesterday" is not ISO 8601/);
  assert.equal([batch.field(0, 1), batch.field(1, 1)], [1, 3]);
});

test('syntax errors: an array frame is rejected whole, an NDJSON line alone', () => {
  const a = setup();
  const r = a.run(`[${trade()}, ${trade()}, {"ts": 1,,}]`);
  assert.equal(r.rejects.map((x) => [x.index, x.code]), [[-1, 'json_syntax']]);
  assert.is(a.batch.count, 0);
  assert.match(r.rejects[0].reason, /at character \d+/);

  const b = setup();
  const frame = `${trade()}\n{"ts": 17, "instrument": "X", oops}\n${trade({ qty: 7 })}\n[1]\n${trade({ qty: 8 })}`;
  const r2 = b.run(frame);
  assert.is(b.batch.count, 3);
  assert.equal(r2.rejects.map((x) => [x.index, x.code]), [[1, 'json_syntax'], [3, 'json_syntax']]);
  assert.is(dec.decode(r2.rejects[0].raw), '{"ts": 17, "instrument": "X", oops}');
  assert.equal([b.batch.field(1, 2), b.batch.field(2, 2)], [7, 8]);
});

test('NDJSON: an unterminated line is rejected alone and never swallows the next line', () => {
  const s = setup();
  const bad = '{"ts":1,"instrument":"BAD",';
  const r = s.run(`${trade({ qty: 1 })}\n${bad}\n${trade({ qty: 2 })}\n${trade({ qty: 3 })}`);
  assert.is(r.accepted, 3);
  assert.equal(r.rejects.map((x) => [x.index, x.code, dec.decode(x.raw)]), [[1, 'json_syntax', bad]]);
  assert.match(r.rejects[0].reason, /^line 2 ends inside an object/);
  assert.equal([0, 1, 2].map((i) => s.batch.field(i, 2)), [1, 2, 3]);
  // Truncated after a colon: read across lines, the next line would be taken as its value.
  const t = setup();
  const r2 = t.run(`{"ts":1700000000123,"instrument":\n${trade({ qty: 5 })}\n}\n${trade({ qty: 6 })}`);
  assert.equal([r2.accepted, r2.rejects.map((x) => dec.decode(x.raw))], [2, ['{"ts":1700000000123,"instrument":', '}']]);
});

test('a single object may span lines (pretty-printed); NDJSON lines with invalid UTF-8 are rejected alone', () => {
  const p = setup();
  const pretty = JSON.stringify({ ts: 1700000000123, instrument: 'AAPL', price: 189.5, qty: 100, side: 'buy', meta: { a: [1, { b: 2 }] } }, null, 2);
  assert.equal(p.run(pretty), { accepted: 1, rejects: [] });
  assert.is(p.dictionary.name(p.batch.key(0)), 'AAPL');
  const u = setup();
  const line1 = enc.encode(trade({ qty: 1 }));
  const badLine = Uint8Array.from([...enc.encode('{"ts":1700000000123,"instrument":"X'), 0xff, ...enc.encode('","qty":1}')]);
  const frame = Buffer.concat([line1, Buffer.from('\n'), badLine, Buffer.from('\n'), enc.encode(trade({ qty: 2 }))]);
  const r = u.decoder.decode(frame, false, u.batch);
  assert.is(r.accepted, 2);
  assert.equal(r.rejects.map((x) => [x.index, x.code, x.reason]), [[1, 'invalid_utf8', 'line 2 is not valid UTF-8']]);
  assert.equal([...r.rejects[0].raw], [...badLine]);
});

test('whole-frame rejects: invalid UTF-8, empty, non-object array elements', () => {
  const s = setup();
  const bad = s.decoder.decode(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), false, s.batch);
  assert.equal(bad.rejects.map((x) => [x.index, x.code]), [[-1, 'invalid_utf8']]);
  assert.equal(s.run('  \n ').rejects.map((x) => x.code), ['empty_frame']);
  const r = s.run(`[1, ${trade()}, "x"]`);
  assert.equal(r.rejects.map((x) => [x.index, x.code]), [[0, 'not_an_object'], [2, 'not_an_object']]);
  assert.is(r.accepted, 1);
});

test('missing timestamp: rejected by default, receive time when configured', () => {
  assert.equal(setup().run('{"instrument":"X"}').rejects.map((x) => x.code), ['missing_timestamp']);
  const s = setup(TRADE, { missingTimestamp: 'receive_time' });
  s.run('{"instrument":"X"}', 1234n);
  assert.is(s.batch.ts(0), 1234n);
});

test('frames over 128 KiB (V8 large-object strings) decode like small ones; positions are characters', () => {
  const events = Array.from({ length: 2000 }, (_, i) => `{"ts":"${1_700_000_000_000_000_000n + BigInt(i)}","instrument":"SYM${i % 100}","price":${(100 + i / 7).toFixed(4)},"qty":${1 + i},"side":"${i % 2 ? 'buy' : 'sell'}","trader":"T${i % 37}"}`);
  const big = setup();
  const r = big.run(`[${events.join(',')}]`);
  assert.ok(enc.encode(`[${events.join(',')}]`).length > 200_000);
  assert.equal([r.accepted, r.rejects], [2000, []]);
  const small = setup();
  for (let k = 0; k < events.length; k += 100) small.run(`[${events.slice(k, k + 100).join(',')}]`);
  assert.equal(big.batch.records(), small.batch.records());
  assert.is(big.batch.ts(1999), 1_700_000_000_000_001_999n);
  const bad = `[${events.join(',')},{"ts":1,}]`;
  const e = setup().run(bad);
  assert.equal(e.rejects.map((x) => [x.index, x.code, x.reason]), [[-1, 'json_syntax', `expected a member name at character ${bad.length - 2}`]]);
});

test('non-ASCII frames: ids and messages exact, raw bytes are the event, positions count characters', () => {
  const { run, batch, dictionary, decoder } = setup(TRADE, { keyFields: ['instrument', 'trader'] });
  const ok = '{"ts":1700000000000,"instrument":"東京","trader":"Zürich"}\n{"ts":1700000000000,"instrument":"\\u6771\\u4eac","trader":"Z\\u00fcrich"}';
  const r = run('\ufeff' + ok);
  assert.equal(r.rejects, []);
  assert.is(dictionary.name(batch.key(0)), '東京|Zürich');
  assert.is(batch.key(1), batch.key(0), 'escaped and literal forms are one id');
  assert.is(dictionary.name(batch.field(0, 4)), 'Zürich');
  const bad = '{"ts":1700000000000,"instrument":"Ωmega","price":"höch"}';
  const r2 = run(`${ok}\n${bad}`);
  assert.equal(r2.rejects.map((x) => [x.index, x.code]), [[2, 'bad_field']]);
  assert.is(dec.decode(r2.rejects[0].raw), bad);
  assert.match(r2.rejects[0].reason, /"price" = "höch" is not a number/);
  const syntax = '{"ts":1700000000000,"instrument":"Ωmega",}';
  const r3 = run(syntax);
  assert.is(r3.rejects[0].reason, `expected a member name at character ${syntax.length - 1}`);
  // decodeText is the same as the UTF-8 bytes.
  batch.reset();
  const before = dictionary.size;
  decoder.json.decodeText(ok, batch);
  assert.equal([batch.count, dictionary.size], [2, before]);
});

test('ids: more distinct ids than the id cache has slots, each interned by its exact value', () => {
  const { run, batch, dictionary } = setup();
  // "Aa" and "BB" hash alike (31·'A' + 'a' = 31·'B' + 'B'): same cache slot, same length, different ids.
  const collide = ['AaAa', 'AaBB', 'BBAa', 'BBBB'];
  const ids = [...collide, ...Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? `id-${i}` : i % 3 === 1 ? `x${(i * 2654435761) >>> 0}` : `${i}é`))];
  const frame = (order: string[]) => `[${order.map((id) => `{"ts":1700000000000,"instrument":${JSON.stringify(id)}}`).join(',')}]`;
  run(frame(ids));
  run(frame([...ids].reverse()));
  assert.is(batch.count, 2 * ids.length);
  for (let i = 0; i < ids.length; i++) {
    assert.is(dictionary.name(batch.key(i)), ids[i]);
    assert.is(batch.key(2 * ids.length - 1 - i), batch.key(i));
  }
  assert.is(dictionary.size, ids.length);
});

test('the scanner agrees with JSON.parse on what it accepts (random documents)', () => {
  let seed = 12345;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const atoms = ['1', '-0.5', '1e3', '"s"', '"\\u00e9"', 'true', 'false', 'null', '{}', '[]', '{"a":1}', '[1,[2]]', '01', '1.', '"\\x"', '{"a"}', '[1,]', 'tru', '"\t"'];
  for (let i = 0; i < 3000; i++) {
    const v = atoms[Math.floor(next() * atoms.length)];
    const text = `{"ts":1700000000000,"instrument":"X","other":${v}}`;
    let valid = true;
    try { JSON.parse(text); } catch { valid = false; }
    const r = setup().run(text);
    assert.is(r.accepted === 1, valid, text);
  }
});

test('fuzz: mutated frames never throw and every line is accounted for', () => {
  let seed = 99;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const base = enc.encode([trade(), trade({ ts: '2023-11-14T22:13:20.5Z', trader: 'Zürich' }), trade({ ts: '1700000000123456789', side: -1 })].join('\n'));
  const { decoder, batch } = setup(TRADE, { keyFields: ['instrument', 'trader'] });
  for (let n = 0; n < 20_000; n++) {
    const bytes = base.slice(0, n % 3 === 0 ? Math.floor(next() * base.length) : base.length);
    for (let k = 0; k < 1 + Math.floor(next() * 4); k++) bytes[Math.floor(next() * bytes.length)] = n % 2 ? Math.floor(next() * 256) : '{}[]",:0-e\\ \n'.charCodeAt(Math.floor(next() * 13));
    batch.reset();
    const asArray = n % 5 === 0;
    const frame = asArray ? enc.encode(`[${new TextDecoder().decode(bytes).split('\n').join(',')}]`) : bytes;
    let r;
    try {
      r = decoder.decode(frame, false, batch);
    } catch (e) {
      throw new Error(`decode threw on ${JSON.stringify(new TextDecoder().decode(frame))}: ${(e as Error).stack}`);
    }
    assert.is(r.accepted, batch.count);
    const text = new TextDecoder().decode(frame).trim();
    if (text !== '' && !/^\[\s*\]$/.test(text)) assert.ok(r.accepted + r.rejects.length > 0, JSON.stringify(new TextDecoder().decode(frame)));
    for (const x of r.rejects) assert.ok(x.raw.length > 0 || x.code === 'empty_frame');
  }
});

test('large array frames decoded from bytes equal the whole-string decode, bad elements and syntax errors included', () => {
  let seed = 7;
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
  // Names full of the characters the element scan must not split on.
  const names = ['AAPL', 'a,b', '{x}', '[y]', 'q\\"z', 'c\\\\', ' },{ ', ']', 'MSFT'];
  const rules = [{ rule: 'range' as const, field: 'qty', min: 1 }, { rule: 'length' as const, field: 'instrument', max: 8 }];
  for (let f = 0; f < 30; f++) {
    const els: string[] = [];
    for (let k = 0; k < 1500 + Math.floor(rnd() * 1500); k++) {
      const r = rnd();
      if (r < 0.03) els.push(String(Math.floor(rnd() * 9)));                 // not an object
      else if (r < 0.06) els.push(`{"ts":${1700000000000 + k},"instrument":"${names[k % names.length]}","price":1,"qty":-1,"side":"buy"}`); // range
      else els.push(`{"ts":${1700000000000 + k},"instrument":"${names[Math.floor(rnd() * names.length)]}","price":${(rnd() * 100).toFixed(2)},"qty":${1 + Math.floor(rnd() * 99)},"side":"${rnd() < 0.5 ? 'buy' : 'sell'}","meta":{"a":[1,{"b":"],"}]}}`);
    }
    let text = `[${els.join(rnd() < 0.5 ? ',' : ',\n ')}]  \n`;
    assert.ok(text.length > 140_000, `frame ${f} is large (${text.length} bytes)`);
    if (f % 5 === 4) text = text.slice(0, Math.floor(text.length * (0.3 + rnd() * 0.6)));         // truncated: a syntax error
    if (f % 5 === 3) text = text.replace('"side"', '"side" "x"');                                    // a syntax error early on
    const bytes = enc.encode(text);
    const a = new EventDecoder({ type: TRADE, dictionary: new KeyDictionary(), rules, now: () => NOW });
    const ba = new RecordBatch(TRADE.stride, 16);
    const got = a.decode(bytes, false, ba).rejects;
    const b = new EventDecoder({ type: TRADE, dictionary: new KeyDictionary(), rules, now: () => NOW });
    const bb = new RecordBatch(TRADE.stride, 16);
    (b as unknown as { writer: { begin(n: bigint, r: bigint): void } }).writer.begin(NOW, NOW);
    const want = b.json.decodeText(text, bb, []);
    assert.is(ba.count, bb.count, `frame ${f}: records`);
    assert.equal(ba.records(), bb.records(), `frame ${f}: record bytes`);
    assert.equal(got.map((r) => [r.index, r.code, r.reason, dec.decode(r.raw)]), want.map((r) => [r.index, r.code, r.reason, dec.decode(r.raw)]), `frame ${f}: rejects`);
  }
});

test.run();
