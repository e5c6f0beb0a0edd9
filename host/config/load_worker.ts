// Worker entry for loadPipelineOffThread (load_off_thread.ts): validates one
// pipeline file and posts the config, or the ConfigError's issues, back.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, loadPipeline } from './load.js';

const { file } = workerData as { file: string };
try {
  parentPort!.postMessage({ config: loadPipeline(file) });
} catch (e) {
  if (e instanceof ConfigError) parentPort!.postMessage({ issues: e.issues });
  else parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
}
