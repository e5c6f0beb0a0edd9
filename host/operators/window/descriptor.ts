// `type: window` (tumbling, sliding, cumulate, session and count windows): one YAML
// type, five registry kinds, one per window shape. Docs: docs/operators/windows.md.
import { z } from 'zod';
import { duration, name, positiveInt } from '../../config/primitives.js';
import { MAX_SESSIONS_PER_KEY, capacityFor, statesPerKey } from '../../config/window_sizing.js';
import { formatDuration } from '../../config/units.js';
import { eventHead, isoNs, num, outputId } from '../../output/json.js';
import { AGGREGATE_NAMES, aggregateValue, OUT_LATE, OUT_REVISION, OUT_WINDOW } from '../../records.js';
import { defineOperator, toNs, type OperatorConfig, type OperatorContext } from '../descriptor.js';
import { aggMaskOf, type WindowCommonConfig } from './event_time.js';
import { TumblingWindow, type TumblingWindowConfig } from './tumbling_window.js';
import { CumulateWindow, SlidingWindow, type CumulateWindowConfig, type SlidingWindowConfig } from './sliding_window.js';
import { SessionWindow, type SessionWindowConfig } from './session_window.js';
import { CountWindow } from './count_window.js';
import { HavingWindow, havingProgram, RETRACT } from './having.js';
import { ExprError } from '../../expr/parse.js';
import type { Operator } from '../operator.js';

export const WINDOW_TYPES = ['tumbling', 'sliding', 'session', 'count', 'cumulate'] as const;

const schema = z
  .strictObject({
    type: z.literal('window'),
    name,
    window: z.enum(WINDOW_TYPES),
    size: duration.optional(),
    slide: duration.optional(),
    /** cumulate windows: the window end advances by `step` up to `size` (Flink CUMULATE(..., step, size)). */
    step: duration.optional(),
    gap: duration.optional(),
    /** count windows: events per window (and `count_slide` events between starts; default = count). */
    count: positiveInt.optional(),
    count_slide: positiveInt.optional(),
    field: name.optional(),
    /** VWAP's volume: the aggregate is Σ(field·weight)/Σ(weight). */
    weight: name.optional(),
    aggregates: z.array(z.enum(AGGREGATE_NAMES)).min(1, 'expected at least one aggregate'),
    /** Most live (key, window) states per partition; past it events go to the late output (reason state_evicted). */
    capacity: positiveInt.default(16384),
    /** HAVING: a condition over this window's aggregates (e.g. "count > 5 AND mean > 100"); outputs it is not TRUE for are not emitted (having.ts). */
    having: z.string({ error: 'expected a condition as a string, e.g. "count > 5"' }).min(1, 'expected a condition, e.g. "count > 5"').optional(),
  })
  .superRefine((w, ctx) => {
    const need = (key: 'size' | 'slide' | 'gap' | 'count' | 'step', why: string) => {
      if (w[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `expected ${key} (${why})`, params: { missing: true } });
    };
    const forbid = (key: 'size' | 'slide' | 'gap' | 'count' | 'count_slide' | 'step') => {
      if (w[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `expected no ${key}: ${w.window} windows do not use it` });
    };
    if (w.window === 'tumbling') { need('size', 'a tumbling window needs a size'); forbid('slide'); forbid('gap'); forbid('count'); forbid('count_slide'); }
    if (w.window === 'sliding') {
      need('size', 'a sliding window needs a size'); need('slide', 'a sliding window needs a slide'); forbid('gap'); forbid('count'); forbid('count_slide');
      if (w.size !== undefined && w.slide !== undefined) {
        if (w.slide <= 0n || w.slide > w.size) ctx.addIssue({ code: 'custom', path: ['slide'], message: 'expected a slide greater than 0 and at most the size' });
        else if (w.size % w.slide !== 0n) ctx.addIssue({ code: 'custom', path: ['slide'], message: 'expected a slide that divides the size evenly (sliding windows are built from panes of one slide)' });
      }
    }
    if (w.window !== 'cumulate') forbid('step');
    if (w.window === 'cumulate') {
      need('size', 'a cumulate window grows up to its size'); need('step', 'a cumulate window\'s end advances by its step'); forbid('slide'); forbid('gap'); forbid('count'); forbid('count_slide');
      if (w.size !== undefined && w.step !== undefined) {
        if (w.step <= 0n || w.step > w.size) ctx.addIssue({ code: 'custom', path: ['step'], message: 'expected a step greater than 0 and at most the size' });
        else if (w.size % w.step !== 0n) ctx.addIssue({ code: 'custom', path: ['step'], message: 'expected a step that divides the size evenly (a cumulate window grows by whole steps)' });
        else if (w.size / w.step > 256n) ctx.addIssue({ code: 'custom', path: ['step'], message: `expected at most 256 steps per window, found ${w.size / w.step} (size / step)` });
      }
    }
    if (w.window === 'session') { need('gap', 'a session window closes after a gap'); forbid('size'); forbid('slide'); forbid('count'); forbid('count_slide'); }
    if (w.window === 'count') { need('count', 'a count window needs a count'); forbid('size'); forbid('slide'); forbid('gap'); }
    if ((w.window === 'tumbling' || w.window === 'sliding' || w.window === 'cumulate') && w.size === 0n) ctx.addIssue({ code: 'custom', path: ['size'], message: 'expected a size greater than 0' });
    if (w.window === 'session' && w.gap === 0n) ctx.addIssue({ code: 'custom', path: ['gap'], message: 'expected a gap greater than 0' });
    const needsField = w.aggregates.some((a) => a !== 'count');
    if (needsField && w.field === undefined) ctx.addIssue({ code: 'custom', path: ['field'], message: `expected field (the value that ${w.aggregates.filter((a) => a !== 'count').join(', ')} aggregate)`, params: { missing: true } });
    if (w.aggregates.includes('vwap') && w.weight === undefined) ctx.addIssue({ code: 'custom', path: ['weight'], message: 'expected weight (vwap needs the volume field, e.g. weight: qty)', params: { missing: true } });
  });

