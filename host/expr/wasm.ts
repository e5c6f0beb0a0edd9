// Expression programs (program.ts) compiled to a WebAssembly module at load,
// the way Flink generates Java for its operators: one function `run(ptr,
// count, stride) -> kept` with every expression inlined into its loop, over
// the partition's shared memory (imported), so it runs in the partition worker
// in the same pass as the operators. The JS twin (js.ts) makes the same
// decisions in the same order.
//
// Module:
//   imports  env.memory (shared, the partition's), math.log/exp/pow/fmod
//            (JS's own, so LN/EXP/POWER/% give the twin's bits exactly)
//   func 4   run(ptr i32, count i32, stride i32) -> i32, exported as "run"
//
// Values on the stack: double and string ids f64 (NaN = NULL), conditions i32
// 0/1/2 (2 = NULL), timestamps and intervals i64. A stored NULL is the
// canonical NaN 0x7FF8000000000000 (WASM leaves a NaN's sign open).
import { IN_FIELDS, IN_TS } from '../records.js';
import { typeOf, type Typed } from './check.js';
import type { ExprProgram } from './program.js';

const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c;
const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10, drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i64Load: 0x29, f64Load: 0x2b, i64Store: 0x37, f64Store: 0x39,
  i32Const: 0x41, i64Const: 0x42, f64Const: 0x44,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtU: 0x49, i32GeU: 0x4f,
  i64Eq: 0x51, i64Ne: 0x52, i64LtS: 0x53, i64GtS: 0x55, i64LeS: 0x57, i64GeS: 0x59,
  f64Eq: 0x61, f64Ne: 0x62, f64Lt: 0x63, f64Gt: 0x64, f64Le: 0x65, f64Ge: 0x66,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Or: 0x72,
  i64Add: 0x7c, i64Sub: 0x7d,
  f64Abs: 0x99, f64Neg: 0x9a, f64Ceil: 0x9b, f64Floor: 0x9c, f64Sqrt: 0x9f,
  f64Add: 0xa0, f64Sub: 0xa1, f64Mul: 0xa2, f64Div: 0xa3, f64Copysign: 0xa6,
} as const;
const FN_LOG = 0, FN_EXP = 1, FN_POW = 2, FN_FMOD = 3, FN_RUN = 4;
/** memory.copy (dst, src, n) on memory 0 → 0 (bulk memory, Node ≥ 16). */
const MEMORY_COPY = [0xfc, 0x0a, 0x00, 0x00];

function uleb(n: number): number[] {
  const out: number[] = [];
  do { let b = n & 0x7f; n >>>= 7; if (n !== 0) b |= 0x80; out.push(b); } while (n !== 0);
  return out;
}

