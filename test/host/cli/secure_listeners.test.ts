// Secure defaults of the network listeners, seen from outside: `ganglion
// validate` / `ganglion run` as real processes, real sockets on 127.0.0.1, both
// WebSocket engines (uWS and the `ws` fallback via --no-native).
//   - the WebSocket source binds loopback by default; a non-loopback bind needs
//     a real token (not an example one, not short), which may come from the
//     environment;
//   - cross-origin WebSocket upgrades (/topics, /live, /ingest) and foreign
//     Host headers (/metrics, /api/*, /ingest) get 403 with the reason; the
//     same-origin page and clients without Origin still work;
//   - oversize and non-UTF-8 frames are refused with a close code and reason,
//     counted, logged and dead-lettered, while other connections go on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../../../bench/free_port.js';
import { ConfigError, parsePipeline } from '../../../host/config/load.js';
import { BIN, CLI_ENV } from '../../helpers/ganglion.js';

const ENV = CLI_ENV;
const LONG_TOKEN = 'k7Qw2mZr9xLp4VbN8sTd';

const tmp = () => mkdtempSync(join(tmpdir(), 'ganglion-secure-'));

function pipelineYaml(source: string, server = ''): string {
  return `name: secure_test
sources:
  - ${source}
schema: { type: trades }
operators:
  - { name: vol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }
sinks: [{ type: stdout, kinds: [window] }]
delivery: { mode: at_most_once }
partitions: 1
${server}`;
}

function validate(yaml: string, env: NodeJS.ProcessEnv = ENV): { code: number | null; out: string } {
  const dir = tmp();
  const file = join(dir, 'p.yaml');
  writeFileSync(file, yaml);
  const r = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

// A failed assertion must not leave a service running after this file ends.
const children = new Set<ChildProcess>();
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); });

interface Running { child: ChildProcess; stderr: () => string; dir: string; stop(): Promise<number | null> }

async function run(yaml: string, args: string[] = [], env: NodeJS.ProcessEnv = ENV): Promise<Running> {
  const dir = tmp();
  const file = join(dir, 'p.yaml');
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, [BIN, 'run', file, '--no-status', '--data-dir', join(dir, 'data'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  children.add(child);
  child.once('exit', () => children.delete(child));
  const deadline = Date.now() + 60_000;
  while (!/running secure_test/.test(err) && child.exitCode === null && Date.now() < deadline) await sleep(50);
  return {
    child, dir, stderr: () => err,
    async stop() { if (child.exitCode === null) child.kill('SIGINT'); return exited; },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Upgrade attempt: the HTTP status (101 = upgraded) and the refusal body. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ status: 101, body: '', ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e) => { if (ws.readyState !== ws.CLOSED) reject(e); });
  });
}

function get(port: number, path: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Addresses listening on `port`, from the kernel's own table (hex, as /proc prints them). */
function listenAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // LISTEN
      const [addr, p] = cols[1].split(':');
      if (p === hexPort) out.push(addr);
    }
  }
  return out;
}

const tradeJson = () => JSON.stringify({ ts: new Date().toISOString(), instrument: 'AAPL', price: 190.5, qty: 10, side: 'buy' });

// ── binding ─────────────────────────────────────────────────────────────────

test('validate: a ws source without host is fine; 0.0.0.0 without a token is refused naming sources[0].host', () => {
  const ok = validate(pipelineYaml('{ type: ws, port: 8080 }'));
  assert.is(ok.code, 0, ok.out);
  const bad = validate(pipelineYaml('{ type: ws, host: 0.0.0.0, port: 8080 }'));
  assert.is(bad.code, 1, bad.out);
  assert.match(bad.out, /p\.yaml:3:\d+ sources\[0\]\.host: expected a loopback host \(127\.0\.0\.1\) or an auth_token: "0\.0\.0\.0" is reachable from the network/);
});

