// Control records: in-band messages from the ingest side to a partition worker,
// travelling through the input ring in order with the events (so a barrier is
// aligned by construction: each partition has exactly one input).
//
// A control record is an ordinary input record (host/records.ts) with
// flags bit 0 (FLAG_CONTROL) set; its header fields are reused:
//
//   ts    watermark: the new event-time watermark (ns)    barrier: the watermark in force (ns)
//   seq   watermark: epoch (0: none; see host/pipeline/epochs.ts)  barrier: checkpoint id
//   key   control kind: CONTROL_WATERMARK = 1, CONTROL_BARRIER = 2
//   flags FLAG_CONTROL; on a watermark also the stream it is for (bits 8-15)
//         and FLAG_IDLE when that stream is idle (host/records.ts)
//   f*    zero
//
// Watermarks are computed once, on the ingest side, and broadcast to every
// partition at the same position of the global stream. A worker that derived
// its own watermark from its sub-stream would see a different max event time
// than the single-threaded run, classify different events as late and fire
// windows at different points; broadcasting keeps N-partition output equal to
// the 1-partition reference.
import { FLAG_CONTROL, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS } from '../records.js';

export const CONTROL_WATERMARK = 1;
export const CONTROL_BARRIER = 2;

export function writeControl(bytes: Uint8Array, view: DataView, at: number, stride: number, kind: number, ts: bigint, seq: bigint, flags = 0): void {
  bytes.fill(0, at, at + stride);
  view.setBigInt64(at + IN_TS, ts, true);
  view.setBigUint64(at + IN_SEQ, seq, true);
  view.setUint32(at + IN_KEY, kind, true);
  view.setUint32(at + IN_FLAGS, FLAG_CONTROL | flags, true);
}
