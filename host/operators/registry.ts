// Builds a partition's operators from serialisable configs, inside the worker
// that owns the partition memory. A config is plain data (it crosses
// postMessage); the factory registered for its `kind` creates the engine on
// the worker's memory, instance and RegionAllocator.
//
// Operator files register themselves here: add one line to BUILTIN below
// (or call registerOperator from a module the worker imports).
import type { Engine, Operator } from './operator.js';
import type { GanglionExports, RegionAllocator } from '../wasm/module.js';
import { createTreeEnsembleOperator } from './tree_ensemble.js';
import { TumblingWindow, type TumblingWindowConfig } from './tumbling_window.js';
import { SlidingWindow, type SlidingWindowConfig } from './sliding_window.js';
import { SessionWindow, type SessionWindowConfig } from './session_window.js';
import { CountWindow } from './count_window.js';
import { aggMaskOf, type WindowCommonConfig } from './event_time.js';
import { createZScore, type ZScoreOptions } from './zscore.js';
import { createLimitCheck, type LimitCheckOptions } from './limit_check.js';
import { createDedup, type DedupOptions } from './dedup.js';

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

/** Event-time mode shared by the event-time windows (see EXTERNAL_ONLY). */
function outOfOrderFor(kind: string, config: OperatorConfig, ctx: OperatorContext): bigint | undefined {
  if (config.eventTime !== undefined && config.eventTime !== 'local' && config.eventTime !== 'broadcast') {
    throw new Error(`${kind} op ${ctx.op}: eventTime must be 'broadcast' or 'local', got ${JSON.stringify(config.eventTime)}`);
  }
  return config.eventTime === 'local' ? toNs('outOfOrderNs', config.outOfOrderNs) : EXTERNAL_ONLY;
}

/**
 * What every window kind takes from a config (unknown keys such as `name`
 * are ignored). Only the `aggregates` listed are maintained (see
 * assembly/aggregates.ts); the others come out as NaN. Enrichment fields must exist in this pipeline's records:
 * a window writes them in place.
 */
function windowCommon(kind: string, config: OperatorConfig, ctx: OperatorContext): WindowCommonConfig {
  const enrich = config.enrich as Array<{ aggregate: number; field: number }> | undefined;
  if (Array.isArray(enrich)) {
    for (const e of enrich) {
      if (e && Number.isInteger(e.field) && e.field >= ctx.fieldCount) {
        throw new Error(`${kind} op ${ctx.op}: enrichment field ${e.field} is outside the record's ${ctx.fieldCount} fields`);
      }
    }
  }
  return {
    valueField: config.valueField as number,
    priceField: config.priceField as number | undefined,
    qtyField: config.qtyField as number | undefined,
    capacity: config.capacity as number,
    allowedLatenessNs: toNs('allowedLatenessNs', config.allowedLatenessNs),
    idleTimeoutNs: toNs('idleTimeoutNs', config.idleTimeoutNs),
    enrich,
    maxBatch: ctx.maxBatch,
    // `aggregates` (AGG names, as a pipeline lists them) or a raw `aggMask`;
    // neither = every aggregate.
    aggMask: Array.isArray(config.aggregates) ? aggMaskOf(config.aggregates as string[]) : config.aggMask as number | undefined,
  };
}

function createTumbling(config: OperatorConfig, ctx: OperatorContext) {
  const c: TumblingWindowConfig = {
    ...windowCommon('tumbling', config, ctx),
    sizeNs: toNs('sizeNs', config.sizeNs)!,
    offsetNs: toNs('offsetNs', config.offsetNs),
    outOfOrderNs: outOfOrderFor('tumbling', config, ctx),
  };
  return new TumblingWindow(ctx.engine, ctx, ctx.op, c);
}

function createSliding(config: OperatorConfig, ctx: OperatorContext) {
  const c: SlidingWindowConfig = {
    ...windowCommon('sliding', config, ctx),
    sizeNs: toNs('sizeNs', config.sizeNs)!,
    slideNs: toNs('slideNs', config.slideNs)!,
    offsetNs: toNs('offsetNs', config.offsetNs),
    outOfOrderNs: outOfOrderFor('sliding', config, ctx),
  };
  return new SlidingWindow(ctx.engine, ctx, ctx.op, c);
}

