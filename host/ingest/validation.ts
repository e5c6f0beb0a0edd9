// Declarative validation rules from the pipeline config, compiled once into
// small closures and evaluated per decoded event (before its strings are
// interned). A failing event is rejected on its own with the first rule it
// breaks; the rest of its batch carries on.
//
// pipeline.yaml:
//   validation:
//     - { rule: required, fields: [instrument, price, qty] }
//     - { rule: range, field: qty, min: 0 }
//     - { rule: range, field: price, min: 0, exclusiveMin: true }
//     - { rule: allowed, field: asset_class, values: [equity, fx, rates] }
//     - { rule: timestamp_window, pastMs: 300000, futureMs: 300000 }
//     - { rule: length, field: trader, max: 32 }
//
// Semantics an eKuiper/Flink user expects: an absent field passes every rule
// except `required` (say what must be there with `required`); a NaN counts as
// absent; `range` demands a number; `allowed` compares strings as given and
// numbers numerically; `length` counts UTF-16 code units of string values.
import type { EventType } from '../schema/event_types.js';
import { fieldIndex } from '../schema/event_types.js';
import type { EventScratch, Violation } from '../codec/record_batch.js';
import { IN_FIELDS, IN_TS } from '../records.js';

export type ValidationRule =
  | { rule: 'required'; fields: string[] }
  | { rule: 'range'; field: string; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }
  | { rule: 'allowed'; field: string; values: (string | number)[] }
  | { rule: 'timestamp_window'; pastMs?: number; futureMs?: number }
  | { rule: 'length'; field: string; min?: number; max?: number };

type Check = (ev: EventScratch) => Violation | null;

const SIDE_WORDS = new Map<string, number>();
for (const [w, v] of [['buy', 1], ['b', 1], ['bid', 1], ['sell', -1], ['s', -1], ['ask', -1], ['offer', -1]] as const) {
  SIDE_WORDS.set(w, v);
  SIDE_WORDS.set(w.toUpperCase(), v);
  SIDE_WORDS.set(w[0].toUpperCase() + w.slice(1), v);
}

/** Parses a trade side from its JSON/config spelling: +1 buy, -1 sell, NaN unknown. */
export function parseSide(v: string | number): number {
  if (typeof v === 'number') return v === 1 || v === -1 ? v : NaN;
  return SIDE_WORDS.get(v) ?? SIDE_WORDS.get(v.toLowerCase()) ?? NaN;
}

/** A rule evaluated straight on a ring record (struct fast path): no scratch copy. */
type RecordCheck = (view: DataView, at: number) => Violation | null;
/**
 * A rule as a filter over a run of records: the index of the first record in
 * [from, n) it may reject, or n. One call per frame and rule, a tight
 * monomorphic loop (no BigInt, no object per record); RecordCheck then gives
 * the verdict and reason for the flagged record. Must never miss a record the
 * RecordCheck rejects (false alarms only cost a RecordCheck call).
 */
type RecordScan = (view: DataView, base: number, from: number, n: number, stride: number) => number;

export class Validator {
  private readonly checks: Check[];
  /**
   * The same rules as `checks`, compiled for records whose fields are all
   * numbers (the FlatBuffers struct path). Each gives exactly the verdict the
   * scratch path gives for such an event: values are the record's f64s, a
   * NaN is a missing value, and no field is a string.
   */
  readonly recordChecks: RecordCheck[] = [];
  private readonly recordScans: RecordScan[] = [];
  /** The timestamp window as i64 words (hi signed, lo unsigned), for the scans. */
  private loHi = 0; private loLo = 0; private hiHi = 0; private hiLo = 0;
  private lo = 0n;
  private hi = 0n;
  private now = 0n;
  private readonly pastNs: bigint | null = null;
  private readonly futureNs: bigint | null = null;

  constructor(rules: readonly ValidationRule[], readonly type: EventType) {
    const checked = parseValidationRules(rules, type);
    this.checks = [];
    for (const r of checked) {
      if (r.rule === 'timestamp_window') {
        this.pastNs = r.pastMs === undefined ? null : BigInt(Math.round(r.pastMs * 1e6));
        this.futureNs = r.futureMs === undefined ? null : BigInt(Math.round(r.futureMs * 1e6));
        this.checks.push((ev) => this.window(ev));
        this.recordChecks.push((view, at) => this.windowRecord(view, at));
        if (this.pastNs !== null || this.futureNs !== null) this.recordScans.push((view, base, from, n, stride) => this.windowScan(view, base, from, n, stride));
      } else {
        this.checks.push(this.compile(r));
        const rc = this.compileRecord(r);
        if (rc) this.recordChecks.push(rc);
        const scan = this.compileScan(r);
        if (scan) this.recordScans.push(scan);
      }
    }
  }

