import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePipeline } from '../../host/config/load.js';
import { createServer } from 'node:http';
import { e2ePipeline, summarize, start, stop, waitReady, E2eError, E2E_NAMES } from '../../bench/e2e.bench.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'e2e-test-'));

test('the derived pipeline is the example with a loopback ws source, private ports and temp files', () => {
  const text = e2ePipeline(join(root, 'examples', 'market-surveillance.yaml'), dir, 40001, 40002);
  const file = join(dir, 'p.yaml');
  const config = parsePipeline(text, file) as any;
  assert.equal(config.sources.map((s: any) => [s.type, s.host, s.port, s.path]), [['ws', '127.0.0.1', 40001, '/ingest']]);
  assert.equal([config.server.host, config.server.port, config.server.dashboard], ['127.0.0.1', 40002, false]);
  assert.equal(config.operators.map((o: any) => o.name), ['vwap_1s', 'volume_1s', 'price_z', 'volume_z']);
  for (const s of config.sinks.filter((s: any) => s.type === 'jsonl')) assert.ok(s.path.startsWith(dir), s.path);
  assert.ok(config.delivery.checkpoint.dir.startsWith(dir));
});

const lat = (p99: number, count = 100) => ({ p50: p99 / 4, p95: p99 / 2, p99, p999: p99 * 2, max: p99 * 3, count });
const snap = (time: number, eventsInTotal: number, p99: number, count = 100) => ({ time, eventsInTotal, latency: lat(p99, count) });

test('summarize: drops the partial first second and the warm-up, keeps whole seconds inside the load', () => {
  const snaps = [
    snap(0, 0, 0, 0), snap(1000, 0, 0, 0),
    snap(2000, 500, 900),      // load started inside this second: partial
    snap(3000, 2500, 800),     // warm-up (dropped with warmupMs 1000); rates start here
    snap(4000, 4500, 100), snap(5000, 6500, 300), snap(6000, 8500, 200),
    snap(7000, 9000, 5000),    // ends after the generator exited at 6500
  ];
  const r = summarize(snaps, 6500, 1000);
  assert.is(r.seconds, 3);
  assert.is(r.eventsPerSec, 2000);
  assert.equal([r.latency.p99, r.latency.p99Worst, r.latency.max, r.latency.samples], [200, 300, 900, 300]);
  const quick = summarize(snaps, 6500, 0);
  assert.is(quick.eventsPerSec, 2000);
  assert.is(quick.latency.p99Worst, 800);
});

test('summarize: clear errors when the load never arrived or was too short', () => {
  assert.throws(() => summarize([snap(0, 0, 0), snap(1000, 0, 0)], 2000, 0), (e: Error) => e instanceof E2eError && /never counted an event/.test(e.message));
  assert.throws(() => summarize([snap(0, 0, 0), snap(1000, 10, 1), snap(2000, 20, 1)], 1500, 0), /not one whole second/);
  assert.throws(() => summarize([snap(0, 0, 0), snap(1000, 10, 1), snap(3500, 20, 1)], 3600, 1000), /after the reference/);
  assert.throws(() => summarize([snap(0, 0, 0), snap(1000, 10, 1), snap(2000, 20, 1, 0), snap(3000, 30, 1, 0)], 3000, 0), /no outputs \(so no latency\) in the 2 measured/);
});

test('a target that exits before it is ready is a clear error quoting its stderr', async () => {
  const p = start('fake ganglion', ['-e', "process.stderr.write(\"error: unknown command 'run'\\n\"); process.exit(1)"]);
  try {
    await waitReady(p, 'http://127.0.0.1:9/ready', '`ganglion run`', 10_000);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, E2eError);
    assert.match((e as Error).message, /^`ganglion run` exited with code 1 before it was ready \(`ganglion run` does not work yet in this tree\): error: unknown command 'run'$/);
  }
});

test('waitReady returns once /ready answers 200; stop ends the process', async () => {
  const http = createServer((req, res) => { res.writeHead(req.url === '/ready' ? 200 : 404); res.end('{}'); });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const p = start('sleeper', ['-e', 'setInterval(() => {}, 1000)']);
  try {
    await waitReady(p, `http://127.0.0.1:${(http.address() as { port: number }).port}/ready`, 'sleeper', 10_000);
    await stop(p);
    assert.is(p.child.signalCode, 'SIGTERM');
  } finally {
    p.child.kill('SIGKILL');
    http.close();
  }
});

test('every result name the benchmark returns is known to its filter', () => {
  assert.ok(E2E_NAMES.every((n) => n.startsWith('e2e: ')));
  assert.is(new Set(E2E_NAMES).size, E2E_NAMES.length);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
