// The peer baseline of the end-to-end benchmark: the market-surveillance
// pipeline (examples/market-surveillance.yaml) written the way a competent
// Node developer would write it without ganglion — a `ws` server, the
// FlatBuffers generated code, JSON.parse, and RxJS 7 operators on plain
// objects in one thread.
//
//   ws /ingest ─► decode (GTRR/GTRT FlatBuffers via schemas/generated, JSON.parse)
//              ─► validate (the example's rules) ─► Subject<Trade>
//              ─► groupBy(instrument) ─┬─ scan: 1 s event-time tumbling windows ─► window outputs
//                                      │        └─ closed volume sums ─► scan: z-score ─► alerts
//                                      └─ scan: price EWMA z-score ─► alerts
//              ─► sink: counts outputs; HDR latency per event, frame receive → frame done
//
// Why event time and not bufferTime/windowTime: those are processing-time
// windows, so they would compute different numbers from ganglion and the
// comparison would not be like for like. Each instrument's scan keeps its open
// windows keyed by floor(ts / size) and closes them once that instrument's own
// watermark (max ts − out_of_orderness) passes their end. The differences from
// ganglion are deliberate simplifications a hand-written service would make:
// the watermark is per instrument (no idle timeout), an event for an already
// closed window is counted late instead of revising it, nothing is durable and
// acks go out after processing (at-most-once).
//
// The pipeline parameters (window sizes, aggregates, z-score mode, alpha,
// window, threshold, min samples, direction, validation ranges) come from the
// same YAML file ganglion runs, so the two cannot drift apart.
//
// Run: npx tsx bench/baselines/rxjs_surveillance.ts [--port 0] [--host 127.0.0.1]
//        [--pipeline examples/market-surveillance.yaml] [--duration S]
// Prints {"listening":{"port":N,...}} once ready, then a JSON summary line on
// SIGTERM/SIGINT or after --duration. HTTP on the same port:
//   GET /ready          200 {"status":"ready"}
//   GET /api/snapshot   the same fields as ganglion's MetricsSnapshot (last
//                       completed second) plus `latencyTotal` since start.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import * as flatbuffers from 'flatbuffers';
import { Subject, groupBy, mergeMap, merge, scan, filter, endWith, type Observable } from 'rxjs';
import { parse as parseYaml } from 'yaml';
import { build as buildHistogram } from 'hdr-histogram-js';
import { TradeRecordBatch } from '../../schemas/generated/ganglion/wire/trade-record-batch.js';
import { TradeRecord } from '../../schemas/generated/ganglion/wire/trade-record.js';
import { TradeBatch } from '../../schemas/generated/ganglion/wire/trade-batch.js';
import { Trade as FbTrade } from '../../schemas/generated/ganglion/wire/trade.js';
// Types only: the snapshot has ganglion's shape, the baseline runs none of its code.
import type { LatencyPercentiles, MetricsSnapshot } from '../../host/metrics/metrics.js';

// ── pipeline parameters ─────────────────────────────────────────────────────

export type Aggregate = 'count' | 'sum' | 'min' | 'max' | 'mean' | 'first' | 'last' | 'vwap';

export interface WindowParams {
  name: string;
  sizeNs: number;
  field: 'price' | 'qty';
  weight?: 'price' | 'qty';
  aggregates: Aggregate[];
}

export interface ZParams {
  name: string;
  /** A trade field, or `<window op>.<aggregate>` (scored on every closed window). */
  field: string;
  mode: 'ewma' | 'window';
  alpha: number;
  window: number;
  threshold: number;
  minSamples: number;
  direction: 'both' | 'above' | 'below';
}

export interface SurveillanceParams {
  windows: WindowParams[];
  zscores: ZParams[];
  outOfOrdernessNs: number;
  validation: {
    ranges: Partial<Record<'price' | 'qty', { min?: number; max?: number }>>;
    maxInstrumentLength?: number;
    maxFutureNs?: number;
  };
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function durationNs(v: unknown, what: string): number {
  if (typeof v === 'number') return v * 1e9;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)\s*$/.exec(v) : null;
  if (!m) throw new Error(`${what}: expected a duration like "1s" or "200ms", got ${JSON.stringify(v)}`);
  return Number(m[1]) * UNIT_NS[m[2]];
}

const TRADE_FIELDS = new Set(['price', 'qty']);