  /** Fixes "now" for a batch so every event of a frame sees the same window. */
  begin(nowNs: bigint): void {
    this.now = nowNs;
    this.lo = this.pastNs === null ? -(1n << 63n) : nowNs - this.pastNs;
    this.hi = this.futureNs === null ? (1n << 63n) - 1n : nowNs + this.futureNs;
    this.loHi = Number(BigInt.asIntN(32, this.lo >> 32n)); this.loLo = Number(BigInt.asUintN(32, this.lo));
    this.hiHi = Number(BigInt.asIntN(32, this.hi >> 32n)); this.hiLo = Number(BigInt.asUintN(32, this.hi));
  }

  /**
   * The first record of `n` (stride bytes apart from `base`), from `from` on,
   * that checkRecord may reject; n when none. Lets a frame of valid struct
   * records skip per-record rule calls.
   */
  firstSuspect(view: DataView, base: number, from: number, n: number, stride: number): number {
    let first = n;
    const scans = this.recordScans;
    for (let i = 0; i < scans.length && first > from; i++) first = scans[i](view, base, from, first, stride);
    return first;
  }

  private windowScan(view: DataView, base: number, from: number, n: number, stride: number): number {
    const loHi = this.loHi, loLo = this.loLo, hiHi = this.hiHi, hiLo = this.hiLo;
    for (let r = from; r < n; r++) {
      const at = base + r * stride + IN_TS;
      const h = view.getInt32(at + 4, true), l = view.getUint32(at, true);
      if (h < loHi || (h === loHi && l < loLo) || h > hiHi || (h === hiHi && l > hiLo)) return r;
    }
    return n;
  }

  /** compileRecord's rule as a RecordScan (same conditions, no reason text). */
  private compileScan(r: Exclude<ValidationRule, { rule: 'timestamp_window' }>): RecordScan | null {
    const type = this.type;
    switch (r.rule) {
      case 'required': {
        const offs = r.fields.filter((f) => f !== 'ts').map((f) => IN_FIELDS + 8 * fieldIndex(type, f));
        return (view, base, from, n, stride) => {
          for (let rec = from; rec < n; rec++) {
            const at = base + rec * stride;
            for (let k = 0; k < offs.length; k++) if (Number.isNaN(view.getFloat64(at + offs[k], true))) return rec;
          }
          return n;
        };
      }
      case 'range': {
        const o = IN_FIELDS + 8 * fieldIndex(type, r.field);
        const min = r.min ?? -Infinity, max = r.max ?? Infinity;
        const exMin = r.exclusiveMin ?? false, exMax = r.exclusiveMax ?? false;
        return (view, base, from, n, stride) => {
          for (let rec = from; rec < n; rec++) {
            const v = view.getFloat64(base + rec * stride + o, true);
            // NaN passes (a missing value is the required rule's business), as in compileRecord.
            if (v < min || v > max || (exMin && v === min) || (exMax && v === max)) return rec;
          }
          return n;
        };
      }
      case 'allowed': {
        const i = fieldIndex(type, r.field), o = IN_FIELDS + 8 * i;
        const f = type.fields[i];
        const nums = new Set<number>();
        for (const v of r.values) {
          if (f.kind === 'side') nums.add(parseSide(v));
          else if (typeof v === 'number') nums.add(v);
        }
        return (view, base, from, n, stride) => {
          for (let rec = from; rec < n; rec++) {
            const v = view.getFloat64(base + rec * stride + o, true);
            if (v === v && !nums.has(v)) return rec;
          }
          return n;
        };
      }
      case 'length':
        return null;
    }
  }

  check(ev: EventScratch): Violation | null {
    const checks = this.checks;
    for (let i = 0; i < checks.length; i++) {
      const v = checks[i](ev);
      if (v) return v;
    }
    return null;
  }

  /** check() for a ring record of a numeric-only event. */
  checkRecord(view: DataView, at: number): Violation | null {
    const checks = this.recordChecks;
    for (let i = 0; i < checks.length; i++) {
      const v = checks[i](view, at);
      if (v) return v;
    }
    return null;
  }

  private windowRecord(view: DataView, at: number): Violation | null {
    if (this.pastNs === null && this.futureNs === null) return null;
    return this.window({ ts: view.getBigInt64(at + IN_TS, true) } as EventScratch);
  }

