// Reading what a ganglion run or replay wrote: its JSONL outputs, and the
// final result of each window or session among their revisions.
import { existsSync, readFileSync } from 'node:fs';

export interface Out {
  id: string; kind: string; op?: string; key?: string; seq?: string; revision?: number;
  window?: { start_ns: string; end_ns: string };
  values?: Record<string, number | null>;
  [k: string]: unknown;
}

export function readOutputs(path: string): Out[] {
  const text = readFileSync(path, 'utf8');
  return text.length === 0 ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as Out);
}

export interface WindowLine { id: string; kind: string; op: string; key: string; window: { start_ns: string }; values: Record<string, number> }

/** The JSONL outputs of kind `window` (empty when the file does not exist). */
export function windowLines(file: string): WindowLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as WindowLine).filter((o) => o.kind === 'window');
}

/**
 * The final result of every time window (tumbling, sliding) of `op`: per key
 * and window start, the emission with the highest revision number.
 */
export function finalWindows(outs: Out[], op: string): Map<string, Out> {
  const m = new Map<string, Out>();
  for (const o of outs) {
    if (o.op !== op || (o.kind !== 'window' && o.kind !== 'revision')) continue;
    const k = `${o.key}|${o.window!.start_ns}`;
    const prev = m.get(k);
    if (!prev || (o.revision ?? 0) >= (prev.revision ?? 0)) m.set(k, o);
  }
  return m;
}

/**
 * The final sessions of `op`: emissions (in output order) not overlapped by a
 * later emission of the same key (a later one that overlaps is a revision or
 * a merge of it); keyed by key, start and end.
 */
export function finalSessions(outs: Out[], op: string): Map<string, Out> {
  const byKey = new Map<string, Out[]>();
  for (const o of outs) if (o.op === op && (o.kind === 'window' || o.kind === 'revision')) byKey.set(o.key!, [...(byKey.get(o.key!) ?? []), o]);
  const m = new Map<string, Out>();
  for (const [key, list] of byKey) {
    list.forEach((o, i) => {
      const s = BigInt(o.window!.start_ns), e = BigInt(o.window!.end_ns);
      const superseded = list.slice(i + 1).some((l) => BigInt(l.window!.start_ns) < e && BigInt(l.window!.end_ns) > s);
      if (!superseded) m.set(`${key}|${o.window!.start_ns}|${o.window!.end_ns}`, o);
    });
  }
  return m;
}
