// Types for parsed expressions (host/expr/parse.ts), against the fields of a
// record. What comes out is what both back ends compile: the WASM emitter
// (wasm.ts) and the JS twin (js.ts). Every rule below is one documented
// semantic; docs/EXPRESSIONS.md lists them with examples.
//
//   double     IEEE f64, as Flink's and DuckDB's DOUBLE: x / 0 is ±Infinity,
//              overflow is ±Infinity; but NaN is NULL (a NaN field is NULL,
//              and 0 / 0, x % 0 give NULL); outputs write ±Infinity as null
//   bool       three-valued: TRUE, FALSE or NULL (unknown), Kleene AND/OR/NOT
//   string     an interned id (records hold ids): only = <> IN IS NULL COALESCE
//              and CASE results; literals are interned when compiled
//   timestamp  the event time, i64 ns, never NULL; ± INTERVAL, compared
//   interval   i64 ns: INTERVAL literals and timestamp − timestamp
import { ExprError, parseExpr, type BinaryOp, type Expr, type Pos } from './parse.js';

export type ExprType = 'double' | 'bool' | 'string' | 'timestamp' | 'interval';

export interface ExprField {
  name: string;
  type: 'double' | 'string' | 'timestamp';
  /** f64 slot among the record's fields (IN_FIELDS + 8·slot); -1 for the event time (IN_TS). */
  slot: number;
}

export interface ExprEnv {
  fields: readonly ExprField[];
  /** A string literal's id, as the records would carry it. */
  intern(s: string): number;
}

export type Typed =
  | { k: 'const'; type: 'double' | 'string'; value: number; pos: Pos }
  | { k: 'constBool'; value: 0 | 1 | 2; pos: Pos }
  | { k: 'constI64'; type: 'timestamp' | 'interval'; value: bigint; pos: Pos }
  | { k: 'field'; type: 'double' | 'string'; slot: number; pos: Pos }
  | { k: 'ts'; pos: Pos }
  | { k: 'neg'; type: 'double' | 'interval'; arg: Typed; pos: Pos }
  | { k: 'not'; arg: Typed; pos: Pos }
  | { k: 'arith'; type: 'double'; op: '+' | '-' | '*' | '/' | '%'; left: Typed; right: Typed; pos: Pos }
  | { k: 'arithI64'; type: 'timestamp' | 'interval'; op: '+' | '-'; left: Typed; right: Typed; pos: Pos }
  | { k: 'cmp'; op: '=' | '<>' | '<' | '<=' | '>' | '>='; on: 'double' | 'string' | 'i64'; left: Typed; right: Typed; pos: Pos }
  | { k: 'logic'; op: 'and' | 'or'; left: Typed; right: Typed; pos: Pos }
  | { k: 'isnull'; arg: Typed; negated: boolean; pos: Pos }
  | { k: 'case'; type: 'double' | 'string' | 'bool'; whens: Array<{ when: Typed; then: Typed }>; otherwise: Typed; pos: Pos }
  | { k: 'coalesce'; type: 'double' | 'string'; args: Typed[]; pos: Pos }
  | { k: 'math'; fn: MathFn; args: Typed[]; pos: Pos }
  | { k: 'extreme'; fn: 'least' | 'greatest'; args: Typed[]; pos: Pos };

export type MathFn = 'abs' | 'floor' | 'ceil' | 'sqrt' | 'ln' | 'exp' | 'power' | 'round';

export function typeOf(t: Typed): ExprType {
  switch (t.k) {
    case 'const': case 'field': case 'neg': case 'arith': case 'arithI64': case 'case': case 'coalesce': case 'constI64': return t.type;
    case 'ts': return 'timestamp';
    case 'constBool': case 'not': case 'cmp': case 'logic': case 'isnull': return 'bool';
    case 'math': case 'extreme': return 'double';
  }
}

const MATH: Record<string, { fn: MathFn; arity: [number, number] }> = {
  ABS: { fn: 'abs', arity: [1, 1] }, FLOOR: { fn: 'floor', arity: [1, 1] }, CEIL: { fn: 'ceil', arity: [1, 1] }, CEILING: { fn: 'ceil', arity: [1, 1] },
  SQRT: { fn: 'sqrt', arity: [1, 1] }, LN: { fn: 'ln', arity: [1, 1] }, EXP: { fn: 'exp', arity: [1, 1] },
  POWER: { fn: 'power', arity: [2, 2] }, POW: { fn: 'power', arity: [2, 2] }, ROUND: { fn: 'round', arity: [1, 2] },
};

