// Output kinds and the alert rule, from the operator list: which kinds exist
// (sink and dashboard filters, the `kinds:` of a sink), which record code is
// which kind, and the one function that says whether an output is an alert
// (the pipeline's counters, the dashboard's alert feed and `ganglion run`'s
// subscriber filter all ask it).
import { descriptorOf, OPERATORS } from './index.js';
import { atThreshold, type OperatorMeta, type OutputKindSpec } from './descriptor.js';
import { OUT_KIND, OUT_VALUES } from '../records.js';

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

/** The rule by record code, for the release loop (an array index, not a string hash, per output). */
const NEVER = 0, ALWAYS = 1, THRESHOLD = 2;
const RULE_BY_CODE = new Uint8Array(Math.max(0, ...SPECS.keys()) + 1);
for (const [code, s] of SPECS) RULE_BY_CODE[code] = s.alert === 'always' ? ALWAYS : s.alert === 'threshold' ? THRESHOLD : NEVER;
const CODE_OF = new Map([...SPECS].map(([code, s]) => [s.kind, code]));

/** Kinds of which some or all outputs are alerts (the dashboard takes them all). */
export const ALERT_KINDS: ReadonlySet<string> = new Set([...ALERT_RULE].filter(([, a]) => a !== 'never').map(([k]) => k));

function holds(rule: number, meta: Pick<OperatorMeta, 'threshold'> | undefined, value: number): boolean {
  return rule === ALWAYS || (rule === THRESHOLD && atThreshold(value, meta?.threshold));
}

/** The alert rule on the 128-byte output record at byte `at` of `view` (host/records.ts), from operator `meta` (its threshold). */
export function isAlertRecord(view: DataView, at: number, meta: Pick<OperatorMeta, 'threshold'> | undefined): boolean {
  const code = view.getUint32(at + OUT_KIND, true);
  const rule = code < RULE_BY_CODE.length ? RULE_BY_CODE[code] : NEVER;
  return holds(rule, meta, rule === THRESHOLD ? view.getFloat64(at + OUT_VALUES, true) : NaN);
}

/** The same rule by kind name; `value` is the output's first value (a score). */
export function isAlert(kind: string, meta: Pick<OperatorMeta, 'threshold'> | undefined, value: number): boolean {
  const code = CODE_OF.get(kind);
  return code !== undefined && holds(RULE_BY_CODE[code], meta, value);
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
