// The fields each operator sees: its input stream's schema fields, then the
// fields that derive operators before it on that stream write (in pipeline
// order). The record layout puts those derived slots right after the schema
// fields (host/pipeline/plan.ts), so a field's slot is its index in `all`
// here, for the schema fields and the derived ones alike.
import { descriptorOf } from '../operators/index.js';
import { operatorInputs, streamFields, streamsOf } from './streams.js';
import { eventFields, type EventFields, type PipelineConfig } from './types.js';

/** One field an operator writes into the records for the operators after it. */
export interface WrittenField {
  name: string;
  type: 'double' | 'string';
}

/**
 * Per operator (by index), the fields of its first input stream as it sees
 * them: schema fields plus what earlier operators on that stream derived.
 * Also, per stream, every derived field in record order.
 */
export function fieldsSeen(config: PipelineConfig): { perOperator: EventFields[]; derived: WrittenField[][] } {
  const streams = streamsOf(config).map((_, i) => (i === 0 ? eventFields(config) : streamFields(config, i)));
  const current = streams.map((f) => ({ ...f, all: [...f.all], numbers: [...f.numbers], strings: [...f.strings] }));
  const derived: WrittenField[][] = streams.map(() => []);
  const perOperator = config.operators.map((o) => {
    const s = o ? operatorInputs(config, o)[0] : 0;
    const seen = current[s] ?? current[0];
    const snapshot = { ...seen, all: [...seen.all], numbers: [...seen.numbers], strings: [...seen.strings] };
    const d = o ? descriptorOf(o.type) : undefined;
    for (const w of d?.writes?.(o, snapshot) ?? []) {
      if (seen.all.includes(w.name) || w.name === seen.time) continue; // reported by the semantic checks
      seen.all.push(w.name);
      (w.type === 'string' ? seen.strings : seen.numbers).push(w.name);
      derived[s]?.push(w);
    }
    return snapshot;
  });
  return { perOperator, derived };
}