/** Functions people reach for that expressions do not have, with what to do instead. */
const NOT_HERE: Record<string, string> = {
  LAG: 'LAG is not supported in expressions; use an OVER window or PREV() inside MATCH_RECOGNIZE',
  LEAD: 'LEAD is not supported: a stream cannot look ahead',
  SUM: 'SUM is an aggregate, not allowed in a row expression; aggregate in a window (GROUP BY ... TUMBLE, OVER)',
  COUNT: 'COUNT is an aggregate, not allowed in a row expression; aggregate in a window',
  AVG: 'AVG is an aggregate, not allowed in a row expression; aggregate in a window',
  MIN: 'MIN is an aggregate; for the smaller of values in one row use LEAST',
  MAX: 'MAX is an aggregate; for the larger of values in one row use GREATEST',
  LOG: 'LOG is ambiguous across SQL dialects; use LN(x) / LN(base)',
  UPPER: 'string functions are not supported: strings are interned ids, compared with = and IN only',
  LOWER: 'string functions are not supported: strings are interned ids, compared with = and IN only',
  SUBSTRING: 'string functions are not supported: strings are interned ids, compared with = and IN only',
  CONCAT: 'string functions are not supported: strings are interned ids, compared with = and IN only',
  CAST: 'CAST is not supported: numbers are doubles and fields keep their schema types',
};

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
    d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

function didYouMean(name: string, pool: Iterable<string>): string {
  let best = '', score = Infinity;
  for (const c of pool) { const s = levenshtein(name.toLowerCase(), c.toLowerCase()); if (s < score) { score = s; best = c; } }
  return best && score <= Math.max(1, Math.floor(name.length / 3)) ? `; did you mean "${best}"?` : '';
}

/** Parses and types `src` against `env`; `want` is the type the caller needs (a filter wants bool). */
export function checkExpr(src: string, env: ExprEnv, want?: ExprType): Typed {
  const t = typeExpr(parseExpr(src), env, src);
  if (want && typeOf(t) !== want) {
    throw new ExprError(want === 'bool'
      ? `expected a condition (TRUE, FALSE or NULL), found a ${typeOf(t)} expression; compare it, e.g. x > 0`
      : `expected a ${want} expression, found a ${typeOf(t)} one`, t.pos, src);
  }
  return t;
}

