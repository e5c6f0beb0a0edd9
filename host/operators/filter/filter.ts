// The filter operator: a compiled expression program (host/expr) over the
// partition's records, in place. It keeps the records whose condition is TRUE
// (SQL WHERE: NULL and FALSE drop), compacts them to the front in order and
// returns how many remain; the partition runner hands only those on. Both
// engines run one program: `wasm` a module generated from it when the operator
// is created, instantiated on the partition's memory (its own instance, not
// the partition's kernel), `js` the twin that makes the same decisions.
//
// Stateless: no region of memory, an empty snapshot. What it drops is counted
// (`stats().dropped`, the metrics' ganglion_dropped_events_total).
import type { ExprEnv, ExprField } from '../../expr/check.js';
import { JsExprProgram } from '../../expr/js.js';
import { exprProgram, type ExprProgram } from '../../expr/program.js';
import { emitProgram, WasmExprProgram } from '../../expr/wasm.js';
import type { Engine, Operator } from '../operator.js';

export interface FilterOptions {
  op: number;
  /** The condition (SQL WHERE syntax, docs/EXPRESSIONS.md). */
  where: string;
  /** The record's fields the expression may name (slot -1: the event time). */
  fields: readonly ExprField[];
  /** String literals of the condition, and the ids the key dictionary gave them (same order). */
  strings: readonly string[];
  stringIds: readonly number[];
}

export interface FilterOperator extends Operator {
  readonly engine: Engine;
  readonly program: ExprProgram;
  /** Records looked at and records dropped since the operator was created (not state: a restart counts from 0). */
  counters(): { events: number; dropped: number };
}

/** The environment the condition is checked against: the record's fields, literals by their interned ids. */
export function filterEnv(fields: readonly ExprField[], intern: (s: string) => number): ExprEnv {
  return { fields, intern };
}

export function createFilter(engine: Engine, memory: WebAssembly.Memory, o: FilterOptions): FilterOperator {
  const ids = new Map(o.strings.map((s, i) => [s, o.stringIds[i]]));
  const program = exprProgram(filterEnv(o.fields, (s) => {
    const id = ids.get(s);
    if (id === undefined) throw new Error(`filter op ${o.op}: the string '${s}' was not interned before the partition started`);
    return id;
  }), { filter: o.where });
  const run = engine === 'wasm'
    ? new WasmExprProgram(memory, new WebAssembly.Module(emitProgram(program)))
    : new JsExprProgram(memory, program);
  return new Filter(o.op, engine, program, run);
}

class Filter implements FilterOperator {
  private events = 0;
  private dropped = 0;

  constructor(
    readonly op: number,
    readonly engine: Engine,
    readonly program: ExprProgram,
    private readonly runner: { run(ptr: number, count: number, stride: number): number },
  ) {}

  process(ptr: number, count: number, stride: number): number {
    const kept = this.runner.run(ptr, count, stride);
    this.events += count;
    this.dropped += count - kept;
    return kept;
  }

  onWatermark(): void {}
  output(): { ptr: number; count: number } { return { ptr: 0, count: 0 }; }
  clearOutput(): void {}
  snapshot(): Uint8Array { return new Uint8Array(0); }
  snapshotSize(): number { return 0; }
  snapshotInto(): number { return 0; }
  restore(bytes: Uint8Array): void {
    if (bytes.length !== 0) throw new Error(`filter op ${this.op}: a filter keeps no state, got a ${bytes.length}-byte snapshot`);
  }
  /** The drops are the metrics' `ganglion_dropped_events_total` for this operator (cumulative since the partition started). */
  stats(): { keys: number; bytes: number; evictions: number; late: number; dropped: number } {
    return { keys: 0, bytes: 0, evictions: 0, late: 0, dropped: this.dropped };
  }
  counters(): { events: number; dropped: number } { return { events: this.events, dropped: this.dropped }; }
  close(): void {}
}
