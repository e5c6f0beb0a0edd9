// The JS twin of generated expression code (wasm.ts): each typed node becomes
// a closure, decision for decision the same as the WASM the emitter writes
// (but for a filter's condition, which the WASM computes as TRUE-or-not where
// that is exact, and the twin three-valued), so both engines keep the same
// records and store the same bytes. Also the
// baseline the compiled code is measured against.
import { IN_FIELDS, IN_TS } from '../records.js';
import { typeOf, type Typed } from './check.js';
import type { ExprProgram } from './program.js';

type Num = (rec: number) => number;
type Big = (rec: number) => bigint;

/** SQL ROUND: half away from zero, on |v| (the sign put back after). */
function roundHalfAway(v: number): number {
  const a = Math.abs(v), t = Math.floor(a);
  const r = a - t >= 0.5 ? t + 1 : t;
  return v < 0 || Object.is(v, -0) ? -r : r;
}

export class JsExprProgram {
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private readonly filter: Num | null;
  private readonly projections: Array<{ at: number; eval: Num }>;
  private readonly values: Float64Array;

  constructor(memory: WebAssembly.Memory, program: ExprProgram) {
    this.f64 = new Float64Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
    this.filter = program.filter ? this.num(program.filter) : null;
    // A condition stored in a field: TRUE 1, FALSE 0, NULL (2) as NaN.
    this.projections = program.projections.map((p) => {
      const e = this.num(p.expr);
      return { at: IN_FIELDS + 8 * p.slot, eval: typeOf(p.expr) === 'bool' ? (rec: number) => { const v = e(rec); return v === 2 ? NaN : v; } : e };
    });
    this.values = new Float64Array(this.projections.length);
  }

