import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planPack, packInto, packedBytes, unpack, MODE_CONST, MODE_DELTA, MODE_INT8, MODE_INT16, MODE_INT32, MODE_RAW, MODE_STEP } from '../../../host/log/record_packing.js';
import { inputStride, writeInput } from '../../../host/records.js';

function roundTrip(records: Uint8Array, count: number, stride: number): { modes: number[]; bytes: number } {
  const plan = planPack(records, count, stride);
  const out = new Uint8Array(packedBytes(plan, count));
  assert.ok(packInto(plan, records, count, stride, out), 'a plan from every record always packs');
  const back = unpack(out, count);
  if (typeof back === 'string') throw new Error(back);
  assert.is(back.stride, stride);
  assert.ok(Buffer.from(back.records).equals(Buffer.from(records.subarray(0, count * stride))), 'unpacked bytes equal the originals');
  return { modes: [...plan.modes], bytes: out.length };
}

test('a trade-like frame packs each column to its smallest exact mode', () => {
  // ts within a frame, seq counting up, key|flags, price, qty, side, asset class, enrichment NaN
  const stride = inputStride(5), n = 1000;
  const buf = new Uint8Array(n * stride);
  const v = new DataView(buf.buffer);
  for (let i = 0; i < n; i++) {
    writeInput(v, i * stride, 1_732_424_400_000_000_000n + BigInt((i * 7919) % 1_000_000) - 500_000n, 4_294_967_290n + BigInt(i), 1 + (i % 300), [
      100 + ((i * 31) % 1000) / 100, 1 + (i % 5000), i % 2, i % 3, NaN,
    ]);
  }
  const { modes, bytes } = roundTrip(buf, n, stride);
  assert.equal(modes, [MODE_DELTA, MODE_STEP, MODE_DELTA, MODE_RAW, MODE_INT16, MODE_INT8, MODE_INT8, MODE_CONST]);
  assert.ok(bytes < n * stride * 0.4, `${bytes} bytes for ${n * stride}`);
});

test('edge values stay exact: -0, NaN payloads, infinities, 2^32, negatives, huge words', () => {
  const stride = 8, vals = [0, -0, NaN, Infinity, -Infinity, 4294967295, 4294967296, -1, 0.5, 255, 256, 65535, 65536, 1e300];
  const buf = new Uint8Array(vals.length * stride);
  const v = new DataView(buf.buffer);
  vals.forEach((x, i) => v.setFloat64(i * 8, x, true));
  v.setUint32(2 * 8, 0x7ff80001, true); // a NaN with a payload
  roundTrip(buf, vals.length, stride);
  // each value alone, and in pairs, picks some mode and still round-trips
  for (let i = 0; i < vals.length; i++) for (let j = 0; j < vals.length; j++) {
    const two = new Uint8Array(16);
    two.set(buf.subarray(i * 8, i * 8 + 8), 0);
    two.set(buf.subarray(j * 8, j * 8 + 8), 8);
    roundTrip(two, 2, 8);
  }
});

test('integer columns choose INT8 / INT16 / INT32 by their largest value; -0 forces RAW', () => {
  const col = (xs: number[]) => {
    const b = new Uint8Array(xs.length * 8);
    xs.forEach((x, i) => new DataView(b.buffer).setFloat64(i * 8, x, true));
    return roundTrip(b, xs.length, 8).modes[0];
  };
  assert.is(col([3, 200, 7]), MODE_INT8);
  assert.is(col([3, 60000, 7]), MODE_INT16);
  assert.is(col([3, 4_000_000_000, 7]), MODE_INT32);
  assert.is(col([3, -0, 7]), MODE_RAW);
  assert.is(col([3, 3.5, 7]), MODE_RAW);
});

test('64-bit words: steps and deltas across the 2^32 and sign boundaries', () => {
  const words = (xs: bigint[]) => {
    const b = new Uint8Array(xs.length * 8);
    xs.forEach((x, i) => new DataView(b.buffer).setBigUint64(i * 8, BigInt.asUintN(64, x), true));
    return roundTrip(b, xs.length, 8).modes[0];
  };
  assert.is(words([0xffff_fffen, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_0001n]), MODE_STEP);
  assert.is(words([0xffff_ffff_ffff_ffffn, 0n, 1n]), MODE_STEP, 'wraps like a u64');
  assert.is(words([0x1_0000_0000n, 0x0_ffff_fff0n, 0x1_7fff_ffffn]), MODE_DELTA);
  assert.is(words([-5n, 5n, -2_000_000_000n]), MODE_DELTA);
  assert.is(words([0n, 0x8000_0000n]), MODE_RAW, 'a delta past i32 is not DELTA (and 2^31 as bits is a denormal, not an integer)');
});