/** Reads the operators and rules of a ganglion pipeline file into baseline parameters. */
export function loadSurveillanceParams(file: string): SurveillanceParams {
  const doc = parseYaml(readFileSync(file, 'utf8')) as Record<string, any>;
  const fail = (m: string): never => { throw new Error(`${file}: ${m}`); };
  if (!doc || !Array.isArray(doc.operators)) fail('expected an operators list');
  const windows: WindowParams[] = [];
  const zscores: ZParams[] = [];
  for (const op of doc.operators as Record<string, any>[]) {
    if (op.type === 'window') {
      if ((op.window ?? 'tumbling') !== 'tumbling') fail(`operator ${op.name}: the RxJS baseline implements tumbling windows only, got ${op.window}`);
      if (!TRADE_FIELDS.has(op.field)) fail(`operator ${op.name}: field must be price or qty, got ${op.field}`);
      if (op.weight !== undefined && !TRADE_FIELDS.has(op.weight)) fail(`operator ${op.name}: weight must be price or qty, got ${op.weight}`);
      windows.push({ name: op.name, sizeNs: durationNs(op.size, `operator ${op.name} size`), field: op.field, weight: op.weight, aggregates: op.aggregates ?? ['count'] });
    } else if (op.type === 'zscore') {
      // Defaults as in host/config/schema.ts.
      zscores.push({
        name: op.name, field: op.field, mode: op.mode ?? 'ewma', alpha: op.alpha ?? 0.05, window: op.window ?? 100,
        threshold: op.threshold ?? 3, minSamples: op.min_samples ?? 30, direction: op.direction ?? 'both',
      });
    } else fail(`operator ${op.name}: type ${op.type} is not part of the surveillance baseline`);
  }
  for (const z of zscores) {
    const [src, agg] = z.field.split('.');
    if (agg === undefined ? !TRADE_FIELDS.has(src) : !windows.some((w) => w.name === src)) fail(`operator ${z.name}: field ${z.field} is neither price, qty nor <window>.<aggregate>`);
  }
  const v = doc.validation ?? {};
  return {
    windows,
    zscores,
    outOfOrdernessNs: doc.event_time?.out_of_orderness === undefined ? 0 : durationNs(doc.event_time.out_of_orderness, 'event_time.out_of_orderness'),
    validation: {
      ranges: { price: v.ranges?.price, qty: v.ranges?.qty },
      maxInstrumentLength: v.max_length?.instrument,
      maxFutureNs: v.max_future === undefined ? undefined : durationNs(v.max_future, 'validation.max_future'),
    },
  };
}

// ── the RxJS pipeline ───────────────────────────────────────────────────────

export interface Trade {
  /** Event time, ns since the epoch, exact. */
  ts: bigint;
  /** The same as a double (rounded to 256 ns near today's epoch): cheap arithmetic. */
  tsNum: number;
  instrument: number | string;
  price: number;
  qty: number;
  side: number;
}

export type Output =
  | { kind: 'window'; op: string; key: number | string; start: bigint; end: bigint; values: Partial<Record<Aggregate, number>> }
  | { kind: 'anomaly'; op: string; key: number | string; ts: bigint; value: number; mean: number; std: number; z: number; n: number }
  | { kind: 'late'; op: string; key: number | string; ts: bigint };

interface Agg { count: number; sum: number; min: number; max: number; first: number; last: number; wsum: number; wvsum: number }

/**
 * floor(ts / size) exactly. The double is exact to ±256 ns today, so only an
 * event within a few µs of a boundary pays for the bigint division.
 */
function windowIndex(t: Trade, sizeNs: number): number {
  const q = Math.floor(t.tsNum / sizeNs);
  const rem = t.tsNum - q * sizeNs;
  if (rem > 4096 && sizeNs - rem > 4096) return q;
  const size = BigInt(sizeNs);
  return Number(t.ts >= 0n ? t.ts / size : (t.ts - size + 1n) / size);
}

