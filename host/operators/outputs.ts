// Output kinds and the alert rule, from the operator list: which kinds exist
// (sink and dashboard filters, the `kinds:` of a sink), which record code is
// which kind, and the one function that says whether an output is an alert
// (the pipeline's counters, the dashboard's alert feed and `ganglion run`'s
// subscriber filter all ask it).
import { descriptorOf, OPERATORS } from './index.js';
import { atThreshold, type OperatorMeta, type OutputKindSpec } from './descriptor.js';

/** Dead letters come from ingest, not from an operator. */
export const DEAD_LETTER = 'dead_letter';

const SPECS = new Map<number, OutputKindSpec>();
for (const d of OPERATORS) {
  for (const o of d.outputs) {
    const had = SPECS.get(o.code);
    if (had && (had.kind !== o.kind || had.alert !== o.alert)) throw new Error(`output record code ${o.code} is both '${had.kind}' and '${o.kind}'`);
    SPECS.set(o.code, o);
  }
}

/** Output kinds by record code (OUT_* of host/records.ts). */
export const KIND_NAMES: Readonly<Record<number, string>> = Object.fromEntries([...SPECS].map(([code, s]) => [code, s.kind]));

/** Every output kind, in record-code order, then dead_letter. */
export const OUTPUT_KINDS: readonly string[] = [...[...SPECS.keys()].sort((a, b) => a - b).map((c) => SPECS.get(c)!.kind), DEAD_LETTER];

const ALERT_RULE = new Map<string, OutputKindSpec['alert']>([...SPECS.values()].map((s) => [s.kind, s.alert]));

/** Kinds of which some or all outputs are alerts (the dashboard takes them all). */
export const ALERT_KINDS: ReadonlySet<string> = new Set([...ALERT_RULE].filter(([, a]) => a !== 'never').map(([k]) => k));

/**
 * The alert rule on an output record: `value` is its first value (a score),
 * `meta` the operator's (its threshold).
 */
export function isAlert(kind: string, meta: Pick<OperatorMeta, 'threshold'> | undefined, value: number): boolean {
  const rule = ALERT_RULE.get(kind);
  return rule === 'always' || (rule === 'threshold' && atThreshold(value, meta?.threshold));
}

/** The same rule on a formatted output (what the dashboard and topic subscribers get): a score carries its verdict in `alert`. */
export function isAlertOutput(out: { kind?: string; alert?: unknown }): boolean {
  const rule = out.kind === undefined ? undefined : ALERT_RULE.get(out.kind);
  return rule === 'always' || (rule === 'threshold' && out.alert === true);
}

/** Whether an operator of this YAML type can emit alerts (its alert counter exists from the start). */
export function canAlert(type: string): boolean {
  return descriptorOf(type).outputs.some((o) => o.alert !== 'never');
}
