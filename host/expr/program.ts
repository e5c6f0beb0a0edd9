// An expression program: an optional filter and projections into record
// slots, run over a batch of input records in one pass, in place:
//
//   for each record: keep = filter is TRUE (no filter: keep all)
//                    if keep: every projection's value is computed from the
//                    record as it came in, then written to its slot, and the
//                    record moves down over the dropped ones (order kept)
//   returns how many records remain
//
// Two engines run the same program on the same bytes: WASM generated at load
// (wasm.ts) and the JS twin (js.ts). Where IEEE leaves a NaN's sign or payload
// open, a stored NULL is always the canonical quiet NaN, so both engines write
// identical bytes.
import type { ExprEnv, Typed } from './check.js';
import { checkExpr, typeOf } from './check.js';
import { ExprError } from './parse.js';

export interface ExprProgram {
  filter?: Typed;
  projections: Array<{ slot: number; expr: Typed }>;
}

/** Parses and checks a filter and projections (`slot ← source`) against `env`. */
export function exprProgram(env: ExprEnv, spec: { filter?: string; projections?: Array<{ slot: number; source: string }> }): ExprProgram {
  const projections = (spec.projections ?? []).map((p) => {
    const expr = checkExpr(p.source, env);
    const t = typeOf(expr);
    if (t === 'timestamp' || t === 'interval') {
      throw new ExprError(`a ${t} cannot be stored in a record field (fields are doubles); compare it instead`, expr.pos, p.source);
    }
    return { slot: p.slot, expr };
  });
  return { ...(spec.filter !== undefined ? { filter: checkExpr(spec.filter, env, 'bool') } : {}), projections };
}

/** Canonical quiet NaN bits (0x7FF8000000000000): how a NULL double is stored. */
export const CANONICAL_NAN_HI = 0x7ff80000;