test('random words round-trip', () => {
  let s = 0x9e3779b9;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  for (let t = 0; t < 200; t++) {
    const words = 1 + (rnd() % 6), n = 1 + (rnd() % 50);
    const buf = new Uint8Array(n * words * 8);
    const v = new DataView(buf.buffer);
    const kind = rnd() % 4;
    for (let i = 0; i < n * words; i++) {
      if (kind === 0) { v.setUint32(i * 8, rnd(), true); v.setUint32(i * 8 + 4, rnd(), true); }
      else if (kind === 1) v.setFloat64(i * 8, rnd() % 300, true);
      else if (kind === 2) v.setBigInt64(i * 8, 1_700_000_000_000_000_000n + BigInt(rnd() % 100000) - 50000n, true);
      else v.setFloat64(i * 8, (rnd() % 5) === 0 ? -0 : (rnd() % 70000), true);
    }
    roundTrip(buf, n, words * 8);
  }
});

test('misaligned records and payloads (a Buffer view at any offset) pack and unpack the same', () => {
  const stride = 16, n = 37;
  const backing = Buffer.alloc(n * stride + 3);
  const recs = backing.subarray(3);
  for (let i = 0; i < n; i++) { recs.writeDoubleLE(i * 3, i * stride); recs.writeDoubleLE(i + 0.25, i * stride + 8); }
  const plan = planPack(recs, n, stride);
  const out = Buffer.alloc(packedBytes(plan, n) + 5).subarray(5);
  packInto(plan, recs, n, stride, out);
  const back = unpack(out, n);
  if (typeof back === 'string') throw new Error(back);
  assert.ok(Buffer.from(back.records).equals(recs));
});

test('a plan made from other records (the previous batch) that these break: packInto says so, their own plan packs them', () => {
  const n = 100;
  for (const late of [300, 70000, 5e9, -0, 0.5, NaN]) {
    const b = new Uint8Array(n * 8);
    const v = new DataView(b.buffer);
    for (let i = 0; i < n; i++) v.setFloat64(i * 8, i === n - 1 ? late : i % 7, true);
    const sampled = planPack(b, 32, 8);
    assert.is(sampled.modes[0], MODE_INT8);
    assert.is(packInto(sampled, b, n, 8, new Uint8Array(packedBytes(sampled, n))), false, `${late} does not fit INT8`);
    roundTrip(b, n, 8);
  }
  const seq = new Uint8Array(n * 8), ts = new Uint8Array(n * 8);
  for (let i = 0; i < n; i++) {
    new DataView(seq.buffer).setBigUint64(i * 8, i === n - 1 ? 5n : BigInt(1000 + i), true);
    new DataView(ts.buffer).setBigInt64(i * 8, 1_700_000_000_000_000_000n + (i === n - 1 ? 5_000_000_000n : BigInt(i)), true);
  }
  for (const [b, mode] of [[seq, MODE_STEP], [ts, MODE_STEP]] as const) {
    const sampled = planPack(b, 32, 8);
    assert.is(sampled.modes[0], mode);
    assert.is(packInto(sampled, b, n, 8, new Uint8Array(packedBytes(sampled, n))), false);
    roundTrip(b, n, 8);
  }
  const delta = new Uint8Array(n * 8);
  for (let i = 0; i < n; i++) new DataView(delta.buffer).setBigInt64(i * 8, 1_700_000_000_000_000_000n + (i === n - 1 ? 5_000_000_000n : BigInt((i * 37) % 11)), true);
  const sampled = planPack(delta, 32, 8);
  assert.is(sampled.modes[0], MODE_DELTA);
  assert.is(packInto(sampled, delta, n, 8, new Uint8Array(packedBytes(sampled, n))), false);
  roundTrip(delta, n, 8);
});

test('unpack names what is wrong with a bad payload', () => {
  assert.match(String(unpack(new Uint8Array(2), 1)), /shorter than their header/);
  const bad = new Uint8Array(16); new DataView(bad.buffer).setUint16(0, 8, true); new DataView(bad.buffer).setUint16(2, 1, true); bad[4] = 99;
  assert.match(String(unpack(bad, 1)), /unknown column mode 99/);
  bad[4] = MODE_CONST;
  assert.match(String(unpack(bad.subarray(0, 12), 1)), /modes say 16/);
});

test.run();
