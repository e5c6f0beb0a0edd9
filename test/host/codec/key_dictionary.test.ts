import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compositeKey, KEY_TOO_LONG, KeyDictionary, TOO_MANY_BYTES, TOO_MANY_KEYS } from '../../../host/codec/key_dictionary.js';

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

test('limits bound what input adds: key length, key count, total bytes; known keys always pass', () => {
  const d = new KeyDictionary({ maxKeys: 3, maxKeyBytes: 4, maxBytes: 10 });
  assert.equal([d.admit('a'), d.admit('bb'), d.admit('bb')], [1, 2, 2]);
  assert.is(d.admit('toolong'), KEY_TOO_LONG);
  assert.is(d.admit('ééé'), KEY_TOO_LONG, '3 characters, 6 bytes');
  assert.is(d.admit('éé'), 3, '4 bytes');
  assert.equal([d.size, d.bytes], [3, 7]);
  assert.is(d.admit('c'), TOO_MANY_KEYS);
  assert.is(d.admit('a'), 1);
  assert.equal(d.refused, { key_too_long: 2, max_keys: 1, max_bytes: 0 });
  assert.match(d.describe(KEY_TOO_LONG, 'toolong'), /"toolong" is 7 bytes, over the 4-byte limit per key \(key_dictionary.max_key_bytes\)/);
  assert.match(d.describe(TOO_MANY_KEYS, 'c'), /holds 3 keys \(key_dictionary.max_keys: 3\)/);
  const b = new KeyDictionary({ maxBytes: 5 });
  assert.equal([b.admit('abc'), b.admit('def'), b.admit('de')], [1, TOO_MANY_BYTES, 2]);
  // intern() is for strings accepted before (log replay, restore): never refused.
  assert.is(d.intern('way too long for the limits'), 4);
  assert.is(KeyDictionary.restore(d.snapshot(), { maxKeys: 1 }).size, 4);
  assert.is(KeyDictionary.restore(d.snapshot(), { maxKeys: 1 }).bytes, d.bytes);
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