function sleb(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

function f64Bytes(v: number): number[] {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  if (Number.isNaN(v)) { dv.setUint32(0, 0, true); dv.setUint32(4, 0x7ff80000, true); } else dv.setFloat64(0, v, true);
  return [...b];
}

const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** Code of the `run` function: locals are added as the expressions need them. */
class Body {
  readonly code: number[] = [];
  /** Types of the locals after the three parameters (ptr, count, stride). */
  readonly locals: number[] = [];

  local(type: number): number { this.locals.push(type); return 3 + this.locals.length - 1; }
  op(...bytes: number[]): void { this.code.push(...bytes); }
  get(l: number): void { this.op(OP.localGet, ...uleb(l)); }
  set(l: number): void { this.op(OP.localSet, ...uleb(l)); }
  tee(l: number): void { this.op(OP.localTee, ...uleb(l)); }
  i32(v: number): void { this.op(OP.i32Const, ...sleb(BigInt(v))); }
  f64(v: number): void { this.op(OP.f64Const, ...f64Bytes(v)); }
  /** Pushes x != x (1 when NULL) for a double in local l. */
  isNan(l: number): void { this.get(l); this.get(l); this.op(OP.f64Ne); }
}

/** Emits code leaving the node's value on the stack (rec is the local holding the record's address). */
function emit(b: Body, t: Typed, rec: number): void {
  switch (t.k) {
    case 'const': b.f64(t.value); return;
    case 'constBool': b.i32(t.value); return;
    case 'constI64': b.op(OP.i64Const, ...sleb(t.value)); return;
    case 'field': b.get(rec); b.op(OP.f64Load, 3, ...uleb(IN_FIELDS + 8 * t.slot)); return;
    case 'ts': b.get(rec); b.op(OP.i64Load, 3, ...uleb(IN_TS)); return;
    case 'neg':
      if (t.type === 'double') { emit(b, t.arg, rec); b.op(OP.f64Neg); return; }
      b.op(OP.i64Const, 0); emit(b, t.arg, rec); b.op(OP.i64Sub); return;
    case 'not': {
      const x = b.local(I32);
      emit(b, t.arg, rec); b.set(x);
      b.i32(2); b.i32(1); b.get(x); b.op(OP.i32Sub); b.get(x); b.i32(2); b.op(OP.i32Eq); b.op(OP.select);
      return;
    }
    case 'arith':
      // IEEE doubles: x / 0 is ±Infinity, 0 / 0 and x % 0 are NaN, that is NULL.
      emit(b, t.left, rec); emit(b, t.right, rec);
      if (t.op === '%') b.op(OP.call, ...uleb(FN_FMOD));
      else b.op({ '+': OP.f64Add, '-': OP.f64Sub, '*': OP.f64Mul, '/': OP.f64Div }[t.op]);
      return;
    case 'arithI64': emit(b, t.left, rec); emit(b, t.right, rec); b.op(t.op === '+' ? OP.i64Add : OP.i64Sub); return;
    case 'cmp': {
      if (t.on === 'i64') {
        emit(b, t.left, rec); emit(b, t.right, rec);
        b.op({ '=': OP.i64Eq, '<>': OP.i64Ne, '<': OP.i64LtS, '<=': OP.i64LeS, '>': OP.i64GtS, '>=': OP.i64GeS }[t.op]);
        return;
      }
      const l = b.local(F64), r = b.local(F64);
      emit(b, t.left, rec); b.set(l); emit(b, t.right, rec); b.set(r);
      b.i32(2);
      b.get(l); b.get(r);
      b.op({ '=': OP.f64Eq, '<>': OP.f64Ne, '<': OP.f64Lt, '<=': OP.f64Le, '>': OP.f64Gt, '>=': OP.f64Ge }[t.op]);
      b.isNan(l); b.isNan(r); b.op(OP.i32Or);
      b.op(OP.select);
      return;
    }
    case 'logic': {
      const x = b.local(I32), y = b.local(I32);
      emit(b, t.left, rec); b.tee(x);
      if (t.op === 'and') {
        b.op(OP.i32Eqz, OP.if, I32); b.i32(0);
        b.op(OP.else); emit(b, t.right, rec); b.tee(y);
        b.op(OP.i32Eqz, OP.if, I32); b.i32(0);
        b.op(OP.else); b.i32(1); b.i32(2); b.get(x); b.get(y); b.op(OP.i32And); b.i32(1); b.op(OP.i32Eq); b.op(OP.select);
        b.op(OP.end, OP.end);
      } else {
        b.i32(1); b.op(OP.i32Eq, OP.if, I32); b.i32(1);
        b.op(OP.else); emit(b, t.right, rec); b.tee(y);
        b.i32(1); b.op(OP.i32Eq, OP.if, I32); b.i32(1);
        b.op(OP.else); b.get(x); b.get(y); b.op(OP.i32Or);
        b.op(OP.end, OP.end);
      }
      return;
    }
    case 'isnull': {
      const ty = typeOf(t.arg);
      if (ty === 'timestamp' || ty === 'interval') { emit(b, t.arg, rec); b.op(OP.drop); b.i32(t.negated ? 1 : 0); return; }
      if (ty === 'bool') { emit(b, t.arg, rec); b.i32(2); b.op(t.negated ? OP.i32Ne : OP.i32Eq); return; }
      const a = b.local(F64);
      emit(b, t.arg, rec); b.set(a);
      b.get(a); b.get(a); b.op(t.negated ? OP.f64Eq : OP.f64Ne);
      return;
    }
    case 'case': {
      const rt = t.type === 'bool' ? I32 : F64;
      for (const w of t.whens) {
        emit(b, w.when, rec); b.i32(1); b.op(OP.i32Eq, OP.if, rt);
        emit(b, w.then, rec);
        b.op(OP.else);
      }
      emit(b, t.otherwise, rec);
      for (let i = 0; i < t.whens.length; i++) b.op(OP.end);
      return;
    }
    case 'coalesce': {
      const a = b.local(F64);
      for (let i = 0; i < t.args.length - 1; i++) {
        emit(b, t.args[i], rec); b.set(a);
        b.isNan(a); b.op(OP.if, F64);
      }
      emit(b, t.args[t.args.length - 1], rec);
      for (let i = t.args.length - 2; i >= 0; i--) { b.op(OP.else); b.get(a); b.op(OP.end); }
      return;
    }
    case 'extreme': {
      const acc = b.local(F64), v = b.local(F64);
      b.f64(NaN); b.set(acc);
      for (const arg of t.args) {
        emit(b, arg, rec); b.set(v);
        // acc = (v is a value and (acc is NULL or v beats acc)) ? v : acc
        b.get(v); b.get(acc);
        b.get(v); b.get(v); b.op(OP.f64Eq);
        b.isNan(acc); b.get(v); b.get(acc); b.op(t.fn === 'least' ? OP.f64Lt : OP.f64Gt); b.op(OP.i32Or);
        b.op(OP.i32And);
        b.op(OP.select); b.set(acc);
      }
      b.get(acc);
      return;
    }
    case 'math': {
      switch (t.fn) {
        case 'abs': emit(b, t.args[0], rec); b.op(OP.f64Abs); return;
        case 'floor': emit(b, t.args[0], rec); b.op(OP.f64Floor); return;
        case 'ceil': emit(b, t.args[0], rec); b.op(OP.f64Ceil); return;
        case 'sqrt': emit(b, t.args[0], rec); b.op(OP.f64Sqrt); return;
        case 'exp': emit(b, t.args[0], rec); b.op(OP.call, ...uleb(FN_EXP)); return;
        case 'ln': {
          const x = b.local(F64);
          emit(b, t.args[0], rec); b.set(x);
          b.f64(NaN); b.get(x); b.op(OP.call, ...uleb(FN_LOG)); b.get(x); b.f64(0); b.op(OP.f64Le); b.op(OP.select);
          return;
        }
        case 'power': {
          const x = b.local(F64), y = b.local(F64);
          emit(b, t.args[0], rec); b.set(x); emit(b, t.args[1], rec); b.set(y);
          b.f64(NaN); b.get(x); b.get(y); b.op(OP.call, ...uleb(FN_POW)); b.isNan(x); b.isNan(y); b.op(OP.i32Or); b.op(OP.select);
                    return;
        }
        case 'round': {
          const x = b.local(F64), v = b.local(F64), a = b.local(F64), tr = b.local(F64), r = b.local(F64);
          const scale = t.args.length === 2 ? Math.pow(10, (t.args[1] as { value: number }).value) : 1;
          emit(b, t.args[0], rec);
          if (scale !== 1) { b.tee(x); b.f64(scale); b.op(OP.f64Mul); }
          b.tee(v); b.op(OP.f64Abs); b.tee(a); b.op(OP.f64Floor); b.set(tr);
          // r = a − floor(a) ≥ 0.5 ? floor(a) + 1 : floor(a), with v's sign
          b.get(tr); b.f64(1); b.op(OP.f64Add); b.get(tr); b.get(a); b.get(tr); b.op(OP.f64Sub); b.f64(0.5); b.op(OP.f64Ge); b.op(OP.select);
          b.get(v); b.op(OP.f64Copysign);
          if (scale !== 1) {
            // As DuckDB: where scaling overflows, the value is returned as it is.
            b.f64(scale); b.op(OP.f64Div); b.set(r);
            b.get(x); b.get(r); b.get(r); b.get(r); b.op(OP.f64Sub); b.f64(0); b.op(OP.f64Ne); b.op(OP.select);
          }
          return;
        }
      }
    }
  }
}

/**
 * Emits code leaving 1 when the condition is TRUE and 0 when it is FALSE or
 * NULL: all a filter asks. Two-valued where that gives the same answer, so a
 * filter's comparisons and AND/OR need no NULL bookkeeping: a comparison of
 * doubles is TRUE exactly when IEEE says so (a NaN compares false), but for
 * `<>` (IEEE: NaN <> x is true) which also needs both sides non-NULL; a AND b
 * is TRUE iff both are, a OR b iff one is; NOT a is TRUE iff a is FALSE (the
 * three-valued code, then = 0). The JS twin evaluates three-valued and keeps
 * the same records.
 */
function emitIsTrue(b: Body, t: Typed, rec: number): void {
  if (t.k === 'cmp' && t.on !== 'i64') {
    if (t.op === '<>') {
      const l = b.local(F64), r = b.local(F64);
      emit(b, t.left, rec); b.set(l); emit(b, t.right, rec); b.set(r);
      b.get(l); b.get(r); b.op(OP.f64Ne);
      b.get(l); b.get(l); b.op(OP.f64Eq); b.op(OP.i32And);
      b.get(r); b.get(r); b.op(OP.f64Eq); b.op(OP.i32And);
      return;
    }
    emit(b, t.left, rec); emit(b, t.right, rec);
    b.op({ '=': OP.f64Eq, '<': OP.f64Lt, '<=': OP.f64Le, '>': OP.f64Gt, '>=': OP.f64Ge }[t.op]);
    return;
  }
  if (t.k === 'logic') {
    emitIsTrue(b, t.left, rec);
    if (t.op === 'and') { b.op(OP.if, I32); emitIsTrue(b, t.right, rec); b.op(OP.else); b.i32(0); b.op(OP.end); } else { b.op(OP.if, I32); b.i32(1); b.op(OP.else); emitIsTrue(b, t.right, rec); b.op(OP.end); }
    return;
  }
  if (t.k === 'not') { emit(b, t.arg, rec); b.op(OP.i32Eqz); return; }
  emit(b, t, rec); b.i32(1); b.op(OP.i32Eq);
}

/** The WASM module of a program (bytes to compile once and instantiate on each partition memory). */
export function emitProgram(program: ExprProgram): Uint8Array<ArrayBuffer> {
  const b = new Body();
  const PTR = 0, COUNT = 1, STRIDE = 2;
  const i = b.local(I32), kept = b.local(I32), rec = b.local(I32);
  const values = program.projections.map((p) => ({ l: b.local(F64), slot: p.slot, bool: typeOf(p.expr) === 'bool', expr: p.expr }));

  b.i32(0); b.set(i); b.i32(0); b.set(kept);
  b.op(OP.block, 0x40, OP.loop, 0x40);
  b.get(i); b.get(COUNT); b.op(OP.i32GeU, OP.brIf, 1);
  b.get(PTR); b.get(i); b.get(STRIDE); b.op(OP.i32Mul, OP.i32Add); b.set(rec);
  b.op(OP.block, 0x40);
  if (program.filter) { emitIsTrue(b, program.filter, rec); b.op(OP.i32Eqz, OP.brIf, 0); }
  for (const v of values) {
    emit(b, v.expr, rec);
    if (v.bool) {
      // TRUE 1, FALSE 0, NULL NaN
      const c = b.local(I32);
      b.set(c); b.f64(NaN); b.get(c); b.op(0xb8 /* f64.convert_i32_u */); b.get(c); b.i32(2); b.op(OP.i32Eq); b.op(OP.select);
    }
    b.set(v.l);
  }
  for (const v of values) {
    b.get(rec);
    b.f64(NaN); b.get(v.l); b.isNan(v.l); b.op(OP.select);
    b.op(OP.f64Store, 3, ...uleb(IN_FIELDS + 8 * v.slot));
  }
  // Move the kept record down over dropped ones: one memory.copy (bulk memory), not a loop of loads and stores.
  if (program.filter) {
    b.get(kept); b.get(i); b.op(OP.i32Ne, OP.if, 0x40);
    b.get(PTR); b.get(kept); b.get(STRIDE); b.op(OP.i32Mul, OP.i32Add);
    b.get(rec); b.get(STRIDE);
    b.op(...MEMORY_COPY);
    b.op(OP.end);
  }
  b.get(kept); b.i32(1); b.op(OP.i32Add); b.set(kept);
  b.op(OP.end); // the filter's block: a dropped record jumps here
  b.get(i); b.i32(1); b.op(OP.i32Add); b.set(i);
  b.op(OP.br, 0, OP.end, OP.end);
  b.get(kept);
  b.op(OP.end);

  // Locals grouped by runs of one type.
  const groups: number[][] = [];
  for (const t of b.locals) {
    const last = groups[groups.length - 1];
    if (last && last[1] === t) last[0]++; else groups.push([1, t]);
  }
  const body = [...vec(groups.map(([n, t]) => [...uleb(n), t])), ...b.code];

  const types = vec([
    [0x60, ...vec([[F64]]), ...vec([[F64]])],          // 0: (f64) -> f64
    [0x60, ...vec([[F64], [F64]]), ...vec([[F64]])],   // 1: (f64, f64) -> f64
    [0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])], // 2: run
  ]);
  const imports = vec([
    [...str('env'), ...str('memory'), 0x02, 0x03, ...uleb(0), ...uleb(65536)], // shared memory, min 0, max 4 GiB
    [...str('math'), ...str('log'), 0x00, 0],
    [...str('math'), ...str('exp'), 0x00, 0],
    [...str('math'), ...str('pow'), 0x00, 1],
    [...str('math'), ...str('fmod'), 0x00, 1],
  ]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, vec([[2]])),
    ...section(7, vec([[...str('run'), 0x00, FN_RUN]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ];
  return new Uint8Array(bytes);
}

/** What a partition instantiates the module with: its memory, and JS's own math (the twin's bits). */
function programImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return { env: { memory }, math: { log: Math.log, exp: Math.exp, pow: Math.pow, fmod: (a: number, b: number) => a % b } };
}

export class WasmExprProgram {
  private readonly fn: (ptr: number, count: number, stride: number) => number;

  constructor(memory: WebAssembly.Memory, module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, programImports(memory));
    this.fn = instance.exports.run as (ptr: number, count: number, stride: number) => number;
  }

  run(ptr: number, count: number, stride: number): number {
    return this.fn(ptr, count, stride) >>> 0;
  }
}