function aggValues(w: WindowParams, a: Agg): Partial<Record<Aggregate, number>> {
  const out: Partial<Record<Aggregate, number>> = {};
  for (const name of w.aggregates) {
    switch (name) {
      case 'count': out.count = a.count; break;
      case 'sum': out.sum = a.sum; break;
      case 'min': out.min = a.min; break;
      case 'max': out.max = a.max; break;
      case 'mean': out.mean = a.sum / a.count; break;
      case 'first': out.first = a.first; break;
      case 'last': out.last = a.last; break;
      case 'vwap': out.vwap = a.wsum === 0 ? NaN : a.wvsum / a.wsum; break;
    }
  }
  return out;
}

/** Per-key z-score statistics with ganglion's semantics: score against the values before, then fold in. */
class ZStat {
  n = 0;
  mean = 0;
  variance = 0;
  private ring: number[] = [];
  private head = 0;
  constructor(private readonly p: ZParams) {}

  /** The anomaly for x, if it crosses the threshold; then x joins the statistics. */
  observe(x: number, op: string, key: number | string, ts: bigint): Output | undefined {
    if (!Number.isFinite(x)) return undefined;
    const p = this.p;
    let out: Output | undefined;
    if (this.n >= p.minSamples) {
      const std = Math.sqrt(this.variance);
      const d = x - this.mean;
      const z = std > 0 ? d / std : d === 0 ? 0 : d > 0 ? Infinity : -Infinity;
      const hit = d !== 0 && (p.direction === 'both' ? Math.abs(z) >= p.threshold : p.direction === 'above' ? z >= p.threshold : z <= -p.threshold);
      if (hit) out = { kind: 'anomaly', op, key, ts, value: x, mean: this.mean, std, z, n: this.n };
    }
    if (p.mode === 'ewma') {
      if (this.n === 0) { this.mean = x; this.variance = 0; }
      else {
        const d = x - this.mean, incr = p.alpha * d;
        this.mean += incr;
        this.variance = (1 - p.alpha) * (this.variance + d * incr);
      }
      this.n++;
    } else {
      // The last `window` values; recomputed exactly (at most once a second per key for window outputs).
      if (this.ring.length < p.window) this.ring.push(x);
      else { this.ring[this.head] = x; this.head = (this.head + 1) % p.window; }
      this.n = this.ring.length;
      let s = 0;
      for (const v of this.ring) s += v;
      this.mean = s / this.n;
      let m2 = 0;
      for (const v of this.ring) m2 += (v - this.mean) ** 2;
      this.variance = m2 / this.n;
    }
    return out;
  }
}

const END = Symbol('end of stream');

interface KeyWindows {
  maxTs: number;
  /** Per window operator: open windows by index. */
  open: Map<number, Agg>[];
  /** Per window operator: the lowest open index (Infinity when none), so most events skip the close scan. */
  minOpen: number[];
  /** Per window-fed z-score operator. */
  z: ZStat[];
  out: Output[];
}

/**
 * The pipeline as RxJS operators. Returns the input Subject; outputs go to
 * `emit` synchronously while `next()` runs. `complete()` flushes the open windows.
 */
