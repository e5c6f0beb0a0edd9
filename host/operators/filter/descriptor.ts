// `type: filter`: keeps the events a condition holds for (SQL WHERE semantics:
// NULL is not true), written in the expression language (docs/EXPRESSIONS.md)
// and compiled to WebAssembly in each partition when the pipeline starts.
// A filter: no output records; the operators after it see only the kept
// events, and every drop is counted (ganglion_dropped_events_total).
// Registry kind `filter`. Docs: docs/operators/filter.md.
import { z } from 'zod';
import type { EventFields } from '../../config/types.js';
import type { ExprField } from '../../expr/check.js';
import { ExprError } from '../../expr/parse.js';
import { exprProgram } from '../../expr/program.js';
import { name } from '../../config/primitives.js';
import { defineOperator, type OperatorConfig, type OperatorContext } from '../descriptor.js';
import { createFilter, filterEnv } from './filter.js';

const entry = z.strictObject({
  type: z.literal('filter'),
  name,
  /** The condition, e.g. "price * qty > 1000000 AND instrument <> 'XOM'". */
  where: z.string({ error: 'expected a condition as a string, e.g. "price * qty > 1000000"' }).min(1, 'expected a condition, e.g. "price * qty > 1000000"'),
});

export type FilterYaml = z.output<typeof entry>;

/** What a condition may name: the stream's schema fields (strings as interned ids) and its event time. */
export function exprFields(f: Pick<EventFields, 'all' | 'strings' | 'time'>): ExprField[] {
  const strings = new Set(f.strings);
  return [
    { name: f.time, type: 'timestamp', slot: -1 },
    ...f.all.map((n, slot): ExprField => ({ name: n, type: strings.has(n) ? 'string' : 'double', slot })),
  ];
}

/** Checks the condition; its string literals in first-seen order (the pipeline interns them before the partitions start). */
export function filterLiterals(where: string, fields: readonly ExprField[]): string[] {
  const strings: string[] = [];
  exprProgram(filterEnv(fields, (s) => { const i = strings.indexOf(s); return i >= 0 ? i : strings.push(s) - 1; }), { filter: where });
  return strings;
}

function createFilterOperator(config: OperatorConfig, ctx: OperatorContext) {
  const strings = config.strings as string[];
  // Without ids (a plan built to check sizes, not to run) literals get ids no record holds.
  const stringIds = (config.stringIds as number[] | undefined) ?? strings.map((_, i) => -1 - i);
  return createFilter(ctx.engine, ctx.memory, { op: ctx.op, where: config.where as string, fields: config.fields as ExprField[], strings, stringIds });
}

export const filterDescriptor = defineOperator<FilterYaml>({
  type: 'filter',
  schema: entry,
  docs: 'docs/operators/filter.md',
  outputs: [],
  kinds: { filter: createFilterOperator },
  // The fields it names are checked with the expression (check below), where the error can point into it.
  reads: () => [],
  check: (o, ctx) => {
    try {
      filterLiterals(o.where, exprFields(ctx.fields));
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      ctx.add(['where'], `${e.message} (at column ${e.pos.offset + 1} of the condition)\n  ${o.where}\n  ${' '.repeat(e.pos.offset)}${'^'.repeat(Math.max(1, Math.min(e.pos.end, o.where.length) - e.pos.offset))}`);
    }
  },
  plan: (o, ctx) => {
    const fields = exprFields(ctx.fields);
    return { kind: 'filter', name: o.name, where: o.where, fields, strings: filterLiterals(o.where, fields) };
  },
  meta: (o) => ({ name: o.name, type: 'filter' }),
  format: () => { throw new Error('filter emits no output records'); },
  summary: (o) => `keep the events where ${o.where} is true (NULL drops, as SQL WHERE)`,
  state: () => 'none (stateless)',
});
