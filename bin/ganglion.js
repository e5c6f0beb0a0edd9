#!/usr/bin/env node
// Runs the compiled CLI (dist/) when built, else the TypeScript source via tsx
// (a clone with its dev dependencies); when neither is there, says what to do.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'host', 'cli', 'main.js');
let mod;
if (existsSync(compiled) && !process.env.GANGLION_FROM_SOURCE) {
  mod = await import(pathToFileURL(compiled).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      `ganglion: the compiled CLI is missing (${compiled}).\n` +
        '  In a clone of the repository: run `npm install` (it builds dist/ and the WebAssembly module), or `npm run build`,\n' +
        '  then `node bin/ganglion.js <command>` or `npm run ganglion -- <command>`.\n' +
        '  Installed from npm: reinstall the package (`npm install ganglion`).\n',
    );
    process.exit(1);
  }
  if (!process.env.GANGLION_FROM_SOURCE) process.stderr.write('ganglion: dist/ is not built; running the TypeScript sources through tsx (`npm run build` compiles them)\n');
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
