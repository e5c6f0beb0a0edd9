#!/usr/bin/env node
// Bundles the pipeline-validation worker (dist/host/config/load_worker.js with
// zod and yaml) into one file. Loading ~170 small ESM modules costs the worker
// ~100 ms of resolve/read/link, most of `ganglion run`'s path to ready; one
// bundled file loads in about half the time (see host/config/load_off_thread.ts).
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
await build({
  entryPoints: [`${root}dist/host/config/load_worker.js`],
  outfile: `${root}dist/host/config/load_worker.bundle.js`,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // yaml is CommonJS and requires Node built-ins; an ESM bundle has no `require`.
  banner: { js: "import { createRequire as __ganglionRequire } from 'node:module'; const require = __ganglionRequire(import.meta.url);" },
});
