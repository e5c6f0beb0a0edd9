// Start-to-ready time and idle memory of `ganglion run` (issue 5: ≤ 500 ms,
// ≤ 80 MB), next to a bare Node HTTP server so readers see what Node costs.
//
//   case                        what is spawned                               read
//   ganglion exactly_once       node bin/ganglion.js run <tmp pipeline> …      ms to /ready 200, VmRSS after 5 s idle
//   ganglion at_most_once       same, delivery at_most_once                    same
//   node http (baseline)        node -e "http.createServer(…).listen(port)"    ms to first 200, VmRSS after 5 s idle
//
// The pipeline is the idle pipeline: one ws source, a tumbling 1 s
// VWAP window, a z-score, a jsonl sink, the default partitions (auto: inline on
// two cores), server with /ready and
// no dashboard. Ports are picked free first; files go to a temp dir. The clock
// starts just before spawn and stops when GET /ready answers 200, polled every
// 3 ms over fresh connections (a refused connection is "not yet"). RSS is
// /proc/<pid>/status VmRSS: worker threads live in the same process, so it
// is the whole service. Each case runs 3 times, median kept. --quick: once,
// exactly_once only, RSS after 1 s idle (indicative; the figure is the full run's).
// It builds nothing: `npm run bench` runs `npm run build` first (prebench).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compared, type BenchContext, type BenchResult } from './lib.js';
import { freePort, sleep } from './service.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const GANGLION = join(root, 'bin', 'ganglion.js');
const IDLE_MS = 5000;
const QUICK_IDLE_MS = 1000;
const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 3;


/** Status code of GET url, or 0 when nothing answers yet. */
function status(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end();
  });
}

function pipelineYaml(mode: string, wsPort: number, serverPort: number, dir: string): string {
  return [
    `name: startup_${mode}`,
    `sources: [{ type: ws, host: 127.0.0.1, port: ${wsPort} }]`,
    'schema: { type: trades }',
    'operators:',
    '  - { name: vwap_1s, type: window, window: tumbling, size: 1s, field: price, weight: qty, aggregates: [count, vwap] }',
    '  - { name: price_z, type: zscore, field: price, threshold: 6 }',
    `sinks: [{ type: jsonl, path: ${JSON.stringify(join(dir, 'out.jsonl'))} }]`,
    `delivery: { mode: ${mode} }`,
    'partitions: auto',
    `server: { host: 127.0.0.1, port: ${serverPort}, dashboard: false }`,
    '',
  ].join('\n');
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

interface Sample { readyMs: number; rssMb: number }

/** Spawns, times start → `path` 200, idles, reads RSS, stops with SIGINT. */
async function measure(args: string[], port: number, path: string, idleMs: number): Promise<Sample> {
  let stderr = '';
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  try {
    let readyMs = NaN;
    while (child.exitCode === null && child.signalCode === null) {
      if ((await status(port, path)) === 200) { readyMs = performance.now() - t0; break; }
      if (performance.now() - t0 > READY_TIMEOUT_MS) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms`);
      await sleep(POLL_MS);
    }
    if (Number.isNaN(readyMs)) throw new Error(`exited with ${child.exitCode ?? child.signalCode} before ready: ${stderr.trim()}`);
    await sleep(idleMs);
    if (child.exitCode !== null) throw new Error(`exited while idle: ${stderr.trim()}`);
    const rss = rssMb(child.pid!);
    child.kill('SIGINT');
    await Promise.race([exited(child), sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) throw new Error('did not exit within 10 s of SIGINT');
    return { readyMs, rssMb: rss };
  } finally {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function repeat(runs: number, once: () => Promise<Sample>): Promise<Sample> {
  const s: Sample[] = [];
  for (let i = 0; i < runs; i++) s.push(await once());
  return { readyMs: median(s.map((x) => x.readyMs)), rssMb: median(s.map((x) => x.rssMb)) };
}

async function ganglion(mode: string, idleMs: number): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-startup-'));
  try {
    const [wsPort, serverPort] = [await freePort(), await freePort()];
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, pipelineYaml(mode, wsPort, serverPort, dir));
    // A fresh data dir each run: a checkpoint left by the previous run would be restored.
    const data = join(dir, `data-${Date.now()}`);
    return await measure([GANGLION, 'run', file, '--data-dir', data, '--no-status', '--no-native'], serverPort, '/ready', idleMs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bareNode(idleMs: number): Promise<Sample> {
  const port = await freePort();
  return measure(['-e', `require('http').createServer((q,s)=>s.end('ok')).listen(${port}, '127.0.0.1')`], port, '/', idleMs);
}

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const runs = ctx.quick ? 1 : 3;
  const idleMs = ctx.quick ? QUICK_IDLE_MS : IDLE_MS;
  const node = await repeat(runs, () => bareNode(idleMs));
  ctx.log(`  node http: ${node.readyMs.toFixed(0)} ms, ${node.rssMb.toFixed(1)} MB`);
  const out: BenchResult[] = [];
  for (const mode of ctx.quick ? ['exactly_once'] : ['exactly_once', 'at_most_once']) {
    const g = await repeat(runs, () => ganglion(mode, idleMs));
    ctx.log(`  ganglion ${mode}: ${g.readyMs.toFixed(0)} ms, ${g.rssMb.toFixed(1)} MB`);
    out.push(
      compared(`startup: ganglion run ${mode}, start to /ready`, 'ms', g.readyMs, 'bare node http server', node.readyMs, 'target ≤ 500 ms'),
      compared(`startup: ganglion run ${mode}, idle RSS after 5 s`, 'MB', g.rssMb, 'bare node http server', node.rssMb, ctx.quick ? 'target ≤ 80 MB (quick run: after 1 s idle)' : 'target ≤ 80 MB'),
    );
  }
  return out;
}
