// The derive operator, built the way a pipeline builds it (descriptor plan →
// literals interned by a key dictionary → registry factory in a partition
// runtime): the WASM module generated from its expressions and the JS twin
// write exactly the same bytes into the same records, over seeded batches full
// of NULLs (NaN fields), ±0, huge values and unknown strings, and leave every
// other byte as it was. Then each documented semantic (docs/EXPRESSIONS.md),
// one case each, against its expected stored value on both engines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { IN_FIELDS, inputStride, writeInput } from '../../host/records.js';
import { KeyDictionary } from '../../host/codec/key_dictionary.js';
import { internConfigStrings, type OperatorConfig } from '../../host/operators/descriptor.js';
import { deriveDescriptor, type DeriveYaml } from '../../host/operators/derive/descriptor.js';
import type { Engine, Operator } from '../../host/operators/operator.js';
import { mulberry32 } from './region_parity.js';

const FIELDS = { all: ['instrument', 'price', 'qty', 'side', 'fx'], numbers: ['price', 'qty', 'side', 'fx'], strings: ['instrument'], time: 'ts' };
const T0 = 1767623400_000_000_000n;
const NAMES = ['AAPL', 'MSFT', 'XOM'];

function build(fields: Record<string, string>, engine: Engine, dict: KeyDictionary) {
  const o: DeriveYaml = { type: 'derive', name: 'd', fields };
  const planned = deriveDescriptor.plan(o, {
    field: () => { throw new Error('a derive resolves its fields itself'); }, enrichment: () => [],
    eventTime: { out_of_orderness: 0n, allowed_lateness: 0n }, baseDir: '.', fields: FIELDS,
  });
  const [config] = internConfigStrings([planned], (s) => dict.intern(s));
  const width = FIELDS.all.length + Object.keys(fields).length;
  const rt = createPartitionRuntime(16 * 1024 * 1024);
  const stride = inputStride(width);
  const op = deriveDescriptor.kinds.derive(config as OperatorConfig, { ...rt, op: 0, partition: 0, engine, fieldCount: width, stride, maxBatch: 1024 });
  return { rt, op: op as Operator, stride };
}

const PROGRAM = {
  notional_usd: 'price * qty * fx',
  spread: 'CASE WHEN side = 1 THEN price - fx WHEN side = -1 THEN fx - price END',
  ratio: 'price / qty',
  rem: 'price % qty',
  big: "price * qty > 1e6 AND instrument <> 'XOM'",
  lot: "CASE WHEN qty >= 100 THEN 'block' ELSE instrument END",
  rounded: 'ROUND(price, 2) + LEAST(qty, fx) - GREATEST(NULL, side)',
  safe: 'COALESCE(LN(price), SQRT(qty), 0)',
};

test('derive: WASM and JS twin write the same bytes over NULLs, NaN, ±0, huge values', () => {
  for (const seed of [1, 2, 3]) {
    const dict = new KeyDictionary();
    dict.intern('MSFT');
    const wasm = build(PROGRAM, 'wasm', dict), js = build(PROGRAM, 'js', dict);
    const stride = wasm.stride;
    const rnd = mulberry32(seed);
    const special = [NaN, 0, -0, 1e308, -1e308, 5e-324, 1, -1, 100, Infinity, -Infinity];
    const pick = () => (rnd() < 0.25 ? special[Math.floor(rnd() * special.length)] : Math.round((rnd() - 0.2) * 40000) / 100);
    const id = (s: string | null) => (s === null ? NaN : dict.intern(s));
    for (let batch = 0; batch < 20; batch++) {
      const n = 1 + Math.floor(rnd() * 700), ptr = 4096;
      const rows = Array.from({ length: n }, (_, i) => [id(rnd() < 0.1 ? null : rnd() < 0.05 ? 'NEW' : NAMES[Math.floor(rnd() * 3)]), pick(), pick(), rnd() < 0.1 ? NaN : rnd() < 0.5 ? 1 : -1, pick(), ...Object.keys(PROGRAM).map(() => 7.5)].map((v, j) => ({ v, j, i })));
      for (const b of [wasm, js]) {
        const view = new DataView(b.rt.memory.buffer);
        rows.forEach((r, i) => writeInput(view, ptr + i * stride, T0 + BigInt(i), BigInt(i + 1), 1, r.map((x) => x.v)));
      }
      const before = Buffer.from(new Uint8Array(js.rt.memory.buffer, ptr, n * stride));
      assert.is(wasm.op.process(ptr, n, stride), undefined, 'a derive keeps every record (returns nothing)');
      js.op.process(ptr, n, stride);
      const bw = Buffer.from(new Uint8Array(wasm.rt.memory.buffer, ptr, n * stride)), bj = Buffer.from(new Uint8Array(js.rt.memory.buffer, ptr, n * stride));
      assert.ok(bw.equals(bj), `seed ${seed} batch ${batch}: the same bytes`);
      // Only the derived slots changed.
      const first = IN_FIELDS + 8 * FIELDS.all.length;
      for (let i = 0; i < n; i++) {
        assert.ok(bj.subarray(i * stride, i * stride + first).equals(before.subarray(i * stride, i * stride + first)), `record ${i}: header and schema fields untouched`);
      }
    }
  }
});

