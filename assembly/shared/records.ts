// Mirror of host/records.ts (which owns the layout diagram): input and output
// record offsets as the WASM operators see them.

export const IN_HEADER_BYTES: u32 = 24;
export const IN_TS: usize = 0;
export const IN_SEQ: usize = 8;
export const IN_KEY: usize = 16;
export const IN_FLAGS: usize = 20;
export const IN_FIELDS: usize = 24;
export const FLAG_CONTROL: u32 = 1;

export const OUT_BYTES: u32 = 128;
export const OUT_KIND: usize = 0;
export const OUT_OP: usize = 4;
export const OUT_KEY: usize = 8;
export const OUT_AUX: usize = 12;
export const OUT_START: usize = 16;
export const OUT_END: usize = 24;
export const OUT_SEQ: usize = 32;
export const OUT_VALUES: usize = 40;
export const OUT_VALUE_COUNT: u32 = 11;

export const OUT_WINDOW: u32 = 1;
export const OUT_REVISION: u32 = 2;
export const OUT_ANOMALY: u32 = 3;
export const OUT_SCORE: u32 = 4;
export const OUT_LATE: u32 = 5;
export const OUT_MARKER: u32 = 6;
export const OUT_OVER: u32 = 7;

/** Writes the fixed header of an output record; values follow at OUT_VALUES. */
// @ts-ignore: decorator
@inline
export function writeOutHeader(at: usize, kind: u32, op: u32, key: u32, aux: u32, start: i64, end: i64, seq: u64): void {
  store<u32>(at + OUT_KIND, kind);
  store<u32>(at + OUT_OP, op);
  store<u32>(at + OUT_KEY, key);
  store<u32>(at + OUT_AUX, aux);
  store<i64>(at + OUT_START, start);
  store<i64>(at + OUT_END, end);
  store<u64>(at + OUT_SEQ, seq);
}

export function recordsLayoutCheck(): u32 {
  // Read by test/assembly/records.test.ts: the mirrored constants packed.
  return (IN_HEADER_BYTES << 24) | (OUT_BYTES << 16) | (<u32>OUT_VALUES << 8) | OUT_VALUE_COUNT;
}