  /** The rule on a record's f64 fields; null when the rule cannot fail for numeric-only events (length). */
  private compileRecord(r: Exclude<ValidationRule, { rule: 'timestamp_window' }>): RecordCheck | null {
    const type = this.type;
    const off = (i: number) => IN_FIELDS + 8 * i;
    switch (r.rule) {
      case 'required': {
        const idx = r.fields.filter((f) => f !== 'ts').map((f) => fieldIndex(type, f));
        const names = idx.map((i) => type.fields[i].name);
        return (view, at) => {
          for (let k = 0; k < idx.length; k++) {
            if (Number.isNaN(view.getFloat64(at + off(idx[k]), true))) return { code: 'required', reason: `required field "${names[k]}" is missing` };
          }
          return null;
        };
      }
      case 'range': {
        const i = fieldIndex(type, r.field), o = off(i);
        const name = type.fields[i].name;
        const min = r.min ?? -Infinity, max = r.max ?? Infinity;
        const exMin = r.exclusiveMin ?? false, exMax = r.exclusiveMax ?? false;
        const bound = `${exMin ? '(' : '['}${min}, ${max}${exMax ? ')' : ']'}`;
        return (view, at) => {
          const v = view.getFloat64(at + o, true);
          if (Number.isNaN(v)) return null;
          if (v < min || v > max || (exMin && v === min) || (exMax && v === max)) return { code: 'range', reason: `"${name}" = ${v} is outside ${bound}` };
          return null;
        };
      }
      case 'allowed': {
        const i = fieldIndex(type, r.field), o = off(i);
        const f = type.fields[i];
        const nums = new Set<number>();
        for (const v of r.values) {
          if (f.kind === 'side') nums.add(parseSide(v));
          else if (typeof v === 'number') nums.add(v);
        }
        const list = r.values.map((v) => JSON.stringify(v)).join(', ');
        return (view, at) => {
          const v = view.getFloat64(at + o, true);
          if (Number.isNaN(v) || nums.has(v)) return null;
          return { code: 'allowed', reason: `"${f.name}" = ${v} is not one of ${list}` };
        };
      }
      case 'length':
        return null;
    }
  }

  private window(ev: EventScratch): Violation | null {
    const ts = ev.ts;
    if (ts === undefined || (ts >= this.lo && ts <= this.hi)) return null;
    const deltaMs = Number(ts - this.now) / 1e6;
    return {
      code: 'timestamp_window',
      reason: `timestamp is ${Math.abs(deltaMs).toFixed(3)} ms ${deltaMs < 0 ? 'in the past' : 'in the future'}, outside the allowed window`,
    };
  }

  private compile(r: Exclude<ValidationRule, { rule: 'timestamp_window' }>): Check {
    const type = this.type;
    switch (r.rule) {
      case 'required': {
        const idx = r.fields.filter((f) => f !== 'ts').map((f) => fieldIndex(type, f));
        const names = idx.map((i) => type.fields[i].name);
        return (ev) => {
          for (let k = 0; k < idx.length; k++) {
            const i = idx[k];
            if (ev.strings[i] === undefined && Number.isNaN(ev.values[i])) return { code: 'required', reason: `required field "${names[k]}" is missing` };
          }
          return null;
        };
      }
      case 'range': {
        const i = fieldIndex(type, r.field);
        const name = type.fields[i].name;
        const min = r.min ?? -Infinity, max = r.max ?? Infinity;
        const exMin = r.exclusiveMin ?? false, exMax = r.exclusiveMax ?? false;
        const bound = `${exMin ? '(' : '['}${min}, ${max}${exMax ? ')' : ']'}`;
        return (ev) => {
          if (ev.strings[i] !== undefined) return { code: 'range', reason: `"${name}" = ${JSON.stringify(clip(ev.strings[i]!))} is not a number` };
          const v = ev.values[i];
          if (Number.isNaN(v)) return null;
          if (v < min || v > max || (exMin && v === min) || (exMax && v === max)) {
            return { code: 'range', reason: `"${name}" = ${v} is outside ${bound}` };
          }
          return null;
        };
      }
      case 'allowed': {
        const i = fieldIndex(type, r.field);
        const f = type.fields[i];
        const strs = new Set<string>();
        const nums = new Set<number>();
        for (const v of r.values) {
          if (f.kind === 'side') nums.add(parseSide(v));
          else if (typeof v === 'number') nums.add(v);
          else strs.add(v);
        }
        const list = r.values.map((v) => JSON.stringify(v)).join(', ');
        return (ev) => {
          const s = ev.strings[i];
          if (s !== undefined) return strs.has(s) ? null : { code: 'allowed', reason: `"${f.name}" = ${JSON.stringify(clip(s))} is not one of ${list}` };
          const v = ev.values[i];
          if (Number.isNaN(v) || nums.has(v)) return null;
          return { code: 'allowed', reason: `"${f.name}" = ${v} is not one of ${list}` };
        };
      }
      case 'length': {
        const i = fieldIndex(type, r.field);
        const name = type.fields[i].name;
        const min = r.min ?? 0, max = r.max ?? Infinity;
        return (ev) => {
          const s = ev.strings[i];
          if (s === undefined || (s.length >= min && s.length <= max)) return null;
          return { code: 'length', reason: `"${name}" is ${s.length} characters long, allowed ${min}..${max}` };
        };
      }
    }
  }
}

