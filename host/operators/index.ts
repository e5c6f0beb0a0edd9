// The operator list: one line per operator type a pipeline file may use. It
// drives the YAML schema (host/config/schema.ts builds the operator union from
// it), the semantic checks, planning, the partition registry, output
// formatting and alert classification (host/operators/outputs.ts) and
// `ganglion explain`. Adding an operator = its folder + one line here.
import type { OperatorDescriptor, OperatorYaml } from './descriptor.js';
import { windowDescriptor } from './window/descriptor.js';
import { zscoreDescriptor } from './zscore/descriptor.js';
import { limitDescriptor } from './limit/descriptor.js';
import { modelDescriptor } from './model/descriptor.js';
import { dedupDescriptor } from './dedup/descriptor.js';
import { filterDescriptor } from './filter/descriptor.js';
import { deriveDescriptor } from './derive/descriptor.js';
import { overDescriptor } from './over/descriptor.js';

export const OPERATORS = [
  windowDescriptor,
  zscoreDescriptor,
  limitDescriptor,
  modelDescriptor,
  dedupDescriptor,
  filterDescriptor,
  deriveDescriptor,
  overDescriptor,
] as const;

/** Every operator entry a pipeline file may hold, validated with defaults applied. */
export type OperatorYamlConfig = (typeof OPERATORS)[number] extends infer D ? D extends OperatorDescriptor<infer C> ? C : never : never;

const BY_TYPE = new Map<string, OperatorDescriptor<OperatorYaml>>(OPERATORS.map((d) => [d.type, d as unknown as OperatorDescriptor<OperatorYaml>]));

/** The descriptor of a YAML operator type (the config was validated, so it exists). */
export function descriptorOf(type: string): OperatorDescriptor<OperatorYaml> {
  const d = BY_TYPE.get(type);
  if (!d) throw new Error(`unknown operator type '${type}' (known: ${[...BY_TYPE.keys()].join(', ')})`);
  return d;
}