/** Most open sessions per key a broadcast-driven session window makes room for. */
const BROADCAST_SESSIONS_CAP = 16;

function createSession(config: OperatorConfig, ctx: OperatorContext) {
  const c: SessionWindowConfig = {
    ...windowCommon('session', config, ctx),
    gapNs: toNs('gapNs', config.gapNs)!,
    outOfOrderNs: outOfOrderFor('session', config, ctx),
  };
  if (config.maxSessionsPerKey !== undefined) c.maxSessionsPerKey = config.maxSessionsPerKey as number;
  else if (config.eventTime !== 'local' && typeof c.gapNs === 'bigint' && c.gapNs > 0n) {
    // Broadcast: the window's own out-of-orderness is 2^62, so the proven bound
    // (outOfOrder + lateness) / gap + 2 is useless. Events run ahead of the last
    // broadcast by about the pipeline's out-of-orderness (`outOfOrderNs` here, if
    // the planner passes it) plus the broadcast interval: two sessions of slack.
    const ooo = toNs('outOfOrderNs', config.outOfOrderNs) ?? 0n;
    const lateness = c.allowedLatenessNs ?? 0n;
    const bound = (ooo + lateness) / c.gapNs + 4n;
    c.maxSessionsPerKey = Number(bound < BigInt(BROADCAST_SESSIONS_CAP) ? bound : BigInt(BROADCAST_SESSIONS_CAP));
  }
  return new SessionWindow(ctx.engine, ctx, ctx.op, c);
}

function createCount(config: OperatorConfig, ctx: OperatorContext) {
  const count = config.count ?? config.size;
  if (!Number.isInteger(count) || (count as number) < 1) throw new Error(`count op ${ctx.op}: count must be a positive integer number of events, got ${JSON.stringify(count)}`);
  if (config.countSlide !== undefined && config.countSlide !== count) {
    throw new Error(`count op ${ctx.op}: sliding count windows are not supported (countSlide ${JSON.stringify(config.countSlide)} ≠ count ${count}); use countSlide = count (tumbling count windows) or an event-time sliding window`);
  }
  return new CountWindow(ctx.engine, ctx, ctx.op, { ...windowCommon('count', config, ctx), size: count as number });
}

/** A region operator's (z-score, limit check) options: the config's, with what the partition decides. */
function regionOptions<O extends { outputCapacity?: number }>(config: OperatorConfig, ctx: OperatorContext): O {
  const o = config as unknown as O;
  return {
    ...o, op: ctx.op, fieldCount: ctx.fieldCount,
    ttlNs: toNs('ttlNs', config.ttlNs),
    outputCapacity: o.outputCapacity ?? Math.max(4096, ctx.maxBatch),
  } as O;
}

function createZScoreOperator(config: OperatorConfig, ctx: OperatorContext) {
  return createZScore(ctx.engine, ctx, regionOptions<ZScoreOptions>(config, ctx));
}

function createLimitCheckOperator(config: OperatorConfig, ctx: OperatorContext) {
  return createLimitCheck(ctx.engine, ctx, regionOptions<LimitCheckOptions>(config, ctx));
}

function createDedupOperator(config: OperatorConfig, ctx: OperatorContext) {
  const o = config as unknown as DedupOptions;
  return createDedup(ctx.engine, ctx, { op: ctx.op, fieldCount: ctx.fieldCount, field: o.field, ttlNs: toNs('ttlNs', config.ttlNs)!, ...(o.capacity === undefined ? {} : { capacity: o.capacity }) });
}

const BUILTIN: Array<[string, OperatorFactory]> = [
  ['tumbling', createTumbling],
  ['sliding', createSliding],
  ['session', createSession],
  ['count', createCount],
  ['zscore', createZScoreOperator],
  ['limit', createLimitCheckOperator],
  ['tree_ensemble', createTreeEnsembleOperator],
  ['dedup', createDedupOperator],
];
for (const [kind, factory] of BUILTIN) registerOperator(kind, factory);