  run(ptr: number, count: number, stride: number): number {
    const f64 = this.f64, dv = this.dv, values = this.values, projections = this.projections, filter = this.filter;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const rec = ptr + i * stride;
      if (filter !== null && filter(rec) !== 1) continue;
      for (let j = 0; j < projections.length; j++) values[j] = projections[j].eval(rec);
      for (let j = 0; j < projections.length; j++) {
        const v = values[j], at = rec + projections[j].at;
        if (v !== v) dv.setUint32(at, 0, true), dv.setUint32(at + 4, 0x7ff80000, true);
        else f64[at >>> 3] = v;
      }
      if (kept !== i) this.u8.copyWithin(ptr + kept * stride, rec, rec + stride);
      kept++;
    }
    return kept;
  }

  /** A node that yields a number: doubles and string ids (NaN = NULL), bools 0/1/2. */
  private num(t: Typed): Num {
    const f64 = this.f64;
    switch (t.k) {
      case 'const': { const v = t.value; return () => v; }
      case 'constBool': { const v = t.value; return () => v; }
      case 'field': { const at = IN_FIELDS + 8 * t.slot; return (rec) => f64[(rec + at) >>> 3]; }
      case 'neg': { const a = this.num(t.arg); return (rec) => -a(rec); }
      case 'not': { const a = this.num(t.arg); return (rec) => { const x = a(rec); return x === 2 ? 2 : 1 - x; }; }
      case 'arith': {
        const l = this.num(t.left), r = this.num(t.right);
        switch (t.op) {
          case '+': return (rec) => l(rec) + r(rec);
          case '-': return (rec) => l(rec) - r(rec);
          case '*': return (rec) => l(rec) * r(rec);
          case '/': return (rec) => l(rec) / r(rec);
          case '%': return (rec) => l(rec) % r(rec);
        }
        break;
      }
      case 'cmp': {
        if (t.on === 'i64') {
          const l = this.big(t.left), r = this.big(t.right);
          switch (t.op) {
            case '=': return (rec) => (l(rec) === r(rec) ? 1 : 0);
            case '<>': return (rec) => (l(rec) !== r(rec) ? 1 : 0);
            case '<': return (rec) => (l(rec) < r(rec) ? 1 : 0);
            case '<=': return (rec) => (l(rec) <= r(rec) ? 1 : 0);
            case '>': return (rec) => (l(rec) > r(rec) ? 1 : 0);
            case '>=': return (rec) => (l(rec) >= r(rec) ? 1 : 0);
          }
        }
        const l = this.num(t.left), r = this.num(t.right);
        switch (t.op) {
          case '=': return (rec) => { const a = l(rec), b = r(rec); return a !== a || b !== b ? 2 : a === b ? 1 : 0; };
          case '<>': return (rec) => { const a = l(rec), b = r(rec); return a !== a || b !== b ? 2 : a !== b ? 1 : 0; };
          case '<': return (rec) => { const a = l(rec), b = r(rec); return a !== a || b !== b ? 2 : a < b ? 1 : 0; };
          case '<=': return (rec) => { const a = l(rec), b = r(rec); return a !== a || b !== b ? 2 : a <= b ? 1 : 0; };
          case '>': return (rec) => { const a = l(rec), b = r(rec); return a !== a || b !== b ? 2 : a > b ? 1 : 0; };
          case '>=': return (rec) => { const a = l(rec), b = r(rec); return a !== a || b !== b ? 2 : a >= b ? 1 : 0; };
        }
        break;
      }
      case 'logic': {
        const l = this.num(t.left), r = this.num(t.right);
        if (t.op === 'and') return (rec) => { const x = l(rec); if (x === 0) return 0; const y = r(rec); if (y === 0) return 0; return x === 1 && y === 1 ? 1 : 2; };
        return (rec) => { const x = l(rec); if (x === 1) return 1; const y = r(rec); if (y === 1) return 1; return (x | y) === 0 ? 0 : 2; };
      }
      case 'isnull': {
        const neg = t.negated ? 1 : 0;
        if (t.arg.k === 'ts' || t.arg.k === 'constI64' || t.arg.k === 'arithI64') return () => neg;
        const a = this.num(t.arg);
        if (typeOf(t.arg) === 'bool') {
          return (rec) => ((a(rec) === 2 ? 1 : 0) ^ neg);
        }
        return (rec) => { const x = a(rec); return (x !== x ? 1 : 0) ^ neg; };
      }
      case 'case': {
        const whens = t.whens.map((w) => ({ when: this.num(w.when), then: this.num(w.then) }));
        const otherwise = this.num(t.otherwise);
        return (rec) => {
          for (let i = 0; i < whens.length; i++) if (whens[i].when(rec) === 1) return whens[i].then(rec);
          return otherwise(rec);
        };
      }
      case 'coalesce': {
        const args = t.args.map((a) => this.num(a));
        return (rec) => {
          for (let i = 0; i < args.length - 1; i++) { const v = args[i](rec); if (v === v) return v; }
          return args[args.length - 1](rec);
        };
      }
      case 'extreme': {
        const args = t.args.map((a) => this.num(a));
        const least = t.fn === 'least';
        return (rec) => {
          let acc = NaN;
          for (let i = 0; i < args.length; i++) {
            const v = args[i](rec);
            if (v === v && (acc !== acc || (least ? v < acc : v > acc))) acc = v;
          }
          return acc;
        };
      }
      case 'math': {
        const a = this.num(t.args[0]);
        switch (t.fn) {
          case 'abs': return (rec) => Math.abs(a(rec));
          case 'floor': return (rec) => Math.floor(a(rec));
          case 'ceil': return (rec) => Math.ceil(a(rec));
          case 'sqrt': return (rec) => Math.sqrt(a(rec));
          case 'ln': return (rec) => { const x = a(rec); return x <= 0 ? NaN : Math.log(x); };
          case 'exp': return (rec) => Math.exp(a(rec));
          case 'power': { const b = this.num(t.args[1]); return (rec) => { const x = a(rec), y = b(rec); return x !== x || y !== y ? NaN : Math.pow(x, y); }; }
          case 'round': {
            if (t.args.length === 1) return (rec) => roundHalfAway(a(rec));
            const s = Math.pow(10, (t.args[1] as { value: number }).value);
            // As DuckDB: where scaling overflows, the value is returned as it is.
            return (rec) => { const x = a(rec), r = roundHalfAway(x * s) / s; return r - r !== 0 ? x : r; };
          }
        }
        break;
      }
      case 'ts': case 'constI64': case 'arithI64':
        throw new Error(`internal: a ${t.k} node where a number is needed`);
    }
    throw new Error(`internal: no JS evaluation for ${(t as Typed).k}`);
  }

  private big(t: Typed): Big {
    const dv = this.dv;
    switch (t.k) {
      case 'ts': return (rec) => dv.getBigInt64(rec + IN_TS, true);
      case 'constI64': { const v = t.value; return () => v; }
      case 'neg': { const a = this.big(t.arg); return (rec) => BigInt.asIntN(64, -a(rec)); }
      case 'arithI64': {
        const l = this.big(t.left), r = this.big(t.right);
        return t.op === '+' ? (rec) => BigInt.asIntN(64, l(rec) + r(rec)) : (rec) => BigInt.asIntN(64, l(rec) - r(rec));
      }
      default: throw new Error(`internal: a ${t.k} node where a timestamp or interval is needed`);
    }
  }
}
