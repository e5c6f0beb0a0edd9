// How many (key, window) states a window operator holds per key at once, and
// so the `capacity` that never refuses a live key. Past its capacity a window
// operator refuses new state: the event goes to the `late` output with reason
// `state_evicted` and is missing from every window and feature it feeds.
//
// A state lives from the first event of its window or pane until the
// watermark (max event time − out_of_orderness) passes the last window end it
// feeds plus allowed_lateness. Measured in max event time that is a span of
// X = size + allowed_lateness + out_of_orderness after its start, so a key
// holds at most floor(X / step) + 1 of them, step being the window size
// (tumbling) or the pane (sliding: gcd(size, slide)). One more: the watermark
// moves once per frame (after its records), so within a frame new states are
// made before old ones are freed; the rule holds while a frame spans less
// than one step of event time. Session and count windows hold one state per
// key (its sessions, its open counts).
import type { PipelineConfig, WindowOperatorConfig } from './types.js';

/**
 * Most open sessions one key of a session window may hold: the region sizes a
 * per-key session list for it (host/operators/window/session_window.ts), and
 * `validate` refuses a gap that would need more.
 */
export const MAX_SESSIONS_PER_KEY = 64;

export function statesPerKey(op: WindowOperatorConfig, et: Pick<PipelineConfig['event_time'], 'out_of_orderness' | 'allowed_lateness'>): number {
  const hold = et.allowed_lateness + et.out_of_orderness;
  if (op.window === 'tumbling') return Number((op.size! + hold) / op.size!) + 2;
  if (op.window === 'sliding') {
    const pane = gcd(op.size!, op.slide!);
    return Number((op.size! + hold) / pane) + 2;
  }
  // Cumulate: panes of one step, each kept until its period's last end + lateness.
  if (op.window === 'cumulate') return Number((op.size! + hold) / op.step!) + 2;
  return 1;
}

/**
 * Capacity per partition for `keys` live keys spread by hash over
 * `partitions` (4 standard deviations of headroom for the spread).
 */
export function capacityFor(keys: number, perKey: number, partitions: number): number {
  const perPartition = partitions <= 1 ? keys : Math.min(keys, Math.ceil(keys / partitions + 4 * Math.sqrt(keys / partitions)));
  return perPartition * perKey;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}
