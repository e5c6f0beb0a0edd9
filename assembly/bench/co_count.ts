// co_count: a two-input test operator, the WASM side of the two-input API
// (host/operators/operator.ts TwoInputOperator): per key, the records of each
// input and the sum of field 0 of each; when the operator's watermark (the
// minimum of both inputs', computed by the partition runner) advances, one
// OUT_WINDOW per key seen since the last one (start = end = the watermark,
// v0..v3 = count1, count2, sum1, sum2), and the table is emptied.
// A two-input WASM operator exports one process function per input:
// co_count_process1 and co_count_process2; its host wrapper maps the runner's
// process() and process2() to them. Tests only: in the bench build; the host
// side and JS twin are test/host/partition/fixtures/two_input_probe.ts.
import { IN_KEY, IN_FIELDS, IN_FLAGS, FLAG_CONTROL, OUT_BYTES, OUT_VALUES, OUT_WINDOW, writeOutHeader } from '../shared/records';

// Region layout (allocated by the host, 64-byte aligned):
//
//   0 slots u32 │ 4 op u32 │ 8 outCap u32 │ 12 outCount u32 │ 16 live u32 │ 20 overflow u32 │ .. 64
//   64            table: slots × 40 B  { key+1 u32 | pad u32 | count1 f64 | count2 f64 | sum1 f64 | sum2 f64 }
//   64+40·slots   output area: outCap × 128 B output records
const CC_SLOTS: usize = 0;
const CC_OP: usize = 4;
const CC_OUT_CAP: usize = 8;
const CC_OUT_COUNT: usize = 12;
const CC_LIVE: usize = 16;
const CC_OVERFLOW: usize = 20;
const CC_TABLE: usize = 64;
const CC_ENTRY: usize = 40;

export function co_count_bytes(slots: u32, outCap: u32): usize {
  return CC_TABLE + <usize>slots * CC_ENTRY + <usize>outCap * <usize>OUT_BYTES;
}

/** `slots` must be a power of two, more than the distinct keys between two watermarks; outCap ≥ slots. */
export function co_count_init(region: usize, slots: u32, op: u32, outCap: u32): void {
  memory.fill(region, 0, co_count_bytes(slots, outCap));
  store<u32>(region + CC_SLOTS, slots);
  store<u32>(region + CC_OP, op);
  store<u32>(region + CC_OUT_CAP, outCap);
}

// @ts-ignore: decorator
@inline function outPtr(region: usize): usize {
  return region + CC_TABLE + <usize>load<u32>(region + CC_SLOTS) * CC_ENTRY;
}

function take(region: usize, input: usize, ptr: usize, count: u32, stride: u32): void {
  const mask = load<u32>(region + CC_SLOTS) - 1;
  for (let i: u32 = 0; i < count; i++) {
    const rec = ptr + <usize>i * <usize>stride;
    if ((load<u32>(rec + IN_FLAGS) & FLAG_CONTROL) != 0) continue;
    const key = load<u32>(rec + IN_KEY);
    let s = (key * 0x9e3779b1) & mask;
    let found: usize = 0;
    for (let probe: u32 = 0; probe <= mask; probe++) {
      const e = region + CC_TABLE + <usize>s * CC_ENTRY;
      const k = load<u32>(e);
      if (k == key + 1) { found = e; break; }
      if (k == 0) {
        store<u32>(e, key + 1);
        store<u32>(region + CC_LIVE, load<u32>(region + CC_LIVE) + 1);
        found = e;
        break;
      }
      s = (s + 1) & mask;
    }
    if (found == 0) {
      store<u32>(region + CC_OVERFLOW, load<u32>(region + CC_OVERFLOW) + 1);
      continue;
    }
    store<f64>(found + 8 + input * 8, load<f64>(found + 8 + input * 8) + 1.0);
    store<f64>(found + 24 + input * 8, load<f64>(found + 24 + input * 8) + load<f64>(rec + IN_FIELDS));
  }
}

/** Runs of the first input's records. */
export function co_count_process1(region: usize, ptr: usize, count: u32, stride: u32): void {
  take(region, 0, ptr, count, stride);
}

/** Runs of the second input's records. */
export function co_count_process2(region: usize, ptr: usize, count: u32, stride: u32): void {
  take(region, 1, ptr, count, stride);
}

export function co_count_watermark(region: usize, wm: i64): void {
  const slots = load<u32>(region + CC_SLOTS);
  const op = load<u32>(region + CC_OP);
  for (let s: u32 = 0; s < slots; s++) {
    const e = region + CC_TABLE + <usize>s * CC_ENTRY;
    const k = load<u32>(e);
    if (k == 0) continue;
    const n = load<u32>(region + CC_OUT_COUNT);
    if (n >= load<u32>(region + CC_OUT_CAP)) {
      store<u32>(region + CC_OVERFLOW, load<u32>(region + CC_OVERFLOW) + 1);
      continue;
    }
    store<u32>(region + CC_OUT_COUNT, n + 1);
    const o = outPtr(region) + <usize>n * <usize>OUT_BYTES;
    memory.fill(o, 0, OUT_BYTES);
    writeOutHeader(o, OUT_WINDOW, op, k - 1, 0, wm, wm, 0);
    for (let v: usize = 0; v < 4; v++) store<f64>(o + OUT_VALUES + v * 8, load<f64>(e + 8 + v * 8));
  }
  memory.fill(region + CC_TABLE, 0, <usize>slots * CC_ENTRY);
  store<u32>(region + CC_LIVE, 0);
}

export function co_count_out_ptr(region: usize): usize { return outPtr(region); }
export function co_count_out_count(region: usize): u32 { return load<u32>(region + CC_OUT_COUNT); }
export function co_count_clear_output(region: usize): void { store<u32>(region + CC_OUT_COUNT, 0); }
export function co_count_overflow(region: usize): u32 { return load<u32>(region + CC_OVERFLOW); }
export function co_count_live(region: usize): u32 { return load<u32>(region + CC_LIVE); }
/** State bytes a snapshot copies: header and table (the output area is empty at a barrier). */
export function co_count_state_bytes(region: usize): usize { return CC_TABLE + <usize>load<u32>(region + CC_SLOTS) * CC_ENTRY; }
