import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OUT_ANOMALY, OUT_LATE, OUT_REVISION, OUT_SCORE, OUT_WINDOW, readOutput, writeOutput, type OutputRecord } from '../../../host/records.js';
import { expandTopic, formatDeadLetter, formatOutput, isoNs, serializeOutput, type FormatContext } from '../../../host/output/format.js';

const ctx: FormatContext = {
  operators: [
    { name: 'vwap_1s', type: 'window', aggregates: ['count', 'vwap', 'max'] },
    { name: 'price_z', type: 'zscore', threshold: 6 },
    { name: 'fraud', type: 'model', threshold: 0.8 },
    { name: 'limit', type: 'limit' },
  ],
  fields: ['price', 'qty'],
  keyName: (id) => ['AAPL', 'T1|fx/eu'][id] ?? `#${id}`,
};

function rec(p: Partial<Omit<OutputRecord, 'values'>> & { values?: number[] }): OutputRecord {
  const values = new Float64Array(11);
  (p.values ?? []).forEach((v, i) => (values[i] = v));
  const { values: _v, ...rest } = p;
  return { kind: OUT_WINDOW, op: 0, key: 0, aux: 0, start: 0n, end: 0n, seq: 0n, ...rest, values };
}

const START = 1_767_623_400_000_000_000n; // 2026-01-05T14:30:00Z

test('isoNs keeps all nine fraction digits, before 1970 too', () => {
  assert.is(isoNs(START + 123_456_789n), '2026-01-05T14:30:00.123456789Z');
  assert.is(isoNs(0n), '1970-01-01T00:00:00.000000000Z');
  assert.is(isoNs(-1n), '1969-12-31T23:59:59.999999999Z');
});

test('window result: names, bounds, aggregates in config order, stable id', () => {
  const out = formatOutput(rec({ start: START, end: START + 1_000_000_000n, seq: 42n, values: [12, 1, 2, 103.5, 100, 0, 0, 0, 0, 101.25] }), ctx);
  assert.is(
    serializeOutput(out),
    '{"id":"vwap_1s-window-AAPL-1767623400000000000-42","kind":"window","op":"vwap_1s","key":"AAPL",' +
      '"window":{"start":"2026-01-05T14:30:00.000000000Z","end":"2026-01-05T14:30:01.000000000Z","start_ns":"1767623400000000000","end_ns":"1767623401000000000"},' +
      '"values":{"count":12,"vwap":101.25,"max":103.5},"seq":"42"}',
  );
});

test('revision carries its number in the shape and the id; latency only when given', () => {
  const out = formatOutput(rec({ kind: OUT_REVISION, aux: 2, start: START, end: START + 1n, seq: 7n, values: [1] }), ctx, { latencyNs: 1234.4 });
  assert.is(out.id, 'vwap_1s-revision-AAPL-1767623400000000000-7-r2');
  assert.equal(Object.keys(out), ['id', 'kind', 'op', 'key', 'window', 'revision', 'values', 'seq', 'latency_ns']);
  assert.is((out as { latency_ns?: number }).latency_ns, 1234);
});

test('anomaly from a z-score, and from a limit', () => {
  const z = formatOutput(rec({ kind: OUT_ANOMALY, op: 1, start: START, end: START, seq: 9n, values: [120, 100, 2, 10, 55] }), ctx);
  assert.is(serializeOutput(z), '{"id":"price_z-anomaly-AAPL-1767623400000000000-9","kind":"anomaly","op":"price_z","key":"AAPL","ts":"2026-01-05T14:30:00.000000000Z","ts_ns":"1767623400000000000","value":120,"mean":100,"stddev":2,"z":10,"count":55,"threshold":6,"seq":"9"}');
  const l = formatOutput(rec({ kind: OUT_ANOMALY, op: 3, key: 1, start: START, seq: 1n, values: [3e8, 2.5e8] }), ctx);
  assert.is(serializeOutput(l), '{"id":"limit-anomaly-T1|fx/eu-1767623400000000000-1","kind":"anomaly","op":"limit","key":"T1|fx/eu","ts":"2026-01-05T14:30:00.000000000Z","ts_ns":"1767623400000000000","value":300000000,"limit":250000000,"direction":"above","seq":"1"}');
});

