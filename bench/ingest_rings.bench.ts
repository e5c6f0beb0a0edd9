// Ingest into the rings (issue 4's figures): events/s through the whole ingest
// path of `ganglion run` — socket → decode (FlatBuffers verify + struct copy,
// or the JSON scanner) → validation → ingest log (exactly_once, group-commit
// fsync, acks after durable) → partition input ring — with as little operator
// work behind the ring as the config allows, fed by one bench/loadgen.ts
// process on loopback.
//
//   case                                              source                          frames
//   ingest→rings ws FlatBuffers 1000 trades/frame     ws source: uWS vs --no-native   TradeRecordBatch (GTRR), 1,000 × 80 B
//   ingest→rings ws JSON 1000 trades/frame            ws source: uWS vs --no-native   JSON array of 1,000 trades, ns ts strings
//   ingest→rings mqtt FlatBuffers 100 trades/message  mqtt source via mosquitto       TradeRecordBatch, 100 trades, QoS 1
//
// The pipeline is examples/market-surveillance.yaml's ingest half (schema,
// key, event time, validation rules, delivery mode) with its operators
// replaced by one limit check on price above 10^7, which validation (price
// ≤ 10^6) makes unreachable: each event costs the worker one keyed lookup and
// a compare. Rates are read like bench/e2e.bench.ts reads them (GET
// /api/snapshot eventsInTotal, whole seconds inside the load; bench/service.ts),
// and a case fails if anything was rejected: a reject is not ingest. Each case
// also reports the CPU time of ganglion's main thread per event (from /proc),
// which a busy shared machine disturbs far less than events/s.
//
// bench/ingest.bench.ts measures the transports alone (no decoding) for
// comparison. `ganglion run` runs dist/ when built: `npm run build` first.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compared, comparedIf, type BenchContext, type BenchResult } from './lib.js';
import { describe, E2eError, phase, root, startGanglion, stopAll, withTarget, type GanglionPorts, type PhaseResult, type Target } from './service.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';

const EXAMPLE = join(root, 'examples', 'market-surveillance.yaml');

export const RINGS_NAMES = {
  fb: 'ingest→rings ws FlatBuffers 1000 trades/frame: uWS vs ws',
  json: 'ingest→rings ws JSON 1000 trades/frame: uWS vs ws',
  mqtt: 'ingest→rings mqtt FlatBuffers 100 trades/message (mosquitto)',
  fbCpu: 'ingest→rings main-thread CPU, ws FlatBuffers: uWS vs ws',
  jsonCpu: 'ingest→rings main-thread CPU, ws JSON: uWS vs ws',
  mqttCpu: 'ingest→rings main-thread CPU, mqtt FlatBuffers',
} as const;

/** Above any price validation lets through: the operator never fires. */
const UNREACHABLE_PRICE = 1e7;

/**
 * The example's ingest half with one never-firing limit check, a private
 * server and temp files. `source` replaces the sources.
 */
export function ringsPipelineDoc(example: string, p: GanglionPorts, source: Record<string, unknown>): Record<string, any> {
  const ex = parseYaml(readFileSync(example, 'utf8')) as Record<string, any>;
  const maxPrice = ex.validation?.ranges?.price?.max;
  if (typeof maxPrice !== 'number' || maxPrice >= UNREACHABLE_PRICE) {
    throw new E2eError(`${example}: the ingest bench needs validation.ranges.price.max below ${UNREACHABLE_PRICE} so its limit check never fires (found ${String(maxPrice)})`);
  }
  return {
    name: 'ingest_rings',
    description: 'ingest path of market_surveillance into the rings; one limit check that never fires',
    sources: [source],
    schema: ex.schema,
    ...(ex.key !== undefined ? { key: ex.key } : {}),
    event_time: ex.event_time,
    validation: ex.validation,
    operators: [{ name: 'never', type: 'limit', field: 'price', above: UNREACHABLE_PRICE }],
    sinks: [{ name: 'alerts', type: 'jsonl', path: join(p.dir, 'out', 'alerts.jsonl'), kinds: ['anomaly'] }],
    delivery: { ...(ex.delivery ?? {}), checkpoint: { ...(ex.delivery?.checkpoint ?? {}), dir: join(p.dir, 'checkpoints') } },
    partitions: ex.partitions ?? 'auto',
    memory: ex.memory ?? '64MiB',
    server: { host: '127.0.0.1', port: p.serverPort, dashboard: false },
  };
}

function wsTarget(native: boolean): Promise<Target> {
  return startGanglion(native ? 'uWS' : 'ws', (p) => ({
    doc: ringsPipelineDoc(EXAMPLE, p, { name: 'gateway', type: 'ws', host: '127.0.0.1', port: p.wsPort, path: '/ingest', max_frame_bytes: '16MiB' }),
  }), native ? [] : ['--no-native']);
}

function mqttTarget(brokerUrl: string, topic: string): Promise<Target> {
  return startGanglion('mqtt', (p) => ({
    doc: ringsPipelineDoc(EXAMPLE, p, {
      name: 'broker', type: 'mqtt', url: brokerUrl, client_id: `ganglion-bench-${process.pid}-${p.serverPort}`, clean: true,
      topics: [{ topic, format: 'flatbuffers', qos: 1 }],
    }),
    ingest: brokerUrl,
  }));
}

