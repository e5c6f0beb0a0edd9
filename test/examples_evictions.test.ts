// Window state never refuses a live key: every shipped example runs over its
// synthetic feed with zero `state_evicted` late outputs, and the sizing rule
// `ganglion validate` applies to window capacity (host/config/window_sizing.ts)
// holds at its worst case (every key in every pane, out of order and late
// within the bounds).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline, parsePipeline } from '../host/config/load.js';
import type { PipelineConfig } from '../host/config/types.js';
import { capacityFor, statesPerKey } from '../host/config/window_sizing.js';
import { createPipeline } from '../host/pipeline/pipeline.js';
import { tempDir } from './helpers/tmp.js';

const dir = new URL('../examples/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

/** Runs `config` (sinks off, at_most_once) to the end of its input; late outputs by operator and reason. */
async function lateOutputs(config: PipelineConfig, feed?: (push: (events: Record<string, unknown>[]) => Promise<void>) => Promise<void>): Promise<{ late: Record<string, number>; outputs: number }> {
  const data = tempDir();
  const p = await createPipeline({ ...config, sinks: [], server: undefined, delivery: { ...config.delivery, mode: 'at_most_once' } }, {
    baseDir: dir, dataDir: data.path, log: () => undefined, ...(feed ? { noSources: true } : {}),
  });
  const late: Record<string, number> = {};
  let outputs = 0;
  p.subscribe((o) => {
    outputs++;
    if (o.kind === 'late') { const k = `${o.op}:${(o as { reason: string }).reason}`; late[k] = (late[k] ?? 0) + 1; }
  });
  if (feed) await feed((events) => p.push(events as never));
  else await p.sourcesEnded();
  await p.finish();
  await p.close();
  data.remove();
  return { late, outputs };
}

test('every shipped example runs ~3 s of its synthetic feed (or its recorded file) with zero state evictions', async () => {
  const runs = files.map(async (f) => {
    const config = loadPipeline(join(dir, f));
    const src = config.sources.find((s) => s.type === 'synthetic');
    if (!src || src.type !== 'synthetic') {
      // An example over a recorded feed (dedup-trades: its file, relative to the repository root) runs all of it.
      assert.ok(config.sources.length > 0 && config.sources.every((s) => s.type === 'file'), `${f} has a synthetic source or recorded files`);
      return { f, ...(await lateOutputs(config)) };
    }
    const events = Math.round(src.rate * 3);
    const { late, outputs } = await lateOutputs({ ...config, sources: [{ ...src, events }] });
    return { f, late, outputs };
  });
  for (const { f, late, outputs } of await Promise.all(runs)) {
    assert.ok(outputs > 0, `${f} produced outputs`);
    const evicted = Object.entries(late).filter(([k]) => k.endsWith(':state_evicted'));
    assert.equal(evicted, [], `${f}: ${JSON.stringify(late)}`);
  }
});

/**
 * The worst case for the rule: every key gets an event in every pane (twice),
 * plus one out of order by 90 % of out_of_orderness and one late by 90 % of
 * allowed_lateness, over four times the span a state lives.
 */
function worstCase(config: PipelineConfig, keys: number, stepMs: number, spanMs: number) {
  const et = config.event_time;
  const ooo = Number(et.out_of_orderness / 1_000_000n), lateness = Number(et.allowed_lateness / 1_000_000n);
  const t0 = 1_767_623_400_000;
  return async (push: (events: Record<string, unknown>[]) => Promise<void>) => {
    for (let t = 0; t < 4 * spanMs; t += stepMs / 2) {
      const events: Record<string, unknown>[] = [];
      for (let k = 0; k < keys; k++) {
        const ts = t0 + t + (k % 7);
        events.push({ ts, instrument: `K${k}`, price: 100, qty: 1 });
        events.push({ ts: ts - Math.floor(ooo * 0.9), instrument: `K${k}`, price: 100, qty: 1 });
        events.push({ ts: ts - ooo - Math.floor(lateness * 0.9), instrument: `K${k}`, price: 100, qty: 1 });
      }
      await push(events);
    }
  };
}

test('validate refuses a window capacity below the synthetic feed\'s keys × live states per key, naming both', () => {
  const yaml = (capacity: number, partitions = 1) => `name: fraud
sources: [{ type: synthetic, name: switch, instruments: 100000 }]
schema: { type: payments }
key: account
event_time: { out_of_orderness: 500ms, allowed_lateness: 5s }
operators: [{ name: acct_1m, type: window, window: sliding, size: 1m, slide: 10s, capacity: ${capacity}, field: amount, aggregates: [count] }]
partitions: ${partitions}
`;
  assert.throws(() => parsePipeline(yaml(16384), 'fraud.yaml'), (e: Error) =>
    /fraud\.yaml:6:\d+ operators\[0\]\.capacity: expected a capacity of at least 800000: the synthetic source "switch" feeds 100000 keys \(account\) and each key holds up to 8 panes/.test(e.message));
  assert.ok(parsePipeline(yaml(800000), 'fraud.yaml'));
  // Spread over 4 partitions: a quarter of the keys each, plus headroom for the hash spread.
  assert.ok(parsePipeline(yaml(8 * Math.ceil(25000 + 4 * Math.sqrt(25000)), 4), 'fraud.yaml'));
  assert.throws(() => parsePipeline(yaml(8 * 25000, 4), 'fraud.yaml'), /over 4 partitions/);
});

const KEYS = 40;
const windows = [
  { window: 'sliding 60s/10s', op: 'window: sliding, size: 60s, slide: 10s', stepMs: 10_000, spanMs: 65_500 },
  { window: 'sliding 60s/15s (pane 15s)', op: 'window: sliding, size: 60s, slide: 15s', stepMs: 15_000, spanMs: 65_500 },
  { window: 'tumbling 2s', op: 'window: tumbling, size: 2s', stepMs: 2000, spanMs: 7500 },
];
for (const w of windows) {
  test(`sizing rule, ${w.window}: capacity = keys × states per key never evicts; half of it does`, async () => {
    const yaml = (capacity: number) => `name: sizing
schema: { type: trades }
event_time: { out_of_orderness: 500ms, allowed_lateness: 5s, idle_timeout: 0s }
operators: [{ name: w, type: window, ${w.op}, field: qty, aggregates: [count, sum], capacity: ${capacity} }]
partitions: 1
`;
    const probe = parsePipeline(yaml(1), 'sizing.yaml');
    const op = probe.operators[0];
    assert.ok(op.type === 'window');
    const need = capacityFor(KEYS, statesPerKey(op, probe.event_time), 1);
    const ok = await lateOutputs(parsePipeline(yaml(need), 'sizing.yaml'), worstCase(probe, KEYS, w.stepMs, w.spanMs));
    assert.ok(ok.outputs > 0);
    assert.equal(ok.late, {}, `capacity ${need}`);
    const small = await lateOutputs(parsePipeline(yaml(Math.floor(need / 2)), 'sizing.yaml'), worstCase(probe, KEYS, w.stepMs, w.spanMs));
    assert.ok((small.late['w:state_evicted'] ?? 0) > 0, `capacity ${Math.floor(need / 2)} evicts: ${JSON.stringify(small.late)}`);
  });
}

test.run();