/** One documented case each: the expression, the record, the stored value (null = the canonical NaN). */
const CASES: Array<[string, string, Record<string, number>, number | null]> = [
  ['NULL in arithmetic', 'price * qty', { price: NaN, qty: 2 }, null],
  ['x / 0', 'price / qty', { price: 5, qty: 0 }, Infinity],
  ['-x / 0', 'price / qty', { price: -5, qty: 0 }, -Infinity],
  ['0 / 0', 'price / qty', { price: 0, qty: 0 }, null],
  ['x % 0', 'price % qty', { price: 5, qty: 0 }, null],
  ['% keeps the dividend sign', 'price % qty', { price: -7.5, qty: 2 }, -1.5],
  ['overflow', 'price * qty', { price: 1e308, qty: 10 }, Infinity],
  ['-0 kept by IEEE', 'ROUND(price)', { price: -0.3, qty: 1 }, -0],
  ['-0 = 0', 'CASE WHEN price = 0 THEN 1 ELSE 0 END', { price: -0, qty: 1 }, 1],
  ['comparison with NULL', 'price > 1', { price: NaN, qty: 1 }, null],
  ['FALSE AND NULL', 'qty > 5 AND price > 1', { price: NaN, qty: 1 }, 0],
  ['TRUE OR NULL', 'qty > 0 OR price > 1', { price: NaN, qty: 1 }, 1],
  ['CASE without a true WHEN or ELSE', 'CASE WHEN price > 10 THEN 1 END', { price: 5, qty: 1 }, null],
  ['COALESCE', 'COALESCE(price, qty)', { price: NaN, qty: 3 }, 3],
  ['LEAST ignores NULL', 'LEAST(price, qty)', { price: NaN, qty: 3 }, 3],
  ['ROUND half away from zero', 'ROUND(price)', { price: -2.5, qty: 1 }, -3],
  ['LN of 0', 'LN(price)', { price: 0, qty: 1 }, null],
  ['POWER(NULL, 0)', 'POWER(price, 0)', { price: NaN, qty: 1 }, null],
];

for (const [what, expr, rec, want] of CASES) {
  test(`derive: ${what}: ${expr} stores ${want === null ? 'NULL' : Object.is(want, -0) ? '-0' : want} on both engines`, () => {
    for (const engine of ['wasm', 'js'] as const) {
      const b = build({ v: expr }, engine, new KeyDictionary());
      const view = new DataView(b.rt.memory.buffer);
      writeInput(view, 4096, T0, 1n, 1, [1, rec.price, rec.qty, 1, 1, 42]);
      b.op.process(4096, 1, b.stride);
      const at = 4096 + IN_FIELDS + 8 * FIELDS.all.length;
      const got = view.getFloat64(at, true);
      if (want === null) assert.equal([view.getUint32(at, true), view.getUint32(at + 4, true)], [0, 0x7ff80000], `${engine}: the canonical NaN`);
      else assert.ok(Object.is(got, want), `${engine}: ${got}, want ${want}`);
    }
  });
}

test.run();
