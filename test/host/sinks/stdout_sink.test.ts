import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { StdoutSink } from '../../../host/sinks/stdout_sink.js';
import { serializeOutput, type OutputEvent } from '../../../host/output/format.js';

const o = (i: number, kind: 'anomaly' | 'score' = 'anomaly'): OutputEvent =>
  kind === 'anomaly'
    ? { id: `z-anomaly-K-0-${i}`, kind, op: 'z', key: 'K', ts: 't', ts_ns: '0', value: i, seq: String(i) }
    : { id: `m-score-K-0-${i}`, kind, op: 'm', key: 'K', ts: 't', ts_ns: '0', score: 0.9, threshold: 0.8, alert: true, seq: String(i) };

/** A stream with a tiny buffer that drains only when told, to exercise backpressure. */
class Slow extends Writable {
  chunks: string[] = [];
  release: (() => void)[] = [];
  constructor() { super({ highWaterMark: 16 }); }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push(chunk.toString());
    this.release.push(cb);
  }
}

test('writes selected outputs as JSON lines on flush', async () => {
  const s = new Slow();
  const sink = new StdoutSink({ stream: s, kinds: ['score'] });
  sink.write(o(1));
  sink.write(o(2, 'score'));
  assert.equal(s.chunks, []);
  const flushed = sink.flush();
  await new Promise((r) => setImmediate(r));
  assert.equal(s.chunks, [serializeOutput(o(2, 'score')) + '\n']);
  // The stream is over its high-water mark: flush waits for 'drain'.
  let done = false;
  void flushed.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.is(done, false);
  s.release.shift()!();
  await flushed;
  assert.is(done, true);
  await sink.close();
});

test('order is kept across flushes', async () => {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(c.toString()); cb(); } });
  const sink = new StdoutSink({ stream: w });
  for (let i = 0; i < 5; i++) { sink.write(o(i)); if (i === 2) await sink.flush(); }
  await sink.close();
  assert.is(chunks.join(''), [0, 1, 2, 3, 4].map((i) => serializeOutput(o(i)) + '\n').join(''));
});

test.run();
