import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPartitionRuntime } from '../../../host/wasm/module.js';
import { FLAG_CONTROL, OUT_ANOMALY, OUT_BYTES, inputStride, readOutput, writeInput, type OutputRecord } from '../../../host/records.js';
import { createZScore, zscoreConfig, ZScoreConfigError, ZScoreOutputFullError, type ZScoreOperator, type ZScoreOptions } from '../../../host/operators/zscore/zscore.js';
import type { Engine } from '../../../host/operators/operator.js';

const ENGINES: Engine[] = ['wasm', 'js'];
const STRIDE = inputStride(2);
const T0 = 1732424400_123_456_789n;

interface Ev { key: number; value: number; flags?: number }

function setup(engine: Engine, options: ZScoreOptions, bytes = 8 * 1024 * 1024, skipBytes = 0) {
  const rt = createPartitionRuntime(bytes);
  if (skipBytes) rt.alloc.alloc(skipBytes);
  const op = createZScore(engine, rt, { capacity: 64, ...options });
  const input = rt.alloc.alloc(64 * 1024);
  const view = new DataView(rt.memory.buffer);
  let seq = 0;
  /** Feeds events (value in field 1) and returns the drained outputs. */
  const feed = (events: Ev[]): OutputRecord[] => {
    events.forEach((e, i) => {
      seq++;
      writeInput(view, input + i * STRIDE, T0 + BigInt(seq) * 1000n, BigInt(seq), e.key, [-1, e.value], e.flags ?? 0);
    });
    op.process(input, events.length, STRIDE);
    return drain(op, view);
  };
  /** Sequence numbers (and times) continue as if `n` events had been fed. */
  const advance = (n: number) => { seq += n; };
  return { rt, op, feed, advance };
}

function drain(op: ZScoreOperator, view: DataView): OutputRecord[] {
  const { ptr, count } = op.output();
  const out = Array.from({ length: count }, (_, i) => readOutput(view, ptr + i * OUT_BYTES));
  op.clearOutput();
  return out;
}

