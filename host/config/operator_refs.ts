// The field references an operator config makes (`price`, `vol_1m.sum`), with
// where each sits in the operator, for checks that look at all of them.
import type { OperatorConfig } from './types.js';

export function operatorRefs(o: OperatorConfig): Array<{ path: (string | number)[]; ref: string }> {
  switch (o.type) {
    case 'window': return [
      ...(o.field === undefined ? [] : [{ path: ['field'], ref: o.field }]),
      ...(o.weight === undefined ? [] : [{ path: ['weight'], ref: o.weight }]),
    ];
    case 'zscore': case 'limit': return [{ path: ['field'], ref: o.field }];
    case 'model': return o.features.map((ref, j) => ({ path: ['features', j], ref }));
  }
  return [];
}
