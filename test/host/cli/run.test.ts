// `ganglion run` as a real process: it must start, show its status, drain on
// SIGINT and exit 0. Needs the runtime (host/pipeline/pipeline.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinPipelinePath } from '../../../host/cli/run.js';
import { loadPipeline } from '../../../host/config/load.js';

const root = new URL('../../../', import.meta.url).pathname;

test('the built-in pipeline is the market-surveillance example over a synthetic feed', () => {
  const p = builtinPipelinePath();
  assert.is(p, join(root, 'examples/market-surveillance.yaml'));
  assert.is(loadPipeline(p).sources[0].type, 'synthetic');
});

test('runs a pipeline, writes alerts, drains on SIGINT and exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-run-'));
  const out = join(dir, 'out.jsonl');
  const file = join(dir, 'p.yaml');
  writeFileSync(file, `name: run_test
sources: [{ type: synthetic, seed: 3, rate: 20000, instruments: 50, anomalies: 0.01 }]
schema: { type: trades }
operators:
  - { name: vwap_100ms, type: window, window: tumbling, size: 100ms, field: price, weight: qty, aggregates: [count, vwap] }
  - { name: price_z, type: zscore, field: price, threshold: 5, min_samples: 20 }
sinks: [{ type: jsonl, path: ${JSON.stringify(out)} }]
delivery: { mode: at_most_once }
partitions: 1
`);
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `import('${join(root, 'host/cli/run.ts')}').then((m) => m.runCommand({ pipeline: ${JSON.stringify(file)}, dataDir: ${JSON.stringify(join(dir, 'data'))} }))`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!/ganglion  .* ev\/s/.test(stderr) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr, /running run_test/);
  child.kill('SIGINT');
  const code = await exited;
  assert.is(code, 0, stderr);
  assert.match(stderr, /SIGINT, draining/);
  assert.ok(existsSync(out));
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((o) => o.kind === 'window'));
});

test.run();
