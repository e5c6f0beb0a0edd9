// The built-in synthetic feed: trades, quotes or payments that behave enough
// like a real market or payment switch for every operator to have work and
// every alert path to fire, yet are a pure function of the seed.
//
//   keys       Zipf-distributed popularity over `instruments` entities
//              (instruments for trades/quotes, accounts for payments)
//   time       event time advances 1/rate per event; inside a burst the
//              spacing shrinks by `factor` (rate 0 = flat out: 1 µs spacing)
//   disorder   a fraction of events is stamped up to `maxDelay` in the past
//              (out of order but within the watermark's bound), and a smaller
//              fraction far enough in the past to miss even allowed lateness
//   anomalies  trades: a price spike plus a volume burst on one instrument,
//              and a rogue trader doing huge size; quotes: a crossed book;
//              payments: card testing (many tiny payments, bad risk signals)
//
// Two ways out: `next()`/`take(n)` give InputEvent objects (the library path,
// JSON files); `fillRecords()` writes ring-layout records straight into a
// buffer without creating per-event objects (the `npm start` throughput path).
import { IN_FIELDS, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS } from '../records.js';
import type { EventType } from '../schema/event_types.js';
import type { InputEvent, PipelineConfig } from '../config/types.js';
import { compositeKey } from '../codec/key_dictionary.js';

export type FeedKind = 'trades' | 'quotes' | 'payments';

export interface SyntheticOptions {
  kind: FeedKind;
  seed: number;
  /** Number of entities (instruments or accounts). */
  instruments: number;
  zipf: number;
  /** Events per second of event time (0: flat out, 1 µs apart). */
  rate: number;
  startNs: bigint;
  /** Stop after this many events (next() returns undefined). */
  events?: number;
  outOfOrder: number;
  maxDelayNs: bigint;
  /** Fraction of events stamped more than `lateByNs` in the past. */
  late: number;
  lateByNs: bigint;
  anomalies: number;
  burst?: { everyNs: bigint; lengthNs: bigint; factor: number };
}

const ASSET_CLASSES = ['equity', 'fx', 'rates', 'credit', 'commodity'] as const;
const VENUES = ['XNYS', 'XNAS', 'XLON', 'XPAR', 'XETR'] as const;
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'] as const;
const CHANNELS = ['card', 'online', 'wallet', 'transfer'] as const;

/** mulberry32: tiny, fast, and good enough for test data; the whole feed hangs off one. */
class Rng {
  s: number;
  spare = NaN;
  constructor(seed: number) { this.s = seed >>> 0 || 0x9e3779b9; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    if (!Number.isNaN(this.spare)) { const v = this.spare; this.spare = NaN; return v; }
    const u = 1 - this.next(), v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  int(n: number): number { return Math.floor(this.next() * n); }
}

/** Inverse-CDF Zipf sampler: one uniform and a binary search over a precomputed CDF. */
class Zipf {
  private readonly cdf: Float64Array;
  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) { sum += 1 / Math.pow(i + 1, s); this.cdf[i] = sum; }
    for (let i = 0; i < n; i++) this.cdf[i] /= sum;
  }
  sample(u: number): number {
    const c = this.cdf;
    let lo = 0, hi = c.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (c[mid] < u) lo = mid + 1; else hi = mid; }
    return lo;
  }
}

/** AAA, AAB, ...: readable, unique, and stable per index. */
function symbol(i: number): string {
  let s = '';
  let n = i;
  for (let k = 0; k < 3 || n > 0; k++) { s = String.fromCharCode(65 + (n % 26)) + s; n = Math.floor(n / 26); }
  return s;
}

interface Anomaly { entity: number; left: number; trader: number }

/** A fresh-path feed's state after `produced` events (JSON: see SyntheticFeed.exportState). */
export interface FeedState {
  produced: number;
  offsetNs: number;
  rng: [number, number | null];
  price: number[];
  active: Anomaly[];
}

/**
 * One generated event, in a reused scratch object: the numbers by name and the
 * ids by name. next() turns it into an InputEvent; fillRecords() into bytes.
 */
