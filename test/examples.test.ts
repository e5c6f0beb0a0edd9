// Every shipped example must load; the fraud example must match its model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../host/config/load.js';
import { eventFields } from '../host/config/types.js';

const dir = new URL('../examples/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));

test('there are the three documented examples', () => {
  for (const f of ['market-surveillance.yaml', 'payment-fraud.yaml', 'position-limits.yaml']) assert.ok(files.includes(f), f);
});

for (const f of files) {
  test(`${f} validates`, () => {
    const c = loadPipeline(join(dir, f));
    assert.ok(c.operators.length > 0);
    assert.ok(eventFields(c).type.stride > 24);
  });
}

test('payment fraud: 8 features for the 8-feature model, an alert threshold, a copy of the fixture', () => {
  const c = loadPipeline(join(dir, 'payment-fraud.yaml'));
  const m = c.operators.find((o) => o.type === 'model');
  assert.ok(m && m.type === 'model');
  assert.is(m.features.length, 8);
  assert.is(m.threshold, 0.8);
  assert.is(readFileSync(m.model, 'utf8'), readFileSync(join(dir, 'models/xgb_fraud_binary.json'), 'utf8'));
});

test('position limits: notional is derived, keyed by trader and asset class, 1-day sliding window', () => {
  const c = loadPipeline(join(dir, 'position-limits.yaml'));
  assert.equal(eventFields(c).key, ['trader', 'asset_class']);
  const w = c.operators[0];
  assert.ok(w.type === 'window' && w.window === 'sliding' && w.size === 86_400_000_000_000n && w.field === 'notional');
  assert.ok(c.operators.some((o) => o.type === 'limit' && o.field === 'notional_1d.sum'));
});

test.run();
