// SQL expressions, parsed: what a YAML `filter:` or derived field, a SQL
// WHERE/SELECT list and a MATCH_RECOGNIZE DEFINE condition are written in.
// A hand-written tokenizer and precedence-climbing parser, because every node
// must carry its place in the source (errors point at it with a caret) and
// the grammar is small:
//
//   expr     := or
//   or       := and (OR and)*
//   and      := not (AND not)*
//   not      := NOT not | pred
//   pred     := sum [ cmp sum | IS [NOT] NULL | [NOT] BETWEEN sum AND sum | [NOT] IN (expr, ...) ]
//   sum      := product ((+|-) product)*
//   product  := unary ((*|/|%) unary)*
//   unary    := (-|+) unary | primary
//   primary  := number | 'string' | TRUE | FALSE | NULL | INTERVAL 'n' unit
//             | CASE [expr] WHEN expr THEN expr ... [ELSE expr] END
//             | name [. name] | name ( [expr, ...] ) | ( expr )
//
// Keywords are case-insensitive; names keep their case. Strings use '…' with
// '' for a quote; "…" quotes a name.
export interface Pos { offset: number; end: number }

export type Expr =
  | { k: 'num'; value: number; pos: Pos }
  | { k: 'str'; value: string; pos: Pos }
  | { k: 'bool'; value: boolean; pos: Pos }
  | { k: 'null'; pos: Pos }
  | { k: 'interval'; ns: bigint; text: string; pos: Pos }
  | { k: 'ref'; name: string; qualifier?: string; pos: Pos }
  | { k: 'call'; name: string; args: Expr[]; pos: Pos }
  | { k: 'unary'; op: '-' | 'not'; arg: Expr; pos: Pos }
  | { k: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: Pos }
  | { k: 'isnull'; arg: Expr; negated: boolean; pos: Pos }
  | { k: 'between'; arg: Expr; low: Expr; high: Expr; negated: boolean; pos: Pos }
  | { k: 'in'; arg: Expr; list: Expr[]; negated: boolean; pos: Pos }
  | { k: 'case'; operand?: Expr; whens: Array<{ when: Expr; then: Expr }>; otherwise?: Expr; pos: Pos };

export type BinaryOp = 'or' | 'and' | '=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

/** A problem in an expression, with where it is; `format` renders it with the source line and a caret. */
export class ExprError extends Error {
  constructor(message: string, readonly pos: Pos, readonly source: string) {
    super(message);
    this.name = 'ExprError';
  }

  /** `file:line:col: message`, the source line, and a caret under the place. */
  format(file = '<expression>', lineOffset = 0, colOffset = 0): string {
    const before = this.source.slice(0, this.pos.offset);
    const line = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    const col = this.pos.offset - lineStart + 1;
    const text = this.source.slice(lineStart).split('\n')[0];
    const width = Math.max(1, Math.min(this.pos.end, lineStart + text.length) - this.pos.offset);
    return `${file}:${line + lineOffset}:${col + (line === 1 ? colOffset : 0)}: ${this.message}\n  ${text}\n  ${' '.repeat(col - 1)}${'^'.repeat(width)}`;
  }
}

type Tok =
  | { t: 'num'; v: number; pos: Pos }
  | { t: 'str'; v: string; pos: Pos }
  | { t: 'name'; v: string; quoted: boolean; pos: Pos }
  | { t: 'op'; v: string; pos: Pos }
  | { t: 'end'; pos: Pos };

const KEYWORDS = new Set(['and', 'or', 'not', 'is', 'null', 'true', 'false', 'between', 'in', 'case', 'when', 'then', 'else', 'end', 'interval']);

