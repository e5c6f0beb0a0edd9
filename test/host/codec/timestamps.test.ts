import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatNs, nowNs, parseEpochDigits, parseEpochText, parseIso8601, parseTimestampString, type TimeUnit } from '../../../host/codec/timestamps.js';

test('epoch text: units by magnitude and by configuration, exact digits', () => {
  assert.is(parseEpochText('1700000000'), 1_700_000_000_000_000_000n);
  assert.is(parseEpochText('1700000000123'), 1_700_000_000_123_000_000n);
  assert.is(parseEpochText('1700000000123456'), 1_700_000_000_123_456_000n);
  assert.is(parseEpochText('1700000000123456789'), 1_700_000_000_123_456_789n);
  assert.is(parseEpochText('9223372036854775807'), 9_223_372_036_854_775_807n);
  assert.is(parseEpochText('-1500'), -1_500_000_000_000n, 'negative seconds');
  assert.is(parseEpochText('1500', 'ms'), 1_500_000_000n);
  assert.is(parseEpochText('1500', 'us'), 1_500_000n);
  assert.is(parseEpochText('1500', 'ns'), 1500n);
  assert.is(parseEpochText('1700000000.123456789123'), 1_700_000_000_123_456_789n, 'sub-ns digits truncated');
  assert.is(parseEpochText('17e8'), 1_700_000_000_000_000_000n);
  assert.is(parseEpochText('0'), 0n);
});

test('epoch text: errors are values with the offending text', () => {
  assert.match(parseEpochText('12a') as string, /"12a" is not a number/);
  assert.match(parseEpochText('9223372036854775808') as string, /out of range/);
  assert.match(parseEpochText('1e400') as string, /out of range/);
  assert.match(parseEpochText('') as string, /not a number/);
});

test('ISO 8601: fractions to ns, offsets, leap years, invalid dates', () => {
  assert.is(parseIso8601('1970-01-01T00:00:00Z'), 0n);
  assert.is(parseIso8601('1969-12-31T23:59:59.999999999Z'), -1n);
  assert.is(parseIso8601('2023-11-14T22:13:20.123456789Z'), 1_700_000_000_123_456_789n);
  assert.is(parseIso8601('2023-11-14T22:13:20.1Z'), 1_700_000_000_100_000_000n);
  assert.is(parseIso8601('2023-11-14T17:13:20-0500'), 1_700_000_000_000_000_000n);
  assert.is(parseIso8601('2023-11-14T22:13:20'), 1_700_000_000_000_000_000n, 'no offset = UTC');
  assert.is(parseIso8601('2000-02-29T00:00:00Z'), BigInt(Date.UTC(2000, 1, 29)) * 1_000_000n);
  for (const bad of ['2023-02-29T00:00:00Z', '2023-13-01T00:00:00Z', '2023-01-01T24:00:00Z', '2023-01-01', 'noon', '2023-01-01T00:00:00+25:00']) {
    assert.type(parseIso8601(bad), 'string', bad);
  }
  // Agreement with Date.parse at ms resolution over a range of dates.
  for (let ms = -2e12; ms < 5e12; ms += 123456789013) {
    const iso = new Date(ms).toISOString();
    assert.is(parseIso8601(iso), BigInt(ms) * 1_000_000n, iso);
  }
});

test('timestamp strings: numeric → epoch, otherwise ISO', () => {
  assert.is(parseTimestampString('1700000000123456789'), 1_700_000_000_123_456_789n);
  assert.is(parseTimestampString('2023-11-14T22:13:20Z'), 1_700_000_000_000_000_000n);
  assert.type(parseTimestampString('yesterday'), 'string');
});

test('nowNs tracks the wall clock and formatNs keeps nanoseconds', () => {
  const n = nowNs();
  assert.ok(Math.abs(Number(n / 1_000_000n) - Date.now()) < 1000);
  assert.is(formatNs(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
});

test('epoch digits from bytes: the same value as parseEpochText, or undefined for it to decide', () => {
  const enc = new TextEncoder();
  const units: TimeUnit[] = ['auto', 's', 'ms', 'us', 'ns'];
  const fixed = ['0', '5', '-5', '007', '-0', '1700000000', '1700000000123', '1700000000123456', '1700000000123456789', '9223372036854775807',
    '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '99999999999999999999', '12345678901234567890', '1.5', '1e3', '+1', '-', '', '17x0'];
  let seed = 7;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const random = Array.from({ length: 20_000 }, () => {
    const d = 1 + Math.floor(next() * 21);
    let t = next() < 0.1 ? '-' : '';
    for (let k = 0; k < d; k++) t += String(Math.floor(next() * 10));
    return t;
  });
  let fast = 0;
  for (const text of [...fixed, ...random]) {
    // Padding around the token: the parser must read only [from, to).
    const bytes = enc.encode(`"${text}",9`);
    for (const unit of units) {
      const got = parseEpochDigits(bytes, 1, 1 + text.length, unit);
      if (got === undefined) continue;
      fast++;
      assert.is(got, parseEpochText(text, unit), `${text} ${unit}`);
    }
  }
  assert.ok(fast > 50_000, `the bytes path took only ${fast} cases`);
  // Not plain digits, or out of the i64 range: left to the text parser (which has the message).
  for (const text of ['007', '-0', '1.5', '1e3', '+1', '', '-', '17x0', '9223372036854775808', '-9223372036854775809', '12345678901234567890']) {
    assert.is(parseEpochDigits(enc.encode(text), 0, text.length), undefined, text);
  }
  assert.is(parseEpochDigits(enc.encode('99999999999'), 0, 11, 's'), undefined, '99999999999 s is beyond i64 ns');
  assert.is(parseEpochDigits(enc.encode('99999999999'), 0, 11, 'ns'), 99_999_999_999n);
});

test.run();
