// Starts a worker from a module next to the caller, whether the host runs as
// compiled JavaScript (dist/, worker.js exists) or as TypeScript under tsx.
// Under tsx the loader hooks registered with `--import tsx` do not reach
// worker threads on Node 20, so the worker starts from a two-line bootstrap
// that registers tsx's ESM hooks and then imports the .ts entry.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function spawnWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** The sibling module `name` (without extension) of `here`, in the caller's own extension. */
export function sibling(here: string, name: string): URL {
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, here);
}
