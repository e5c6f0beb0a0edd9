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

  await program.parseAsync(argv);
}