/**
 * Checks a rule list from a config file (unknown input) against an event
 * type. Throws one precise message naming the rule's position, for the CLI
 * to print without a stack trace.
 */
export function parseValidationRules(raw: unknown, type: EventType): ValidationRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Error('validation: expected a list of rules');
  return raw.map((r, n) => {
    const at = `validation[${n}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error(`${at}: expected an object like { rule: range, field: qty, min: 0 }`);
    const o = r as Record<string, unknown>;
    const known = (keys: string[]) => {
      for (const k of Object.keys(o)) if (k !== 'rule' && !keys.includes(k)) throw new Error(`${at}: unknown option "${k}" for rule ${String(o.rule)} (options: ${keys.join(', ')})`);
    };
    const field = (k = 'field'): string => {
      const f = o[k];
      if (typeof f !== 'string') throw new Error(`${at}: "${k}" must be a field name`);
      if (fieldIndex(type, f) < 0) throw new Error(`${at}: "${f}" is not a field of ${type.name} events (fields: ts, ${type.fields.map((x) => x.name).join(', ')})`);
      return f;
    };
    const num = (k: string, nonNegative = false): number | undefined => {
      const v = o[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || (nonNegative && v < 0)) throw new Error(`${at}: "${k}" must be a ${nonNegative ? 'non-negative ' : ''}number`);
      return v;
    };
    const bool = (k: string): boolean | undefined => {
      const v = o[k];
      if (v !== undefined && typeof v !== 'boolean') throw new Error(`${at}: "${k}" must be true or false`);
      return v as boolean | undefined;
    };
    switch (o.rule) {
      case 'required': {
        known(['fields']);
        const fs = o.fields;
        if (!Array.isArray(fs) || fs.length === 0 || fs.some((f) => typeof f !== 'string')) throw new Error(`${at}: "fields" must be a non-empty list of field names`);
        for (const f of fs as string[]) if (f !== 'ts' && fieldIndex(type, f) < 0) throw new Error(`${at}: "${f}" is not a field of ${type.name} events`);
        return { rule: 'required', fields: fs as string[] };
      }
      case 'range': {
        known(['field', 'min', 'max', 'exclusiveMin', 'exclusiveMax']);
        const rule = { rule: 'range' as const, field: field(), min: num('min'), max: num('max'), exclusiveMin: bool('exclusiveMin'), exclusiveMax: bool('exclusiveMax') };
        if (rule.min === undefined && rule.max === undefined) throw new Error(`${at}: range needs "min" or "max"`);
        if (rule.min !== undefined && rule.max !== undefined && rule.min > rule.max) throw new Error(`${at}: min ${rule.min} is above max ${rule.max}`);
        return rule;
      }
      case 'allowed': {
        known(['field', 'values']);
        const f = field();
        const vs = o.values;
        if (!Array.isArray(vs) || vs.length === 0 || vs.some((v) => typeof v !== 'string' && typeof v !== 'number')) throw new Error(`${at}: "values" must be a non-empty list of strings or numbers`);
        if (type.fields[fieldIndex(type, f)].kind === 'side') {
          for (const v of vs as (string | number)[]) if (Number.isNaN(parseSide(v))) throw new Error(`${at}: ${JSON.stringify(v)} is not a side (buy, sell, 1, -1)`);
        }
        return { rule: 'allowed', field: f, values: vs as (string | number)[] };
      }
      case 'timestamp_window': {
        known(['pastMs', 'futureMs']);
        const rule = { rule: 'timestamp_window' as const, pastMs: num('pastMs', true), futureMs: num('futureMs', true) };
        if (rule.pastMs === undefined && rule.futureMs === undefined) throw new Error(`${at}: timestamp_window needs "pastMs" or "futureMs"`);
        return rule;
      }
      case 'length': {
        known(['field', 'min', 'max']);
        const rule = { rule: 'length' as const, field: field(), min: num('min', true), max: num('max', true) };
        if (rule.min === undefined && rule.max === undefined) throw new Error(`${at}: length needs "min" or "max"`);
        return rule;
      }
      default:
        throw new Error(`${at}: unknown rule ${JSON.stringify(o.rule)} (rules: required, range, allowed, timestamp_window, length)`);
    }
  });
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
