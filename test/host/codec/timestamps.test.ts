import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatNs, nowNs, parseEpochText, parseIso8601, parseTimestampString } from '../../../host/codec/timestamps.js';

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

test.run();
