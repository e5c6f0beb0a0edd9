// HAVING on a window: a condition over the window's aggregates deciding which
// of its outputs are emitted (SQL `... GROUP BY k, TUMBLE(...) HAVING
// COUNT(*) > 5`, YAML `having: "count > 5"`). It runs in the partition, on the
// window's pending outputs, before the runner copies them into the output
// ring: a compiled host/expr program (WASM generated at load, or its JS twin
// with the JS engine), the same machinery as the filter operator's WHERE.
//
// The program reads input-layout records, so each output is copied into a
// small scratch area as one (stride 128):
//
//   0        8        16       20       24                              120      128
//   ┌────────┬────────┬────────┬────────┬───────────────────────────────┬────────┐
//   │ start  │   0    │   0    │   0    │ f0..f11 = aggregates, AGG order│ f12    │
//   └────────┴────────┴────────┴────────┴───────────────────────────────┴────────┘
//   f0..f10 are the output's v0..v10; f11 (stddev_samp) = √v10, as
//   aggregateValue reads it; f12 ← the condition (1 TRUE, 0 FALSE, NaN NULL).
//
// What is emitted:
// - a `window` output whose condition is TRUE; FALSE or NULL drops it (SQL:
//   HAVING keeps the groups it is true for);
// - a `revision` whose condition is TRUE, as is (even when the window's first
//   output did not pass: the late events made it qualify); one whose
//   condition is not TRUE is emitted as a RETRACTION (aux bit 31, JSON
//   `"retract": true`): the window does not, or no longer, qualify. Flink
//   retracts only rows it emitted; ganglion keeps no record of which windows
//   passed (that would be state per fired window, checkpointed), so a
//   consumer drops the window if it holds it and ignores a retraction of one
//   it never received;
// - `late` outputs always (they are events, not windows).
// Dropping happens in place, in the window's output buffer, order kept.
import { checkExpr, type ExprEnv, type ExprField } from '../../expr/check.js';
import { JsExprProgram } from '../../expr/js.js';
import type { ExprProgram } from '../../expr/program.js';
import { emitProgram, WasmExprProgram } from '../../expr/wasm.js';
import { AGG, AGGREGATE_NAMES, IN_FIELDS, OUT_AUX, OUT_BYTES, OUT_KIND, OUT_REVISION, OUT_START, OUT_VALUES, OUT_WINDOW, type AggregateName } from '../../records.js';
import type { Engine, Operator, OperatorRuntime } from '../operator.js';

/** aux bit 31 of a revision: HAVING does not hold for it (a retraction). */
export const RETRACT = 0x80000000;

const FLAG = AGGREGATE_NAMES.length; // f12
const STRIDE = 24 + 8 * (FLAG + 1);
const CHUNK = 64;

/** What a HAVING condition may name: the aggregates the window computes, by their AGG names. */
export function havingEnv(aggregates: readonly string[]): ExprEnv {
  const fields: ExprField[] = aggregates.filter((a): a is AggregateName => a in AGG).map((a) => ({ name: a, type: 'double', slot: AGG[a] }));
  // Aggregates are numbers: a string literal can only meet another literal, so no id a record holds is needed.
  return { fields, intern: () => -1 };
}

/** Checks a condition against the window's aggregates (ExprError with its place in `having`). */
export function havingProgram(having: string, aggregates: readonly string[]): ExprProgram {
  return { projections: [{ slot: FLAG, expr: checkExpr(having, havingEnv(aggregates), 'bool') }] };
}

/** A window operator whose outputs pass through HAVING. Everything else is the window's. */
export class HavingWindow implements Operator {
  readonly op: number;
  snapshotSize?: () => number;
  snapshotInto?: (dst: Uint8Array) => number;
  private readonly scratch: number;
  private readonly memory: WebAssembly.Memory;
  private readonly run: { run(ptr: number, count: number, stride: number): number };
  /** Of the window's pending outputs: how many were looked at, and how many of those are kept (at the front). */
  private seen = 0;
  private kept = 0;
  /** Window outputs HAVING dropped since the operator was created (not state). */
  suppressed = 0;

  constructor(readonly inner: Operator, engine: Engine, rt: OperatorRuntime, program: ExprProgram) {
    this.op = inner.op;
    this.scratch = rt.alloc.alloc(CHUNK * STRIDE);
    this.run = engine === 'wasm'
      ? new WasmExprProgram(rt.memory, new WebAssembly.Module(emitProgram(program)))
      : new JsExprProgram(rt.memory, program);
    this.memory = rt.memory;
    if (inner.snapshotSize && inner.snapshotInto) {
      this.snapshotSize = () => inner.snapshotSize!();
      this.snapshotInto = (dst) => inner.snapshotInto!(dst);
    }
  }

  process(ptr: number, count: number, stride: number): number | void { return this.inner.process(ptr, count, stride); }
  onWatermark(watermarkNs: bigint): void { this.inner.onWatermark(watermarkNs); }

  output(): { ptr: number; count: number } {
    const { ptr, count } = this.inner.output();
    if (count > this.seen) this.select(ptr, this.seen, count);
    return { ptr, count: this.kept };
  }

  clearOutput(): void {
    this.inner.clearOutput();
    this.seen = 0;
    this.kept = 0;
  }

  /** Evaluates outputs [from, to) in chunks and moves the ones emitted down to `kept`. */
  private select(ptr: number, from: number, to: number): void {
    const buf = this.memory.buffer;
    const u8 = new Uint8Array(buf), dv = new DataView(buf), f64 = new Float64Array(buf);
    const s = this.scratch;
    for (let c = from; c < to; c += CHUNK) {
      const n = Math.min(CHUNK, to - c);
      for (let j = 0; j < n; j++) {
        const out = ptr + (c + j) * OUT_BYTES, rec = s + j * STRIDE;
        u8.fill(0, rec, rec + IN_FIELDS);
        u8.copyWithin(rec, out + OUT_START, out + OUT_START + 8);
        u8.copyWithin(rec + IN_FIELDS, out + OUT_VALUES, out + OUT_VALUES + 8 * 11);
        f64[(rec + IN_FIELDS + 8 * AGG.stddev_samp) >>> 3] = Math.sqrt(f64[(rec + IN_FIELDS + 8 * AGG.var_samp) >>> 3]);
      }
      this.run.run(s, n, STRIDE);
      for (let j = 0; j < n; j++) {
        const out = ptr + (c + j) * OUT_BYTES;
        const holds = f64[(s + j * STRIDE + IN_FIELDS + 8 * FLAG) >>> 3] === 1;
        const kind = dv.getUint32(out + OUT_KIND, true);
        if (kind === OUT_WINDOW && !holds) { this.suppressed++; continue; }
        if (kind === OUT_REVISION && !holds) dv.setUint32(out + OUT_AUX, (dv.getUint32(out + OUT_AUX, true) | RETRACT) >>> 0, true);
        const dst = ptr + this.kept * OUT_BYTES;
        if (dst !== out) u8.copyWithin(dst, out, out + OUT_BYTES);
        this.kept++;
      }
    }
    this.seen = to;
  }

  snapshot(): Uint8Array { return this.inner.snapshot(); }
  restore(bytes: Uint8Array): void { this.inner.restore(bytes); }
  stats(): { keys: number; bytes: number; evictions: number; late: number; dropped?: number } { return this.inner.stats(); }
  close(): void { this.inner.close(); }
}