export type WindowYaml = z.output<typeof schema>;

/** `aux` of a late record: why the event was not counted. */
export const LATE_REASONS: Record<number, string> = {
  0: 'beyond_allowed_lateness',
  1: 'beyond_allowed_lateness',
  2: 'state_evicted',
};

// ── registry factories ──────────────────────────────────────────────────────

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
 * assembly/shared/aggregates.ts); the others come out as NaN. Enrichment fields must exist in this pipeline's records:
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
  return withHaving(new TumblingWindow(ctx.engine, ctx, ctx.op, c), config, ctx);
}

function createSliding(config: OperatorConfig, ctx: OperatorContext) {
  const c: SlidingWindowConfig = {
    ...windowCommon('sliding', config, ctx),
    sizeNs: toNs('sizeNs', config.sizeNs)!,
    slideNs: toNs('slideNs', config.slideNs)!,
    offsetNs: toNs('offsetNs', config.offsetNs),
    outOfOrderNs: outOfOrderFor('sliding', config, ctx),
  };
  return withHaving(new SlidingWindow(ctx.engine, ctx, ctx.op, c), config, ctx);
}

function createCumulate(config: OperatorConfig, ctx: OperatorContext) {
  const c: CumulateWindowConfig = {
    ...windowCommon('cumulate', config, ctx),
    stepNs: toNs('stepNs', config.stepNs)!,
    maxSizeNs: toNs('maxSizeNs', config.maxSizeNs ?? config.sizeNs)!,
    offsetNs: toNs('offsetNs', config.offsetNs),
    outOfOrderNs: outOfOrderFor('cumulate', config, ctx),
  };
  return withHaving(new CumulateWindow(ctx.engine, ctx, ctx.op, c), config, ctx);
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
  return withHaving(new SessionWindow(ctx.engine, ctx, ctx.op, c), config, ctx);
}

function createCount(config: OperatorConfig, ctx: OperatorContext) {
  const count = config.count ?? config.size;
  if (!Number.isInteger(count) || (count as number) < 1) throw new Error(`count op ${ctx.op}: count must be a positive integer number of events, got ${JSON.stringify(count)}`);
  if (config.countSlide !== undefined && config.countSlide !== count) {
    throw new Error(`count op ${ctx.op}: sliding count windows are not supported (countSlide ${JSON.stringify(config.countSlide)} ≠ count ${count}); use countSlide = count (tumbling count windows) or an event-time sliding window`);
  }
  return withHaving(new CountWindow(ctx.engine, ctx, ctx.op, { ...windowCommon('count', config, ctx), size: count as number }), config, ctx);
}

