// Builds a partition's operators from serialisable configs, inside the worker
// that owns the partition memory. A config is plain data (it crosses
// postMessage); the factory registered for its `kind` creates the engine on
// the worker's memory, instance and RegionAllocator.
//
// The table is the operator list's (host/operators/index.ts: each descriptor
// brings its kinds and factories); registerOperator adds more (tests register
// `keysum` by importing test/helpers/keysum.ts).
import type { Operator } from './operator.js';
import { OPERATORS } from './index.js';
import type { OperatorConfig, OperatorContext, OperatorFactory } from './descriptor.js';
import { scoped, type ScopeConfig } from './scope.js';

export { toNs, type OperatorConfig, type OperatorContext, type OperatorFactory } from './descriptor.js';

const factories = new Map<string, OperatorFactory>();

export function registerOperator(kind: string, factory: OperatorFactory): void {
  if (factories.has(kind)) throw new Error(`operator kind '${kind}' is already registered`);
  factories.set(kind, factory);
}

export function operatorKinds(): string[] {
  return [...factories.keys()].sort();
}

export function createOperator(config: OperatorConfig, ctx: OperatorContext): Operator {
  const factory = factories.get(config.kind);
  if (!factory) throw new Error(`unknown operator kind '${config.kind}' (known: ${operatorKinds().join(', ')})`);
  if (!config.scope) return factory(config, ctx);
  // The operator's own `where` is the partition's business, not the operator's (host/operators/scope.ts).
  const { scope, ...own } = config;
  return scoped(factory(own as OperatorConfig, ctx), scope as ScopeConfig, ctx);
}

for (const d of OPERATORS) for (const [kind, factory] of Object.entries(d.kinds)) registerOperator(kind, factory);
