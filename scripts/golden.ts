// Regenerates the golden end-to-end fixtures of test/examples.golden.test.ts:
// for each example pipeline, a pinned input (the recorded file an example
// reads, or else its own synthetic source's
// settings at a fixed start, over at most GOLDEN_KEYS keys and slowed to
// GOLDEN_RATE events/s, so each key has history enough for its z-scores,
// limits and model features to fire, and anomalies at 1 % at least so alerts
// do; GOLDEN_EVENTS events as JSON Lines) and
// the outputs the example's sinks receive when `ganglion replay` runs it.
// Run after a deliberate behaviour change, then review the diff of
// test/fixtures/golden/ like code:
//
//   npx tsx scripts/golden.ts
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadPipeline } from '../host/config/load.js';
import { SyntheticFeed, isoToNs, type FeedKind } from '../host/sources/synthetic_feed.js';

export const GOLDEN_EVENTS = 5000;
const GOLDEN_RATE = 500;
const GOLDEN_KEYS = 20;
const START = '2026-01-05T14:30:00Z';
const root = new URL('..', import.meta.url).pathname;
export const GOLDEN_DIR = join(root, 'test/fixtures/golden');

export function goldenExamples(): string[] {
  return readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(root, 'examples', f));
}

/** The fixture of an example; `x.sql` shares `x.yaml`'s (the SQL rewrite must give the same outputs). */
export function goldenPaths(example: string): { input: string; expected: string } {
  const name = basename(example).replace(/\.(yaml|sql)$/, '');
  return { input: recordedInput(example) ?? join(GOLDEN_DIR, `${name}.input.jsonl`), expected: join(GOLDEN_DIR, `${name}.expected.jsonl`) };
}

/** An example that reads a recorded file (its `file` source, relative to the repository root) is pinned by that file. */
function recordedInput(example: string): string | undefined {
  const src = loadPipeline(example).sources.find((s) => s.type === 'file');
  return src && src.type === 'file' ? join(root, src.path) : undefined;
}

function input(example: string): string {
  const config = loadPipeline(example);
  const src = config.sources.find((s) => s.type === 'synthetic');
  if (!src || src.type !== 'synthetic') throw new Error(`${example}: a golden input is made from the example's synthetic source; it has none`);
  const feed = new SyntheticFeed({
    kind: (config.schema.type === 'custom' ? 'trades' : config.schema.type) as FeedKind,
    seed: src.seed, instruments: Math.min(src.instruments, GOLDEN_KEYS), zipf: src.zipf, rate: GOLDEN_RATE, startNs: isoToNs(START), events: GOLDEN_EVENTS,
    outOfOrder: src.out_of_order, maxDelayNs: src.max_delay, late: src.late,
    lateByNs: config.event_time.allowed_lateness + config.event_time.out_of_orderness + 1_000_000_000n,
    anomalies: Math.max(src.anomalies, 0.01),
  });
  return feed.take(GOLDEN_EVENTS).map((e) => JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).join('\n') + '\n';
}

/**
 * `ganglion replay` of the example over its pinned input, keeping the lines
 * some sink of the example selects (its kinds and operators), into `output`.
 * Throws with stderr on failure.
 */
export function replayGolden(example: string, output: string): void {
  const all = `${output}.all`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/ganglion.js'), 'replay', example, '--input', goldenPaths(example).input, '--output', all],
    { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ganglion replay ${basename(example)} exited ${r.status}: ${r.stderr}`);
  const sinks = loadPipeline(example).sinks;
  const selected = (line: string) => {
    const o = JSON.parse(line) as { kind: string; op?: string };
    return sinks.some((s) => (!s.kinds || s.kinds.includes(o.kind as never)) && (!s.operators || o.op === undefined || s.operators.includes(o.op)));
  };
  const lines = readFileSync(all, 'utf8').split('\n').filter((l) => l && selected(l));
  writeFileSync(output, lines.map((l) => l + '\n').join(''));
  rmSync(all);
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  for (const example of goldenExamples()) {
    const { input: inPath, expected } = goldenPaths(example);
    if (!recordedInput(example)) writeFileSync(inPath, input(example));
    replayGolden(example, expected);
    process.stdout.write(`${basename(example)}: ${inPath}, ${expected}\n`);
  }
}