/** The window itself, or, with a `having` condition, the window behind HAVING (having.ts). */
function withHaving(w: Operator, config: OperatorConfig, ctx: OperatorContext): Operator {
  if (config.having === undefined) return w;
  const aggregates = Array.isArray(config.aggregates) ? config.aggregates as string[] : AGGREGATE_NAMES;
  return new HavingWindow(w, ctx.engine, ctx, havingProgram(String(config.having), aggregates));
}

// ── the descriptor ──────────────────────────────────────────────────────────

const MAX_OPEN_SESSIONS = BigInt(MAX_SESSIONS_PER_KEY);
const d = (ns: bigint) => formatDuration(ns);

function fmtNs(ns: bigint): string {
  return ns % 1_000_000n === 0n ? `${ns / 1_000_000n}ms` : `${ns}ns`;
}

export const windowDescriptor = defineOperator<WindowYaml>({
  type: 'window',
  schema,
  docs: 'docs/operators/windows.md',
  outputs: [
    { kind: 'window', code: OUT_WINDOW, alert: 'never' },
    { kind: 'revision', code: OUT_REVISION, alert: 'never' },
    { kind: 'late', code: OUT_LATE, alert: 'never' },
  ],
  kinds: { tumbling: createTumbling, sliding: createSliding, session: createSession, count: createCount, cumulate: createCumulate },

  reads: (w) => [
    ...(w.field === undefined ? [] : [{ path: ['field'], ref: w.field, accepts: 'number' as const }]),
    ...(w.weight === undefined ? [] : [{ path: ['weight'], ref: w.weight, accepts: 'number' as const }]),
  ],
  enrichment: (w) => w.aggregates,

  check(w, ctx) {
    if (w.having !== undefined) {
      try {
        havingProgram(w.having, w.aggregates);
      } catch (e) {
        if (!(e instanceof ExprError)) throw e;
        ctx.add(['having'], `${e.message} (at column ${e.pos.offset + 1} of the condition; it may name this window's aggregates: ${w.aggregates.join(', ')})\n  ${w.having}\n  ${' '.repeat(e.pos.offset)}${'^'.repeat(Math.max(1, Math.min(e.pos.end, w.having.length) - e.pos.offset))}`);
      }
    }
    if (w.window === 'session' && w.gap !== undefined && w.gap > 0n) {
      // A key holds up to (out_of_orderness + allowed_lateness) / gap + 2 open
      // sessions at once (assembly/operators/session_window.ts); each gets room up
      // front so no in-order event is ever refused, up to MAX_OPEN_SESSIONS.
      const span = ctx.eventTime.out_of_orderness + ctx.eventTime.allowed_lateness;
      const open = span / w.gap + 2n;
      if (open > MAX_OPEN_SESSIONS) {
        // Smallest gap with span / gap < MAX - 1, rounded up to a millisecond.
        const least = ((span / (MAX_OPEN_SESSIONS - 1n) + 1n + 999_999n) / 1_000_000n) * 1_000_000n;
        ctx.add(['gap'], `expected a gap of at least ${fmtNs(least)} with out_of_orderness + allowed_lateness = ${fmtNs(span)}: a key could hold ${open} open sessions at once, at most ${MAX_OPEN_SESSIONS} are supported (or lower allowed_lateness)`, fmtNs(w.gap));
      }
    }
    // A synthetic source says how many keys the pipeline sees: the window must
    // hold all of them (window_sizing.ts), or it refuses live keys' events as
    // late (state_evicted) and the shipped numbers are wrong.
    if (ctx.keys) {
      const { count: keys, from, partitions } = ctx.keys;
      const per = statesPerKey(w, ctx.eventTime);
      const need = capacityFor(keys, per, partitions);
      if (w.capacity < need) {
        const what = w.window === 'sliding' ? `${per} panes ((size + allowed_lateness + out_of_orderness) / pane + 2)` : w.window === 'cumulate' ? `${per} panes ((size + allowed_lateness + out_of_orderness) / step + 2)` : w.window === 'tumbling' ? `${per} windows ((size + allowed_lateness + out_of_orderness) / size + 2)` : 'one state';
        ctx.add(['capacity'], `expected a capacity of at least ${need}: ${from}${partitions > 1 ? ` over ${partitions} partitions` : ''} and each key holds up to ${what}; with less, live keys' events are refused as late (state_evicted)`, String(w.capacity));
      }
    }
  },

  plan(w, ctx) {
    const value = w.field === undefined ? 0 : ctx.field(w.field);
    const common = {
      name: w.name,
      valueField: value,
      ...(w.aggregates.includes('vwap') && w.weight !== undefined ? { priceField: value, qtyField: ctx.field(w.weight) } : {}),
      capacity: w.capacity,
      allowedLatenessNs: ctx.eventTime.allowed_lateness,
      // Per-event watermark (max event time so far − out_of_orderness) in
      // each window, so lateness is decided per event in input order and
      // never by how the input was cut into frames or chunks; the ingest
      // side tops up partitions that lag the global maximum
      // (PartitionSet catch-up), so N partitions equal one.
      eventTime: 'local',
      outOfOrderNs: ctx.eventTime.out_of_orderness,
      enrich: ctx.enrichment(),
      aggregates: w.aggregates,
      ...(w.having === undefined ? {} : { having: w.having }),
    };
    switch (w.window) {
      case 'tumbling': return { kind: 'tumbling', ...common, sizeNs: w.size! };
      case 'sliding': return { kind: 'sliding', ...common, sizeNs: w.size!, slideNs: w.slide! };
      case 'cumulate': return { kind: 'cumulate', ...common, maxSizeNs: w.size!, stepNs: w.step! };
      case 'session': return { kind: 'session', ...common, gapNs: w.gap! };
      case 'count': return { kind: 'count', ...common, count: w.count!, countSlide: w.count_slide ?? w.count! };
    }
  },

  meta: (w) => ({ name: w.name, type: 'window', aggregates: w.aggregates, window: w.window }),

  format(r, kind, meta, env) {
    if (kind === 'late') {
      const fields: Record<string, number | null> = {};
      env.fields.forEach((f, i) => { if (i < r.values.length) fields[f] = num(r.values[i]); });
      return { ...eventHead(meta.name, kind, env.key, r), reason: LATE_REASONS[r.aux] ?? `code_${r.aux}`, fields, seq: r.seq.toString() };
    }
    const values: Record<string, number | null> = {};
    for (const a of meta.aggregates ?? []) values[a] = num(aggregateValue(r.values, a));
    const revision = kind === 'revision' ? (r.aux & ~RETRACT) >>> 0 : undefined;
    const retract = kind === 'revision' && (r.aux & RETRACT) !== 0;
    return {
      // The windows of one cumulate period share their start: the id names the end too.
      id: outputId(meta.name, kind, env.key, meta.window === 'cumulate' ? `${r.start}-${r.end}` : r.start, r.seq, revision),
      kind,
      op: meta.name,
      key: env.key,
      window: { start: isoNs(r.start), end: isoNs(r.end), start_ns: r.start.toString(), end_ns: r.end.toString() },
      ...(revision === undefined ? {} : { revision }),
      ...(retract ? { retract: true } : {}),
      values,
      seq: r.seq.toString(),
    };
  },

  summary(w) {
    const shape = w.window === 'tumbling' ? `tumbling ${d(w.size!)}`
      : w.window === 'sliding' ? `sliding ${d(w.size!)} every ${d(w.slide!)}`
        : w.window === 'cumulate' ? `cumulate up to ${d(w.size!)} every ${d(w.step!)}`
        : w.window === 'session' ? `session, gap ${d(w.gap!)}`
          : `count ${w.count}${w.count_slide && w.count_slide !== w.count ? ` every ${w.count_slide}` : ''}`;
    return `${shape}: ${w.aggregates.join(', ')}${w.field ? ` of ${w.field}` : ''}${w.weight ? ` weighted by ${w.weight}` : ''}${w.having ? `, having ${w.having}` : ''}`;
  },
  state: (w, per, lateness) => `${per}: open windows, at most ${w.capacity} (key, window) states per partition, kept until watermark > end + ${d(lateness)}`,
});
