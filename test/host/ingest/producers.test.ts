import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProducerTable, producerIdProblem, producerSeqProblem } from '../../../host/ingest/producers.js';

test('high-water mark per producer: at or below is a duplicate, gaps are allowed', () => {
  const t = new ProducerTable();
  assert.is(t.isDuplicate('a', 1), false);
  t.record('a', 5, 1000);
  assert.is(t.isDuplicate('a', 5), true);
  assert.is(t.isDuplicate('a', 1), true);
  assert.is(t.isDuplicate('a', 9), false);
  t.record('a', 3, 2000); // an older seq never lowers the mark
  assert.is(t.highWater('a'), 5);
  assert.is(t.isDuplicate('b', 1), false);
});

test('snapshot/restore round-trips seqs and last-seen times; expiry forgets silent ids', () => {
  const t = new ProducerTable();
  t.record('old', 7, 1_000);
  t.record('new', 2 ** 53 - 1, 9_000);
  const r = new ProducerTable();
  r.restore(t.snapshot(), 'test');
  assert.is(r.highWater('old'), 7);
  assert.is(r.highWater('new'), 2 ** 53 - 1);
  assert.is(r.expire(5_000), 1);
  assert.is(r.highWater('old'), undefined);
  assert.is(r.isDuplicate('new', 1), true);
  assert.throws(() => r.restore(Buffer.from('{"x":[-1,0]}'), 'chk-1'), /chk-1: producer "x" has \[-1,0\]/);
  assert.throws(() => r.restore(Buffer.from('[1]'), 'chk-2'), /chk-2: producer table must be an object/);
});

test('id and seq validation name the problem', () => {
  assert.is(producerIdProblem('gw-7.eu/1'), undefined);
  assert.match(producerIdProblem('a b')!, /printable ASCII characters without spaces, got "a b"/);
  assert.match(producerIdProblem('x'.repeat(200))!, /\(200 characters\)/);
  assert.is(producerSeqProblem('0'), undefined);
  assert.is(producerSeqProblem(String(2 ** 53 - 1)), undefined);
  assert.match(producerSeqProblem(String(2 ** 53))!, /seq must be an integer 0\.\.9007199254740991/);
  assert.match(producerSeqProblem('-1')!, /got "-1"/);
});

test.run();
