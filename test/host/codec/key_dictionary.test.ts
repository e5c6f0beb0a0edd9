import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compositeKey, KeyDictionary } from '../../../host/codec/key_dictionary.js';

test('ids are dense from 1, stable, and 0 means none', () => {
  const d = new KeyDictionary();
  assert.is(d.intern('AAPL'), 1);
  assert.is(d.intern('MSFT'), 2);
  assert.is(d.intern('AAPL'), 1);
  assert.is(d.get('MSFT'), 2);
  assert.is(d.get('nope'), undefined);
  assert.is(d.name(2), 'MSFT');
  assert.is(d.name(0), undefined);
  assert.is(d.size, 2);
});

test('capacity bounds the dictionary: interning past it returns -1', () => {
  const d = new KeyDictionary(2);
  assert.equal([d.intern('a'), d.intern('b'), d.intern('c'), d.intern('a')], [1, 2, -1, 1]);
});

test('snapshot/restore keeps every id, including non-ASCII; corrupt snapshots fail clearly', () => {
  const d = new KeyDictionary();
  for (const s of ['AAPL', 'Zürich', '東京', '', 'a|b']) d.intern(s);
  const r = KeyDictionary.restore(d.snapshot());
  for (let id = 1; id <= d.size; id++) assert.is(r.name(id), d.name(id));
  assert.is(r.intern('new'), 6);
  assert.throws(() => KeyDictionary.restore(new Uint8Array(8)), /bad magic/);
  assert.throws(() => KeyDictionary.restore(d.snapshot().subarray(0, 15)), /truncated/);
});

test('composite keys escape the separator so parts cannot collide', () => {
  assert.is(compositeKey(['T1', 'equity']), 'T1|equity');
  assert.is(compositeKey(['solo']), 'solo');
  assert.is.not(compositeKey(['a|b', 'c']), compositeKey(['a', 'b|c']));
  assert.is.not(compositeKey(['a\\', '|b']), compositeKey(['a\\|', 'b']));
});

test.run();