export function typeExpr(e: Expr, env: ExprEnv, src: string): Typed {
  const fail = (m: string, pos: Pos = e.pos): never => { throw new ExprError(m, pos, src); };
  const sub = (x: Expr) => typeExpr(x, env, src);
  /** NULL literals take the type their context needs. */
  const nullOf = (type: 'double' | 'string' | 'bool', pos: Pos): Typed => type === 'bool' ? { k: 'constBool', value: 2, pos } : { k: 'const', type, value: NaN, pos };
  const unify = (parts: Expr[], what: string): Typed[] => {
    const typed = parts.map((p) => (p.k === 'null' ? null : sub(p)));
    const types = new Set(typed.filter((t): t is Typed => t !== null).map(typeOf));
    if (types.size === 0) fail(`${what}: every value is NULL, so its type is unknown`);
    if (types.size > 1) fail(`${what}: the values mix ${[...types].join(' and ')}`);
    const type = [...types][0];
    if (type !== 'double' && type !== 'string' && type !== 'bool') fail(`${what}: ${type} values are not supported here`);
    return typed.map((t, i) => t ?? nullOf(type as 'double' | 'string' | 'bool', parts[i].pos));
  };

  switch (e.k) {
    case 'num': return { k: 'const', type: 'double', value: e.value, pos: e.pos };
    case 'str': return { k: 'const', type: 'string', value: env.intern(e.value), pos: e.pos };
    case 'bool': return { k: 'constBool', value: e.value ? 1 : 0, pos: e.pos };
    case 'null': return fail('a bare NULL has no type here: use IS NULL to test for it, or COALESCE to replace it');
    case 'interval': return { k: 'constI64', type: 'interval', value: e.ns, pos: e.pos };
    case 'ref': {
      if (e.qualifier !== undefined) fail(`"${e.qualifier}.${e.name}": qualified names are not supported here (one input, fields by name)`);
      const f = env.fields.find((x) => x.name === e.name) ?? env.fields.find((x) => x.name.toLowerCase() === e.name.toLowerCase());
      if (!f) fail(`unknown field "${e.name}" (fields: ${env.fields.map((x) => x.name).join(', ')})${didYouMean(e.name, env.fields.map((x) => x.name))}`);
      return f!.slot < 0 ? { k: 'ts', pos: e.pos } : { k: 'field', type: f!.type as 'double' | 'string', slot: f!.slot, pos: e.pos };
    }
    case 'unary': {
      const a = sub(e.arg), ta = typeOf(a);
      if (e.op === 'not') {
        if (ta !== 'bool') fail(`NOT needs a condition, found a ${ta} expression`, e.arg.pos);
        return { k: 'not', arg: a, pos: e.pos };
      }
      if (ta !== 'double' && ta !== 'interval') fail(`unary minus needs a number or an interval, found ${ta}`, e.arg.pos);
      if (a.k === 'const') return { k: 'const', type: 'double', value: -a.value, pos: e.pos }; // -3 is a literal
      return { k: 'neg', type: ta as 'double' | 'interval', arg: a, pos: e.pos };
    }
    case 'binary': return binary(e.op, e.left, e.right, e.pos);
    case 'isnull': {
      if (e.arg.k === 'null') return { k: 'constBool', value: e.negated ? 0 : 1, pos: e.pos };
      return { k: 'isnull', arg: sub(e.arg), negated: e.negated, pos: e.pos };
    }
    case 'between': {
      // x BETWEEN a AND b  ≡  x >= a AND x <= b (three-valued).
      const low = binary('>=', e.arg, e.low, e.pos), high = binary('<=', e.arg, e.high, e.pos);
      const both: Typed = { k: 'logic', op: 'and', left: low, right: high, pos: e.pos };
      return e.negated ? { k: 'not', arg: both, pos: e.pos } : both;
    }
    case 'in': {
      // x IN (a, b)  ≡  x = a OR x = b: NULL when nothing matched and a NULL was involved.
      let acc: Typed | null = null;
      for (const item of e.list) {
        const eq = item.k === 'null' ? null : binary('=', e.arg, item, item.pos);
        const term: Typed = eq ?? { k: 'constBool', value: 2, pos: item.pos };
        acc = acc ? { k: 'logic', op: 'or', left: acc, right: term, pos: e.pos } : term;
      }
      return e.negated ? { k: 'not', arg: acc!, pos: e.pos } : acc!;
    }
    case 'case': {
      const whens = e.whens.map((w) => ({
        when: e.operand ? binary('=', e.operand, w.when, w.when.pos) : sub(w.when),
        thenExpr: w.then,
      }));
      for (const w of whens) if (typeOf(w.when) !== 'bool') fail(`a WHEN needs a condition, found a ${typeOf(w.when)} expression`, w.when.pos);
      const results = unify([...whens.map((w) => w.thenExpr), ...(e.otherwise ? [e.otherwise] : [])], 'CASE results');
      const type = typeOf(results[0]) as 'double' | 'string' | 'bool';
      const otherwise = e.otherwise ? results[results.length - 1] : nullOf(type, e.pos);
      return { k: 'case', type, whens: whens.map((w, i) => ({ when: w.when, then: results[i] })), otherwise, pos: e.pos };
    }
    case 'call': {
      const name = e.name;
      if (NOT_HERE[name]) fail(NOT_HERE[name]);
      if (name === 'COALESCE') {
        if (e.args.length < 1) fail('COALESCE needs at least one argument');
        const args = unify(e.args, 'COALESCE arguments');
        const type = typeOf(args[0]);
        if (type !== 'double' && type !== 'string') fail(`COALESCE of ${type} values is not supported`);
        return { k: 'coalesce', type: type as 'double' | 'string', args, pos: e.pos };
      }
      if (name === 'LEAST' || name === 'GREATEST') {
        if (e.args.length < 1) fail(`${name} needs at least one argument`);
        const args = e.args.map((a) => (a.k === 'null' ? nullOf('double', a.pos) : sub(a)));
        args.forEach((a, i) => { if (typeOf(a) !== 'double') fail(`${name} compares numbers, argument ${i + 1} is ${typeOf(a)}`, a.pos); });
        return { k: 'extreme', fn: name === 'LEAST' ? 'least' : 'greatest', args, pos: e.pos };
      }
      const m = MATH[name];
      if (!m) {
        const known = [...Object.keys(MATH), 'COALESCE', 'LEAST', 'GREATEST'];
        fail(`unknown function ${name} (functions: ${known.join(', ')})${didYouMean(name, known)}`);
      }
      if (e.args.length < m.arity[0] || e.args.length > m.arity[1]) {
        fail(`${name} takes ${m.arity[0] === m.arity[1] ? m.arity[0] : `${m.arity[0]} or ${m.arity[1]}`} argument${m.arity[1] > 1 ? 's' : ''}, found ${e.args.length}`);
      }
      const args = e.args.map((a) => (a.k === 'null' ? nullOf('double', a.pos) : sub(a)));
      args.forEach((a, i) => { if (typeOf(a) !== 'double') fail(`${name} needs a number, argument ${i + 1} is ${typeOf(a)}`, a.pos); });
      if (m.fn === 'round' && args.length === 2 && args[1].k !== 'const') fail('ROUND(x, d): d must be a constant number of digits', args[1].pos);
      return { k: 'math', fn: m.fn, args, pos: e.pos };
    }
  }

  function binary(op: BinaryOp, le: Expr, re: Expr, pos: Pos): Typed {
    if (op === 'and' || op === 'or') {
      const l = le.k === 'null' ? nullOf('bool', le.pos) : sub(le), r = re.k === 'null' ? nullOf('bool', re.pos) : sub(re);
      for (const [x, ex] of [[l, le], [r, re]] as const) if (typeOf(x) !== 'bool') fail(`${op.toUpperCase()} needs conditions, found a ${typeOf(x)} expression`, ex.pos);
      return { k: 'logic', op, left: l, right: r, pos };
    }
    // A NULL literal takes the other side's type; NULL op NULL has none.
    if (le.k === 'null' && re.k === 'null') fail('both sides are NULL: the type is unknown', pos);
    const l0 = le.k === 'null' ? null : sub(le), r0 = re.k === 'null' ? null : sub(re);
    const other = typeOf((l0 ?? r0)!);
    const asNull = (p: Pos): Typed => other === 'double' || other === 'string' || other === 'bool' ? nullOf(other, p) : fail(`${other} values are never NULL: comparing with NULL is always unknown`, p);
    const l = l0 ?? asNull(le.pos), r = r0 ?? asNull(re.pos);
    const tl = typeOf(l), tr = typeOf(r);
    if (op === '=' || op === '<>' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      if (tl === 'double' && tr === 'double') return { k: 'cmp', op, on: 'double', left: l, right: r, pos };
      if (tl === 'string' && tr === 'string') {
        if (op !== '=' && op !== '<>') fail(`strings compare only with = and <> (they are interned ids, not ordered text), found ${op}`, pos);
        return { k: 'cmp', op, on: 'string', left: l, right: r, pos };
      }
      if ((tl === 'timestamp' && tr === 'timestamp') || (tl === 'interval' && tr === 'interval')) return { k: 'cmp', op, on: 'i64', left: l, right: r, pos };
      if (tl === 'bool' && tr === 'bool' && (op === '=' || op === '<>')) {
        // a = b on conditions: (a AND b) OR (NOT a AND NOT b), three-valued.
        const eq: Typed = { k: 'logic', op: 'or', left: { k: 'logic', op: 'and', left: l, right: r, pos }, right: { k: 'logic', op: 'and', left: { k: 'not', arg: l, pos }, right: { k: 'not', arg: r, pos }, pos }, pos };
        return op === '=' ? eq : { k: 'not', arg: eq, pos };
      }
      return fail(`cannot compare ${tl} with ${tr}`, pos);
    }
    if (tl === 'double' && tr === 'double') return { k: 'arith', type: 'double', op, left: l, right: r, pos };
    if (op === '+' || op === '-') {
      if (tl === 'timestamp' && tr === 'interval') return { k: 'arithI64', type: 'timestamp', op, left: l, right: r, pos };
      if (op === '+' && tl === 'interval' && tr === 'timestamp') return { k: 'arithI64', type: 'timestamp', op, left: r, right: l, pos };
      if (op === '-' && tl === 'timestamp' && tr === 'timestamp') return { k: 'arithI64', type: 'interval', op, left: l, right: r, pos };
      if (tl === 'interval' && tr === 'interval') return { k: 'arithI64', type: 'interval', op, left: l, right: r, pos };
    }
    return fail(`${op} is not defined for ${tl} and ${tr}`, pos);
  }
}
