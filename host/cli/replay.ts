// `ganglion replay pipeline.yaml --input events.jsonl --output out.jsonl`
//
// Runs a recorded input through the pipeline in event time and writes every
// output (all kinds) as JSON Lines. Same input ⇒ byte-identical output:
//   - the input is fed in file order, as frames of whole lines (JSONL) or
//     length-prefixed FlatBuffers batches (.fb: u32 LE length, then the batch);
//   - receive time is not the wall clock but 0, so nothing depends on when
//     the replay runs, and latency_ns (a wall-clock figure) is left out;
//   - the pipeline's own sources, sinks, server and checkpoints are replaced:
//     it reads only the input and writes only the output (replaced, never
//     appended to);
//   - lateness is decided per event in input order (see docs/ARCHITECTURE.md,
//     watermarks), so a replay gives the windows `run` gave for the same input;
//   - backpressure slows the reading; a record the pipeline cannot take fails
//     the replay (exit 1, "the output is incomplete"), it is never dropped;
//   - one partition by default; with --partitions N the outputs of all
//     partitions are collected and written in a canonical order (event time,
//     operator, key, seq) once the input is done.
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { loadPipeline } from '../config/load.js';
import type { PipelineConfig } from '../config/types.js';
import type { OutputEvent } from '../output/format.js';
import { JsonlSink } from '../sinks/jsonl_sink.js';
import type { OutputSink } from '../sinks/output_sink.js';
import { StdoutSink } from '../sinks/stdout_sink.js';
import { pipelineFileFailed } from './config_error.js';
import { createPipeline } from '../pipeline/pipeline.js';
import { FileInputError, readFrames } from '../sources/file_source.js';

export interface ReplayOptions {
  pipeline: string;
  input: string;
  /** absent or "-": stdout. */
  output?: string;
  /** jsonl | flatbuffers (default: by extension; .fb/.bin → flatbuffers). */
  format?: string;
  partitions?: string | number;
  /** Show the progress bar even when stderr is not a TTY. */
  progress?: boolean;
  /** wasm (default) or js: the operators' TypeScript twins (same output, by the parity tests). */
  engine?: string;
}

/**
 * The config a replay runs: input only from the file, output only to us, no
 * server, no checkpoints. `max_age` and `max_future` are dropped: they judge
 * an event against the wall clock when it is received, which a recorded file
 * does not have (yesterday's file would be all dead letters, and the reasons
 * would change with the day it is replayed on).
 */
export function replayConfig(config: PipelineConfig, input: string, format: 'jsonl' | 'flatbuffers', partitions: number): PipelineConfig {
  const wallClockFree = (v: PipelineConfig['validation']) => { const { max_age: _age, max_future: _future, ...rest } = v; return rest; };
  return {
    ...config,
    validation: wallClockFree(config.validation),
    ...(config.streams ? { streams: config.streams.map((s) => ({ ...s, validation: wallClockFree(s.validation) })) } : {}),
    sources: [{ type: 'file', path: input, format }],
    sinks: [],
    server: undefined,
    partitions,
    delivery: { ...config.delivery, mode: 'at_most_once' },
  };
}

