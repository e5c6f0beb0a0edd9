import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadLetterQueue, type DeadLetter } from '../../../host/ingest/dead_letter.js';
import { EventDecoder } from '../../../host/codec/decoder.js';
import { KeyDictionary } from '../../../host/codec/key_dictionary.js';
import { RecordBatch } from '../../../host/codec/record_batch.js';
import { TRADE } from '../../../host/schema/event_types.js';

const dir = mkdtempSync(join(tmpdir(), 'ganglion-dlq-'));
const RECEIVED = 1_700_000_000_123_456_789n;
const readLines = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);

test('JSONL entries carry reason, origin, receive time and base64 raw bytes that round-trip', async () => {
  const path = join(dir, 'a', 'dlq.jsonl');
  const published: DeadLetter[] = [];
  const dlq = new DeadLetterQueue({ path, publish: (e) => { published.push(e); } });
  const decoder = new EventDecoder({ type: TRADE, dictionary: new KeyDictionary(), rules: [{ rule: 'range', field: 'qty', min: 0 }] });
  const batch = new RecordBatch(TRADE.stride);
  const text = '{"ts":1700000000000,"instrument":"A","qty":1}\n{"ts":1700000000000,"instrument":"B","qty":-3,"note":"é"}\n{"ts":1700000000000,"instrument":"C","qty":2}';
  const frame = { data: new TextEncoder().encode(text), binary: false, origin: 'mqtt:trades/eu', receivedAtNs: RECEIVED };
  const r = decoder.decode(frame.data, frame.binary, batch, frame.receivedAtNs);
  assert.is(r.accepted, 2);
  for (const x of r.rejects) dlq.reject(frame, x);
  const binary = Uint8Array.from([0, 1, 2, 255, 254]);
  dlq.reject({ origin: 'ws:127.0.0.1:5000', receivedAtNs: RECEIVED + 1n, binary: true }, { index: -1, code: 'flatbuffers_identifier', reason: 'bad', raw: binary });
  await dlq.close();
  const lines = readLines(path);
  assert.is(lines.length, 2);
  assert.equal(lines[0], {
    time: '2023-11-14T22:13:20.123456789Z', receivedAtNs: '1700000000123456789', origin: 'mqtt:trades/eu',
    reason: 'range', detail: '"qty" = -3 is outside [0, Infinity]', index: 1, binary: false,
    raw: Buffer.from('{"ts":1700000000000,"instrument":"B","qty":-3,"note":"é"}').toString('base64'),
  });
  assert.equal(Uint8Array.from(Buffer.from(lines[1].raw, 'base64')), binary);
  assert.is(lines[1].index, -1);
  assert.equal(published, lines);
  assert.equal(dlq.counts(), { range: 1, flatbuffers_identifier: 1 });
});

test('appends across instances; fsync=always writes before reject() returns', async () => {
  const path = join(dir, 'b.jsonl');
  const a = new DeadLetterQueue({ path, fsync: 'always' });
  a.add({ origin: 'o', receivedAtNs: RECEIVED, binary: false, reason: 'json_syntax', detail: 'x', index: -1, raw: new Uint8Array([1]) });
  assert.is(readLines(path).length, 1, 'durable immediately');
  await a.close();
  const b = new DeadLetterQueue({ path });
  b.add({ origin: 'o', receivedAtNs: RECEIVED, binary: false, reason: 'json_syntax', detail: 'y', index: -1, raw: new Uint8Array([2]) });
  await new Promise((r) => setImmediate(r));
  assert.is(readLines(path).length, 2, 'interval mode flushes within one event-loop turn');
  await b.close();
  assert.equal(readLines(path).map((l) => l.detail), ['x', 'y']);
});

test('a failing publish hook is counted, never thrown; counters without a file', async () => {
  const dlq = new DeadLetterQueue({ publish: () => Promise.reject(new Error('broker down')) });
  const sync = new DeadLetterQueue({ publish: () => { throw new Error('boom'); } });
  for (let i = 0; i < 3; i++) {
    dlq.add({ origin: 'o', receivedAtNs: 1n, binary: false, reason: i ? 'range' : 'required', detail: '', index: i, raw: new Uint8Array() });
    sync.add({ origin: 'o', receivedAtNs: 1n, binary: false, reason: 'range', detail: '', index: i, raw: new Uint8Array() });
  }
  await new Promise((r) => setImmediate(r));
  assert.is(dlq.publishErrors, 3);
  assert.is(sync.publishErrors, 3);
  assert.equal(dlq.counts(), { required: 1, range: 2 });
  assert.is(dlq.total, 3);
});

test('an unwritable path fails with a clear message (and never hangs)', () => {
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  assert.throws(() => new DeadLetterQueue({ path: join(file, 'sub', 'dlq.jsonl') }), /dead-letter file .*plain-file\/sub\/dlq.jsonl: ENOTDIR/);
  assert.throws(() => new DeadLetterQueue({ path: '/proc/ganglion/dlq.jsonl' }), /dead-letter file \/proc\/ganglion\/dlq.jsonl: ENOENT/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
