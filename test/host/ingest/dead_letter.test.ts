import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadLetterQueue, readDeadLetters, type DeadLetter } from '../../../host/ingest/dead_letter.js';
import { EventDecoder } from '../../../host/codec/decoder.js';
import { KeyDictionary } from '../../../host/codec/key_dictionary.js';
import { RecordBatch } from '../../../host/codec/record_batch.js';
import { TRADE } from '../../../host/schema/event_types.js';

const dir = mkdtempSync(join(tmpdir(), 'ganglion-dlq-'));
const RECEIVED = 1_700_000_000_123_456_789n;
const readLines = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);

test('JSONL entries are the documented dead_letter output: id, kind, reason, detail, receive time, text as text, binary as base64', async () => {
  const path = join(dir, 'a', 'dlq.jsonl');
  const published: DeadLetter[] = [];
  const dlq = new DeadLetterQueue({ path, publish: (e) => { published.push(e); } });
  const decoder = new EventDecoder({ type: TRADE, dictionary: new KeyDictionary(), rules: [{ rule: 'range', field: 'qty', min: 0 }] });
  const batch = new RecordBatch(TRADE.stride);
  const text = '{"ts":1700000000000,"instrument":"A","qty":1}\n{"ts":1700000000000,"instrument":"B","qty":-3,"note":"é"}\n{"ts":1700000000000,"instrument":"C","qty":2}';
  const frame = { data: new TextEncoder().encode(text), binary: false, origin: 'mqtt:trades/eu', receivedAtNs: RECEIVED };
  const r = decoder.decode(frame.data, frame.binary, batch, frame.receivedAtNs);
  assert.is(r.accepted, 2);
  for (const x of r.rejects) dlq.reject(frame, x, 12n);
  const binary = Uint8Array.from([0, 1, 2, 255, 254]);
  dlq.reject({ origin: 'ws:127.0.0.1:5000', receivedAtNs: RECEIVED + 1n, binary: true }, { index: -1, code: 'flatbuffers_identifier', reason: 'bad', raw: binary }, 14n);
  await dlq.close();
  const lines = readLines(path);
  assert.is(lines.length, 2);
  assert.equal(lines[0], {
    id: 'dead_letter-1', kind: 'dead_letter', origin: 'mqtt:trades/eu', reason: 'range', detail: '"qty" = -3 is outside [0, Infinity]', index: 1,
    received_at: '2023-11-14T22:13:20.123456789Z', received_at_ns: '1700000000123456789',
    encoding: 'utf8', data: '{"ts":1700000000000,"instrument":"B","qty":-3,"note":"é"}', seq: '12',
  });
  assert.is(readFileSync(path, 'utf8').split('\n')[0], JSON.stringify(lines[0]), 'keys in the documented order');
  assert.is(lines[1].id, 'dead_letter-2');
  assert.is(lines[1].encoding, 'base64');
  assert.equal(Uint8Array.from(Buffer.from(lines[1].data, 'base64')), binary);
  assert.is(lines[1].index, -1);
  assert.equal(published, lines);
  assert.equal(dlq.counts(), { range: 1, flatbuffers_identifier: 1 });
});

test('appends across instances, ids continue after a restart; a torn last line is cut; fsync=always writes before reject() returns', async () => {
  const path = join(dir, 'b.jsonl');
  const a = new DeadLetterQueue({ path, fsync: 'always' });
  a.add({ origin: 'o', receivedAtNs: RECEIVED, binary: false, reason: 'json_syntax', detail: 'x', index: -1, data: new Uint8Array([1]), seq: 1n });
  assert.is(readLines(path).length, 1, 'durable immediately');
  await a.close();
  appendFileSync(path, '{"id":"dead_letter-2","kind":"dead_l');
  const b = new DeadLetterQueue({ path });
  assert.is(b.tornBytes, 36);
  const added = b.add({ origin: 'o', receivedAtNs: RECEIVED, binary: false, reason: 'json_syntax', detail: 'y', index: -1, data: new Uint8Array([2]), seq: 1n });
  await new Promise((r) => setImmediate(r));
  assert.is(readLines(path).length, 2, 'interval mode flushes within one event-loop turn');
  await b.close();
  assert.equal(readLines(path).map((l) => [l.id, l.detail]), [['dead_letter-1', 'x'], ['dead_letter-2', 'y']]);
  assert.is(added.end, readFileSync(path).length);
  assert.equal([...readDeadLetters(path, 0)].map((d) => d.entry.id), ['dead_letter-1', 'dead_letter-2']);
  const firstEnd = readFileSync(path, 'utf8').indexOf('\n') + 1;
  assert.equal([...readDeadLetters(path, firstEnd)].map((d) => d.entry.id), ['dead_letter-2']);
});

test('a failing publish hook is counted, never thrown; counters without a file', async () => {
  const dlq = new DeadLetterQueue({ publish: () => Promise.reject(new Error('broker down')) });
  const sync = new DeadLetterQueue({ publish: () => { throw new Error('boom'); } });
  for (let i = 0; i < 3; i++) {
    dlq.add({ origin: 'o', receivedAtNs: 1n, binary: false, reason: i ? 'range' : 'required', detail: '', index: i, data: new Uint8Array(), seq: 0n });
    sync.add({ origin: 'o', receivedAtNs: 1n, binary: false, reason: 'range', detail: '', index: i, data: new Uint8Array(), seq: 0n });
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
