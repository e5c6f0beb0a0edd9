// Restarting `ganglion run` over a data dir with a long ingest log, from
// outside: a busy HTTP port fails at once (before any replay); otherwise the
// server answers /health at once and /ready says "recovering, N of M events"
// while the log is replayed, with progress lines on stderr; SIGTERM takes a
// final checkpoint, so the next start replays nothing. The ingest log's
// retention_bytes keeps a data dir bounded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../bench/free_port.js';
import { builtinPipelinePath } from '../../../host/cli/run.js';
import { loadPipeline } from '../../../host/config/load.js';
import { ganglion } from '../../helpers/ganglion.js';
import { tempDir } from '../../helpers/tmp.js';

const dir = tempDir('ganglion-restart-');
const data = join(dir.path, 'data');
const file = join(dir.path, 'p.yaml');
writeFileSync(file, `name: restart
sources: [{ type: synthetic, rate: 0, instruments: 500, seed: 7, start: "2026-01-05T14:30:00Z" }]
schema: { type: trades }
event_time: { out_of_orderness: 5ms, idle_timeout: 0s }
operators:
  - { type: window, name: vwap, window: tumbling, size: 100ms, field: price, weight: qty, aggregates: [count, sum, vwap, min, max] }
  - { type: zscore, name: pz, field: price, threshold: 5, min_samples: 30 }
sinks: [{ type: jsonl, path: ${JSON.stringify(join(dir.path, 'out.jsonl'))}, kinds: [anomaly] }]
delivery: { mode: exactly_once, checkpoint: { interval: 1h } }
partitions: 1
`);

function dirBytes(path: string): number {
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(join(path, e.name)) : statSync(join(path, e.name)).size;
  return n;
}

function fetchJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((res, rej) => {
    const req = get(url, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: JSON.parse(b) }));
    });
    req.on('error', rej);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
  });
}

function metricsText(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const req = get(`http://127.0.0.1:${port}/metrics`, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => res(b));
    });
    req.on('error', rej);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
  });
}

test('setup: a run killed with SIGKILL leaves a long ingest log and no checkpoint', async () => {
  const g = ganglion(['run', file, '--data-dir', data, '--no-status', '--port', '0']);
  await g.waitFor(/running restart/);
  // About 2 M events (the log packs a trade in ~35 bytes).
  const deadline = Date.now() + 60_000;
  while (dirBytes(join(data, 'log')) < 70e6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  g.child.kill('SIGKILL');
  await g.exited;
  assert.ok(dirBytes(join(data, 'log')) >= 70e6, 'log written');
});

test('a busy HTTP port fails at once, before any recovery, naming the port and the option', async () => {
  const port = await freePort();
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(port, '127.0.0.1', () => r()));
  try {
    const started = Date.now();
    const g = ganglion(['run', file, '--data-dir', data, '--no-status', '--port', String(port)]);
    const code = await g.exited;
    assert.is(code, 1, g.stderr);
    assert.match(g.stderr, new RegExp(`cannot start the HTTP server: 127\\.0\\.0\\.1:${port} is already in use.*--port`));
    assert.not.match(g.stderr, /recover/, 'nothing was replayed');
    assert.ok(Date.now() - started < 10_000, `failed after ${Date.now() - started} ms`);
  } finally {
    taken.close();
  }
});

test('a busy WebSocket source port fails at once too, naming the source', async () => {
  const port = await freePort();
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(port, '127.0.0.1', () => r()));
  try {
    const p = join(dir.path, 'ws.yaml');
    writeFileSync(p, `name: wsbusy
sources: [{ name: gateway, type: ws, host: 127.0.0.1, port: ${port} }]
schema: { type: trades }
operators: [{ type: window, name: vol, window: tumbling, size: 1s, field: qty, aggregates: [count] }]
delivery: { mode: at_most_once }
`);
    const g = ganglion(['run', p, '--no-status']);
    assert.is(await g.exited, 1, g.stderr);
    assert.match(g.stderr, `cannot start source gateway (ws): 127.0.0.1:${port} is already in use`);
    assert.match(g.stderr, 'sources[0].port');
  } finally {
    taken.close();
  }
});

test('Ctrl-C during a long recovery exits at once (130), and the data dir still recovers', async () => {
  const g = ganglion(['run', file, '--data-dir', data, '--no-status', '--port', '0']);
  await g.waitFor(/recovering, \d+ of \d+ events/);
  const t = Date.now();
  g.child.kill('SIGINT');
  assert.is(await g.exited, 130, g.stderr);
  assert.ok(Date.now() - t < 3000, `exited after ${Date.now() - t} ms`);
  assert.match(g.stderr, `SIGINT while starting: exiting now; the next start resumes from ${data}`);
});

