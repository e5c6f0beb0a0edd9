// `ganglion run` validates its pipeline file on a short-lived worker thread.
// The validator (zod, with every locale it ships, and yaml) is the largest
// thing the service loads: its module loading would sit on the path to ready
// and its memory would stay resident in the main isolate for the life of the
// process, for a check done once. On a worker it runs while this thread
// loads the runtime, and its isolate is freed when it ends. The config comes back by structured clone
// (plain data and bigints); errors are the same ConfigError, issue for issue.
import { ConfigError, type ConfigIssue } from './errors.js';
import type { PipelineConfig } from './types.js';
import { sibling, spawnWorker } from '../partition/spawn.js';

type Reply = { config: PipelineConfig } | { issues: ConfigIssue[] } | { error: string };

export function loadPipelineOffThread(file: string): Promise<PipelineConfig> {
  return new Promise((resolve, reject) => {
    // Compiled: the one-file bundle `npm run build` makes (scripts/bundle-config-worker.mjs); under tsx: the source.
    const entry = import.meta.url.endsWith('.ts') ? sibling(import.meta.url, 'load_worker') : new URL('./load_worker.bundle.js', import.meta.url);
    const worker = spawnWorker(entry, { workerData: { file } });
    let settled = false;
    worker.once('message', (m: Reply) => {
      settled = true;
      if ('config' in m) resolve(m.config);
      else if ('issues' in m) reject(new ConfigError(m.issues));
      else reject(new Error(m.error));
      void worker.terminate();
    });
    worker.once('error', (e) => { if (!settled) { settled = true; reject(e); } });
    worker.once('exit', (code) => { if (!settled) { settled = true; reject(new Error(`pipeline validation thread exited with code ${code} before answering`)); } });
  });
}