const UNITS: Record<string, bigint> = {
  nanosecond: 1n, microsecond: 1_000n, millisecond: 1_000_000n, second: 1_000_000_000n,
  minute: 60_000_000_000n, hour: 3_600_000_000_000n, day: 86_400_000_000_000n,
};

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const err = (m: string, at: number, end = at + 1): never => { throw new ExprError(m, { offset: at, end }, src); };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '-' && src[i + 1] === '-') { while (i < src.length && src[i] !== '\n') i++; continue; }
    const start = i;
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i))!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) err(`expected an operator or the end after the number ${m[0]}`, i);
      out.push({ t: 'num', v: Number(m[0]), pos: { offset: start, end: i } });
      continue;
    }
    if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) err('unterminated string: expected a closing \'', start, src.length);
        if (src[i] === "'") { if (src[i + 1] === "'") { v += "'"; i += 2; continue; } i++; break; }
        v += src[i++];
      }
      out.push({ t: 'str', v, pos: { offset: start, end: i } });
      continue;
    }
    if (c === '"') {
      const close = src.indexOf('"', i + 1);
      if (close < 0) err('unterminated quoted name: expected a closing "', start, src.length);
      out.push({ t: 'name', v: src.slice(i + 1, close), quoted: true, pos: { offset: start, end: close + 1 } });
      i = close + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ t: 'name', v: m[0], quoted: false, pos: { offset: start, end: i } });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['<=', '>=', '<>', '!=', '=='].includes(two)) { out.push({ t: 'op', v: two === '!=' ? '<>' : two === '==' ? '=' : two, pos: { offset: i, end: i + 2 } }); i += 2; continue; }
    if ('+-*/%(),.=<>'.includes(c)) { out.push({ t: 'op', v: c, pos: { offset: i, end: i + 1 } }); i++; continue; }
    err(`unexpected character ${JSON.stringify(c)}`, i);
  }
  out.push({ t: 'end', pos: { offset: src.length, end: src.length } });
  return out;
}