/** A deterministic total order for outputs of several partitions. */
export function canonicalOrder(a: OutputEvent, b: OutputEvent): number {
  const t = (o: OutputEvent) => BigInt('window' in o ? o.window.end_ns : 'ts_ns' in o ? o.ts_ns : o.received_at_ns ?? '0');
  const ta = t(a), tb = t(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export async function replayCommand(opts: ReplayOptions): Promise<number> {
  let config: PipelineConfig;
  try {
    config = loadPipeline(opts.pipeline);
  } catch (e) {
    return pipelineFileFailed(e);
  }
  const format = opts.format ?? (['.fb', '.bin'].includes(extname(opts.input).toLowerCase()) ? 'flatbuffers' : 'jsonl');
  if (format !== 'jsonl' && format !== 'flatbuffers') { process.stderr.write(`--format: expected jsonl or flatbuffers, found "${format}"\n`); return (process.exitCode = 1); }
  const partitions = opts.partitions === undefined ? 1 : Number(opts.partitions);
  if (!Number.isInteger(partitions) || partitions < 1) { process.stderr.write(`--partitions: expected a whole number of at least 1, found "${opts.partitions}"\n`); return (process.exitCode = 1); }
  let size: number;
  try {
    size = statSync(opts.input).size;
  } catch {
    process.stderr.write(`--input: cannot read ${opts.input}: file not found\n`);
    return (process.exitCode = 1);
  }

  const engine = opts.engine ?? 'wasm';
  if (engine !== 'wasm' && engine !== 'js') { process.stderr.write(`--engine: expected wasm or js, found "${engine}"\n`); return (process.exitCode = 1); }
  // The replay feeds the file itself (so it controls framing and receive time): no sources started.
  const pipeline = await createPipeline(replayConfig(config, opts.input, format, partitions), {
    noSources: true, partitions, engine, log: (l) => process.stderr.write(`ganglion: ${l}\n`),
  });
  const sink: OutputSink = !opts.output || opts.output === '-' ? new StdoutSink() : replacedFile(opts.output);
  const collected: OutputEvent[] = [];
  // Dead letters are known while a frame is decoded, window results only once
  // the partition has processed it: held back until everything before them
  // is out (see the push below), so their place in the output never depends
  // on how fast the partition ran.
  pipeline.subscribe((out) => {
    if ('latency_ns' in out) delete (out as { latency_ns?: number }).latency_ns;
    // Dead letters come in the stream where the pipeline places them (after the
    // outputs of the epoch before their frame), a fixed order like the rest.
    if (partitions > 1) collected.push(out);
    else sink.write(out);
  });

  const progress = opts.progress || process.stderr.isTTY ? new Progress(size) : undefined;
  const origin = `file:${opts.input}`;
  let failed: Error | null = null;
  try {
    // The same framing as a `run` file source; each frame waits until the
    // partitions take more input, so backpressure slows the read, never drops.
    await readFrames(opts.input, format, async (data, binary) => {
      await pipeline.whenAccepting();
      await pipeline.pushFrame({ data, binary, origin, receivedAtNs: 0n });
      if (pipeline.failed) throw pipeline.failed;
    }, { onRead: (pos) => progress?.update(pos) });
    // End of input: the watermark jumps to the end of time, every open window fires.
    await pipeline.finish();
    if (pipeline.failed) throw pipeline.failed;
  } catch (e) {
    failed = e instanceof Error ? e : new Error(String(e));
  } finally {
    progress?.done();
    await pipeline.close().catch((e: Error) => { failed ??= e; });
    if (partitions > 1) for (const o of collected.sort(canonicalOrder)) sink.write(o);
    await sink.close();
  }
  if (failed) {
    // Loud: a replay that could not take every record is not a result.
    process.stderr.write(failed instanceof FileInputError ? `${failed.message}\n` : `ganglion replay: failed, the output is incomplete: ${failed.message}\n`);
    return (process.exitCode = 1);
  }
  return (process.exitCode = 0);
}

/**
 * The output file starts empty (like a shell's `>`): a replay is a pure
 * function of its input, so a second run over the same file writes the same
 * bytes instead of appending a second copy.
 */
export function replacedFile(path: string): JsonlSink {
  const sink = new JsonlSink({ path });
  sink.truncate({ segment: 0, bytes: 0 });
  return sink;
}

/** `replay [████████░░░░] 62% 1.2 GB/1.9 GB`, redrawn at most 10 times a second, on stderr. */
class Progress {
  private last = 0;
  constructor(private readonly total: number) {}
  update(done: number): void {
    const t = Date.now();
    if (t - this.last < 100 && done < this.total) return;
    this.last = t;
    const f = this.total === 0 ? 1 : done / this.total;
    const w = 30;
    const bar = '█'.repeat(Math.round(f * w)).padEnd(w, '░');
    process.stderr.write(`\rreplay [${bar}] ${Math.floor(f * 100)}% ${mb(done)}/${mb(this.total)}\x1b[K`);
  }
  done(): void {
    this.update(this.total);
    process.stderr.write('\n');
  }
}

function mb(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}
