// A SQL-planned TUMBLE query against the same pipeline written in YAML: both
// replay the same recorded trade file through `ganglion replay` (a fresh
// process each, one partition), alternating YAML, SQL, YAML, SQL, ... so load
// drifts hit both alike; the figure is the median run in events/s (file
// decode, the window, output formatting and the jsonl write all included;
// for SQL also its parse and translation). The two must write byte-identical
// outputs, or the comparison means nothing. Issue 17's target: SQL within
// 10 % of YAML.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compared, percentile, type BenchContext, type BenchResult } from './lib.js';
import { GANGLION } from './service.js';
import { lcg } from './keyed_input.js';

const T0 = 1767623400000;

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.filter && !'sql: TUMBLE'.includes(ctx.filter) && !ctx.filter.includes('sql')) return [];
  const n = ctx.quick ? 100_000 : 300_000, rounds = ctx.quick ? 3 : 5;
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-sql-bench-'));
  try {
    const input = join(dir, 'trades.jsonl');
    const rnd = lcg(7);
    const lines: string[] = [];
    let ts = T0;
    for (let i = 0; i < n; i++) {
      ts += rnd() < 0.5 ? 1 : 0;
      lines.push(`{"ts":${ts},"instrument":"S${Math.floor(Math.pow(rnd(), 2) * 500)}","price":${(100 + rnd() * 50).toFixed(2)},"qty":${1 + Math.floor(rnd() * 500)}}`);
    }
    writeFileSync(input, lines.join('\n') + '\n');
    const yaml = join(dir, 'job.yaml'), sql = join(dir, 'job.sql');
    writeFileSync(yaml, `name: job
schema: { type: custom, fields: [price, qty], strings: [instrument] }
key: [instrument]
event_time: { field: ts, unit: ms, out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - { name: v, type: window, window: tumbling, size: 1s, field: price, aggregates: [count, sum, min, max, mean] }
`);
    writeFileSync(sql, `CREATE TABLE trades (ts BIGINT, instrument STRING, price DOUBLE, qty DOUBLE,
  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '${input}', 'timestamp.unit' = 'ms');
SET 'table.exec.source.idle-timeout' = '0s';
CREATE VIEW v AS SELECT instrument, TUMBLE_START(ts, INTERVAL '1' SECOND) AS ws, COUNT(*), SUM(price), MIN(price), MAX(price), AVG(price)
  FROM trades GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);
`);
    const rate: Record<'yaml' | 'sql', number[]> = { yaml: [], sql: [] };
    const outputs: Record<string, string> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [kind, file] of [['yaml', yaml], ['sql', sql]] as const) {
        const out = join(dir, `out-${kind}.jsonl`);
        const t = process.hrtime.bigint();
        const p = spawnSync(process.execPath, [GANGLION, 'replay', file, '--input', input, '--output', out, '--partitions', '1'], { encoding: 'utf8' });
        const s = Number(process.hrtime.bigint() - t) / 1e9;
        if (p.status !== 0) throw new Error(`${kind} replay failed: ${p.stderr}`);
        rate[kind].push(n / s);
        if (r === 0) outputs[kind] = readFileSync(out, 'utf8');
      }
    }
    if (outputs.yaml !== outputs.sql) throw new Error('the SQL job and the YAML pipeline wrote different outputs');
    const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
    ctx.log(`    yaml ${rate.yaml.map((x) => (x / 1e6).toFixed(2)).join(' ')} M/s; sql ${rate.sql.map((x) => (x / 1e6).toFixed(2)).join(' ')} M/s`);
    return [compared(`sql: TUMBLE query planned from SQL vs the same YAML pipeline, replay of ${n / 1000}k trades`, 'events/s', median(rate.sql), 'the YAML pipeline', median(rate.yaml),
      `median of ${rounds} alternating runs each, fresh process, 1 partition, outputs byte-identical; target: within 10 %`)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