test('/health answers and /ready says "recovering, N of M events" during the replay, then ready; progress on stderr', async () => {
  const port = await freePort();
  const g = ganglion(['run', file, '--data-dir', data, '--no-status', '--port', String(port)]);
  const seen: Record<string, unknown>[] = [];
  let health = 0, ready = false;
  let readyGauge: string | undefined;
  const deadline = Date.now() + 90_000;
  while (!ready && Date.now() < deadline && g.child.exitCode === null) {
    try {
      const r = await fetchJson(`http://127.0.0.1:${port}/ready`);
      if (r.status === 200) ready = true;
      else {
        assert.is(r.status, 503);
        seen.push(r.body);
        if (readyGauge === undefined) readyGauge = await metricsText(port).then((t) => /^ganglion_ready (\S+)$/m.exec(t)?.[1], () => undefined);
      }
      if ((await fetchJson(`http://127.0.0.1:${port}/health`)).status === 200) health++;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(ready, `never ready; stderr:\n${g.stderr}`);
  const progress = seen.filter((b) => b.status === 'recovering' && typeof b.total === 'number' && (b.total as number) > 0);
  assert.ok(progress.length > 0, `no recovering answer in ${JSON.stringify(seen.slice(0, 5))}`);
  const last = progress[progress.length - 1];
  assert.match(last.message as string, /^recovering, \d+ of \d+ events$/);
  assert.ok((last.replayed as number) <= (last.total as number));
  assert.ok(health > 0, '/health answered while recovering');
  assert.is(readyGauge, '0', 'ganglion_ready is 0 while recovering');
  assert.match(await metricsText(port), /^ganglion_ready 1$/m);
  assert.match(g.stderr, /ganglion: recovering from .*MB of ingest log/);
  assert.match(g.stderr, /ganglion: recovering: replaying \d+ events from the ingest log \(seq 1 on, no checkpoint\)/);
  assert.match(g.stderr, /ganglion: recovered: replayed \d+ events/);
  // SIGTERM: drain, then a final checkpoint.
  await g.waitFor(/running restart/);
  g.child.kill('SIGTERM');
  assert.is(await g.exited, 0, g.stderr);
  assert.match(g.stderr, /final checkpoint \d+ at seq \d+/);
});

test('after a clean stop (SIGTERM) the restart replays nothing', async () => {
  const g = ganglion(['run', file, '--data-dir', data, '--no-status', '--port', '0']);
  await g.waitFor(/running restart/);
  g.child.kill('SIGINT');
  assert.is(await g.exited, 0, g.stderr);
  assert.match(g.stderr, /resumed from checkpoint \d+: nothing to replay/);
  assert.not.match(g.stderr, /replaying|recovered: replayed/);
});

test('--log-level error prints no routine lines; a bad level is refused', async () => {
  const g = ganglion(['run', file, '--data-dir', data, '--no-status', '--port', '0', '--log-level', 'error', '--duration', '200ms']);
  assert.is(await g.exited, 0, g.stderr);
  assert.is(g.stderr, '');
  const bad = ganglion(['run', file, '--log-level', 'loud']);
  assert.is(await bad.exited, 1);
  assert.match(bad.stderr, /--log-level: expected error, warn or info, found "loud"/);
});

test('delivery.log.retention_bytes bounds the data dir; the built-in demo sets a small one', async () => {
  const d = tempDir('ganglion-retention-');
  try {
    const p = join(d.path, 'p.yaml');
    writeFileSync(p, `name: bounded
sources: [{ type: synthetic, rate: 150000, instruments: 200, seed: 3 }]
schema: { type: trades }
operators: [{ type: window, name: vol, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }]
sinks: []
delivery: { mode: exactly_once, checkpoint: { interval: 200ms, keep: 2 }, log: { segment_size: 1MiB, retention_bytes: 4MiB } }
partitions: 1
`);
    const g = ganglion(['run', p, '--data-dir', join(d.path, 'data'), '--no-status', '--duration', '8s']);
    let max = 0;
    while (g.child.exitCode === null) {
      try { max = Math.max(max, dirBytes(join(d.path, 'data', 'log'))); } catch { /* not yet created */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.is(await g.exited, 0, g.stderr);
    const events = Number(/stopped: (\d+) events/.exec(g.stderr)?.[1]);
    // A logged trade takes ~35 bytes (packed): what the log would hold without retention.
    const unbounded = events * 30;
    assert.ok(unbounded > 15e6, `${events} events`);
    // During the run: 4 MiB retained + the active segment + what the newest checkpoint still needs.
    assert.ok(max < unbounded / 2, `log reached ${(max / 1e6).toFixed(1)} MB of ${(unbounded / 1e6).toFixed(0)} MB written`);
    // After the final checkpoint: the retained 4 MiB, in whole 1 MiB segments, and the active one.
    const final = dirBytes(join(d.path, 'data', 'log'));
    assert.ok(final <= 6 * 1024 * 1024 + 64, `log is ${final} bytes after the final checkpoint`);
  } finally {
    d.remove();
  }
  const demo = loadPipeline(builtinPipelinePath()).delivery.log;
  assert.ok(demo.retention_bytes !== undefined && demo.retention_bytes <= 256 * 1024 * 1024, `demo retention_bytes ${demo.retention_bytes}`);
});

test.after(() => dir.remove());
test.run();
