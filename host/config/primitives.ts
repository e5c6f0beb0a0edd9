// The value types pipeline files are made of, shared by host/config/schema.ts
// and the operator descriptors (host/operators/*/descriptor.ts), which
// declare their own entries: names, field references, durations, sizes.
import { z } from 'zod';
import { DURATION_HINT, parseDuration, parseSize, SIZE_HINT } from './units.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME_HINT = 'a name of letters, digits and _ that does not start with a digit';

export const name = z.string({ error: `expected ${NAME_HINT}` }).regex(NAME, `expected ${NAME_HINT}`);

/** An event field (`price`) or an aggregate of an earlier window operator of the same key (`vol_1m.sum`). */
export const fieldRef = z
  .string({ error: 'expected a field name or <window operator>.<aggregate>' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'expected a field name or <window operator>.<aggregate>');

export const duration = z.string({ error: `expected ${DURATION_HINT}` }).transform((text, ctx) => {
  const ns = parseDuration(text);
  if (ns === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT}` });
    return z.NEVER;
  }
  return ns;
});

export const size = z.union([z.string(), z.number()], { error: `expected ${SIZE_HINT}` }).transform((input, ctx) => {
  const bytes = parseSize(input);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected ${SIZE_HINT}` });
    return z.NEVER;
  }
  return bytes;
});

export const positiveInt = z.number().int().min(1);
