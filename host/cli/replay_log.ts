// `ganglion replay pipeline.yaml --from <time> --to <time> [--data-dir D] [--output out.jsonl]`
//
// Reprocesses a range of the retained ingest log through the pipeline:
// records whose event time is in [from, to) are fed in log order, with the
// key ids and seqs they were logged with (so output ids match the live run),
// then the watermark jumps to the end so every window touched fires. The log
// is read, never written: a live `ganglion run` may be appending to it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadPipeline } from '../config/load.js';
import type { PipelineConfig } from '../config/types.js';
import { parseTimestampString } from '../codec/timestamps.js';
import { RecordBatch } from '../codec/record_batch.js';
import { ENTRY_KEYS, ENTRY_RECORDS, scanSegment } from '../log/ingest_log.js';
import { createPipeline } from '../pipeline/pipeline.js';
import { IN_TS } from '../records.js';
import { replacedFile } from './replay.js';
import type { OutputSink } from '../sinks/output_sink.js';
import { StdoutSink } from '../sinks/stdout_sink.js';
import { pipelineFileFailed } from './config_error.js';

export interface ReplayLogOptions {
  pipeline: string;
  from?: string;
  to?: string;
  dataDir?: string;
  output?: string;
  partitions?: string | number;
  engine?: string;
}

const fail = (msg: string): number => { process.stderr.write(`ganglion: ${msg}\n`); return (process.exitCode = 1); };

function parseTime(flag: string, text: string | undefined, dflt: bigint): bigint | string {
  if (text === undefined) return dflt;
  const t = parseTimestampString(text, 'auto');
  return typeof t === 'bigint' ? t : `${flag}: ${t} (expected ISO 8601 like 2026-01-05T14:30:00Z, or epoch ms/ns)`;
}

export async function replayLogCommand(opts: ReplayLogOptions): Promise<number> {
  let config: PipelineConfig;
  try {
    config = loadPipeline(opts.pipeline);
  } catch (e) {
    return pipelineFileFailed(e);
  }
  const from = parseTime('--from', opts.from, -(1n << 63n));
  const to = parseTime('--to', opts.to, (1n << 63n) - 1n);
  if (typeof from === 'string') return fail(from);
  if (typeof to === 'string') return fail(to);
  if (to <= from) return fail('--to must be later than --from');
  const dataDir = resolve(opts.dataDir ?? join('ganglion-data', config.name));
  const logDir = resolve(dataDir, config.delivery.log.dir);
  let segments: string[];
  try {
    segments = readdirSync(logDir).filter((n) => /^\d{20}\.log$/.test(n)).sort();
  } catch {
    return fail(`no ingest log at ${logDir} (pass --data-dir; only exactly_once and at_least_once pipelines keep one)`);
  }
  if (segments.length === 0) return fail(`the ingest log at ${logDir} is empty`);
  const partitions = opts.partitions === undefined ? 1 : Number(opts.partitions);
  if (!Number.isInteger(partitions) || partitions < 1) return fail(`--partitions: expected a whole number of at least 1, found "${opts.partitions}"`);
  const engine = opts.engine ?? 'wasm';
  if (engine !== 'wasm' && engine !== 'js') return fail(`--engine: expected wasm or js, found "${engine}"`);

  const pipeline = await createPipeline(
    { ...config, sources: [], sinks: [], server: undefined, partitions, delivery: { ...config.delivery, mode: 'at_most_once' } },
    { noSources: true, partitions, engine, dataDir, log: (l) => process.stderr.write(`ganglion: ${l}\n`) },
  );
  const sink: OutputSink = !opts.output || opts.output === '-' ? new StdoutSink() : replacedFile(opts.output);
  pipeline.subscribe((out) => {
    if ('latency_ns' in out) delete (out as { latency_ns?: number }).latency_ns;
    sink.write(out);
  });
  const stride = pipeline.plan.stride;
  let replayed = 0;
  try {
    for (const name of segments) {
      const path = join(logDir, name);
      // A live writer may be mid-entry at the tail, and a damaged region may sit
      // in the middle (recovery reports it): every whole entry around them is read.
      for (const e of scanSegment(readFileSync(path), path, BigInt(name.slice(0, 20))).entries) {
        if (e.kind === ENTRY_KEYS) {
          for (const [id, key] of JSON.parse(Buffer.from(e.payload).toString('utf8')) as Array<[number, string]>) {
            const got = pipeline.intern(key);
            if (got !== id) throw new Error(`${path}: key '${key}' was logged as id ${id} but interns as ${got}: the log does not start at its first segment (retention removed it)`);
          }
        } else if (e.kind === ENTRY_RECORDS) {
          if (e.payload.length / e.count !== stride) throw new Error(`${path}: records of ${e.payload.length / e.count} bytes, ${config.name} uses ${stride}: the log was written by another pipeline`);
          const batch = new RecordBatch(stride, e.count);
          const view = new DataView(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength);
          for (let i = 0; i < e.count; i++) {
            const ts = view.getBigInt64(i * stride + IN_TS, true);
            if (ts < from || ts >= to) continue;
            batch.bytes.set(e.payload.subarray(i * stride, (i + 1) * stride), batch.count * stride);
            batch.count++;
          }
          if (batch.count > 0) {
            pipeline.replayRecords(batch, 0n);
            replayed += batch.count;
            await pipeline.whenAccepting();
          }
        }
      }
    }
    await pipeline.finish();
  } catch (e) {
    await pipeline.close();
    await sink.close();
    return fail((e as Error).message);
  }
  await pipeline.close();
  await sink.close();
  process.stderr.write(`ganglion: replayed ${replayed} events from ${logDir}\n`);
  return (process.exitCode = 0);
}
