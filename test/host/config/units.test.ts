import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, parseDuration, parseSize } from '../../../host/config/units.js';

test('durations parse to exact nanoseconds', () => {
  assert.is(parseDuration('500ms'), 500_000_000n);
  assert.is(parseDuration('5s'), 5_000_000_000n);
  assert.is(parseDuration('1d'), 86_400_000_000_000n);
  assert.is(parseDuration('1.5s'), 1_500_000_000n);
  assert.is(parseDuration('250us'), 250_000n);
  assert.is(parseDuration('7ns'), 7n);
  assert.is(parseDuration('0s'), 0n);
});

test('durations without a unit, with unknown units or below 1 ns are rejected', () => {
  for (const bad of ['500', '5 seconds', '1w', '-1s', '1.5ns', 's', '']) assert.is(parseDuration(bad), undefined, bad);
});

test('formatDuration picks the largest exact unit', () => {
  assert.is(formatDuration(86_400_000_000_000n), '1d');
  assert.is(formatDuration(1_500_000_000n), '1500ms');
  assert.is(formatDuration(3n), '3ns');
});

test('sizes parse binary and decimal units', () => {
  assert.is(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.is(parseSize('100MB'), 100_000_000);
  assert.is(parseSize(4096), 4096);
  assert.is(parseSize('12 parsecs'), undefined);
  assert.is(parseSize(-1), undefined);
});

test.run();
