// Watermarks per input stream and per operator, for a partition whose
// operators read different streams (host/partition/runner.ts).
//
// Each stream's watermark comes from its own event-time settings (computed on
// the ingest side, host/pipeline/pipeline.ts). An operator's watermark is the
// minimum over the streams it reads, as in Flink's TwoInputStreamOperator
// (processWatermark1/2 → min), and it is told only when that advances.
//
// Idleness (Flink's rule): a stream marked idle (no input for its
// idle_timeout; the ingest side sends its watermark with FLAG_IDLE) does not
// hold an operator back: the minimum is taken over the operator's active
// inputs. When all its inputs are idle, the operator follows the furthest of
// them. A stream that sends a watermark without the idle flag is active again;
// the operator's watermark never goes back, so its events behind it are late.
const MIN = -(1n << 63n);

export class InputWatermarks {
  private readonly stream: bigint[];
  private readonly idle: boolean[];
  private readonly operator: bigint[];
  /** Per stream, the operators reading it. */
  private readonly readers: number[][];

  constructor(streams: number, private readonly inputs: number[][]) {
    this.stream = new Array<bigint>(streams).fill(MIN);
    this.idle = new Array<boolean>(streams).fill(false);
    this.operator = inputs.map(() => MIN);
    this.readers = Array.from({ length: streams }, () => []);
    inputs.forEach((list, op) => { for (const s of new Set(list)) this.readers[s].push(op); });
  }

  /** Stream `s` reached `ts` (or went idle): `fire(op, wm)` for each operator whose watermark advanced, in pipeline order. */
  advance(s: number, ts: bigint, idle: boolean, fire: (op: number, watermark: bigint) => void): void {
    if (ts > this.stream[s]) this.stream[s] = ts;
    this.idle[s] = idle;
    for (const op of this.readers[s]) {
      const wm = this.combined(op);
      if (wm > this.operator[op]) {
        this.operator[op] = wm;
        fire(op, wm);
      }
    }
  }

  /** The operator's watermark as its inputs stand now. */
  combined(op: number): bigint {
    let min: bigint | undefined, max = MIN;
    for (const s of this.inputs[op]) {
      const w = this.stream[s];
      if (w > max) max = w;
      if (!this.idle[s] && (min === undefined || w < min)) min = w;
    }
    return min ?? max;
  }

  watermarkOf(op: number): bigint {
    return this.operator[op];
  }
}
