#!/usr/bin/env node
// Runs the compiled CLI (dist/) when built, else the TypeScript source via tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'host', 'cli', 'main.js');
let mod;
if (existsSync(compiled) && !process.env.GANGLION_FROM_SOURCE) {
  mod = await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(pathToFileURL(join(root, 'host', 'cli', 'main.ts')).href);
}
try {
  await mod.main(process.argv);
} catch (e) {
  // Expected failures (bad input, bad config) carry a message meant for people.
  process.stderr.write(`ganglion: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.GANGLION_DEBUG) console.error(e);
  process.exit(1);
}
