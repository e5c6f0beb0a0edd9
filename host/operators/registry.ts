// Builds a partition's operators from serialisable configs, inside the worker
// that owns the partition memory. A config is plain data (it crosses
// postMessage); the factory registered for its `kind` creates the engine on
// the worker's memory, instance and RegionAllocator.
//
// Operator files register themselves here: add one line to BUILTIN below
// (or call registerOperator from a module the worker imports).
import type { Engine, Operator } from './operator.js';
import type { GanglionExports, RegionAllocator } from '../wasm/module.js';
import { createKeySum } from '../partition/keysum.js';
import { createTreeEnsembleOperator } from './tree_ensemble.js';
import { TumblingWindow, type TumblingWindowConfig } from './tumbling_window.js';
import { createZScore, type ZScoreOptions } from './zscore.js';
import { createLimitCheck, type LimitCheckOptions } from './limit_check.js';

export interface OperatorConfig {
  /** Registry key, e.g. 'keysum', 'tumbling'. */
  kind: string;
  /** Everything else is the operator's own configuration. */
  [option: string]: unknown;
}

export interface OperatorContext {
  /** Operator index within the pipeline (written into every output record). */
  op: number;
  partition: number;
  engine: Engine;
  memory: WebAssembly.Memory;
  exports: GanglionExports;
  alloc: RegionAllocator;
  /** Input record layout: stride = 24 + 8·fieldCount (host/records.ts). */
  fieldCount: number;
  stride: number;
  /** Most records one process() call receives: size output areas for it. */
  maxBatch: number;
}

export type OperatorFactory = (config: OperatorConfig, ctx: OperatorContext) => Operator;

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
  return factory(config, ctx);
}

/** Durations in configs arrive as bigint, integer number or digit string (JSON has no bigint). */
export function toNs(name: string, v: unknown): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new Error(`${name} must be an integer number of nanoseconds, got ${JSON.stringify(String(v))}`);
}

/**
 * Event time in a partitioned pipeline: 'broadcast' (default) means the
 * window's own watermark never advances (out-of-orderness 2^62) and it follows
 * only the watermarks the ingest side broadcasts (host/partition/control.ts),
 * which is what keeps N-partition output equal to the 1-partition run.
 * 'local' keeps the operator's own max-ts − outOfOrderNs watermark.
 */
const EXTERNAL_ONLY = 1n << 62n;

function createTumbling(config: OperatorConfig, ctx: OperatorContext) {
  const local = config.eventTime === 'local';
  if (config.eventTime !== undefined && config.eventTime !== 'local' && config.eventTime !== 'broadcast') {
    throw new Error(`tumbling op ${ctx.op}: eventTime must be 'broadcast' or 'local', got ${JSON.stringify(config.eventTime)}`);
  }
  const c: TumblingWindowConfig = {
    ...(config as unknown as TumblingWindowConfig),
    sizeNs: toNs('sizeNs', config.sizeNs)!,
    offsetNs: toNs('offsetNs', config.offsetNs),
    outOfOrderNs: local ? toNs('outOfOrderNs', config.outOfOrderNs) : EXTERNAL_ONLY,
    allowedLatenessNs: toNs('allowedLatenessNs', config.allowedLatenessNs),
    idleTimeoutNs: toNs('idleTimeoutNs', config.idleTimeoutNs),
    maxBatch: ctx.maxBatch,
  };
  return new TumblingWindow(ctx.engine, ctx, ctx.op, c);
}

function createZScoreOperator(config: OperatorConfig, ctx: OperatorContext) {
  const o = config as unknown as ZScoreOptions;
  return createZScore(ctx.engine, ctx, {
    ...o, op: ctx.op, fieldCount: ctx.fieldCount,
    ttlNs: toNs('ttlNs', config.ttlNs),
    outputCapacity: o.outputCapacity ?? Math.max(4096, ctx.maxBatch),
  });
}

function createLimitCheckOperator(config: OperatorConfig, ctx: OperatorContext) {
  const o = config as unknown as LimitCheckOptions;
  return createLimitCheck(ctx.engine, ctx, {
    ...o, op: ctx.op, fieldCount: ctx.fieldCount,
    ttlNs: toNs('ttlNs', config.ttlNs),
    outputCapacity: o.outputCapacity ?? Math.max(4096, ctx.maxBatch),
  });
}

const BUILTIN: Array<[string, OperatorFactory]> = [
  ['keysum', createKeySum],
  ['tumbling', createTumbling],
  ['zscore', createZScoreOperator],
  ['limit', createLimitCheckOperator],
  ['tree_ensemble', createTreeEnsembleOperator],
];
for (const [kind, factory] of BUILTIN) registerOperator(kind, factory);