const vals = (key: number, xs: number[]): Ev[] => xs.map((value) => ({ key, value }));
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} ≠ ${b}`);

for (const engine of ENGINES) {
  test(`${engine}: window scores against the previous N values, spike excluded`, () => {
    const { feed } = setup(engine, { field: 1, mode: 'window', window: 4, op: 7 });
    assert.equal(feed(vals(5, [10, 12, 14, 16])), []);
    const [o, ...rest] = feed(vals(5, [30]));
    assert.is(rest.length, 0);
    assert.is(o.kind, OUT_ANOMALY);
    assert.is(o.op, 7);
    assert.is(o.key, 5);
    assert.is(o.aux, 1);
    assert.is(o.start, T0 + 5000n); // exact nanoseconds
    assert.is(o.end, o.start);
    assert.is(o.seq, 5n);
    const [value, mean, std, z, count] = o.values;
    assert.is(value, 30);
    close(mean, 13, 'mean');
    close(std, Math.sqrt(5), 'stddev');
    close(z, 17 / Math.sqrt(5), 'z');
    assert.is(count, 4);
    // The window slid: now [12, 14, 16, 30], mean 18, so 18 is unremarkable...
    assert.equal(feed(vals(5, [18])), []);
    // ...and [14, 16, 30, 18]: mean 19.5, stddev √38.75.
    const [p] = feed(vals(5, [19.5 + 3.1 * Math.sqrt(38.75)]));
    close(p.values[1], 19.5, 'mean after removal');
    close(p.values[2], Math.sqrt(38.75), 'stddev after removal');
    close(p.values[3], 3.1, 'z after removal');
  });

  test(`${engine}: ewma with alpha, emitAll shows the non-anomalous scores`, () => {
    const { feed } = setup(engine, { field: 1, mode: 'ewma', alpha: 0.5, minSamples: 2, emitAll: true });
    // 10 → mean 10, var 0; 20 → mean 15, var 0.5·(0 + 10·5) = 25.
    assert.equal(feed(vals(1, [10, 20])), []);
    const [a] = feed(vals(1, [25]));
    assert.equal(Array.from(a.values.subarray(0, 5)), [25, 15, 5, 2, 2]);
    assert.is(a.aux, 0, 'z 2 < threshold 3: emitted for emitAll, not flagged');
    // 25 → mean 20, var 0.5·(25 + 10·5) = 37.5.
    const [b] = feed(vals(1, [20 + 3.5 * Math.sqrt(37.5)]));
    close(b.values[1], 20, 'mean');
    close(b.values[3], 3.5, 'z');
    assert.is(b.aux, 1);
    assert.is(b.values[4], 3);
  });

  test(`${engine}: halfLife in events sets alpha = 1 − 2^(−1/h)`, () => {
    assert.is(zscoreConfig({ field: 0, halfLife: 1 }).alpha, 0.5);
    const h = setup(engine, { field: 1, halfLife: 1, minSamples: 2, emitAll: true });
    const a = setup(engine, { field: 1, alpha: 0.5, minSamples: 2, emitAll: true });
    const xs = vals(3, [1, 4, 2, 8, 5, 7, 1]);
    assert.equal(h.feed(xs), a.feed(xs));
  });

  test(`${engine}: nothing is scored before minSamples values`, () => {
    const { feed, op } = setup(engine, { field: 1, mode: 'window', window: 8, minSamples: 5 });
    assert.equal(feed(vals(2, [1, 2, 1, 2, 1e9])), [], 'a huge 5th value has only 4 before it');
    const out = feed(vals(2, [-1e9]));
    assert.is(out.length, 1);
    assert.is(out[0].values[4], 5);
    assert.is(op.counters().anomalies, 1);
    assert.is(op.counters().events, 6);
  });

  test(`${engine}: stddev 0 gives z 0 within epsilon, ±Infinity beyond`, () => {
    const { feed } = setup(engine, { field: 1, mode: 'window', window: 4, epsilon: 0.5, emitAll: true });
    const warm = (k: number) => vals(k, [5, 5, 5, 5]);
    feed([...warm(1), ...warm(2), ...warm(3)]);
    const out = feed([{ key: 1, value: 5.4 }, { key: 2, value: 6 }, { key: 3, value: 4 }]);
    assert.equal(out.map((o) => [o.key, o.aux, o.values[2], o.values[3]]), [[1, 0, 0, 0], [2, 1, 0, Infinity], [3, 1, 0, -Infinity]]);
  });

  test(`${engine}: a window stuck on one value after moving has stddev exactly 0`, () => {
    const xs = [1000.1, 1000.7, 1000.3, ...Array(8).fill(1000)];
    const strict = setup(engine, { field: 1, mode: 'window', window: 8 });
    strict.feed(vals(1, xs));
    const [o] = strict.feed(vals(1, [1000.5]));
    assert.equal(Array.from(o.values.subarray(0, 5)), [1000.5, 1000, 0, Infinity, 8]);
    const loose = setup(engine, { field: 1, mode: 'window', window: 8, epsilon: 0.6, emitAll: true });
    loose.feed(vals(1, xs));
    const [p] = loose.feed(vals(1, [1000.5]));
    assert.equal([p.aux, p.values[2], p.values[3]], [0, 0, 0]);
  });

  test(`${engine}: a move within epsilon is no anomaly even with a large z`, () => {
    const xs = vals(1, [10, 10.1, 9.9, 10]);
    const strict = setup(engine, { field: 1, mode: 'window', window: 4 });
    strict.feed(xs);
    assert.is(strict.feed(vals(1, [10.3]))[0]?.aux, 1);
    const loose = setup(engine, { field: 1, mode: 'window', window: 4, epsilon: 0.5, emitAll: true });
    loose.feed(xs);
    const [o] = loose.feed(vals(1, [10.3]));
    assert.is(o.aux, 0);
    assert.ok(o.values[3] > 4, 'z is still reported');
  });

  test(`${engine}: direction above / below`, () => {
    const base = vals(1, [10, 11, 9, 10, 11, 9, 10, 11, 9, 10]);
    const spikes = vals(1, [100]).concat(vals(2, [0]));
    const run = (direction: 'above' | 'below' | 'both') => {
      const { feed } = setup(engine, { field: 1, alpha: 0.2, direction, minSamples: 10 });
      feed([...base, ...base.map((e) => ({ ...e, key: 2 }))]);
      return feed(spikes).map((o) => o.key);
    };
    assert.equal(run('above'), [1]);
    assert.equal(run('below'), [2]);
    assert.equal(run('both'), [1, 2]);
  });

  test(`${engine}: keys keep separate statistics`, () => {
    const a = vals(1, [1, 2, 3, 2, 1, 50]), b = vals(2, [100, 90, 110, 100, 95, 300]);
    const mixed: Ev[] = a.flatMap((e, i) => [e, b[i]]);
    const opts: ZScoreOptions = { field: 1, mode: 'window', window: 5, threshold: 2 };
    const together = setup(engine, opts).feed(mixed);
    const s = setup(engine, opts);
    const apart = [...s.feed(a), ...s.feed(b)];
    assert.equal(together.map((o) => [o.key, ...o.values]), apart.map((o) => [o.key, ...o.values]).sort((x, y) => x[0] - y[0]));
    assert.is(together.length, 2);
  });

  test(`${engine}: NaN/Infinity values are counted and skipped; control records ignored`, () => {
    const { feed, op } = setup(engine, { field: 1, mode: 'window', window: 3, emitAll: true });
    const out = feed([...vals(1, [1, NaN, 2, Infinity, 3]), { key: 1, value: 1e12, flags: FLAG_CONTROL }, ...vals(1, [2])]);
    assert.is(out.length, 1);
    assert.equal(Array.from(out[0].values.subarray(0, 5)), [2, 2, Math.sqrt(2 / 3), 0, 3]);
    assert.equal(op.counters(), { events: 4, anomalies: 0, skipped: 2, dropped: 0 });
  });

  test(`${engine}: a full output area stops before the event, says how far it got, and loses nothing`, () => {
    const events = vals(1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const ref = setup(engine, { field: 1, alpha: 0.3, minSamples: 2, emitAll: true }).feed(events);
    assert.is(ref.length, 8);
    const { op, rt } = setup(engine, { field: 1, alpha: 0.3, minSamples: 2, emitAll: true, outputCapacity: 4 });
    const input = rt.alloc.alloc(events.length * STRIDE);
    const view = new DataView(rt.memory.buffer);
    events.forEach((e, i) => writeInput(view, input + i * STRIDE, T0 + BigInt(i + 1) * 1000n, BigInt(i + 1), e.key, [-1, e.value]));
    const got: OutputRecord[] = [];
    let at = 0;
    while (at < events.length) {
      try {
        op.process(input + at * STRIDE, events.length - at, STRIDE);
        at = events.length;
      } catch (e) {
        assert.instance(e, ZScoreOutputFullError);
        const err = e as ZScoreOutputFullError;
        assert.match(err.message, /output area full \(4 records\)/);
        assert.is(op.output().count, 4, 'never writes past the output area');
        assert.ok(err.consumed > 0);
        at += err.consumed;
      }
      got.push(...drain(op, view));
    }
    assert.equal(got, ref);
  });

  test(`${engine}: snapshot mid-stream, restore on fresh memory, same outputs as uninterrupted`, () => {
    const opts: ZScoreOptions = { field: 1, mode: 'window', window: 6, minSamples: 3, threshold: 1.5, emitAll: true, capacity: 128 };
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const events: Ev[] = Array.from({ length: 3000 }, () => ({ key: Math.floor(rnd() * 40), value: rnd() < 0.02 ? 100 * rnd() : rnd() }));
    const batches = (evs: Ev[]) => Array.from({ length: Math.ceil(evs.length / 250) }, (_, i) => evs.slice(i * 250, i * 250 + 250));

    const whole = setup(engine, opts);
    const ref = batches(events).flatMap((b) => whole.feed(b));

    const first = setup(engine, opts);
    const before = batches(events.slice(0, 1750)).flatMap((b) => first.feed(b));
    const snap = first.op.snapshot();
    // A different memory size and allocator position: the region lands elsewhere.
    const later = setup(engine, opts, 16 * 1024 * 1024, 12345);
    later.op.restore(snap);
    assert.is.not(later.op.base, first.op.base);
    later.advance(1750);
    const after = batches(events.slice(1750)).flatMap((b) => later.feed(b));
    assert.equal([...before, ...after], ref);
    assert.equal(later.op.counters(), whole.op.counters());
    assert.equal(later.op.stats(), whole.op.stats());
  });

  test(`${engine}: restore checks the layout and keeps the current tunables`, () => {
    const a = setup(engine, { field: 1, mode: 'window', window: 4, threshold: 100 });
    a.feed(vals(1, [1, 2, 3, 2]));
    const snap = a.op.snapshot();
    assert.throws(() => setup(engine, { field: 1, mode: 'window', window: 5 }).op.restore(snap), /different layout \(window 4 ≠ 5\)/);
    assert.throws(() => setup(engine, { field: 1, alpha: 0.1 }).op.restore(snap), /mode window ≠ ewma/);
    assert.throws(() => setup(engine, { field: 1, mode: 'window', window: 4 }).op.restore(snap.subarray(0, snap.length - 8)), /truncated or corrupt/);
    assert.throws(() => setup(engine, { field: 1, mode: 'window', window: 4 }).op.restore(new Uint8Array(200)), /not a zscore region/);
    const b = setup(engine, { field: 1, mode: 'window', window: 4, threshold: 2 });
    b.op.restore(snap);
    assert.is(b.feed(vals(1, [50])).length, 1, 'threshold 2 from the new config, not 100 from the snapshot');
  });
}

test('config: defaults and precise errors', () => {
  const c = zscoreConfig({ field: 2, halfLife: 10 });
  assert.equal({ mode: c.mode, threshold: c.threshold, minSamples: c.minSamples, direction: c.direction, emitAll: c.emitAll, epsilon: c.epsilon },
    { mode: 'ewma', threshold: 3, minSamples: 30, direction: 'both', emitAll: false, epsilon: 0 });
  // One default (zscoreMinSamples, also the pipeline file's): 30, never more than the window.
  assert.is(zscoreConfig({ field: 0, mode: 'window', window: 20 }).minSamples, 20);
  assert.is(zscoreConfig({ field: 0, mode: 'window', window: 100 }).minSamples, 30);
  // A pipeline config passes through whole: labels ignored, the other mode's defaults too.
  const passed = zscoreConfig({ kind: 'zscore', name: 'spikes', field: 1, mode: 'window', window: 8, alpha: 0.05 } as ZScoreOptions);
  assert.equal([passed.mode, passed.window, passed.alpha], ['window', 8, 0]);
  const bad: [ZScoreOptions, RegExp][] = [
    [{ field: 0 }, /needs alpha .* or halfLife/],
    [{ field: 0, alpha: 0.1, halfLife: 3 }, /alpha or halfLife, not both/],
    [{ field: 0, alpha: 1.5 }, /alpha must be a number with 0 < alpha ≤ 1, got 1.5/],
    [{ field: 0, mode: 'window' }, /window must be an integer in 2..1024, got nothing/],
    [{ field: 0, mode: 'window', window: 10, minSamples: 11 }, /minSamples must be an integer in 1..10, got 11/],
    [{ field: 3, fieldCount: 3, alpha: 0.1 }, /field must be an integer in 0..2, got 3/],
    [{ field: 0, alpha: 0.1, threshold: -1 }, /threshold must be a positive number, got -1/],
    [{ field: 0, alpha: 0.1, direction: 'up' as 'above' }, /direction must be one of both, above, below, got "up"/],
    [{ field: 0, alpha: 0.1, thresold: 4 } as ZScoreOptions, /unknown option "thresold"/],
    [{ field: 0, alpha: 0.1, ttlNs: 5 as unknown as bigint }, /ttlNs must be a bigint/],
    [{ field: 0, mode: 'sliding' as 'window' }, /mode must be one of ewma, window, got "sliding"/],
  ];
  for (const [o, re] of bad) {
    try { zscoreConfig(o); assert.unreachable(`accepted ${JSON.stringify(o, (_, v) => typeof v === 'bigint' ? String(v) : v)}`); }
    catch (e) {
      assert.instance(e, ZScoreConfigError);
      assert.match((e as Error).message, re);
    }
  }
});

test('a region that does not fit says which operator and how big', () => {
  const rt = createPartitionRuntime(4 * 1024 * 1024);
  assert.throws(() => createZScore('js', rt, { field: 0, mode: 'window', window: 100, op: 4 }),
    /zscore op 4: its state \(13\.\d MiB for 12288 keys × 100 values\) does not fit: partition memory exhausted/);
});

test('process rejects a misaligned pointer or a stride that cannot hold the field', () => {
  const { op } = setup('wasm', { field: 3, alpha: 0.1 });
  assert.throws(() => op.process(1028, 1, inputStride(4)), /8-byte aligned/);
  assert.throws(() => op.process(1024, 1, inputStride(3)), /stride 48 cannot hold field 3/);
});

test.run();
