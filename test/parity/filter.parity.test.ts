// The filter operator, built the way a pipeline builds it (descriptor plan →
// literals interned by a key dictionary → registry factory in a partition
// runtime): the WASM module generated from its condition and the JS twin keep
// exactly the same records, in the same order, with the same bytes, over
// seeded batches full of NULLs (NaN fields), ±0, huge values and unknown
// strings; and both keep exactly what a plain TypeScript statement of each
// condition (SQL three-valued logic, NULL drops) keeps. Drops are counted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../host/wasm/module.js';
import { IN_SEQ, inputStride, writeInput } from '../../host/records.js';
import { KeyDictionary } from '../../host/codec/key_dictionary.js';
import { internConfigStrings, type OperatorConfig } from '../../host/operators/descriptor.js';
import { filterDescriptor, type FilterYaml } from '../../host/operators/filter/descriptor.js';
import type { Engine, Operator } from '../../host/operators/operator.js';
import { mulberry32 } from './region_parity.js';

// A trades record: instrument (string id), price, qty, side, trader (string id).
const FIELDS = { all: ['instrument', 'price', 'qty', 'side', 'trader'], numbers: ['price', 'qty', 'side'], strings: ['instrument', 'trader'], time: 'ts' };
const STRIDE = inputStride(FIELDS.all.length);
const NAMES = ['AAPL', 'MSFT', 'XOM', 'NVDA', 'T1', 'T2'];
const T0 = 1767623400_000_000_000n;

interface Row { instrument: string | null; price: number; qty: number; side: number; trader: string | null; ts: bigint }

/** Three-valued logic as SQL: null = unknown. */
type B = boolean | null;
const and = (a: B, b: B): B => (a === false || b === false ? false : a === null || b === null ? null : true);
const or = (a: B, b: B): B => (a === true || b === true ? true : a === null || b === null ? null : false);
const not = (a: B): B => (a === null ? null : !a);
const num = (x: number): number | null => (Number.isNaN(x) ? null : x);
const cmp = (a: number | null, b: number | null, f: (a: number, b: number) => boolean): B => (a === null || b === null ? null : f(a, b));
const seq = (a: string | null, b: string): B => (a === null ? null : a === b);

const CASES: Array<{ where: string; ref: (r: Row) => B }> = [
  { where: "price * qty > 20000 AND instrument <> 'XOM'", ref: (r) => and(cmp(mul(r.price, r.qty), 20000, (a, b) => a > b), not(seq(r.instrument, 'XOM'))) },
  { where: 'price > 100 OR qty IS NULL', ref: (r) => or(cmp(num(r.price), 100, (a, b) => a > b), num(r.qty) === null) },
  { where: "instrument IN ('AAPL', 'XOM', 'NOT_IN_THE_FEED') AND NOT side = -1", ref: (r) => and(or(or(seq(r.instrument, 'AAPL'), seq(r.instrument, 'XOM')), seq(r.instrument, 'NOT_IN_THE_FEED')), not(cmp(num(r.side), -1, (a, b) => a === b))) },
  { where: 'COALESCE(price, 0) BETWEEN 100 AND 150', ref: (r) => { const p = num(r.price) ?? 0; return p >= 100 && p <= 150; } },
  { where: "trader = 'T1' OR (price / qty >= 1 AND ABS(side) = 1)", ref: (r) => or(seq(r.trader, 'T1'), and(cmp(div(r.price, r.qty), 1, (a, b) => a >= b), cmp(num(r.side) === null ? null : Math.abs(r.side), 1, (a, b) => a === b))) },
  { where: "ts >= ts - INTERVAL '1' SECOND AND price = 0", ref: (r) => cmp(num(r.price), 0, (a, b) => a === b) },
];
function mul(a: number, b: number): number | null { return num(a * b); }
function div(a: number, b: number): number | null { return num(a / b); }

function rows(n: number, seed: number): Row[] {
  const rnd = mulberry32(seed);
  const special = [NaN, 0, -0, 1e308, -1e308, 5e-324, 1, -1, 100, 150, 20000];
  const pick = () => (rnd() < 0.2 ? special[Math.floor(rnd() * special.length)] : Math.round(rnd() * 40000) / 100);
  const str = () => (rnd() < 0.1 ? null : rnd() < 0.05 ? 'ZZZ_NEW' : NAMES[Math.floor(rnd() * 4)]);
  return Array.from({ length: n }, (_, i) => ({
    instrument: str(), price: pick(), qty: pick(), side: rnd() < 0.1 ? NaN : rnd() < 0.5 ? 1 : -1,
    trader: rnd() < 0.1 ? null : rnd() < 0.5 ? 'T1' : 'T2', ts: T0 + BigInt(i) * 1_000_000n,
  }));
}

