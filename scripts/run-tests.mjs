#!/usr/bin/env node
// Runs every test file under test/ in its own process (uvu + tsx), so one
// hanging or crashing file cannot take the rest down, and prints the closing
// line CI reads: `N passed, N failed`. uvu prints Total/Passed/Skipped per file
// but never a "failed" count, so it is derived here.
//
//   node scripts/run-tests.mjs [substring ...]   only files whose path contains one
//   TEST_JOBS=1                                 run files one at a time
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const jobs = Number(process.env.TEST_JOBS ?? 2);
const timeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 240_000);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'fixtures') out.push(...walk(p)); }
    else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

const files = walk(join(root, 'test')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
let passed = 0, failed = 0, skipped = 0;
const failures = [];

function runFile(file) {
  return new Promise((resolve) => {
    const rel = relative(root, file);
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => { out += `\n[run-tests] ${rel} timed out after ${timeoutMs} ms\n`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const num = (label) => { const m = out.match(new RegExp(`${label}:\\s+(\\d+)`)); return m ? Number(m[1]) : undefined; };
      const total = num('Total'), ok = num('Passed'), skip = num('Skipped') ?? 0;
      let f = total !== undefined && ok !== undefined ? total - ok - skip : 1;
      if (code !== 0 && f === 0) f = 1; // crashed after the summary, or an unhandled rejection
      passed += ok ?? 0; failed += f; skipped += skip;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${f ? 'FAIL' : 'ok  '} ${rel} (${ok ?? 0} passed, ${f} failed, ${secs}s)`);
      if (f) { failures.push(rel); process.stdout.write(out.split('\n').map((l) => '    ' + l).join('\n') + '\n'); }
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(Array.from({ length: Math.max(1, jobs) }, async () => {
  while (queue.length) await runFile(queue.shift());
}));
if (failures.length) console.log(`\nfailed files:\n  ${failures.join('\n  ')}`);
if (files.length === 0) { console.log('no test files matched'); failed += 1; }
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
