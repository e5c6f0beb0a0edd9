// The field references an operator config makes (`price`, `vol_1m.sum`), with
// where each sits in the operator, for checks that look at all of them.
import { descriptorOf } from '../operators/index.js';
import type { OperatorConfig } from './types.js';

export function operatorRefs(o: OperatorConfig): Array<{ path: (string | number)[]; ref: string }> {
  return descriptorOf(o.type).reads(o).map((r) => ({ path: r.path, ref: r.ref }));
}
