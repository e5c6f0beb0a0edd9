// What the keyed operators that live in one region (z-score, limit check) lay
// out and write the same way; host/operators/region_operator.ts is the host
// side. Each operator owns its header diagram; every region is
//
//   0             headerBytes                outOffset                 end
//   ┌─────────────┬──────────────────────────┬─────────────────────────┐
//   │ header      │ state table              │ output records          │
//   │ magic, ...  │ (state_table.ts)         │ outCapacity × 128 B     │
//   └─────────────┴──────────────────────────┴─────────────────────────┘
//
// with magic u32 at 0 and version u32 at 4, the table right after the header
// and the output area on the next cache line after the table.
import { stBytes, stInit } from './state_table';
import { OUT_BYTES, OUT_VALUES, writeOutHeader } from './records';

const R_MAGIC: usize = 0;
const R_VERSION: usize = 4;

/** Offset of the output area: header, then the state table rounded up to a cache line. */
// @ts-ignore: decorator
@inline
export function regionOutOffset(headerBytes: u32, capacity: u32, valueBytes: u32): usize {
  return <usize>headerBytes + ((stBytes(capacity, valueBytes) + 63) & ~(<usize>63));
}

/** Bytes a region needs: header + state table + output area. */
// @ts-ignore: decorator
@inline
export function regionBytes(headerBytes: u32, capacity: u32, valueBytes: u32, outCapacity: u32): usize {
  return regionOutOffset(headerBytes, capacity, valueBytes) + <usize>outCapacity * OUT_BYTES;
}

/**
 * Lays out a fresh region at `base` (64-byte aligned): a zeroed header with
 * magic, version and the table and output offsets (at `tableAt`, `outAt`),
 * and an empty state table. The operator then writes its own header fields.
 */
// @ts-ignore: decorator
@inline
export function regionInit(base: usize, headerBytes: u32, magic: u32, version: u32, tableAt: usize, outAt: usize,
  capacity: u32, valueBytes: u32, ttlNs: i64): void {
  memory.fill(base, 0, headerBytes);
  store<u32>(base + R_MAGIC, magic);
  store<u32>(base + R_VERSION, version);
  store<u32>(base + tableAt, headerBytes);
  store<u32>(base + outAt, <u32>regionOutOffset(headerBytes, capacity, valueBytes));
  stInit(base + <usize>headerBytes, capacity, valueBytes, ttlNs);
}

/** The output record of one event: start = end = its time, its seq, values v0..v4 and zeros after. */
// @ts-ignore: decorator
@inline
export function writePointOutput(at: usize, kind: u32, op: u32, key: u32, aux: u32, ts: i64, seq: u64,
  v0: f64, v1: f64, v2: f64, v3: f64, v4: f64): void {
  writeOutHeader(at, kind, op, key, aux, ts, ts, seq);
  store<f64>(at + OUT_VALUES, v0);
  store<f64>(at + OUT_VALUES + 8, v1);
  store<f64>(at + OUT_VALUES + 16, v2);
  store<f64>(at + OUT_VALUES + 24, v3);
  store<f64>(at + OUT_VALUES + 32, v4);
  memory.fill(at + OUT_VALUES + 40, 0, 48);
}
