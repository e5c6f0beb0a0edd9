import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { smallDisk } from '../../helpers/tmp.js';
import { JsonlSink } from '../../../host/sinks/jsonl_sink.js';
import { serializeOutput, type OutputEvent } from '../../../host/output/format.js';

function out(i: number, kind: 'window' | 'anomaly' = 'window', op = 'w'): OutputEvent {
  return kind === 'window'
    ? { id: `${op}-window-K${i}-0-${i}`, kind, op, key: `K${i}`, window: { start: 'a', end: 'b', start_ns: '0', end_ns: '1' }, values: { count: i }, seq: String(i) }
    : { id: `${op}-anomaly-K${i}-0-${i}`, kind, op, key: `K${i}`, ts: 'a', ts_ns: '0', value: i, seq: String(i) };
}
const line = (o: OutputEvent) => serializeOutput(o) + '\n';
const tmp = () => mkdtempSync(join(tmpdir(), 'ganglion-jsonl-'));

test('writes one JSON line per output, in order, once flushed', async () => {
  const dir = tmp();
  const sink = new JsonlSink({ path: join(dir, 'out.jsonl') });
  for (let i = 0; i < 3; i++) sink.write(out(i));
  assert.is(readFileSync(join(dir, 'out.jsonl'), 'utf8'), '');
  await sink.flush();
  assert.is(readFileSync(join(dir, 'out.jsonl'), 'utf8'), [0, 1, 2].map((i) => line(out(i))).join(''));
  await sink.close();
  assert.throws(() => sink.write(out(3)), /write after close/);
});

test('kinds and operators select what the sink receives', async () => {
  const dir = tmp();
  const sink = new JsonlSink({ path: join(dir, 'a.jsonl'), kinds: ['anomaly'], operators: ['z'] });
  sink.write(out(0, 'window', 'z'));
  sink.write(out(1, 'anomaly', 'other'));
  sink.write(out(2, 'anomaly', 'z'));
  await sink.close();
  assert.is(readFileSync(join(dir, 'a.jsonl'), 'utf8'), line(out(2, 'anomaly', 'z')));
});

test('rotates by size between lines; the concatenation is the whole stream', async () => {
  const dir = tmp();
  const path = join(dir, 'out.jsonl');
  const size = Buffer.byteLength(line(out(10)));
  const sink = new JsonlSink({ path, rotateBytes: size * 3 });
  for (let i = 10; i < 20; i++) { sink.write(out(i)); if (i % 2) await sink.flush(); }
  await sink.close();
  const files = readdirSync(dir).sort();
  assert.equal(files, ['out-000000.jsonl', 'out-000001.jsonl', 'out-000002.jsonl', 'out.jsonl']);
  const all = ['out-000000.jsonl', 'out-000001.jsonl', 'out-000002.jsonl', 'out.jsonl'].map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  assert.is(all, Array.from({ length: 10 }, (_, k) => line(out(10 + k))).join(''));
  for (const f of files) assert.ok(readFileSync(join(dir, f), 'utf8').length <= size * 3);
});

test('rotates by age on the given clock', async () => {
  const dir = tmp();
  let now = 0;
  const sink = new JsonlSink({ path: join(dir, 'o.jsonl'), rotateAgeMs: 1000, now: () => now });
  sink.write(out(1)); await sink.flush();
  now = 500; sink.write(out(2)); await sink.flush();
  now = 1000; sink.write(out(3)); await sink.flush();
  await sink.close();
  assert.is(readFileSync(join(dir, 'o-000000.jsonl'), 'utf8'), line(out(1)) + line(out(2)));
  assert.is(readFileSync(join(dir, 'o.jsonl'), 'utf8'), line(out(3)));
});

test('truncate to a committed position drops later outputs, across rotations', async () => {
  const dir = tmp();
  const path = join(dir, 'out.jsonl');
  const size = Buffer.byteLength(line(out(10)));
  const sink = new JsonlSink({ path, rotateBytes: size * 2 });
  for (let i = 10; i < 13; i++) sink.write(out(i));
  const committed = sink.position();
  assert.equal(committed, { segment: 1, bytes: size });
  for (let i = 13; i < 18; i++) sink.write(out(i));
  await sink.flush();
  sink.write(out(99)); // still buffered: discarded by the truncate too
  sink.truncate(committed);
  assert.ok(!existsSync(join(dir, 'out-000002.jsonl')));
  assert.equal(sink.position(), { segment: 1, bytes: size });
  // The replay writes the same outputs again.
  for (let i = 13; i < 18; i++) sink.write(out(i));
  await sink.close();
  const all = readdirSync(dir).sort().reverse().reverse().filter((f) => f !== 'out.jsonl').concat('out.jsonl').map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  assert.is(all, Array.from({ length: 8 }, (_, k) => line(out(10 + k))).join(''));
});

test('truncate into an earlier segment brings it back as the active file', async () => {
  const dir = tmp();
  const path = join(dir, 'out.jsonl');
  const size = Buffer.byteLength(line(out(10)));
  const sink = new JsonlSink({ path, rotateBytes: size });
  for (let i = 10; i < 14; i++) { sink.write(out(i)); await sink.flush(); }
  assert.equal(sink.position(), { segment: 3, bytes: size });
  sink.truncate({ segment: 1, bytes: 0 });
  assert.equal(readdirSync(dir).sort(), ['out-000000.jsonl', 'out.jsonl']);
  assert.is(readFileSync(path, 'utf8'), '');
  assert.throws(() => sink.truncate({ segment: 2, bytes: 0 }), /cannot truncate/);
  await sink.close();
});

test('reopening continues the file and the segment numbering', async () => {
  const dir = tmp();
  const path = join(dir, 'out.jsonl');
  const size = Buffer.byteLength(line(out(10)));
  const a = new JsonlSink({ path, rotateBytes: size });
  a.write(out(10)); a.write(out(11)); await a.close();
  const b = new JsonlSink({ path, rotateBytes: size * 10 });
  assert.equal(b.position(), { segment: 1, bytes: size });
  b.write(out(12)); await b.close();
  assert.is(readFileSync(path, 'utf8'), line(out(11)) + line(out(12)));
});

test('a full disk: the write fails naming the file, position() never runs past the file, and the rest is written once there is room', async () => {
  const disk = smallDisk(64 * 1024);
  try {
    const path = join(disk.path, 'out.jsonl');
    const sink = new JsonlSink({ path });
    const lines: string[] = [];
    let error: Error | null = null;
    for (let i = 0; i < 2000 && !error; i++) {
      const o = out(i);
      sink.write(o);
      lines.push(line(o));
      try { sink.position(); } catch (e) { error = e as Error; }
    }
    assert.ok(error, 'the disk filled up');
    assert.match(error!.message, `writing ${path} failed (no space left on device)`);
    assert.throws(() => sink.position(), /no space left on device/, 'no position is committed while outputs are unwritten');
    const onDisk = readFileSync(path);
    assert.ok(lines.join('').startsWith(onDisk.toString()), 'the file holds a prefix of the outputs (perhaps a torn line)');
    execFileSync('mount', ['-o', 'remount,size=1m', disk.path]);
    const pos = sink.position();
    assert.is(readFileSync(path, 'utf8'), lines.join(''), 'every output once, in order');
    assert.equal(pos, { segment: 0, bytes: Buffer.byteLength(lines.join('')) });
    await sink.close();
  } finally { disk.remove(); }
});

test.run();
