// The pieces every output's JSON is built from (used by host/output/format.ts
// and by each operator's descriptor, which formats its own output kinds):
// exact timestamps, JSON-safe numbers and the stable output id.
import type { OutputRecord } from '../records.js';

const NS_PER_S = 1_000_000_000n;

/** Epoch ns → `2026-01-05T14:30:00.123456789Z` (always 9 fraction digits). */
export function isoNs(ns: bigint): string {
  let s = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) { frac += NS_PER_S; s -= 1n; }
  const base = new Date(Number(s) * 1000).toISOString();
  return `${base.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

/** JSON has no NaN/Infinity: they become null (and -0 becomes 0). */
export function num(v: number): number | null {
  return Number.isFinite(v) ? v + 0 : null;
}

/**
 * Stable id: `${op}-${kind}-${key}-${start_ns}-${seq}` (revisions add
 * `-r${n}`). Every part is a pure function of the input log, so a sink or a
 * downstream consumer can de-duplicate outputs replayed after a recovery.
 */
/** `startNs` may carry more than the start where it alone does not tell windows apart (cumulate: `start-end`). */
export function outputId(op: string, kind: string, key: string, startNs: bigint | string, seq: bigint, revision?: number): string {
  const base = `${op}-${kind}-${key}-${startNs}-${seq}`;
  return revision === undefined ? base : `${base}-r${revision}`;
}

/** The fields an output about one event (anomaly, score, late) starts with, in their fixed order. */
export function eventHead<K extends string>(op: string, kind: K, key: string, r: OutputRecord) {
  return { id: outputId(op, kind, key, r.start, r.seq), kind, op, key, ts: isoNs(r.start), ts_ns: r.start.toString() };
}