export function surveillancePipeline(p: SurveillanceParams, emit: (o: Output) => void): Subject<Trade> {
  const trades = new Subject<Trade>();
  const fieldZ = p.zscores.filter((z) => !z.field.includes('.'));
  const windowZ = p.zscores.filter((z) => z.field.includes('.'));

  const windowsOf = (key: number | string, group: Observable<Trade>): Observable<Output> => group.pipe(
    endWith(END),
    scan((st: KeyWindows, t: Trade | typeof END) => {
      st.out = [];
      let closeBefore = Infinity; // close every window starting before this (in ns); END closes all
      if (t !== END) {
        if (t.tsNum > st.maxTs) st.maxTs = t.tsNum;
        closeBefore = st.maxTs - p.outOfOrdernessNs;
      }
      p.windows.forEach((w, i) => {
        // Windows end at (idx + 1) × size; the watermark closes every end ≤ closeBefore.
        const lastClosed = Math.floor(closeBefore / w.sizeNs) - 1;
        const open = st.open[i];
        if (t !== END) {
          const idx = windowIndex(t, w.sizeNs);
          if (idx <= lastClosed) st.out.push({ kind: 'late', op: w.name, key, ts: t.ts });
          else {
            let a = open.get(idx);
            if (!a) {
              open.set(idx, a = { count: 0, sum: 0, min: Infinity, max: -Infinity, first: NaN, last: NaN, wsum: 0, wvsum: 0 });
              if (idx < st.minOpen[i]) st.minOpen[i] = idx;
            }
            const x = t[w.field];
            if (a.count === 0) a.first = x;
            a.count++; a.sum += x; a.last = x;
            if (x < a.min) a.min = x;
            if (x > a.max) a.max = x;
            if (w.weight) { const wt = t[w.weight]; a.wsum += wt; a.wvsum += x * wt; }
          }
        }
        if (st.minOpen[i] > lastClosed) return;
        for (const idx of [...open.keys()].sort((x, y) => x - y)) {
          if (idx > lastClosed) break;
          const a = open.get(idx)!;
          open.delete(idx);
          const start = BigInt(idx) * BigInt(w.sizeNs), end = start + BigInt(w.sizeNs);
          const values = aggValues(w, a);
          st.out.push({ kind: 'window', op: w.name, key, start, end, values });
          windowZ.forEach((z, k) => {
            const [src, agg] = z.field.split('.');
            if (src !== w.name) return;
            const x = agg in values ? values[agg as Aggregate]! : aggValues({ ...w, aggregates: [agg as Aggregate] }, a)[agg as Aggregate]!;
            const alert = st.z[k].observe(x, z.name, key, end - 1n);
            if (alert) st.out.push(alert);
          });
        }
        st.minOpen[i] = Infinity;
        for (const idx of open.keys()) if (idx < st.minOpen[i]) st.minOpen[i] = idx;
      });
      return st;
    }, {
      maxTs: -Infinity,
      open: p.windows.map(() => new Map<number, Agg>()),
      minOpen: p.windows.map(() => Infinity),
      z: windowZ.map((z) => new ZStat(z)),
      out: [],
    } as KeyWindows),
    filter((st) => st.out.length > 0),
    mergeMap((st) => st.out),
  );

  const fieldAnomalies = (key: number | string, group: Observable<Trade>, z: ZParams): Observable<Output> => group.pipe(
    scan((acc: { stat: ZStat; alert?: Output }, t: Trade) => {
      acc.alert = acc.stat.observe(t[z.field as 'price' | 'qty'], z.name, key, t.ts);
      return acc;
    }, { stat: new ZStat(z) }),
    filter((acc) => acc.alert !== undefined),
    mergeMap((acc) => [acc.alert!]),
  );

  trades.pipe(
    groupBy((t) => t.instrument),
    mergeMap((group) => merge(windowsOf(group.key, group), ...fieldZ.map((z) => fieldAnomalies(group.key, group, z)))),
  ).subscribe(emit);
  return trades;
}

// ── decoding and validation ─────────────────────────────────────────────────

export class FrameError extends Error {}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function sideOf(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (v === 1 || v === 'buy' || v === 'B' || v === 'BUY') return 1;
  if (v === -1 || v === 'sell' || v === 'S' || v === 'SELL') return -1;
  return NaN;
}

function tsOf(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.round(v));
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v)) return BigInt(v);
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return BigInt(ms) * 1_000_000n;
  }
  return undefined;
}

