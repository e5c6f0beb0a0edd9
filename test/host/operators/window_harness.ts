// Shared by the window tests: events into partition memory, outputs back out,
// a seeded out-of-order stream (the two-engine parity driver built on it is
// test/parity/window_parity.ts).
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { inputStride, writeInput, OUT_BYTES, type OutputRecord } from '../../../host/records.js';
import type { WindowOperator } from '../../../host/operators/window/event_time.js';

export interface Ev { ts: bigint; key: number; seq?: bigint; f: number[] }

export function runtime(bytes = 32 << 20) {
  return createPartitionRuntime(bytes);
}
export type Rt = ReturnType<typeof runtime>;

/** Writes events into a fresh region; returns what process() takes. */
export function put(rt: Rt, evs: Ev[], fields = 3, flags: number[] = []): { ptr: number; count: number; stride: number } {
  const stride = inputStride(fields);
  const ptr = rt.alloc.alloc(Math.max(1, evs.length) * stride, 64);
  const view = new DataView(rt.memory.buffer);
  evs.forEach((e, i) => writeInput(view, ptr + i * stride, e.ts, e.seq ?? BigInt(i + 1), e.key, e.f, flags[i] ?? 0));
  return { ptr, count: evs.length, stride };
}

/** Decodes and clears the pending outputs. */
export function drain(op: WindowOperator): OutputRecord[] {
  const out = op.outputs();
  op.clearOutput();
  return out;
}

/** Raw bytes of the pending outputs, then clears them. */
export function drainBytes(op: WindowOperator, rt: Rt): Uint8Array {
  const { ptr, count } = op.output();
  const b = new Uint8Array(rt.memory.buffer).slice(ptr, ptr + count * OUT_BYTES);
  op.clearOutput();
  return b;
}

export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

export const T0 = 1_732_424_400_000_000_000n; // 2024-11-24T05:00:00Z in ns

/** Mostly increasing times with jitter, some events far behind (late). */
export function randomStream(seed: number, n: number, keys: number, stepNs: number, jitterNs: number, lateEvery = 50): Ev[] {
  const r = rng(seed);
  const out: Ev[] = [];
  let t = T0 + BigInt(Math.floor(r() * 1e9));
  for (let i = 0; i < n; i++) {
    t += BigInt(Math.floor(r() * stepNs));
    let ts = t - BigInt(Math.floor(r() * jitterNs));
    if (lateEvery > 0 && i % lateEvery === lateEvery - 1) ts -= BigInt(Math.floor(r() * jitterNs * 20));
    const price = 100 + Math.round(r() * 1000) / 100;
    out.push({ ts, key: Math.floor(r() * keys) * 7 + 1, seq: BigInt(i + 1), f: [price, price, 1 + Math.floor(r() * 100)] });
  }
  return out;
}

/** Byte equality with a readable failure: the first differing offset. */
export function sameBytes(a: Uint8Array, b: Uint8Array, msg: string): void {
  if (a.length !== b.length) assert.unreachable(`${msg}: lengths ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.unreachable(`${msg}: first difference at byte ${i} (record ${Math.floor(i / 128)}, offset ${i % 128}): ${a[i]} vs ${b[i]}`);
  }
}

/** Adds the value vector's named entries for readable assertions. */
export function vals(o: OutputRecord) {
  const v = o.values;
  return { count: v[0], sum: v[1], min: v[2], max: v[3], mean: v[4], variance: v[5], stddev: v[6], first: v[7], last: v[8], vwap: v[9] };
}
