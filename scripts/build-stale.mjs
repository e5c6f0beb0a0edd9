#!/usr/bin/env node
// Runs the parts of `npm run build` whose outputs are older than their inputs
// (a make-style check on file times). `npm run bench -- --quick` has a
// one-minute budget and a full build is ~13 s of it on a 2-core VM, though
// `npm install` has already built (the `prepare` script) and nothing changed.
// `npm run build` itself stays unconditional.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Newest modification time under `paths` (files or directories), 0 if none exist. */
function newest(paths) {
  let t = 0;
  const visit = (p) => {
    let st;
    try { st = statSync(p); } catch { return; }
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    else t = Math.max(t, st.mtimeMs);
  };
  for (const p of paths) visit(join(root, p));
  return t;
}

/** Oldest modification time of `files`; -1 when one is missing (always stale). */
function oldest(files) {
  let t = Infinity;
  for (const f of files) {
    try { t = Math.min(t, statSync(join(root, f)).mtimeMs); } catch { return -1; }
  }
  return t;
}

const common = ['package.json', 'package-lock.json'];
const steps = [
  { script: 'build:wasm', inputs: [...common, 'assembly', 'asconfig.json'], outputs: ['build/ganglion.wasm', 'build/ganglion.debug.wasm', 'build/ganglion-bench.wasm'] },
  {
    script: 'build:host',
    inputs: [...common, 'host', 'schemas', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle-config-worker.mjs'],
    // The bundle is written last, so its time is the end of the step.
    outputs: ['dist/host/config/load_worker.bundle.js'],
  },
];

for (const { script, inputs, outputs } of steps) {
  if (newest(inputs) < oldest(outputs)) {
    console.log(`build-stale: ${script} is up to date`);
    continue;
  }
  const r = spawnSync('npm', ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