/** Trades of one frame: FlatBuffers (GTRR structs or GTRT tables) or JSON (object, array, NDJSON). */
export function decodeFrame(data: Uint8Array, isBinary: boolean): Array<Trade | string> {
  const out: Array<Trade | string> = [];
  if (isBinary) {
    const bb = new flatbuffers.ByteBuffer(data);
    try {
      if (data.length >= 8 && bb.__has_identifier('GTRR')) {
        const batch = TradeRecordBatch.getRootAsTradeRecordBatch(bb);
        const r = new TradeRecord();
        for (let i = 0, n = batch.recordsLength(); i < n; i++) {
          batch.records(i, r);
          const ts = r.ts();
          out.push({ ts, tsNum: Number(ts), instrument: r.instrument(), price: r.price(), qty: r.qty(), side: r.side() });
        }
      } else if (data.length >= 8 && bb.__has_identifier('GTRT')) {
        const batch = TradeBatch.getRootAsTradeBatch(bb);
        const e = new FbTrade();
        for (let i = 0, n = batch.eventsLength(); i < n; i++) {
          batch.events(i, e);
          const ts = e.ts();
          out.push({ ts, tsNum: Number(ts), instrument: e.instrument() ?? '', price: e.price(), qty: e.qty(), side: e.side() });
        }
      } else throw new FrameError('binary frame is neither a GTRR nor a GTRT trades batch');
    } catch (e) {
      if (e instanceof FrameError) throw e;
      throw new FrameError(`malformed FlatBuffers frame: ${(e as Error).message}`);
    }
    return out;
  }
  let text: string;
  try { text = textDecoder.decode(data); } catch { throw new FrameError('text frame is not valid UTF-8'); }
  const docs: unknown[] = [];
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('[')) docs.push(...(JSON.parse(trimmed) as unknown[]));
    else for (const line of trimmed.split('\n')) if (line.trim()) docs.push(JSON.parse(line));
  } catch (e) {
    throw new FrameError(`invalid JSON: ${(e as Error).message}`);
  }
  for (const d of docs) {
    if (d === null || typeof d !== 'object') { out.push('not an object'); continue; }
    const o = d as Record<string, unknown>;
    const ts = tsOf(o.ts ?? o.timestamp ?? o.time);
    const instrument = o.instrument ?? o.symbol ?? o.sym;
    const price = o.price ?? o.px;
    const qty = o.qty ?? o.quantity ?? o.size ?? o.volume;
    if (ts === undefined) { out.push('missing or invalid ts'); continue; }
    if (typeof instrument !== 'string' && typeof instrument !== 'number') { out.push('missing instrument'); continue; }
    if (typeof price !== 'number' || typeof qty !== 'number') { out.push('price and qty must be numbers'); continue; }
    out.push({ ts, tsNum: Number(ts), instrument, price, qty, side: sideOf(o.side) });
  }
  return out;
}

/** The example's validation rules; a string is the reason for rejecting. */
export function validateTrade(t: Trade, v: SurveillanceParams['validation'], nowNs: number): string | undefined {
  const pr = v.ranges.price, qr = v.ranges.qty;
  if (!Number.isFinite(t.price) || (pr?.min !== undefined && t.price < pr.min) || (pr?.max !== undefined && t.price > pr.max)) return `price ${t.price} out of range`;
  if (!Number.isFinite(t.qty) || (qr?.min !== undefined && t.qty < qr.min) || (qr?.max !== undefined && t.qty > qr.max)) return `qty ${t.qty} out of range`;
  if (Number.isNaN(t.side)) return 'side must be buy or sell';
  if (v.maxInstrumentLength !== undefined && typeof t.instrument === 'string' && t.instrument.length > v.maxInstrumentLength) return 'instrument too long';
  if (v.maxFutureNs !== undefined && t.tsNum > nowNs + v.maxFutureNs) return 'ts too far in the future';
  return undefined;
}

// ── the service ─────────────────────────────────────────────────────────────

export type LatencySummary = LatencyPercentiles;

/** ganglion's MetricsSnapshot, less backpressure (nothing here pauses), plus latency since start. */
export interface BaselineSnapshot extends Omit<MetricsSnapshot, 'backpressure'> {
  /** µs, since start. */
  latencyTotal: LatencySummary;
}

export interface BaselineOptions {
  port?: number;
  host?: string;
  path?: string;
  params: SurveillanceParams;
  /** Every output, for tests. */
  onOutput?: (o: Output) => void;
}

export interface Baseline {
  readonly port: number;
  snapshot(): BaselineSnapshot;
  close(): Promise<void>;
}

function percentiles(h: ReturnType<typeof buildHistogram>): LatencySummary {
  if (h.totalCount === 0) return { p50: 0, p95: 0, p99: 0, p999: 0, max: 0, count: 0 };
  const us = (q: number) => h.getValueAtPercentile(q) / 1000;
  return { p50: us(50), p95: us(95), p99: us(99), p999: us(99.9), max: h.maxValue / 1000, count: h.totalCount };
}

