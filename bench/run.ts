// npm run bench [-- --quick] [--filter <substring>] [--json <file>]
// Runs every bench/**/*.bench.ts, prints a table and writes all results to
// bench/results/<timestamp>.json (and to --json <file> when given).
import { readdirSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import os from 'node:os';
import type { BenchContext, BenchFile, BenchResult } from './lib.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = args.includes('--quick');
const filter = opt('--filter');
const jsonOut = opt('--json');

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'results' || n === 'node_modules' ? [] : walk(p);
    return n.endsWith('.bench.ts') ? [p] : [];
  });
}

const ctx: BenchContext = { quick, filter, log: (l) => process.stderr.write(l + '\n') };
const all: BenchResult[] = [];
const started = Date.now();
const files = walk(here);
// --filter picks files by path when any path matches, else runs every file and keeps matching case names.
const byPath = filter ? files.filter((f) => relative(here, f).includes(filter)) : [];
for (const file of byPath.length ? byPath : files) {
  const rel = relative(here, file);
  ctx.log(`# ${rel}`);
  const t0 = Date.now();
  const mod = (await import(pathToFileURL(file).href)) as { default: BenchFile };
  try {
    const results = (await mod.default(ctx)).filter((r) => !filter || r.name.includes(filter) || rel.includes(filter));
    for (const r of results) ctx.log(`  ${fmtRow(r)}`);
    all.push(...results);
  } catch (e) {
    ctx.log(`  ERROR in ${rel}: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  }
  ctx.log(`  (${rel}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e6) return (n / 1e6).toFixed(2) + ' M';
  if (a >= 1e3) return (n / 1e3).toFixed(1) + ' K';
  return n < 10 ? n.toFixed(3) : n.toFixed(1);
}
function fmtRow(r: BenchResult): string {
  const base = r.baseline ? `  vs ${r.baseline}: ${fmt(r.baselineValue!)}  ratio ${r.ratio!.toFixed(2)}x` : '';
  return `${r.name.padEnd(58)} ${fmt(r.value).padStart(10)} ${r.unit}${base}`;
}

const doc = {
  timestamp: new Date().toISOString(),
  quick,
  env: {
    cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version,
    assemblyscript: (await import('assemblyscript/package.json', { with: { type: 'json' } }).catch(() => ({ default: { version: '?' } }))).default.version,
    platform: `${os.platform()} ${os.release()}`,
  },
  seconds: (Date.now() - started) / 1000,
  results: all,
};
console.log('\n' + all.map(fmtRow).join('\n'));
mkdirSync(join(here, 'results'), { recursive: true });
const stamp = doc.timestamp.replace(/[:.]/g, '-');
const file = join(here, 'results', `${stamp}.json`);
// The issue fixes the file format as an array of results; the environment goes
// in a sibling .env.json so both stay simple to read.
writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
writeFileSync(file.replace(/\.json$/, '.env.json'), JSON.stringify({ ...doc, results: undefined }, null, 2) + '\n');
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(all, null, 2) + '\n');
console.log(`\nwrote ${relative(process.cwd(), file)} (${all.length} results, ${doc.seconds.toFixed(0)} s)`);
