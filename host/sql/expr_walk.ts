// Walks over parsed expressions: the calls and column references in one,
// and shape equality (positions aside).
import type { Expr } from '../expr/parse.js';
import type { CallExpr } from './ast.js';

export function collectCalls(e: Expr, out: CallExpr[] = []): CallExpr[] {
  if (e.k === 'call') { out.push(e as CallExpr); e.args.forEach((a) => collectCalls(a, out)); }
  else if (e.k === 'unary' || e.k === 'isnull') collectCalls(e.arg, out);
  else if (e.k === 'binary') { collectCalls(e.left, out); collectCalls(e.right, out); }
  else if (e.k === 'between') { collectCalls(e.arg, out); collectCalls(e.low, out); collectCalls(e.high, out); }
  else if (e.k === 'in') { collectCalls(e.arg, out); e.list.forEach((x) => collectCalls(x, out)); }
  else if (e.k === 'case') { if (e.operand) collectCalls(e.operand, out); e.whens.forEach((w) => { collectCalls(w.when, out); collectCalls(w.then, out); }); if (e.otherwise) collectCalls(e.otherwise, out); }
  return out;
}

export function collectRefs(e: Expr, out: Array<Extract<Expr, { k: 'ref' }>> = []): Array<Extract<Expr, { k: 'ref' }>> {
  if (e.k === 'ref') { if (e.name !== '*') out.push(e); }
  else if (e.k === 'call') e.args.forEach((a) => collectRefs(a, out));
  else if (e.k === 'unary' || e.k === 'isnull') collectRefs(e.arg, out);
  else if (e.k === 'binary') { collectRefs(e.left, out); collectRefs(e.right, out); }
  else if (e.k === 'between') { collectRefs(e.arg, out); collectRefs(e.low, out); collectRefs(e.high, out); }
  else if (e.k === 'in') { collectRefs(e.arg, out); e.list.forEach((x) => collectRefs(x, out)); }
  else if (e.k === 'case') { if (e.operand) collectRefs(e.operand, out); e.whens.forEach((w) => { collectRefs(w.when, out); collectRefs(w.then, out); }); if (e.otherwise) collectRefs(e.otherwise, out); }
  return out;
}

/** Same argument lists, by their shape (positions aside). */
export function sameArgs(a: Expr[], b: Expr[]): boolean {
  const strip = (x: unknown): unknown => JSON.stringify(x, (k, v) => (k === 'pos' || k === 'namePos' || k === 'text' ? undefined : typeof v === 'bigint' ? String(v) : v));
  return strip(a) === strip(b);
}

/** Same call, by its text shape (positions aside). */
export function sameCall(a: CallExpr, b: CallExpr): boolean {
  const strip = (x: unknown): unknown => JSON.stringify(x, (k, v) => (k === 'pos' || k === 'namePos' ? undefined : typeof v === 'bigint' ? String(v) : v));
  return strip(a) === strip(b);
}
