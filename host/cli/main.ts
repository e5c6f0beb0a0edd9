// The `ganglion` command. Each subcommand lives in its own module and is
// loaded only when used, so `ganglion score` never loads the server stack.
import { Command } from 'commander';

export async function main(argv = process.argv): Promise<void> {
  const program = new Command('ganglion')
    .description('WebAssembly-accelerated edge stream processor')
    .version('0.1.0')
    .showHelpAfterError();

  program
    .command('score')
    .description('score CSV rows with an XGBoost JSON model')
    .requiredOption('--model <file>', 'XGBoost model saved with save_model("m.json")')
    .requiredOption('--input <file>', 'CSV with a header row; columns named as the model features or f0..fN')
    .option('--margin', 'output raw margins (before the objective link)')
    .option('--output <file>', 'write the CSV here instead of stdout')
    .option('--engine <engine>', 'wasm or js', 'wasm')
    .action(async (opts) => (await import('./score.js')).scoreCommand(opts));

  program
    .command('run')
    .description('run a pipeline as a service (no file: the built-in market-surveillance pipeline over the synthetic feed)')
    .argument('[pipeline]', 'pipeline file (YAML, JSON or a .sql job script)')
    .option('--data-dir <dir>', 'ingest log, checkpoints and dead letters (default ./ganglion-data/<name>)')
    .option('--port <port>', 'HTTP port for metrics, dashboard, /health, /ready and topics (overrides server.port; 0: any free port)')
    .option('--log-level <level>', 'error, warn or info: which operational lines are printed', 'info')
    .option('--duration <duration>', 'stop by itself after this long, e.g. 30s (as if interrupted)')
    .option('--engine <engine>', 'wasm or js', 'wasm')
    .option('--no-status', 'no live status line')
    .option('--no-native', 'serve WebSocket sources with the ws package (never load the uWebSockets.js addon)')
    .option('--truncate-corrupt', 'when the ingest log is damaged where acknowledged events were, cut it there and go on without them (the log names the seqs lost) instead of refusing to start')
    .option('--start-over', 'give up what ganglion cannot recover: move the ingest log and checkpoints to <data-dir>/discarded-<time>/, rename the JSONL sink files *.discarded-<time>, start from an empty state')
    .action(async (pipeline: string | undefined, opts) => {
      // Before run.js and its imports load: start-up must not size the young generation (released once ready).
      (await import('./young_generation.js')).holdYoungGeneration();
      await (await import('./run.js')).runCommand({ pipeline, ...opts });
    });

  program
    .command('replay')
    .description('replay recorded events (--input) or a time range of the retained ingest log (--from/--to) through a pipeline in event time; same input gives byte-identical output')
    .argument('<pipeline>', 'pipeline file (YAML, JSON or a .sql job script)')
    .option('--input <file>', 'events.jsonl (JSON Lines) or events.fb (u32 LE length-prefixed FlatBuffers batches)')
    .option('--from <time>', 'replay the ingest log from this event time (ISO 8601 or epoch ms/ns)')
    .option('--to <time>', 'replay the ingest log up to this event time (exclusive)')
    .option('--data-dir <dir>', 'where the pipeline keeps its ingest log (default ./ganglion-data/<name>)')
    .option('--output <file>', 'JSON Lines output, replaced if it exists (default: stdout)')
    .option('--format <format>', 'jsonl or flatbuffers (default: from the extension)')
    .option('--partitions <n>', 'partitions (default 1; more: outputs written in canonical order at the end)')
    .option('--engine <engine>', 'wasm or js', 'wasm')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .action(async (pipeline: string, opts) => {
      if (opts.input) {
        await (await import('./replay.js')).replayCommand({ pipeline, ...opts });
      } else if (opts.from !== undefined || opts.to !== undefined) {
        await (await import('./replay_log.js')).replayLogCommand({ pipeline, ...opts });
      } else {
        process.stderr.write('ganglion replay: give --input <file>, or --from/--to to replay the retained ingest log\n');
        process.exitCode = 1;
      }
    });

  program
    .command('validate')
    .description('check a pipeline file: prints ok, or every problem with file:line:column (exit 1)')
    .argument('<pipeline>', 'pipeline file (YAML, JSON or a .sql job script)')
    .option('--data-dir <dir>', 'the data dir run would use, checked for writability (default ./ganglion-data/<name>)')
    .action(async (file: string, opts: { dataDir?: string }) => {
      await (await import('./validate.js')).validateCommand({ file, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
    });

  program
    .command('explain')
    .description('print the logical plan of a pipeline: streams and their fields, operators (reads, writes, state, outputs), sinks')
    .argument('<pipeline>', 'pipeline file (YAML, JSON or a .sql job script)')
    .option('--format <format>', 'text, json, or dot (graphviz)', 'text')
    .action(async (file: string, opts) => {
      await (await import('./explain.js')).explainCommand({ file, format: opts.format });
    });

  await program.parseAsync(argv);
}