test('score: alert at or above the threshold; NaN becomes null', () => {
  const s = formatOutput(rec({ kind: OUT_SCORE, op: 2, aux: 1, start: START, seq: 3n, values: [0.8] }), ctx);
  assert.is((s as { alert: boolean }).alert, true);
  const n = formatOutput(rec({ kind: OUT_SCORE, op: 2, aux: 1, start: START, seq: 4n, values: [NaN] }), ctx);
  assert.match(serializeOutput(n), /"score":null,"threshold":0\.8,"alert":false/);
});

test('late event: its fields by schema name and the reason', () => {
  const l = formatOutput(rec({ kind: OUT_LATE, op: 0, aux: 1, start: START - 5n, end: START - 5n, seq: 11n, values: [99.5, 300] }), ctx);
  assert.is(serializeOutput(l), '{"id":"vwap_1s-late-AAPL-1767623399999999995-11","kind":"late","op":"vwap_1s","key":"AAPL","ts":"2026-01-05T14:29:59.999999995Z","ts_ns":"1767623399999999995","reason":"beyond_allowed_lateness","fields":{"price":99.5,"qty":300},"seq":"11"}');
});

test('dead letter: text as utf8, binary and invalid UTF-8 as base64, no receive time in replays', () => {
  const t = formatDeadLetter({ n: 7, origin: 'ws:127.0.0.1:5000', reason: 'range', detail: '"price" = -1 is outside [0, Infinity]', data: new TextEncoder().encode('{"price":-1}'), binary: false, receivedAtNs: START, seq: 5n, index: 2 });
  assert.is(serializeOutput(t), '{"id":"dead_letter-7","kind":"dead_letter","origin":"ws:127.0.0.1:5000","reason":"range","detail":"\\"price\\" = -1 is outside [0, Infinity]","index":2,"received_at":"2026-01-05T14:30:00.000000000Z","received_at_ns":"1767623400000000000","encoding":"utf8","data":"{\\"price\\":-1}","seq":"5"}');
  const b = formatDeadLetter({ n: 8, origin: 'mqtt:t', reason: 'x', detail: '', data: new Uint8Array([0, 255]), binary: true, receivedAtNs: START, seq: 0n, index: -1 });
  assert.is(b.encoding, 'base64');
  assert.is(b.data, 'AP8=');
  const bad = formatDeadLetter({ n: 9, origin: 'ws:x', reason: 'invalid_utf8', detail: '', data: new Uint8Array([0x7b, 0xff, 0x7d]), binary: false, receivedAtNs: 0n, seq: 3n, index: -1 });
  assert.is(bad.encoding, 'base64');
  assert.is(Buffer.from(bad.data, 'base64').toString('hex'), '7bff7d');
  assert.not.ok('received_at' in bad, 'a replay has no receive time');
});

test('the same record bytes always give the same line', () => {
  const view = new DataView(new ArrayBuffer(128));
  writeOutput(view, 0, rec({ start: START, end: START + 1_000_000_000n, seq: 1n, values: [1, 2, 3, 4] }));
  const a = serializeOutput(formatOutput(readOutput(view, 0), ctx));
  const b = serializeOutput(formatOutput(readOutput(view, 0), ctx));
  assert.is(a, b);
});

test('unknown kinds and operators are runtime bugs, reported as such', () => {
  assert.throws(() => formatOutput(rec({ kind: 99 }), ctx), /unknown kind 99/);
  assert.throws(() => formatOutput(rec({ op: 9 }), ctx), /unknown operator index 9/);
});

test('topic templates never let a value add levels or wildcards', () => {
  const out = formatOutput(rec({ kind: OUT_ANOMALY, op: 3, key: 1, start: START, values: [1, 0] }), ctx);
  assert.is(expandTopic('alerts/{pipeline}/{op}/{key}', out, 'risk'), 'alerts/risk/limit/T1|fx_eu');
  const hostile = formatOutput(rec({ key: 5 }), { ...ctx, keyName: () => 'a/+/#' });
  assert.is(expandTopic('{kind}/{key}', hostile, 'p'), 'window/a____');
});

test.run();
