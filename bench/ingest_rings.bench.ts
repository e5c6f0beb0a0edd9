// Ingest into the rings (issue 4): the whole ingest path of `ganglion run` —
// socket → decode (FlatBuffers struct fast path, or the JSON scanner) →
// validation → durable ingest log → partition ring — with one operator that
// does next to nothing (a limit check no trade reaches), fed flat out by
// bench/loadgen.ts in its own process. Read like the e2e benchmark: the
// service's /api/snapshot, events/s over the whole seconds of the load.
//
//   case                                  source                        baseline in the same run
//   FlatBuffers, 1000 trades a frame      ws source, uWS                the same over the `ws` fallback (--no-native)
//   JSON, 1000 trades a frame             ws source, uWS                the same over the `ws` fallback
//   FlatBuffers, 100 trades a message     mqtt source via mosquitto     —
//
// The pipeline keeps the market-surveillance example's key, event time and
// validation rules and its delivery mode (exactly_once: every event is in the
// fsynced log before it is acknowledged), so this is what that example pays
// before its operators.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { compared, type BenchContext, type BenchResult } from './lib.js';
import { E2eError, freePort, phase, start, waitReady, withTarget, type LoadShape, type Target } from './e2e.bench.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const GANGLION = join(root, 'bin', 'ganglion.js');

export const INGEST_RING_NAMES = [
  'ingest into rings: FlatBuffers 1000 trades/frame over uWS',
  'ingest into rings: JSON 1000 trades/frame over uWS',
  'ingest into rings: FlatBuffers 100 trades/message via mosquitto (QoS 1)',
];

type SourceSpec = { type: 'ws'; native: boolean } | { type: 'mqtt'; url: string };

function ingestPipeline(source: SourceSpec, wsPort: number, serverPort: number, dir: string): string {
  const src = source.type === 'ws'
    ? { name: 'gateway', type: 'ws', host: '127.0.0.1', port: wsPort, path: '/ingest', native: source.native }
    : { name: 'broker', type: 'mqtt', url: source.url, topics: [{ topic: 'trades', format: 'flatbuffers', qos: 1 }] };
  return stringifyYaml({
    name: 'ingest_rings',
    sources: [src],
    schema: { type: 'trades' },
    key: 'instrument',
    event_time: { field: 'ts', unit: 'ns', out_of_orderness: '200ms', allowed_lateness: '1s', idle_timeout: '5s' },
    validation: { required: ['instrument', 'price', 'qty'], ranges: { price: { min: 0, max: 1000000 }, qty: { min: 1, max: 10000000 } }, allowed: { side: ['buy', 'sell'] }, max_length: { instrument: 16 }, max_future: '5s' },
    operators: [{ name: 'huge_trade', type: 'limit', field: 'qty', above: 1e12 }],
    sinks: [],
    delivery: { mode: 'exactly_once', checkpoint: { interval: '10s', dir: join(dir, 'checkpoints'), keep: 2 } },
    server: { host: '127.0.0.1', port: serverPort, dashboard: false },
  });
}

async function startIngest(source: SourceSpec): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-ingest-'));
  const [wsPort, serverPort] = [await freePort(), await freePort()];
  const file = join(dir, 'ingest.yaml');
  writeFileSync(file, ingestPipeline(source, wsPort, serverPort, dir));
  const args = [GANGLION, 'run', file, '--data-dir', dir, '--no-status', ...(source.type === 'ws' && !source.native ? ['--no-native'] : [])];
  const proc = start('ganglion run (ingest)', args, dir);
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    await waitReady(proc, `http://127.0.0.1:${serverPort}/ready`, '`ganglion run` (ingest pipeline)');
  } catch (e) {
    proc.child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  const ingest = source.type === 'ws' ? `ws://127.0.0.1:${wsPort}/ingest` : source.url;
  return { name: 'ganglion', ingest, snapshot: `http://127.0.0.1:${serverPort}/api/snapshot`, proc, cleanup };
}

async function rate(source: SourceSpec, shape: LoadShape, seconds: number, ctx: BenchContext): Promise<number> {
  const r = await withTarget(() => startIngest(source), (t) => phase(t, 'max', seconds, ctx, shape));
  const what = source.type === 'ws' ? `${shape.format} over ${source.native ? 'uWS' : 'ws'}` : `${shape.format} via mqtt`;
  ctx.log(`  ingest ${what}: ${Math.round(r.eventsPerSec)} events/s into the rings (sent ${String(r.loadgen.eventsPerSec)}/s)`);
  if (r.eventsPerSec <= 0) throw new E2eError(`ingest ${what}: no events counted`);
  return r.eventsPerSec;
}

export default async function ingestRings(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !INGEST_RING_NAMES.some((n) => n.includes(ctx.filter!)) && !'ingest_rings'.includes(ctx.filter)) return [];
  const seconds = ctx.quick ? 3 : 6;
  const results: BenchResult[] = [];
  const fb: LoadShape = { format: 'fb', batch: 1000 };
  const json: LoadShape = { format: 'json', batch: 1000 };
  const fbUws = await rate({ type: 'ws', native: true }, fb, seconds, ctx);
  const fbWs = await rate({ type: 'ws', native: false }, fb, seconds, ctx);
  results.push(compared(INGEST_RING_NAMES[0], 'events/s', fbUws, 'same over the ws fallback', fbWs, 'exactly_once: decoded, validated, fsynced to the ingest log, in the ring; target ≥ 5 M events/s'));
  const jsonUws = await rate({ type: 'ws', native: true }, json, seconds, ctx);
  const jsonWs = await rate({ type: 'ws', native: false }, json, seconds, ctx);
  results.push(compared(INGEST_RING_NAMES[1], 'events/s', jsonUws, 'same over the ws fallback', jsonWs, 'target ≥ 300 K events/s'));
  const broker = await startMosquitto({ maxQueuedMessages: 100_000 });
  try {
    const mqtt = await rate({ type: 'mqtt', url: broker.url }, { format: 'fb', batch: 100, extra: ['--topic', 'trades'] }, seconds, ctx);
    results.push({ name: INGEST_RING_NAMES[2], unit: 'events/s', value: mqtt, note: 'QoS 1, PUBACK after the log fsync; target ≥ 1 M events/s' });
  } finally {
    await broker.stop();
  }
  return results;
}
