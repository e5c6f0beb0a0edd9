// A SQL-planned TUMBLE query against the same pipeline written in YAML, side
// by side in one process: each is loaded from its text (parse, translate or
// read, checks), then replayed the way `ganglion replay` does (replayConfig:
// no sources, no sinks, at_most_once; one partition, inline; the same
// 1000-line text frames through pushFrame, finish() fires every window),
// alternating YAML, SQL, YAML, SQL, ... so load drifts hit both alike. The
// figure is the median run in events/s from the first frame to finish();
// loading (SQL parse and translation vs YAML) is reported beside it. Both must
// produce the same outputs, or the comparison means nothing. Issue 17's
// target: SQL within 10 % of YAML.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compared, percentile, type BenchContext, type BenchResult } from './lib.js';
import { lcg } from './keyed_input.js';
import { parsePipeline } from '../host/config/load.js';
import { createPipeline } from '../host/pipeline/pipeline.js';
import { replayConfig } from '../host/cli/replay.js';
import type { PipelineConfig } from '../host/config/types.js';

const T0 = 1767623400000;
const FRAME_LINES = 1000;

const YAML = `name: job
schema: { type: custom, fields: [price, qty], strings: [instrument] }
key: [instrument]
event_time: { field: ts, unit: ms, out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - { name: v, type: window, window: tumbling, size: 1s, field: price, aggregates: [count, sum, min, max, mean] }
`;
const SQL = (path: string) => `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${path}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
CREATE VIEW v AS SELECT instrument, TUMBLE_START(ts, INTERVAL '1' SECOND) AS ws, COUNT(*), SUM(price), MIN(price), MAX(price), AVG(price)
  FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
`;

async function replay(config: PipelineConfig, frames: Uint8Array[]): Promise<{ seconds: number; outputs: string[] }> {
  const pipeline = await createPipeline(replayConfig(config, 'bench.jsonl', 'jsonl', 1), { noSources: true, partitions: 1, engine: 'wasm', log: () => {} });
  const outputs: string[] = [];
  pipeline.subscribe((o) => { delete (o as { latency_ns?: number }).latency_ns; outputs.push(JSON.stringify(o)); });
  const t = process.hrtime.bigint();
  for (const data of frames) {
    await pipeline.whenAccepting();
    await pipeline.pushFrame({ data, binary: false, origin: 'file:bench', receivedAtNs: 0n });
  }
  await pipeline.finish();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  await pipeline.close();
  if (pipeline.failed) throw pipeline.failed;
  return { seconds, outputs };
}

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !'sql: TUMBLE'.includes(ctx.filter) && !ctx.filter.includes('sql')) return [];
  const n = ctx.quick ? 100_000 : 300_000, rounds = ctx.quick ? 3 : 7;
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-sql-bench-'));
  try {
    const rnd = lcg(7);
    const frames: Uint8Array[] = [];
    let ts = T0, lines: string[] = [];
    for (let i = 0; i < n; i++) {
      ts += rnd() < 0.5 ? 1 : 0;
      lines.push(`{"ts":${ts},"instrument":"S${Math.floor(Math.pow(rnd(), 2) * 500)}","price":${(100 + rnd() * 50).toFixed(2)},"qty":${1 + Math.floor(rnd() * 500)}}`);
      if (lines.length === FRAME_LINES) { frames.push(Buffer.from(lines.join('\n') + '\n')); lines = []; }
    }
    if (lines.length) frames.push(Buffer.from(lines.join('\n') + '\n'));
    const load = { yaml: [] as number[], sql: [] as number[] };
    const rate = { yaml: [] as number[], sql: [] as number[] };
    const first: Record<string, string[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const kind of (r % 2 === 0 ? ['yaml', 'sql'] : ['sql', 'yaml']) as Array<'yaml' | 'sql'>) {
        const t = process.hrtime.bigint();
        const config = kind === 'yaml' ? parsePipeline(YAML, join(dir, 'job.yaml')) : parsePipeline(SQL(join(dir, 'in.jsonl')), join(dir, 'job.sql'));
        load[kind].push(Number(process.hrtime.bigint() - t) / 1e6);
        const { seconds, outputs } = await replay(config, frames);
        rate[kind].push(n / seconds);
        first[kind] ??= outputs;
      }
    }
    if (first.yaml.length === 0 || first.yaml.join('\n') !== first.sql.join('\n')) throw new Error('the SQL job and the YAML pipeline produced different outputs');
    const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
    ctx.log(`    yaml ${rate.yaml.map((x) => (x / 1e6).toFixed(2)).join(' ')} M/s; sql ${rate.sql.map((x) => (x / 1e6).toFixed(2)).join(' ')} M/s`);
    ctx.log(`    load (parse, translate, checks): yaml median ${median(load.yaml).toFixed(1)} ms, sql median ${median(load.sql).toFixed(1)} ms`);
    return [compared(`sql: TUMBLE query planned from SQL vs the same YAML pipeline, replay of ${n / 1000}k trades`, 'events/s', median(rate.sql), 'the YAML pipeline', median(rate.yaml),
      `median of ${rounds} alternating in-process replays each (1000-line JSON frames, 1 partition inline, outputs identical); load: sql ${median(load.sql).toFixed(1)} ms, yaml ${median(load.yaml).toFixed(1)} ms; target: within 10 %`)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