export async function startBaseline(o: BaselineOptions): Promise<Baseline> {
  const histogram = () => buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: 3 });
  const second = histogram(), total = histogram();
  let eventsIn = 0, eventsOut = 0, alerts = 0, dead = 0, late = 0;
  let frameNs = 0n;
  const started = Date.now();

  const trades = surveillancePipeline(o.params, (out) => {
    eventsOut++;
    if (out.kind === 'anomaly') alerts++;
    else if (out.kind === 'late') late++;
    o.onOutput?.(out);
  });

  let prev = { t: performance.now(), in: 0, out: 0, alerts: 0 };
  let last: BaselineSnapshot;
  const tick = (): BaselineSnapshot => {
    const now = performance.now(), dt = Math.max(1e-3, (now - prev.t) / 1000);
    last = {
      time: Date.now(), uptimeSeconds: (Date.now() - started) / 1000,
      eventsInPerSec: (eventsIn - prev.in) / dt, eventsOutPerSec: (eventsOut - prev.out) / dt, alertsPerSec: (alerts - prev.alerts) / dt,
      eventsInTotal: eventsIn, eventsOutTotal: eventsOut, alertsTotal: alerts, deadLettersTotal: dead, lateTotal: late,
      latency: percentiles(second), latencyTotal: percentiles(total), ready: true,
    };
    second.reset();
    prev = { t: now, in: eventsIn, out: eventsOut, alerts };
    return last;
  };
  last = tick();
  const timer = setInterval(tick, 1000);
  timer.unref();

  const onFrame = (ws: WebSocket, data: Uint8Array, isBinary: boolean, seq: number, acks: boolean) => {
    frameNs = process.hrtime.bigint();
    let accepted = 0, rejected = 0;
    try {
      const nowNs = Date.now() * 1e6;
      for (const t of decodeFrame(data, isBinary)) {
        if (typeof t === 'string' || validateTrade(t, o.params.validation, nowNs) !== undefined) { rejected++; continue; }
        accepted++;
        eventsIn++;
        trades.next(t);
      }
      // The whole pipeline runs synchronously inside next(): once the loop is
      // done, every output of the frame has been emitted. Each accepted event
      // is recorded with that latency, as ganglion records each event with
      // the release of its epoch (receive → all its outputs at the sinks).
      if (accepted > 0) {
        const ns = Number(process.hrtime.bigint() - frameNs);
        second.recordValueWithCount(ns, accepted);
        total.recordValueWithCount(ns, accepted);
      }
      dead += rejected;
      if (acks) ws.send(`{"ack":${seq},"ok":true,"accepted":${accepted},"rejected":${rejected}}`);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      dead++;
      if (acks) ws.send(JSON.stringify({ ack: seq, ok: false, rejected: 1, reason: e.message }));
    }
  };

  const path = o.path ?? '/ingest';
  const http: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'GET only' });
    if (url.pathname === '/ready' || url.pathname === '/health') return send(200, { status: 'ready' });
    if (url.pathname === '/api/snapshot') return send(200, last);
    send(404, { error: `no route ${url.pathname} (known: /ready, /health, /api/snapshot, ws ${path})` });
  });
  const wss = new WebSocketServer({ server: http, path, maxPayload: 16 * 1024 * 1024 });
  wss.on('connection', (ws, req) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    let seq = q.has('seq') ? Number(q.get('seq')) : 1;
    const acks = q.get('acks') !== '0';
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      onFrame(ws, bytes, isBinary, seq++, acks);
    });
    ws.on('error', () => { /* a broken producer must not stop the service */ });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (http.address() as { port: number }).port;

  return {
    port,
    snapshot: () => tick(),
    async close() {
      clearInterval(timer);
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
      trades.complete();
    },
  };
}

// ── command line ────────────────────────────────────────────────────────────

async function cli(argv: string[]): Promise<void> {
  const opt = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const pipelineFile = opt('--pipeline') ?? fileURLToPath(new URL('../../examples/market-surveillance.yaml', import.meta.url));
  const port = Number(opt('--port') ?? 0);
  const duration = opt('--duration');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${opt('--port')}`);
  if (duration !== undefined && !(Number(duration) > 0)) throw new Error(`--duration must be a positive number of seconds, got ${duration}`);
  const params = loadSurveillanceParams(pipelineFile);
  const b = await startBaseline({ port, host: opt('--host') ?? '127.0.0.1', params });
  process.stdout.write(JSON.stringify({ listening: { port: b.port, ingest: `ws://127.0.0.1:${b.port}/ingest`, snapshot: `http://127.0.0.1:${b.port}/api/snapshot` } }) + '\n');
  let done = false;
  const stop = async () => {
    if (done) return;
    done = true;
    const s = b.snapshot();
    await b.close();
    process.stdout.write(JSON.stringify({ summary: s }) + '\n');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (duration !== undefined) setTimeout(stop, Number(duration) * 1000);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`rxjs_surveillance: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
