// Before a pipeline recovers: can it recover what it acknowledged? Every
// event in the ingest log was acknowledged to its producer, and every output
// in a file sink was committed; a restart that silently starts from less
// (checkpoints gone and the log's start deleted by retention, the data
// directory removed under a sink that still holds output) would empty the
// sinks or mix two histories. Such a start is refused with what is missing,
// unless the operator says to start over (`ganglion run --start-over`), which
// moves the old state aside instead of deleting it.
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { PipelineConfig } from '../config/types.js';
import type { DamageReport } from '../log/ingest_log.js';
import { describeSeqs } from '../log/ingest_log.js';
import { jsonlFiles } from '../sinks/jsonl_sink.js';

export interface RecoveryFacts {
  dataDir: string;
  logDir: string;
  /** The checkpoint recovery will restore, or null. */
  restored: { path: string; logSeq: bigint } | null;
  /** Why newer checkpoints could not be used (corrupt files). */
  skipped: string[];
  /** Segment files the log held when it was opened (0: an empty or missing log). */
  logSegments: number;
  firstRetainedSeq: bigint;
  /** Output already in the file sinks. */
  sinkOutput: Array<{ name: string; files: string[]; bytes: number }>;
}

const START_OVER = 'To give it up and start from an empty state, run with --start-over (the log and checkpoints are moved to <data-dir>/discarded-<time>/, the sink files renamed *.discarded-<time>)';

/** The JSONL sinks of a config, named as the runtime names them. */
export function fileSinks(config: PipelineConfig): Array<{ name: string; path: string }> {
  return config.sinks.flatMap((s, i) => (s.type === 'jsonl' ? [{ name: s.name ?? `${s.type}${i}`, path: resolve(s.path) }] : []));
}

export function sinkOutput(config: PipelineConfig): RecoveryFacts['sinkOutput'] {
  return fileSinks(config).map((s) => ({ name: s.name, ...jsonlFiles(s.path) })).filter((s) => s.bytes > 0);
}

/** A refusal naming what is lost, or null when recovery can restore everything acknowledged. */
export function refusal(f: RecoveryFacts): string | null {
  const skipped = f.skipped.length ? ` (unusable: ${f.skipped.join('; ')})` : '';
  const outputs = f.sinkOutput.map((s) => `${s.name} (${s.bytes} bytes in ${s.files.join(', ')})`).join(', ');
  if (f.restored) {
    const { path, logSeq } = f.restored;
    if (f.logSegments === 0 && logSeq > 1n) {
      return `checkpoint ${path} continues the ingest log at seq ${logSeq}, but ${f.logDir} holds no log segment: every event acknowledged after seq ${logSeq - 1n} is lost (how many is unknown)${skipped}. Refusing to start. ${START_OVER}.`;
    }
    if (f.firstRetainedSeq > logSeq) {
      return `checkpoint ${path} replays the ingest log from seq ${logSeq}, but ${f.logDir} starts at seq ${f.firstRetainedSeq} (earlier segments were deleted): acknowledged events ${describeSeqs(logSeq, f.firstRetainedSeq)} are lost` +
        `${f.skipped.length ? `; the newer checkpoints that covered them are unusable${skipped}` : ''}. Refusing to start. ${START_OVER}.`;
    }
    return null;
  }
  if (f.logSegments > 0 && f.firstRetainedSeq > 1n) {
    return `no usable checkpoint in ${f.dataDir}${skipped || ' (none found)'}, and the ingest log ${f.logDir} starts at seq ${f.firstRetainedSeq} (retention deleted the segments before it): acknowledged events ${describeSeqs(1n, f.firstRetainedSeq)} cannot be replayed` +
      `${outputs ? `, so the committed outputs of ${outputs} cannot be rebuilt` : ''}. Refusing to start. ${START_OVER}.`;
  }
  if (f.logSegments === 0 && (outputs || f.skipped.length)) {
    return `${f.dataDir} holds no ingest log and no usable checkpoint${skipped}, yet ${outputs ? `the sinks already hold committed output: ${outputs}` : 'checkpoint files were there'}: ` +
      `this is not a first start (the data directory was removed, emptied or is not the one used before: --data-dir). Everything acknowledged before is lost to recovery. Refusing to start. ${START_OVER}.`;
  }
  return null;
}

/** One line for each damaged region the log found on open (torn tails keep the old one-line notice). */
export function damageLines(damage: DamageReport[], checkpoint: string | undefined): string[] {
  return damage.map((d) => {
    const where = `${d.path} at byte ${d.at} (${d.problem})`;
    if (d.kind === 'torn') return `ingest log: cut a torn tail of ${d.end - d.at} bytes (${where}): a write the crash interrupted, never acknowledged`;
    if (d.kind === 'covered') return `ingest log: ${where} is damaged: ${describeSeqs(d.fromSeq, d.toSeq)} are gone from the log, but checkpoint ${checkpoint} already holds them, so the results are complete; \`ganglion replay --from/--to\` cannot replay them`;
    return `ingest log: cut at ${where} (truncate_corrupt): acknowledged events ${describeSeqs(d.fromSeq, d.toSeq)} are lost and will not be processed`;
  });
}

/** `--start-over`: moves the log and checkpoints aside and renames the file sinks' output, so nothing is deleted. */
export function startOver(config: PipelineConfig, dataDir: string, dirs: string[], log: (line: string) => void): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside = join(dataDir, `discarded-${stamp}`);
  const moved: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || readdirSync(dir).length === 0) continue;
    mkdirSync(aside, { recursive: true });
    renameSync(dir, join(aside, basename(dir)));
    moved.push(dir);
  }
  const renamed: string[] = [];
  for (const s of fileSinks(config)) {
    for (const f of jsonlFiles(s.path).files) { renameSync(f, `${f}.discarded-${stamp}`); renamed.push(f); }
  }
  log(`starting over (--start-over): ${moved.length ? `moved ${moved.join(', ')} to ${aside}` : 'no log or checkpoints to move'}; ` +
    `${renamed.length ? `renamed ${renamed.join(', ')} to *.discarded-${stamp}` : 'no sink output to set aside'}; processing starts from an empty state`);
}
