// The figure run of the crash loop (issue 14): ≥ 1 M events from a separate
// producer process that resends unacked frames, ≥ 20 SIGKILLs of `ganglion
// run` (a third of them aimed inside checkpoint writes), over WebSocket and
// over MQTT with broker restarts. exactly_once (producer id / producer+seq
// user properties): output byte-identical to an uninterrupted run;
// at_least_once (no producer id): no window missing or short.
//
//   npm run build && npx tsx scripts/crash-loop-figures.ts [--frames 2000] [--batch 500] [--kills 22] [--only ws|mqtt]
//
// Prints one line per run and a JSON summary at the end. Takes ~10 minutes.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { crashLoopRun, windowCounts, type CrashLoopOptions } from '../bench/crash_loop.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';
import { tempDir } from '../test/helpers/tmp.js';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(`--${name}`); return i < 0 ? dflt : process.argv[i + 1]; };
const frames = Number(arg('frames', '2000')), batch = Number(arg('batch', '500')), kills = Number(arg('kills', '22'));
const only = arg('only', '');
const rate = Number(arg('rate', '40'));
const log = (l: string) => process.stderr.write(`  ${l}\n`);
const results: Record<string, unknown>[] = [];

async function pair(name: string, base: CrashLoopOptions, killed: Partial<CrashLoopOptions>): Promise<void> {
  const ref = await crashLoopRun(base, `${name}-ref`);
  const run = await crashLoopRun({ ...base, ...killed, log }, `${name}-run`);
  const expected = readFileSync(ref.outputPath), got = readFileSync(run.outputPath);
  let verdict: string;
  if (base.mode === 'exactly_once') {
    verdict = got.equals(expected) ? `byte-identical (${got.length} bytes, ${expected.toString().split('\n').length - 1} outputs)` : `DIFFERENT: ${got.length} vs ${expected.length} bytes`;
  } else {
    const e = windowCounts(expected), g = windowCounts(got);
    const short = [...e].filter(([k, n]) => (g.get(k) ?? 0) < n).length;
    let extra = 0;
    for (const [k, n] of e) extra += Math.max(0, (g.get(k) ?? 0) - n);
    verdict = short === 0 ? `nothing missing (${e.size} windows; ${extra} events counted more than once, allowed at-least-once)` : `MISSING: ${short} windows missing or short`;
  }
  const r = { name, mode: base.mode, transport: base.transport, events: frames * batch, kills: run.kills, killsInCheckpointWrite: run.killsInCheckpointWrite, brokerRestarts: run.brokerRestarts, producer: run.producer, seconds: Math.round(run.seconds), verdict };
  results.push(r);
  process.stderr.write(`${name}: ${verdict}; ${run.kills} SIGKILLs (${run.killsInCheckpointWrite} inside a checkpoint write), ${run.brokerRestarts} broker restarts, producer ${JSON.stringify(run.producer)}, ${Math.round(run.seconds)} s\n`);
}

const dir = tempDir('ganglion-figures-');
try {
  const common = { dir: dir.path, frames, batch, rate, kills: 0, seed: 17, checkpointPauseMs: 10 };
  if (only !== 'mqtt') {
    await pair('ws-exactly-once', { ...common, mode: 'exactly_once', transport: 'ws', producer: 'fig-ws' }, { kills });
    await pair('ws-at-least-once', { ...common, mode: 'at_least_once', transport: 'ws' }, { kills });
  }
  if (only !== 'ws') {
    const broker = await startMosquitto({ persistence: true });
    try {
      await pair('mqtt-exactly-once', { ...common, mode: 'exactly_once', transport: 'mqtt', broker, producer: 'fig-mqtt' }, { kills, brokerRestartsAt: [4, 13] });
      await pair('mqtt-at-least-once', { ...common, mode: 'at_least_once', transport: 'mqtt', broker }, { kills, brokerRestartsAt: [4, 13] });
    } finally {
      await broker.stop();
    }
  }
} finally {
  dir.remove();
}
process.stdout.write(JSON.stringify({ loadavg: loadavg().map((l) => l.toFixed(2)), results }, null, 1) + '\n');
process.exitCode = results.every((r) => !/DIFFERENT|MISSING/.test(String(r.verdict))) ? 0 : 1;
