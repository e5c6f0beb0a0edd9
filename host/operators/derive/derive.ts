// The derive operator: computed fields written into the records, in place, for
// the operators after it (SQL computed select items, Flink computed columns,
// eKuiper SELECT expressions). One expression program (host/expr) with one
// projection per field and no filter: every record goes on, with the derived
// slots filled. Both engines run the same program: `wasm` a module generated
// from it when the operator is created, instantiated on the partition's
// memory, `js` the twin that writes the same bytes.
//
// Stateless: no region of memory, no outputs, an empty snapshot.
import type { ExprField } from '../../expr/check.js';
import { JsExprProgram } from '../../expr/js.js';
import { exprProgram, type ExprProgram } from '../../expr/program.js';
import { emitProgram, WasmExprProgram } from '../../expr/wasm.js';
import type { Engine, Operator } from '../operator.js';

export interface DeriveOptions {
  op: number;
  /** Each derived field: its record slot and its expression (docs/EXPRESSIONS.md). */
  fields: ReadonlyArray<{ name: string; slot: number; expr: string }>;
  /** The record's fields the expressions may name (slot -1: the event time). */
  inputs: readonly ExprField[];
  /** String literals of the expressions, and the ids the key dictionary gave them (same order). */
  strings: readonly string[];
  stringIds: readonly number[];
}

export interface DeriveOperator extends Operator {
  readonly engine: Engine;
  readonly program: ExprProgram;
}

/** The program of a derive: one projection per field, every value computed from the record as it came in. */
export function deriveProgram(fields: DeriveOptions['fields'], inputs: readonly ExprField[], intern: (s: string) => number): ExprProgram {
  return exprProgram({ fields: inputs, intern }, { projections: fields.map((f) => ({ slot: f.slot, source: f.expr })) });
}

export function createDerive(engine: Engine, memory: WebAssembly.Memory, o: DeriveOptions): DeriveOperator {
  const ids = new Map(o.strings.map((s, i) => [s, o.stringIds[i]]));
  const program = deriveProgram(o.fields, o.inputs, (s) => {
    const id = ids.get(s);
    if (id === undefined) throw new Error(`derive op ${o.op}: the string '${s}' was not interned before the partition started`);
    return id;
  });
  const run = engine === 'wasm'
    ? new WasmExprProgram(memory, new WebAssembly.Module(emitProgram(program)))
    : new JsExprProgram(memory, program);
  return new Derive(o.op, engine, program, run);
}

class Derive implements DeriveOperator {
  constructor(
    readonly op: number,
    readonly engine: Engine,
    readonly program: ExprProgram,
    private readonly runner: { run(ptr: number, count: number, stride: number): number },
  ) {}

  process(ptr: number, count: number, stride: number): void {
    this.runner.run(ptr, count, stride);
  }

  onWatermark(): void {}
  output(): { ptr: number; count: number } { return { ptr: 0, count: 0 }; }
  clearOutput(): void {}
  snapshot(): Uint8Array { return new Uint8Array(0); }
  snapshotSize(): number { return 0; }
  snapshotInto(): number { return 0; }
  restore(bytes: Uint8Array): void {
    if (bytes.length !== 0) throw new Error(`derive op ${this.op}: a derive keeps no state, got a ${bytes.length}-byte snapshot`);
  }
  stats(): { keys: number; bytes: number; evictions: number; late: number } {
    return { keys: 0, bytes: 0, evictions: 0, late: 0 };
  }
  close(): void {}
}
