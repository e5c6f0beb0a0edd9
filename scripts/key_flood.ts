// A flood of unique keys against a real `ganglion run` (defaults for the key
// dictionary): N trades with unique instrument names of a given length over
// WebSocket, then the child's RSS, the dictionary gauges, the dead letters by
// reason and the newest checkpoint's size.
//
//   npx tsx scripts/key_flood.ts [--keys 200000] [--bytes 1024]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../bench/free_port.js';

const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? Number(process.argv[i + 1]) : dflt; };
const KEYS = arg('keys', 200_000), BYTES = arg('bytes', 1024);
// Frames stay under the source's default max_frame_bytes (1 MiB).
const PER_FRAME = Math.max(1, Math.floor(512 * 1024 / (BYTES + 60)));

const dir = mkdtempSync(join(tmpdir(), 'ganglion-flood-'));
const ws = await freePort(), http = await freePort();
const file = join(dir, 'p.yaml');
writeFileSync(file, `name: flood
sources: [{ type: ws, host: 127.0.0.1, port: ${ws} }]
schema: { type: trades }
operators: [{ name: vol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }]
sinks: [{ type: jsonl, path: ${join(dir, 'out.jsonl')} }]
delivery: { checkpoint: { interval: 1s } }
partitions: 1
server: { host: 127.0.0.1, port: ${http}, dashboard: false }
`);
const bin = new URL('../bin/ganglion.js', import.meta.url).pathname;
const child = spawn(process.execPath, [bin, 'run', file, '--data-dir', join(dir, 'data'), '--no-status'], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
child.stderr!.on('data', (d) => (err += d));
while (!/running /.test(err)) { if (child.exitCode !== null) throw new Error(err); await new Promise((r) => setTimeout(r, 50)); }
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
const rssBefore = rss();

const sock = new WebSocket(`ws://127.0.0.1:${ws}/ingest?seq=1`);
await new Promise((r) => sock.once("open", r));
const acks: Array<(a: { accepted?: number; rejected?: number }) => void> = [];
sock.on('message', (d) => acks.shift()?.(JSON.parse(String(d))));
sock.on('close', (code) => { if (acks.length) { console.error(`connection closed (${code}) with frames unacknowledged`); child.kill('SIGTERM'); process.exit(1); } });
let accepted = 0, rejected = 0;
const started = performance.now();
const t0 = Date.now();
for (let f = 0; f * PER_FRAME < KEYS; f++) {
  const lines: string[] = [];
  for (let k = 0; k < PER_FRAME && f * PER_FRAME + k < KEYS; k++) {
    const i = f * PER_FRAME + k;
    lines.push(`{"ts":${t0 + i},"instrument":"${`K${i}-`.padEnd(BYTES, 'x')}","price":100,"qty":1}`);
  }
  const ack = await new Promise<{ accepted?: number; rejected?: number }>((r) => { acks.push(r); sock.send(lines.join('\n')); });
  accepted += ack.accepted ?? 0;
  rejected += ack.rejected ?? 0;
}
const seconds = (performance.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 2500)); // a checkpoint after the last frame
const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
const gauge = (name: string) => metrics.split('\n').filter((l) => l.startsWith(name)).join('; ');
const cps = join(dir, 'data', 'checkpoints');
const cpSize = Math.max(...readdirSync(cps).map((f) => statSync(join(cps, f)).size));
console.log(`${KEYS} unique ${BYTES}-byte keys in ${seconds.toFixed(1)} s: accepted ${accepted}, dead letters ${rejected}`);
console.log(`RSS ${rssBefore.toFixed(0)} MB before, ${rss().toFixed(0)} MB after; newest checkpoint ${(cpSize / 1024).toFixed(0)} KiB`);
console.log(gauge('ganglion_key_dictionary'));
console.log(gauge('ganglion_dead_letters_total{'));
sock.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