export function parseExpr(src: string): Expr {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const fail = (m: string, tok: Tok = peek()): never => { throw new ExprError(m, tok.pos, src); };
  const describe = (tok: Tok) => tok.t === 'end' ? 'the end of the expression' : tok.t === 'str' ? `'${tok.v}'` : String(tok.v);
  const isKw = (tok: Tok, kw: string) => tok.t === 'name' && !tok.quoted && tok.v.toLowerCase() === kw;
  const kw = (w: string) => { if (isKw(peek(), w)) { p++; return true; } return false; };
  const isOp = (v: string) => { const t = peek(); return t.t === 'op' && t.v === v; };
  const op = (v: string) => { if (isOp(v)) { p++; return true; } return false; };
  const expectOp = (v: string, why: string) => { if (!op(v)) fail(`expected "${v}" ${why}, found ${describe(peek())}`); };
  const span = (a: Pos, b: Pos): Pos => ({ offset: a.offset, end: b.end });

  const orExpr = (): Expr => {
    let left = andExpr();
    while (isKw(peek(), 'or')) { p++; const right = andExpr(); left = { k: 'binary', op: 'or', left, right, pos: span(left.pos, right.pos) }; }
    return left;
  };
  const andExpr = (): Expr => {
    let left = notExpr();
    while (isKw(peek(), 'and')) { p++; const right = notExpr(); left = { k: 'binary', op: 'and', left, right, pos: span(left.pos, right.pos) }; }
    return left;
  };
  const notExpr = (): Expr => {
    const t = peek();
    if (isKw(t, 'not')) { p++; const arg = notExpr(); return { k: 'unary', op: 'not', arg, pos: span(t.pos, arg.pos) }; }
    return predicate();
  };
  const predicate = (): Expr => {
    const left = sum();
    const t = peek();
    if (t.t === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      p++;
      const right = sum();
      return { k: 'binary', op: t.v as BinaryOp, left, right, pos: span(left.pos, right.pos) };
    }
    if (isKw(t, 'is')) {
      p++;
      const negated = kw('not');
      if (!kw('null')) fail(`expected NULL after IS${negated ? ' NOT' : ''} (IS TRUE/FALSE are not supported; compare with = instead), found ${describe(peek())}`);
      return { k: 'isnull', arg: left, negated, pos: span(left.pos, toks[p - 1].pos) };
    }
    const negated = isKw(t, 'not') && (isKw(toks[p + 1], 'between') || isKw(toks[p + 1], 'in'));
    if (negated) p++;
    if (kw('between')) {
      const low = sum();
      if (!kw('and')) fail(`expected AND between the bounds of BETWEEN, found ${describe(peek())}`);
      const high = sum();
      return { k: 'between', arg: left, low, high, negated, pos: span(left.pos, high.pos) };
    }
    if (kw('in')) {
      expectOp('(', 'to open the IN list');
      const list: Expr[] = [];
      do list.push(orExpr()); while (op(','));
      const close = peek();
      expectOp(')', 'to close the IN list');
      return { k: 'in', arg: left, list, negated, pos: span(left.pos, close.pos) };
    }
    return left;
  };
  const sum = (): Expr => {
    let left = product();
    for (;;) {
      const t = peek();
      if (t.t !== 'op' || (t.v !== '+' && t.v !== '-')) return left;
      p++;
      const right = product();
      left = { k: 'binary', op: t.v, left, right, pos: span(left.pos, right.pos) };
    }
  };
  const product = (): Expr => {
    let left = unary();
    for (;;) {
      const t = peek();
      if (t.t !== 'op' || (t.v !== '*' && t.v !== '/' && t.v !== '%')) return left;
      p++;
      const right = unary();
      left = { k: 'binary', op: t.v, left, right, pos: span(left.pos, right.pos) };
    }
  };
  const unary = (): Expr => {
    const t = peek();
    if (t.t === 'op' && (t.v === '-' || t.v === '+')) {
      p++;
      const arg = unary();
      return t.v === '+' ? arg : { k: 'unary', op: '-', arg, pos: span(t.pos, arg.pos) };
    }
    return primary();
  };
  const primary = (): Expr => {
    const t = peek();
    if (t.t === 'num') { p++; return { k: 'num', value: t.v, pos: t.pos }; }
    if (t.t === 'str') { p++; return { k: 'str', value: t.v, pos: t.pos }; }
    if (t.t === 'op' && t.v === '(') {
      p++;
      const e = orExpr();
      expectOp(')', 'to close the parenthesis');
      return e;
    }
    if (t.t !== 'name') return fail(`expected a value, a field or a function, found ${describe(t)}`);
    if (!t.quoted) {
      const w = t.v.toLowerCase();
      if (w === 'true' || w === 'false') { p++; return { k: 'bool', value: w === 'true', pos: t.pos }; }
      if (w === 'null') { p++; return { k: 'null', pos: t.pos }; }
      if (w === 'interval') return interval();
      if (w === 'case') return caseExpr();
      if (KEYWORDS.has(w)) return fail(`expected a value, a field or a function, found the keyword ${t.v.toUpperCase()}`);
    }
    p++;
    if (op('(')) {
      const args: Expr[] = [];
      if (!isOp(')')) {
        if (isOp('*')) { const star = peek(); p++; args.push({ k: 'ref', name: '*', pos: star.pos }); }
        else do args.push(orExpr()); while (op(','));
      }
      const close = peek();
      expectOp(')', `to close the arguments of ${t.v}`);
      return { k: 'call', name: t.v.toUpperCase(), args, pos: span(t.pos, close.pos) };
    }
    if (op('.')) {
      const n = peek();
      if (n.t !== 'name' && !(n.t === 'op' && n.v === '*')) fail(`expected a field name after "${t.v}.", found ${describe(n)}`);
      p++;
      return { k: 'ref', qualifier: t.v, name: n.t === 'name' ? n.v : '*', pos: span(t.pos, n.pos) };
    }
    return { k: 'ref', name: t.v, pos: t.pos };
  };
  const interval = (): Expr => {
    const start = peek();
    p++;
    const v = peek();
    if (v.t !== 'str' && v.t !== 'num') return fail(`expected the interval's amount as a string, e.g. INTERVAL '5' SECOND, found ${describe(v)}`);
    p++;
    const amount = v.t === 'str' ? v.v.trim() : String(v.v);
    if (!/^\d+(\.\d+)?$/.test(amount)) fail(`expected a non-negative number of units in the interval, found '${amount}'`, v);
    const u = peek();
    const unit = u.t === 'name' ? u.v.toLowerCase().replace(/s$/, '') : '';
    const per = UNITS[unit];
    if (per === undefined) fail(`expected an interval unit (${Object.keys(UNITS).map((x) => x.toUpperCase()).join(', ')}), found ${describe(u)}`);
    p++;
    const [whole, frac = ''] = amount.split('.');
    const ns = BigInt(whole) * per + (frac ? (BigInt(frac.padEnd(18, '0').slice(0, 18)) * per) / 10n ** 18n : 0n);
    return { k: 'interval', ns, text: `INTERVAL '${amount}' ${unit.toUpperCase()}`, pos: span(start.pos, u.pos) };
  };
  const caseExpr = (): Expr => {
    const start = peek();
    p++;
    const operand = isKw(peek(), 'when') ? undefined : orExpr();
    const whens: Array<{ when: Expr; then: Expr }> = [];
    while (kw('when')) {
      const when = orExpr();
      if (!kw('then')) fail(`expected THEN after the WHEN condition, found ${describe(peek())}`);
      whens.push({ when, then: orExpr() });
    }
    if (whens.length === 0) fail(`expected WHEN in CASE, found ${describe(peek())}`);
    const otherwise = kw('else') ? orExpr() : undefined;
    const end = peek();
    if (!kw('end')) fail(`expected END to close CASE, found ${describe(end)}`);
    return { k: 'case', ...(operand ? { operand } : {}), whens, ...(otherwise ? { otherwise } : {}), pos: span(start.pos, end.pos) };
  };

  const e = orExpr();
  if (peek().t !== 'end') fail(`expected an operator or the end of the expression, found ${describe(peek())}`);
  return e;
}