interface Scratch {
  ts: bigint;
  entity: number;
  num: Record<string, number>;
  ids: Record<string, string>;
}

export class SyntheticFeed {
  readonly options: SyntheticOptions;
  private readonly rng: Rng;
  private readonly keys: Zipf;
  private readonly traders: Zipf;
  private readonly merchants: Zipf;
  private readonly names: string[];
  // Id strings are built once: formatting them per event would cost more than generating the event.
  private readonly traderNames: string[];
  private readonly accountNames: string[];
  private readonly merchantNames: string[];
  private readonly price: Float64Array;
  private readonly vol: Float64Array;
  private readonly typicalAmount: Float64Array;
  private readonly traderCount: number;
  private readonly spacingNs: number;
  private offsetNs = 0;
  private produced = 0;
  private readonly active: Anomaly[] = [];
  private readonly s: Scratch = { ts: 0n, entity: 0, num: {}, ids: {} };

  constructor(options: SyntheticOptions) {
    this.options = options;
    const n = options.instruments;
    this.rng = new Rng(options.seed);
    this.keys = new Zipf(n, options.zipf);
    this.traderCount = Math.max(5, Math.ceil(n / 4));
    this.traders = new Zipf(this.traderCount, 1);
    this.merchants = new Zipf(5000, 1.05);
    this.names = Array.from({ length: n }, (_, i) => (options.kind === 'payments' ? `ACC${String(i).padStart(7, '0')}` : symbol(i)));
    this.traderNames = Array.from({ length: this.traderCount }, (_, i) => `T${String(i).padStart(4, '0')}`);
    this.accountNames = Array.from({ length: 997 }, (_, i) => `A${String(i).padStart(4, '0')}`);
    this.merchantNames = Array.from({ length: 5000 }, (_, i) => `M${String(i).padStart(5, '0')}`);
    this.price = new Float64Array(n);
    this.vol = new Float64Array(n);
    this.typicalAmount = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.price[i] = Math.round(Math.exp(2.5 + 2 * this.rng.next()) * 100) / 100;
      this.vol[i] = 0.0002 + 0.0008 * this.rng.next();
      this.typicalAmount[i] = Math.exp(5.5 + this.rng.next());
    }
    this.spacingNs = options.rate > 0 ? 1e9 / options.rate : 1000;
  }

  /** Options from a pipeline's synthetic source (kind from the schema; lateness from event_time and the largest window). */
  static fromConfig(config: PipelineConfig, sourceIndex = config.sources.findIndex((s) => s.type === 'synthetic'), nowNs = BigInt(Date.now()) * 1_000_000n): SyntheticFeed {
    const src = config.sources[sourceIndex];
    if (!src || src.type !== 'synthetic') throw new Error(`source ${sourceIndex} is not a synthetic source`);
    if (config.schema.type === 'custom') throw new Error('a synthetic source needs a built-in schema type (trades, quotes or payments)');
    let span = 0n;
    for (const op of config.operators) {
      if (op.type !== 'window') continue;
      const w = op.size ?? op.gap ?? 0n;
      if (w > span) span = w;
    }
    const et = config.event_time;
    return new SyntheticFeed({
      kind: config.schema.type,
      seed: src.seed,
      instruments: src.instruments,
      zipf: src.zipf,
      rate: src.rate,
      startNs: src.start === 'now' ? nowNs : isoToNs(src.start),
      events: src.events,
      outOfOrder: src.out_of_order,
      maxDelayNs: src.max_delay < et.out_of_orderness || et.out_of_orderness === 0n ? src.max_delay : et.out_of_orderness,
      late: src.late,
      lateByNs: et.out_of_orderness + et.allowed_lateness + span + 1_000_000_000n,
      anomalies: src.anomalies,
      burst: src.burst && { everyNs: src.burst.every, lengthNs: src.burst.length, factor: src.burst.factor },
    });
  }

  /** Events produced so far. */
  get count(): number { return this.produced; }

  /**
   * Everything the next events depend on, after `count` events: a feed given
   * it with importState() goes on exactly as this one would. Undefined on the
   * throughput path (its pool repeats, and skipping in it is a memcpy).
   */
  exportState(): FeedState | undefined {
    if (this.pool) return undefined;
    return {
      produced: this.produced, offsetNs: this.offsetNs, rng: [this.rng.s, Number.isNaN(this.rng.spare) ? null : this.rng.spare],
      price: Array.from(this.price), active: this.active.map((a) => ({ ...a })),
    };
  }

  importState(st: FeedState): void {
    if (st.price.length !== this.price.length) throw new Error(`feed state for ${st.price.length} entities, this feed has ${this.price.length}`);
    this.produced = st.produced;
    this.offsetNs = st.offsetNs;
    this.rng.s = st.rng[0];
    this.rng.spare = st.rng[1] ?? NaN;
    this.price.set(st.price);
    this.active.splice(0, this.active.length, ...st.active.map((a) => ({ ...a })));
  }

  /** Event time of the next event's nominal position (for pacing against the wall clock). */
  get clockNs(): bigint { return this.options.startNs + BigInt(Math.floor(this.offsetNs)); }

  get done(): boolean { return this.options.events !== undefined && this.produced >= this.options.events; }

  /** The next event, or undefined once `events` have been produced. */
  next(): InputEvent | undefined {
    if (!this.step()) return undefined;
    const s = this.s;
    return { ts: s.ts, ...s.ids, ...s.num } as InputEvent;
  }

  take(n: number): InputEvent[] {
    const out: InputEvent[] = [];
    for (let i = 0; i < n; i++) { const e = this.next(); if (!e) break; out.push(e); }
    return out;
  }

  /**
   * The source path. Paced feeds up to `freshUpTo` events/s (default 250 k/s,
   * where generating costs a fraction of a core) get fresh events that never
   * repeat. Faster or flat-out feeds get the throughput path: the first call
   * generates `poolSize` events as records once, and every call then copies
   * records from that pool and shifts their event time by the pool's span per
   * lap, so a million records a second cost a memcpy and one i64 store each
   * (the pool repeats, anomalies included). Key ids are interned once per
   * distinct string either way.
   */
  fillRecords(view: DataView, offset: number, count: number, type: EventType, keyFields: readonly string[], intern: (s: string) => number, poolSize = 1 << 16, freshUpTo = 250_000): number {
    const rate = this.options.rate;
    if (rate > 0 && rate <= freshUpTo && !this.pool) return this.writeRecords(view, offset, count, type, keyFields, intern);
    if (this.options.events !== undefined) count = Math.min(count, this.options.events - this.poolServed);
    if (count <= 0) return 0;
    const stride = type.stride;
    if (!this.pool || this.pool.stride !== stride) {
      const bytes = new Uint8Array(stride * poolSize);
      const pv = new DataView(bytes.buffer);
      const n = this.writeRecords(pv, 0, poolSize, type, keyFields, intern);
      const ts = new BigInt64Array(n);
      for (let i = 0; i < n; i++) ts[i] = pv.getBigInt64(i * stride + IN_TS, true);
      this.pool = { bytes, ts, count: n, stride, spanNs: this.clockNs - this.options.startNs };
    }
    const pool = this.pool;
    const dst = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    // Copy contiguous runs of the pool in one set() each; only ts needs patching per record.
    let i = 0;
    while (i < count) {
      const k = this.poolServed % pool.count;
      const lap = BigInt(Math.floor(this.poolServed / pool.count));
      const run = Math.min(count - i, pool.count - k);
      dst.set(pool.bytes.subarray(k * stride, (k + run) * stride), offset + i * stride);
      if (lap > 0n) {
        const shift = lap * pool.spanNs;
        for (let j = 0; j < run; j++) view.setBigInt64(offset + (i + j) * stride + IN_TS, pool.ts[k + j] + shift, true);
      }
      i += run;
      this.poolServed += run;
    }
    return count;
  }

  private pool: { bytes: Uint8Array; ts: BigInt64Array; count: number; stride: number; spanNs: bigint } | undefined;
  private poolServed = 0;

  /**
   * Writes up to `count` ring records (host/records.ts layout, seq and flags
   * 0) for `type` at `view[offset..]`, each a freshly generated event;
   * returns how many. `intern` maps an id string to its key-dictionary id;
   * `keyFields` names the fields that make the record key. Id strings are
   * interned once per distinct value.
   */
  writeRecords(view: DataView, offset: number, count: number, type: EventType, keyFields: readonly string[], intern: (s: string) => number): number {
    const stride = type.stride;
    const fields = type.fields;
    const cache = this.internCache ?? (this.internCache = new Map());
    const id = (s: string) => { let v = cache.get(s); if (v === undefined) { v = intern(s); cache.set(s, v); } return v; };
    const parts = new Array<string>(keyFields.length);
    let n = 0;
    for (; n < count; n++) {
      if (!this.step()) break;
      const s = this.s;
      const at = offset + n * stride;
      view.setBigInt64(at + IN_TS, s.ts, true);
      view.setBigUint64(at + IN_SEQ, 0n, true);
      for (let k = 0; k < keyFields.length; k++) parts[k] = s.ids[keyFields[k]] ?? String(s.num[keyFields[k]]);
      view.setUint32(at + IN_KEY, id(compositeKey(parts)), true);
      view.setUint32(at + IN_FLAGS, 0, true);
      for (let f = 0; f < fields.length; f++) {
        const fd = fields[f];
        const str = s.ids[fd.name];
        let v: number;
        if (fd.kind === 'side') v = str === 'buy' ? 1 : str === 'sell' ? -1 : NaN;
        else if (fd.kind === 'id') v = str === undefined ? NaN : id(str);
        else v = s.num[fd.name] ?? NaN;
        view.setFloat64(at + IN_FIELDS + 8 * f, v, true);
      }
    }
    return n;
  }

  private internCache: Map<string, number> | undefined;

  private step(): boolean {
    const o = this.options;
    if (this.done) return false;
    const rng = this.rng;
    // Event-time clock, faster inside bursts.
    let spacing = this.spacingNs;
    if (o.burst) {
      const every = Number(o.burst.everyNs), len = Number(o.burst.lengthNs);
      if (this.offsetNs % every < len) spacing /= o.burst.factor;
    }
    this.offsetNs += spacing;
    const nominal = o.startNs + BigInt(Math.floor(this.offsetNs));

    // Start an anomaly now and then; while one runs, a share of the traffic is its entity's.
    if (rng.next() < o.anomalies) this.active.push({ entity: this.keys.sample(rng.next()), left: 20 + rng.int(30), trader: this.traders.sample(rng.next()) });
    let anomaly: Anomaly | undefined;
    if (this.active.length > 0 && rng.next() < 0.25) {
      anomaly = this.active[0];
      if (--anomaly.left <= 0) this.active.shift();
    }
    const entity = anomaly ? anomaly.entity : this.keys.sample(rng.next());

    let ts = nominal;
    const u = rng.next();
    if (u < o.late) ts = nominal - o.lateByNs - BigInt(Math.floor(rng.next() * Number(o.lateByNs)));
    else if (u < o.late + o.outOfOrder) ts = nominal - BigInt(Math.floor(rng.next() * Number(o.maxDelayNs)));

    const s = this.s;
    s.ts = ts;
    s.entity = entity;
    if (o.kind === 'trades') this.trade(entity, anomaly);
    else if (o.kind === 'quotes') this.quote(entity, anomaly);
    else this.payment(entity, anomaly);
    this.produced++;
    return true;
  }

  private trade(i: number, anomaly: Anomaly | undefined): void {
    const rng = this.rng;
    this.price[i] *= Math.exp(this.vol[i] * rng.normal());
    let price = this.price[i];
    let qty = 100 * (1 + Math.floor(-Math.log(1 - rng.next()) * 3));
    let trader = this.traders.sample(rng.next());
    if (anomaly) {
      // A fat-finger print far from the level, heavy size, one trader.
      if (anomaly.left % 7 === 0) price *= rng.next() < 0.5 ? 0.85 : 1.15;
      qty *= 200;
      trader = anomaly.trader;
    }
    const s = this.s;
    s.ids = {
      instrument: this.names[i],
      side: rng.next() < 0.5 ? 'buy' : 'sell',
      trader: this.traderNames[trader],
      account: this.accountNames[(i * 7 + trader) % 997],
      asset_class: ASSET_CLASSES[i % ASSET_CLASSES.length],
    };
    s.num = { price: Math.round(price * 10000) / 10000, qty };
  }

  private quote(i: number, anomaly: Anomaly | undefined): void {
    const rng = this.rng;
    this.price[i] *= Math.exp(this.vol[i] * rng.normal());
    const mid = this.price[i];
    const half = mid * (0.0001 + 0.0004 * rng.next());
    let bid = mid - half, ask = mid + half;
    if (anomaly && anomaly.left % 5 === 0) [bid, ask] = [ask * 1.01, bid]; // crossed book
    const s = this.s;
    s.ids = { instrument: this.names[i], venue: VENUES[rng.int(VENUES.length)] };
    s.num = {
      bid: Math.round(bid * 10000) / 10000,
      ask: Math.round(ask * 10000) / 10000,
      bid_size: 100 * (1 + rng.int(50)),
      ask_size: 100 * (1 + rng.int(50)),
    };
  }

  private payment(i: number, anomaly: Anomaly | undefined): void {
    const rng = this.rng;
    const s = this.s;
    const num: Record<string, number> = {};
    // Amounts scatter around the account's typical spend; f0..f7 are the
    // switch's standardised risk signals.
    num.amount = Math.max(1, Math.round(this.typicalAmount[i] * Math.exp(0.6 * rng.normal()) * 100) / 100);
    for (let k = 0; k < 8; k++) num[`f${k}`] = Math.round(rng.normal() * 1e4) / 1e4;
    if (anomaly) {
      // Card testing: tiny amounts at a risky merchant, from a bad IP, at an odd hour.
      num.amount = Math.round((2 + 58 * rng.next()) * 100) / 100;
      num.f1 = Math.round((1 + 0.15 * rng.normal()) * 1e4) / 1e4;
      num.f3 = Math.round((-2.5 + 0.3 * rng.normal()) * 1e4) / 1e4;
      num.f7 = Math.round((-2.5 + 0.3 * rng.normal()) * 1e4) / 1e4;
    }
    s.ids = {
      account: this.names[i],
      merchant: this.merchantNames[this.merchants.sample(rng.next())],
      currency: CURRENCIES[i % CURRENCIES.length],
      channel: anomaly ? 'online' : CHANNELS[rng.int(CHANNELS.length)],
    };
    s.num = num;
  }
}

/**
 * How many distinct values the feed gives an id field, for `instruments`
 * entities (mirrors the generators above); undefined for fields it does not
 * set as ids. A composite key has at most the product of its parts.
 */
export function syntheticCardinality(kind: FeedKind, instruments: number, field: string): number | undefined {
  const n = instruments;
  const perKind: Record<FeedKind, Record<string, number>> = {
    trades: { instrument: n, side: 2, trader: Math.max(5, Math.ceil(n / 4)), account: 997, asset_class: Math.min(n, ASSET_CLASSES.length) },
    quotes: { instrument: n, venue: VENUES.length },
    payments: { account: n, merchant: 5000, currency: Math.min(n, CURRENCIES.length), channel: CHANNELS.length },
  };
  return perKind[kind][field];
}

/** ISO-8601 (Z or ±HH:MM, up to 9 fraction digits) → epoch ns, exactly. */
export function isoToNs(iso: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) throw new Error(`not an ISO timestamp: ${iso}`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw new Error(`not an ISO timestamp: ${iso}`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}
