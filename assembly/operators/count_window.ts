// Count windows per key (Flink: countWindow(n)): every n events of a key, in
// arrival order, form one window; it fires on its n-th event and the key's
// accumulator starts over. No event time is involved (watermarks and lateness
// do not apply), so nothing is ever late; the output's start/end are the
// earliest and latest event times among the n events.
//
// Region: header (event_time.ts; W_SIZE = n) │ state table │ scratch │ output.
// State table: key → accumulator (aggregates.ts), nothing else. Partial
// windows stay until completed (they are state: snapshots carry them); when
// the table is full a new key's events go to the late output with aux 2.

import { stBytes, stInit, stUpsert, stCount } from '../shared/state_table';
import { AGG_BYTES, aggUpdate, A_COUNT, A_FIRST_TS, A_LAST_TS } from '../shared/aggregates';
import { OUT_BYTES, OUT_WINDOW, FLAG_CONTROL } from '../shared/records';
import {
  W_HEADER, W_VALUE_FIELD, W_PRICE_FIELD, W_QTY_FIELD, W_OUT_COUNT, W_TABLE_OFF, W_SCRATCH_OFF, W_OUT_OFF, W_ACTIVITY,
  W_SIZE, W_CAPACITY, W_ENRICH_N, LATE_STATE_FULL, etInit, emitWindow, emitLate, etEnrich, etTable, etFieldAt, etHasVwap,
} from '../shared/event_time';

export function count_init(base: usize): void {
  const capacity = load<u32>(base + W_CAPACITY);
  const tableOff = <u32>W_HEADER;
  const outOff = tableOff + <u32>stBytes(capacity, <u32>AGG_BYTES);
  store<u32>(base + W_TABLE_OFF, tableOff);
  store<u32>(base + W_SCRATCH_OFF, outOff);
  store<u32>(base + W_OUT_OFF, outOff);
  stInit(base + tableOff, capacity, <u32>AGG_BYTES, 0);
  etInit(base);
}

export function count_process(base: usize, ptr: usize, count: u32, stride: u32): u32 {
  const table = etTable(base);
  const vOff = etFieldAt(base, W_VALUE_FIELD), pOff = etFieldAt(base, W_PRICE_FIELD), qOff = etFieldAt(base, W_QTY_FIELD);
  const hasVwap = etHasVwap(base);
  const n = <f64>load<i64>(base + W_SIZE);
  const enrich = load<u32>(base + W_ENRICH_N) != 0;
  let lastKey: u32 = 0, lastAcc: usize = 0;
  for (let i: u32 = 0; i < count; i++) {
    const r = ptr + <usize>i * <usize>stride;
    if ((load<u32>(r + 20) & FLAG_CONTROL) != 0) continue;
    const ts = load<i64>(r);
    const key = load<u32>(r + 16);
    let acc = lastAcc;
    if (key != lastKey || acc == 0) {
      acc = stUpsert(table, <u64>key, ts);
      if (acc == 0) { emitLate(base, r, stride, LATE_STATE_FULL); lastAcc = 0; continue; }
      lastKey = key;
      lastAcc = acc;
    }
    aggUpdate(acc, ts, load<u64>(r + 8), load<f64>(r + vOff), hasVwap ? load<f64>(r + pOff) : 0, hasVwap ? load<f64>(r + qOff) : 0);
    if (enrich) etEnrich(base, r, acc); // before a completed window starts over
    if (load<f64>(acc + A_COUNT) >= n) {
      emitWindow(base, OUT_WINDOW, key, 0, load<i64>(acc + A_FIRST_TS), load<i64>(acc + A_LAST_TS), acc);
      memory.fill(acc, 0, AGG_BYTES);
    }
  }
  if (count > 0) store<u32>(base + W_ACTIVITY, 1);
  return load<u32>(base + W_OUT_COUNT);
}

/** Count windows ignore event time: nothing to fire on a watermark. */
export function count_watermark(base: usize, watermark: i64): u32 {
  return load<u32>(base + W_OUT_COUNT);
}

export function count_advance_idle(base: usize, nowProc: i64): u32 {
  return load<u32>(base + W_OUT_COUNT);
}

export function count_keys(base: usize): u32 {
  return stCount(etTable(base));
}
