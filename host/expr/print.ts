// An expression tree back to expression text that parse.ts reads as the same
// tree: the SQL front end hands a WHERE it parsed to the filter operator as
// text (operator configs are plain data, the YAML `where:` string). Every
// compound is parenthesised, so precedence never has to be re-derived; names
// are quoted, so keywords and case survive.
import type { Expr } from './parse.js';

function num(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`internal: a non-finite literal ${v}`);
  // Plain digits: the tokenizer reads decimals with an optional exponent; toString's 1e+21 form has a '+'.
  if (v < 0 || Object.is(v, -0)) return `(-${num(-v)})`;
  const s = String(v);
  return s.includes('e') ? v.toExponential().replace('e+', 'e') : s;
}

const name = (n: string) => `"${n}"`;
const str = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function exprText(e: Expr): string {
  switch (e.k) {
    case 'num': return num(e.value);
    case 'str': return str(e.value);
    case 'bool': return e.value ? 'TRUE' : 'FALSE';
    case 'null': return 'NULL';
    case 'interval': return e.text;
    case 'ref': return e.qualifier !== undefined ? `${name(e.qualifier)}.${name(e.name)}` : name(e.name);
    case 'call': return `${e.name}(${e.args.map(exprText).join(', ')})`;
    case 'unary': return e.op === 'not' ? `(NOT ${exprText(e.arg)})` : `(-${exprText(e.arg)})`;
    case 'binary': return `(${exprText(e.left)} ${e.op.toUpperCase()} ${exprText(e.right)})`;
    case 'isnull': return `(${exprText(e.arg)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'between': return `(${exprText(e.arg)} ${e.negated ? 'NOT ' : ''}BETWEEN ${exprText(e.low)} AND ${exprText(e.high)})`;
    case 'in': return `(${exprText(e.arg)} ${e.negated ? 'NOT ' : ''}IN (${e.list.map(exprText).join(', ')}))`;
    case 'case':
      return `(CASE${e.operand ? ` ${exprText(e.operand)}` : ''}${e.whens.map((w) => ` WHEN ${exprText(w.when)} THEN ${exprText(w.then)}`).join('')}${e.otherwise ? ` ELSE ${exprText(e.otherwise)}` : ''} END)`;
  }
}
