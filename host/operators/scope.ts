// An operator's own `where`: the operator sees only the events its condition
// holds for, and every other operator still sees every event. This is how a
// SQL view's WHERE applies to that view alone when a job has several views
// (operators run in one chain over the same records, so a `filter` in the
// chain would drop the event for all of them).
//
// Per batch: the records are copied into a scratch area of the partition's
// memory, the compiled condition (host/expr, the filter's program) compacts
// the copy to the events it keeps, and the operator processes the copy. The
// records in the chain are left as they were, so the operators after it see
// the whole batch. Because of that the operator's writes into records (a
// window's enrichment slots) do not reach later operators: the semantic
// checks refuse reading `<window>.<aggregate>` of a window with its own
// `where` (host/config/semantic.ts).
import type { ExprField } from '../expr/check.js';
import { JsExprProgram } from '../expr/js.js';
import { exprProgram } from '../expr/program.js';
import { emitProgram, WasmExprProgram } from '../expr/wasm.js';
import type { EventFields } from '../config/types.js';
import type { OperatorContext } from './descriptor.js';
import type { Operator } from './operator.js';
import { exprFields, filterLiterals } from './filter/descriptor.js';

/** The serialisable part of a registry config (`scope`): the condition, the fields it may name, its literals and their ids. */
export interface ScopeConfig {
  where: string;
  fields: ExprField[];
  strings: string[];
  stringIds?: number[];
}

export function scopeConfig(where: string, seen: Pick<EventFields, 'all' | 'strings' | 'time'>): ScopeConfig {
  const fields = exprFields(seen);
  return { where, fields, strings: filterLiterals(where, fields) };
}

/**
 * Makes `op` see only the events `scope.where` holds for. Returns the same
 * object (its other methods, process2 of a two-input operator included, are
 * its own), with `process` going through the condition; it returns nothing,
 * so the chain after it goes on with every record.
 */
export function scoped(op: Operator, scope: ScopeConfig, ctx: OperatorContext): Operator {
  const ids = new Map(scope.strings.map((s, i) => [s, scope.stringIds?.[i] ?? -1 - i]));
  const program = exprProgram({ fields: scope.fields, intern: (s) => ids.get(s)! }, { filter: scope.where });
  const condition = ctx.engine === 'wasm'
    ? new WasmExprProgram(ctx.memory, new WebAssembly.Module(emitProgram(program)))
    : new JsExprProgram(ctx.memory, program);
  const scratch = ctx.alloc.alloc(ctx.maxBatch * ctx.stride, 64);
  const u8 = () => new Uint8Array(ctx.memory.buffer);
  const inner = op.process.bind(op);
  let bytes = u8();
  op.process = (ptr: number, count: number, stride: number): void => {
    // Runs may be longer than maxBatch only in tests that call process directly: take them in pieces.
    for (let done = 0; done < count;) {
      const n = Math.min(count - done, ctx.maxBatch);
      if (bytes.byteLength !== ctx.memory.buffer.byteLength) bytes = u8();
      bytes.copyWithin(scratch, ptr + done * stride, ptr + (done + n) * stride);
      const kept = condition.run(scratch, n, stride);
      if (kept > 0) inner(scratch, kept, stride);
      done += n;
    }
  };
  return op;
}
