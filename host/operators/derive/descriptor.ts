// `type: derive`: computed fields written into every record for the operators
// after it, e.g. `notional_usd: "price * qty * fx"`, a CASE, a condition
// (stored 1 / 0 / NULL). Written in the expression language
// (docs/EXPRESSIONS.md), compiled to WebAssembly in each partition when the
// pipeline starts. Later operators name a derived field like a schema field
// (`field: notional_usd`, a filter's `where`, a model feature).
// Registry kind `derive`. Docs: docs/operators/derive.md.
import { z } from 'zod';
import type { EventFields } from '../../config/types.js';
import { typeOf } from '../../expr/check.js';
import { ExprError } from '../../expr/parse.js';
import { name } from '../../config/primitives.js';
import { checkExpr } from '../../expr/check.js';
import { defineOperator, type OperatorConfig, type OperatorContext } from '../descriptor.js';
import { exprFields } from '../filter/descriptor.js';
import { createDerive, deriveProgram } from './derive.js';

const entry = z.strictObject({
  type: z.literal('derive'),
  name,
  /** New field name → its expression, e.g. { notional_usd: "price * qty * fx" }; computed in order, each from the record as it came in. */
  fields: z.record(name, z.string({ error: 'expected an expression as a string, e.g. "price * qty"' }).min(1, 'expected an expression, e.g. "price * qty"'), { error: 'expected a map of new field names to expressions, e.g. { notional: "price * qty" }' })
    .refine((m) => Object.keys(m).length > 0, 'expected at least one field, e.g. { notional: "price * qty" }'),
});

export type DeriveYaml = z.output<typeof entry>;
type Seen = Pick<EventFields, 'all' | 'numbers' | 'strings' | 'time'>;

/** Checks the expressions against what the operator sees; their string literals in first-seen order (interned before the partitions start). */
export function deriveLiterals(fields: Record<string, string>, seen: Seen): string[] {
  const strings: string[] = [];
  deriveProgram(Object.entries(fields).map(([n, expr], i) => ({ name: n, slot: seen.all.length + i, expr })), exprFields(seen), (s) => {
    const i = strings.indexOf(s);
    return i >= 0 ? i : strings.push(s) - 1;
  });
  return strings;
}

function createDeriveOperator(config: OperatorConfig, ctx: OperatorContext) {
  const strings = config.strings as string[];
  // Without ids (a plan built to check sizes, not to run) literals get ids no record holds.
  const stringIds = (config.stringIds as number[] | undefined) ?? strings.map((_, i) => -1 - i);
  return createDerive(ctx.engine, ctx.memory, {
    op: ctx.op, fields: config.fields as Array<{ name: string; slot: number; expr: string }>, inputs: config.inputs as never, strings, stringIds,
  });
}

const caret = (e: ExprError, text: string) => `${e.message} (at column ${e.pos.offset + 1} of the expression)\n  ${text}\n  ${' '.repeat(e.pos.offset)}${'^'.repeat(Math.max(1, Math.min(e.pos.end, text.length) - e.pos.offset))}`;

export const deriveDescriptor = defineOperator<DeriveYaml>({
  type: 'derive',
  schema: entry,
  docs: 'docs/operators/derive.md',
  outputs: [],
  kinds: { derive: createDeriveOperator },
  // The fields it names are checked with each expression (check below), where the error can point into it.
  reads: () => [],
  writes: (o, seen) => Object.entries(o.fields).map(([n, expr]) => {
    let type: 'double' | 'string' = 'double';
    try { if (typeOf(checkExpr(expr, { fields: exprFields(seen), intern: () => 0 })) === 'string') type = 'string'; } catch { /* reported by check */ }
    return { name: n, type };
  }),
  check: (o, ctx) => {
    for (const [n, expr] of Object.entries(o.fields)) {
      if (ctx.fields.all.includes(n) || n === ctx.fields.time) {
        ctx.add(['fields', n], `expected a new field name: "${n}" is already a field here (derived fields are new; write the expression under another name)`, JSON.stringify(n));
        continue;
      }
      try {
        deriveLiterals({ [n]: expr }, ctx.fields);
      } catch (e) {
        if (!(e instanceof ExprError)) throw e;
        const sibling = Object.keys(o.fields).find((k) => k !== n && new RegExp(`\\b${k}\\b`).test(expr));
        ctx.add(['fields', n], caret(e, expr) + (sibling ? `\n  (fields of one derive are computed from the record as it came in: use "${sibling}" in a second derive after this one)` : ''));
      }
    }
  },
  plan: (o, ctx) => {
    const inputs = exprFields(ctx.fields);
    const fields = Object.entries(o.fields).map(([n, expr], i) => ({ name: n, slot: ctx.fields.all.length + i, expr }));
    return { kind: 'derive', name: o.name, fields, inputs, strings: deriveLiterals(o.fields, ctx.fields) };
  },
  meta: (o) => ({ name: o.name, type: 'derive' }),
  format: () => { throw new Error('derive emits no output records'); },
  summary: (o) => `compute ${Object.entries(o.fields).map(([n, e]) => `${n} = ${e}`).join('; ')}`,
  state: () => 'none (stateless)',
});