/** Everything the generator sent was accepted; a reject would inflate nothing but must not hide either. */
function checkClean(t: Target, r: PhaseResult, acksCarryCounts: boolean): void {
  const lg = r.loadgen as { events: number; eventsAccepted: number; eventsRejected: number; framesRejected: number };
  const dead = r.last.deadLettersTotal ?? 0;
  if (dead > 0 || lg.eventsRejected > 0 || lg.framesRejected > 0 || (acksCarryCounts && lg.eventsAccepted !== lg.events)) {
    throw new E2eError(`${t.name}: the load was not ingested cleanly (sent ${lg.events}, accepted ${lg.eventsAccepted}, rejected ${lg.eventsRejected} events / ${lg.framesRejected} frames, dead letters ${dead}): the bench measures ingest, not rejects`);
  }
  if (r.last.eventsInTotal < lg.events) {
    throw new E2eError(`${t.name}: sent ${lg.events} events but eventsInTotal is ${r.last.eventsInTotal} after the load`);
  }
}

export default async function ingestRings(ctx: BenchContext): Promise<BenchResult[]> {
  const want = (name: string) => !ctx.filter || name.includes(ctx.filter) || ctx.filter.includes('ingest_rings') || ctx.filter === 'ingest';
  if (!Object.values(RINGS_NAMES).some(want)) return [];
  if (!existsSync(EXAMPLE)) throw new E2eError(`${EXAMPLE} is missing`);
  const seconds = ctx.quick ? 2 : 4;
  const warmupMs = ctx.quick ? 0 : 1000;
  const opts = { seconds, warmupMs, latency: false, quick: ctx.quick } as const;
  const results: BenchResult[] = [];
  const ws = async (native: boolean, format: 'fb' | 'json') => withTarget(() => wsTarget(native), async (t) => {
    const r = await phase(t, { ...opts, loadgen: ['--format', format, '--rate', 'max', '--batch', '1000', '--window', '128'] });
    checkClean(t, r, true);
    ctx.log(`  ${describe(t, r, `${format} flat out`)}`);
    return r;
  });
  try {
    for (const [format, name, cpuName, label] of [['fb', RINGS_NAMES.fb, RINGS_NAMES.fbCpu, 'FlatBuffers'], ['json', RINGS_NAMES.json, RINGS_NAMES.jsonCpu, 'JSON']] as const) {
      if (!want(name) && !want(cpuName)) continue;
      if (ctx.quick && format === 'json') continue; // --quick stays under a minute: JSON is in the full run
      const u = await ws(true, format);
      // --quick keeps under a minute by leaving out the ws fallback.
      const f = ctx.quick ? undefined : await ws(false, format);
      results.push(comparedIf(name, 'events/s', u.eventsPerSec, 'ws fallback (--no-native)', f?.eventsPerSec,
        `${label}, decode + validation + exactly_once log + ring, one never-firing limit check; one loadgen process, ${seconds} s flat out`));
      if (u.mainCpuUsPerEvent !== undefined) {
        results.push(comparedIf(cpuName, 'ns/event', u.mainCpuUsPerEvent * 1000, 'ws fallback (--no-native)', f?.mainCpuUsPerEvent === undefined ? undefined : f.mainCpuUsPerEvent * 1000,
          `CPU time of ganglion's main thread (sources, decode, validation, log, ring writes) per event: what one free core could ingest is 1e9 / this; steadier than events/s on a shared machine`));
      }
    }
    // --quick measures MQTT in ingest.bench.ts (transport only: no ganglion start, no 2 s load).
    if ((want(RINGS_NAMES.mqtt) || want(RINGS_NAMES.mqttCpu)) && !ctx.quick) {
      const broker = await startMosquitto();
      try {
        const topic = 'bench/trades';
        const r = await withTarget(() => mqttTarget(broker.url, topic), async (t) => {
          const r = await phase(t, { ...opts, loadgen: ['--topic', topic, '--format', 'fb', '--rate', 'max', '--batch', '100', '--window', '1024', '--qos', '1'] });
          checkClean(t, r, false);
          ctx.log(`  ${describe(t, r, 'fb flat out')}`);
          return r;
        });
        results.push({ name: RINGS_NAMES.mqtt, unit: 'events/s', value: r.eventsPerSec, note: `QoS 1 in and out of mosquitto, PUBACK after the log is durable; ${(r.eventsPerSec / 100 / 1000).toFixed(1)} K msg/s` });
        if (r.mainCpuUsPerEvent !== undefined) results.push({ name: RINGS_NAMES.mqttCpu, unit: 'ns/event', value: r.mainCpuUsPerEvent * 1000, note: 'CPU time of ganglion\'s main thread per event (mqtt.js parsing, decode, log, rings)' });
      } finally {
        await broker.stop();
      }
    }
    return results;
  } finally {
    await stopAll();
  }
}
