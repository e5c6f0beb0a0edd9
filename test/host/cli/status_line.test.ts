import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatLatency, formatRate, formatStatus, StatusLine } from '../../../host/cli/status_line.js';

test('rates and latencies read naturally', () => {
  assert.is(formatRate(1_234_567), '1.23 M ev/s');
  assert.is(formatRate(45_600), '45.6 k ev/s');
  assert.is(formatRate(12), '12 ev/s');
  assert.is(formatLatency(48_200), '48 µs');
  assert.is(formatLatency(2_500_000), '2.5 ms');
  assert.is(formatLatency(undefined), '–');
});

test('the status shows rate over the interval, p99, alerts, backpressure and the URL', () => {
  const s = formatStatus({ events: 0, alerts: 0 }, { events: 2_000_000, alerts: 17, late: 3, deadLetters: 1, p99LatencyNs: 48_000, backpressure: 0.25 }, 2000, 'http://127.0.0.1:9464/');
  assert.is(s, 'ganglion  1.00 M ev/s  p99 48 µs  alerts 17  backpressure 25%  late 3  dead 1  │ http://127.0.0.1:9464/');
});

test('on a TTY the line is redrawn in place; elsewhere plain lines, throttled', () => {
  let now = 0;
  const tty: string[] = [];
  const a = new StatusLine({ write: (t) => tty.push(t), tty: true, now: () => now });
  a.update({ events: 0, alerts: 0 });
  now = 1000; a.update({ events: 1000, alerts: 1 });
  now = 2000; a.update({ events: 3000, alerts: 1 });
  a.end();
  assert.is(tty.length, 3);
  assert.ok(tty[0].startsWith('\rganglion  1.0 k ev/s') && tty[0].endsWith('\x1b[K'));
  assert.ok(tty[1].startsWith('\rganglion  2.0 k ev/s'));
  assert.is(tty[2], '\n');

  const plain: string[] = [];
  const b = new StatusLine({ write: (t) => plain.push(t), tty: false, plainEveryMs: 5000, now: () => now });
  for (let i = 0; i <= 10; i++) { now = i * 1000; b.update({ events: i * 10, alerts: 0 }); }
  b.end();
  assert.is(plain.length, 2); // at 1 s and 6 s
  assert.ok(plain.every((l) => l.endsWith('\n') && !l.includes('\r')));
});

test.run();