function build(where: string, engine: Engine, dict: KeyDictionary) {
  const o: FilterYaml = { type: 'filter', name: 'f', where };
  const planned = filterDescriptor.plan(o, {
    field: () => { throw new Error('a filter resolves its fields itself'); }, enrichment: () => [],
    eventTime: { out_of_orderness: 0n, allowed_lateness: 0n }, baseDir: '.', fields: FIELDS,
  });
  const [config] = internConfigStrings([planned], (s) => dict.intern(s));
  const rt = createPartitionRuntime(16 * 1024 * 1024);
  const op = filterDescriptor.kinds.filter(config as OperatorConfig, { ...rt, op: 0, partition: 0, engine, fieldCount: FIELDS.all.length, stride: STRIDE, maxBatch: 1024 });
  return { rt, op: op as Operator & { counters(): { events: number; dropped: number } } };
}

for (const [ci, c] of CASES.entries()) {
  test(`filter ${ci}: ${c.where}: WASM and JS keep the same records and bytes, exactly the reference's`, () => {
    for (const seed of [1, 2, 3]) {
      // The feed's strings are interned first (some before the literals, as a restored dictionary would have them).
      const dict = new KeyDictionary();
      for (const s of ['T2', 'MSFT']) dict.intern(s);
      const wasm = build(c.where, 'wasm', dict), js = build(c.where, 'js', dict);
      const id = (s: string | null) => (s === null ? NaN : dict.intern(s));
      const data = rows(3000, seed * 977 + ci);
      const keptRef = data.map((r, i) => ({ r, i })).filter(({ r }) => c.ref(r) === true).map(({ i }) => BigInt(i + 1));
      let at = 0, keptW: bigint[] = [], keptJ: bigint[] = [];
      const rnd = mulberry32(seed);
      while (at < data.length) {
        const n = Math.min(data.length - at, 1 + Math.floor(rnd() * 700));
        const ptr = 4096;
        for (const { rt } of [wasm, js]) {
          const view = new DataView(rt.memory.buffer);
          for (let i = 0; i < n; i++) {
            const r = data[at + i];
            writeInput(view, ptr + i * STRIDE, r.ts, BigInt(at + i + 1), 1, [id(r.instrument), r.price, r.qty, r.side, id(r.trader)]);
          }
        }
        const kw = wasm.op.process(ptr, n, STRIDE) as number, kj = js.op.process(ptr, n, STRIDE) as number;
        assert.is(kw, kj, `seed ${seed}, batch at ${at}: kept counts`);
        const bw = new Uint8Array(wasm.rt.memory.buffer, ptr, kw * STRIDE), bj = new Uint8Array(js.rt.memory.buffer, ptr, kj * STRIDE);
        assert.ok(Buffer.compare(Buffer.from(bw), Buffer.from(bj)) === 0, `seed ${seed}, batch at ${at}: kept bytes`);
        const vw = new DataView(wasm.rt.memory.buffer), vj = new DataView(js.rt.memory.buffer);
        for (let i = 0; i < kw; i++) keptW.push(vw.getBigUint64(ptr + i * STRIDE + IN_SEQ, true));
        for (let i = 0; i < kj; i++) keptJ.push(vj.getBigUint64(ptr + i * STRIDE + IN_SEQ, true));
        at += n;
      }
      assert.equal(keptW, keptRef, `seed ${seed}: WASM keeps what the reference keeps`);
      assert.equal(keptJ, keptRef, `seed ${seed}: JS keeps what the reference keeps`);
      for (const b of [wasm, js]) {
        assert.equal(b.op.counters(), { events: data.length, dropped: data.length - keptRef.length });
        assert.is(b.op.stats().dropped, data.length - keptRef.length, 'stats().dropped: the metrics counter');
        assert.is(b.op.snapshot().length, 0, 'stateless: an empty snapshot');
      }
      assert.ok(keptRef.length > 0 && keptRef.length < data.length || ci === 5, `seed ${seed}: the condition keeps some and drops some (${keptRef.length})`);
    }
  });
}

test('a string literal not interned before the partition starts is refused, not silently unequal', () => {
  const planned = filterDescriptor.plan({ type: 'filter', name: 'f', where: "instrument = 'AAPL'" }, {
    field: () => 0, enrichment: () => [], eventTime: { out_of_orderness: 0n, allowed_lateness: 0n }, baseDir: '.', fields: FIELDS,
  });
  assert.equal(planned.strings, ['AAPL']);
  const rt = createPartitionRuntime(16 * 1024 * 1024);
  assert.throws(
    () => filterDescriptor.kinds.filter({ ...planned, stringIds: [] }, { ...rt, op: 0, partition: 0, engine: 'wasm', fieldCount: 5, stride: STRIDE, maxBatch: 1024 }),
    /the string 'AAPL' was not interned before the partition started/,
  );
});

test.run();