// The same loader `validate` and `run` use, in this process (a spawn costs ~2 s).
function problems(yaml: string, env: Record<string, string | undefined> = {}): string {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    parsePipeline(yaml, 'p.yaml');
    return 'ok';
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.message;
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

test('example and short tokens are refused on a network bind; the example token anywhere', () => {
  assert.match(problems(pipelineYaml('{ type: ws, host: 0.0.0.0, port: 8080, auth_token: change-me }')), /sources\[0\]\.auth_token: expected a real secret, not the example token "change-me"/);
  assert.match(problems(pipelineYaml('{ type: ws, port: 8080, auth_token: change-me }')), /sources\[0\]\.auth_token: expected a real secret/);
  const short = problems(pipelineYaml('{ type: ws, host: 192.0.2.2, port: 8080, auth_token: abc123xyz }'));
  assert.match(short, /sources\[0\]\.auth_token: expected a token of at least 16 characters on a non-loopback host \("192\.0\.2\.2"\); this one has 9/);
  assert.not.match(short, /abc123xyz/, 'the token is not echoed');
  assert.is(problems(pipelineYaml(`{ type: ws, host: 0.0.0.0, port: 8080, auth_token: ${LONG_TOKEN} }`)), 'ok');
  assert.is(problems(pipelineYaml('{ type: ws, host: localhost, port: 8080 }')), 'ok');
  assert.is(problems(pipelineYaml('{ type: ws, host: "::1", port: 8080 }')), 'ok');
});

test('auth_token: ${VAR} comes from the environment; an unset variable is named', () => {
  const yaml = pipelineYaml('{ type: ws, host: 0.0.0.0, port: 8080, auth_token: "${GANGLION_TEST_TOKEN}" }');
  assert.match(problems(yaml, { GANGLION_TEST_TOKEN: undefined }), /sources\[0\]\.auth_token: expected the environment variable GANGLION_TEST_TOKEN to be set/);
  assert.is(problems(yaml, { GANGLION_TEST_TOKEN: LONG_TOKEN }), 'ok');
  assert.match(problems(yaml, { GANGLION_TEST_TOKEN: 'changeme' }), /example token/);
});

test('run: a non-loopback bind without a token does not start, and says where', async () => {
  const port = await freePort();
  const r = await run(pipelineYaml(`{ type: ws, host: 0.0.0.0, port: ${port} }`));
  const code = await r.stop();
  assert.is(code, 1, r.stderr());
  assert.match(r.stderr(), /sources\[0\]\.host: expected a loopback host/);
  assert.equal(listenAddresses(port), []);
});

for (const native of [true, false]) {
  const engine = native ? 'uws' : 'ws';
  const args = native ? [] : ['--no-native'];
  // One service per engine for the tests below (each start costs seconds): a
  // ws source with default host, allow-lists on it and on the server.
  let svc: { r: Running; wsPort: number; httpPort: number } | undefined;
  const service = async () => {
    if (svc) return svc;
    const wsPort = await freePort();
    const httpPort = await freePort();
    const r = await run(pipelineYaml(
      `{ type: ws, port: ${wsPort}, allowed_hosts: [ingest.example], allowed_origins: ["https://app.example"] }`,
      `server: { port: ${httpPort}, allowed_hosts: [ganglion.example], allowed_origins: ["https://grafana.example:3000"] }\n`), args);
    assert.match(r.stderr(), /running secure_test/, r.stderr());
    return (svc = { r, wsPort, httpPort });
  };

  test(`${engine}: the default bind is loopback only`, async () => {
    const { wsPort } = await service();
    assert.equal(listenAddresses(wsPort), ['0100007F'], 'listening on 127.0.0.1 only');
    const lan = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (lan) {
      const refused = await new Promise<string>((res) => {
        const s = createConnection({ host: lan.address, port: wsPort });
        s.once('connect', () => { s.destroy(); res('connected'); });
        s.once('error', (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
      });
      assert.is(refused, 'ECONNREFUSED', `reachable on ${lan.address}`);
    }
  });

  // ── Origin and Host ───────────────────────────────────────────────────────

  test(`${engine}: cross-origin upgrades and foreign Hosts get 403 with the reason; same-origin and Origin-less clients pass`, async () => {
    const { wsPort, httpPort } = await service();
    const evil = { origin: 'http://evil.example' };
    for (const [url, where] of [[`ws://127.0.0.1:${httpPort}/topics?subscribe=*`, 'server'], [`ws://127.0.0.1:${httpPort}/live`, 'server'], [`ws://127.0.0.1:${wsPort}/ingest`, 'sources\\[0\\]']] as const) {
      const refused = await upgrade(url, evil);
      assert.is(refused.status, 403, url);
      assert.match(refused.body, new RegExp(`Origin "http://evil\\.example" is not allowed .* add it to ${where}\\.allowed_origins`), url);
      const rebound = await upgrade(url, { host: `evil.example:${new URL(url).port}` });
      assert.is(rebound.status, 403, url);
      assert.match(rebound.body, new RegExp(`Host "evil\\.example:\\d+" is not allowed .* add "evil\\.example" to ${where}\\.allowed_hosts`), url);
      const plain = await upgrade(url);
      assert.is(plain.status, 101, url);
      plain.ws!.close();
    }
    // The dashboard page is its own origin.
    const same = await upgrade(`ws://127.0.0.1:${httpPort}/live`, { origin: `http://127.0.0.1:${httpPort}` });
    assert.is(same.status, 101);
    same.ws!.close();
    const local = await upgrade(`ws://localhost:${httpPort}/topics`, { origin: `http://localhost:${httpPort}` });
    assert.is(local.status, 101);
    local.ws!.close();

    for (const path of ['/metrics', '/api/snapshot', '/']) {
      const bad = await get(httpPort, path, `evil.example:${httpPort}`);
      assert.is(bad.status, 403, path);
      assert.match(JSON.parse(bad.body).error, /Host "evil\.example:\d+" is not allowed \(DNS rebinding protection\); add "evil\.example" to server\.allowed_hosts/);
      assert.is((await get(httpPort, path)).status, 200, path);
      assert.is((await get(httpPort, path, `localhost:${httpPort}`)).status, 200, path);
    }
    assert.is((await get(httpPort, '/health', 'evil.example')).status, 200, 'probes answer any Host');
  });

  test(`${engine}: allowed_hosts / allowed_origins admit exactly what they name`, async () => {
    const { wsPort, httpPort } = await service();
    assert.is((await get(httpPort, '/metrics', `ganglion.example:${httpPort}`)).status, 200);
    assert.is((await get(httpPort, '/metrics', `other.example:${httpPort}`)).status, 403);
    const grafana = await upgrade(`ws://127.0.0.1:${httpPort}/topics`, { origin: 'https://grafana.example:3000' });
    assert.is(grafana.status, 101);
    grafana.ws!.close();
    assert.is((await upgrade(`ws://127.0.0.1:${httpPort}/topics`, { origin: 'https://grafana.example:4000' })).status, 403);
    const app = await upgrade(`ws://127.0.0.1:${wsPort}/ingest`, { origin: 'https://app.example', host: `ingest.example:${wsPort}` });
    assert.is(app.status, 101);
    app.ws!.close();
    assert.is((await upgrade(`ws://127.0.0.1:${wsPort}/ingest`, { origin: 'https://grafana.example:3000' })).status, 403);
  });

  // ── refused frames ────────────────────────────────────────────────────────

  test(`${engine}: oversize and non-UTF-8 frames are refused with a reason, counted, logged and dead-lettered; other producers go on`, async () => {
    const { r, wsPort, httpPort } = await service();
    svc = undefined; // this test stops the service
    try {
      const url = `ws://127.0.0.1:${wsPort}/ingest`;
      const good = (await upgrade(`${url}?seq=1`)).ws!;
      const goodAcks: Array<Record<string, unknown>> = [];
      good.on('message', (d) => goodAcks.push(JSON.parse(String(d))));
      good.send(tradeJson());
      await until(() => goodAcks.length === 1, 'the first good ack');

      // 10 MB against the default 1 MiB limit: 1009 with the reason, a nack first.
      const big = (await upgrade(`${url}?seq=5`)).ws!;
      const bigAcks: Array<Record<string, unknown>> = [];
      big.on('message', (d) => bigAcks.push(JSON.parse(String(d))));
      const bigClosed = new Promise<[number, string]>((res) => big.once('close', (c, why) => res([c, String(why)])));
      big.send(Buffer.alloc(10 * 1024 * 1024, 7));
      const [bigCode, bigReason] = await bigClosed;
      assert.is(bigCode, 1009);
      assert.is(bigReason, 'frame of 10485760 bytes is larger than max_frame_bytes (1048576)');
      assert.equal(bigAcks, [{ ack: 5, ok: false, accepted: 0, rejected: 1, reason: bigReason }]);

      // Not UTF-8 in a text frame: the ws engine nacks it and closes with 1007 and
      // the reason; uWS cuts the connection itself (1006). Recorded either way.
      const bad = (await upgrade(`${url}?seq=9`)).ws!;
      const badClosed = new Promise<[number, string]>((res) => bad.once('close', (c, why) => res([c, String(why)])));
      const badAcks: Array<Record<string, unknown>> = [];
      bad.on('message', (d) => badAcks.push(JSON.parse(String(d))));
      // ws refuses to send invalid UTF-8 as text: build the masked frame by hand.
      const payload = Buffer.from([0x7b, 0x22, 0x74, 0x73, 0x22, 0x3a, 0xff, 0xfe, 0x7d]);
      const mask = Buffer.from([1, 2, 3, 4]);
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]));
      (bad as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
      const [badCode, badReason] = await badClosed;
      if (native) assert.is(badCode, 1006);
      else {
        assert.is(badCode, 1007);
        assert.match(badReason, /text frame of 9 bytes is not valid UTF-8/);
        assert.equal(badAcks.map((a) => [a.ack, a.ok]), [[9, false]]);
      }

      // Above the engine's own cap (16 MiB for the 1 MiB default) the engine cuts
      // the connection unread: no reason can be sent, but it is still recorded.
      const huge = (await upgrade(`${url}?seq=20`)).ws!;
      const hugeClosed = new Promise<number>((res) => huge.once('close', (c) => res(c)));
      huge.on('error', () => {});
      huge.send(Buffer.alloc(17 * 1024 * 1024, 1));
      assert.is(await hugeClosed, native ? 1006 : 1009);

      // The other producer was never disturbed.
      good.send(tradeJson());
      await until(() => goodAcks.length === 2, 'the second good ack');
      assert.equal(goodAcks.map((a) => [a.ack, a.ok, a.accepted]), [[1, true, 1], [2, true, 1]]);
      good.close();

      const metrics = (await get(httpPort, '/metrics')).body;
      assert.match(metrics, /ganglion_dead_letters_total\{reason="frame_too_large"\} 2\b/);
      assert.match(metrics, /ganglion_dead_letters_total\{reason="invalid_utf8"\} 1\b/);
      assert.match(metrics, /ganglion_events_in_total\{[^}]*\} 2\b/);

      const log = r.stderr();
      assert.match(log, /refused a frame from ws:127\.0\.0\.1\/\d+ \(seq 5\): frame_too_large: frame of 10485760 bytes is larger than max_frame_bytes \(1048576\); closed 1009/);
      assert.match(log, /refused a frame from ws:127\.0\.0\.1\/\d+ \(seq 9\): invalid_utf8: /);
      assert.match(log, /refused a frame from ws:127\.0\.0\.1\/\d+ \(seq 20\): frame_too_large: frame larger than 16777216 bytes/);

      const code = await r.stop();
      assert.is(code, 0, r.stderr());
      const file = join(r.dir, 'data', 'dead-letters.jsonl');
      assert.ok(statSync(file).size < 64 * 1024, 'no oversize body in the dead letters');
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.is(lines.length, 3, lines.join('\n'));
      assert.match(lines[0], /frame_too_large/);
      assert.match(lines[0], /10485760/);
      assert.match(lines[0], /ws:127\.0\.0\.1\/\d+/);
      assert.match(lines[1], /invalid_utf8/);
      if (!native) assert.match(lines[1], new RegExp(payload.toString('base64').replace(/[+/]/g, '\\$&')), 'the bad bytes are kept');
      assert.match(lines[2], /frame_too_large/);
    } finally { await r.stop(); }
  });

  test(`${engine}: a network bind starts with a token from the environment, and requires it`, async () => {
    const port = await freePort();
    const r = await run(pipelineYaml(`{ type: ws, host: 0.0.0.0, port: ${port}, auth_token: "\${GANGLION_TEST_TOKEN}" }`), args, { ...ENV, GANGLION_TEST_TOKEN: LONG_TOKEN });
    try {
      assert.match(r.stderr(), /running secure_test/, r.stderr());
      assert.equal(listenAddresses(port), ['00000000']);
      assert.is((await upgrade(`ws://127.0.0.1:${port}/ingest`)).status, 401);
      const ok = await upgrade(`ws://127.0.0.1:${port}/ingest?token=${LONG_TOKEN}`);
      assert.is(ok.status, 101);
      ok.ws!.close();
    } finally { await r.stop(); }
  });
}

test.run();
