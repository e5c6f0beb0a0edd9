// Regenerates the README's Benchmarks section from one results file of
// bench/run.ts, so the numbers people read are the numbers a run produced:
//
//   npx tsx bench/readme_report.ts [bench/results/<stamp>.json] [--readme README.md]
//
// Without a file, the newest bench/results/*.json is used. The environment
// (CPU, cores, Node, AssemblyScript) comes from the sibling <stamp>.env.json
// that bench/run.ts writes. Only the text between the markers
//   <!-- bench:start --> ... <!-- bench:end -->
// is replaced; when the README has no markers they are appended at its end.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './lib.js';

export const START_MARKER = '<!-- bench:start -->';
export const END_MARKER = '<!-- bench:end -->';

export interface RunEnv {
  timestamp?: string;
  quick?: boolean;
  seconds?: number;
  env?: { cpu?: string; cores?: number; node?: string; assemblyscript?: string; platform?: string };
}

export class ReportError extends Error {}

/** The newest results file in `dir` (names are ISO timestamps, so they sort by time). */
export function newestResultsFile(dir: string): string {
  const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json') && !n.endsWith('.env.json')).sort() : [];
  if (files.length === 0) throw new ReportError(`no results in ${dir}: run \`npm run bench\` first`);
  return join(dir, files[files.length - 1]);
}

function readJson(file: string): unknown {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { throw new ReportError(`cannot read ${file}`); }
  try { return JSON.parse(text); } catch (e) { throw new ReportError(`${file} is not valid JSON: ${(e as Error).message}`); }
}

/** Results of a file, checked: an array of { name, unit, value, baseline?, baselineValue?, ratio?, note? }. */
export function readResults(file: string): BenchResult[] {
  const doc = readJson(file);
  if (!Array.isArray(doc)) throw new ReportError(`${file}: expected an array of results (bench/run.ts format), got ${doc === null ? 'null' : typeof doc}`);
  doc.forEach((r, i) => {
    const bad = (m: string): never => { throw new ReportError(`${file}: result ${i}${r && typeof r.name === 'string' ? ` ("${r.name}")` : ''}: ${m}`); };
    if (r === null || typeof r !== 'object') bad('expected an object');
    if (typeof r.name !== 'string' || r.name === '') bad('expected a name');
    if (typeof r.unit !== 'string') bad('expected a unit');
    if (typeof r.value !== 'number') bad('expected a numeric value');
    if (r.baseline !== undefined && (typeof r.baseline !== 'string' || typeof r.baselineValue !== 'number')) bad('a baseline needs a name and a numeric baselineValue');
    if (r.ratio !== undefined && typeof r.ratio !== 'number') bad('expected a numeric ratio');
  });
  return doc as BenchResult[];
}

/** The environment next to a results file, or undefined when it is missing. */
export function readEnv(resultsFile: string): RunEnv | undefined {
  const file = resultsFile.replace(/\.json$/, '.env.json');
  return existsSync(file) ? (readJson(file) as RunEnv) : undefined;
}

/** 2.35 M, 12.3 K, 7.50, 0.042 — three significant figures at most. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + ' G';
  if (a >= 1e6) return (n / 1e6).toFixed(2) + ' M';
  if (a >= 1e4) return (n / 1e3).toFixed(1) + ' K';
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n === 0 ? '0' : n.toPrecision(2);
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown between the markers (markers excluded). */
export function renderSection(results: readonly BenchResult[], env: RunEnv | undefined, source: string): string {
  const e = env?.env;
  const lines: string[] = ['## Benchmarks', ''];
  if (e) {
    const when = env?.timestamp ? ` on ${env.timestamp.slice(0, 10)}` : '';
    const mode = env?.quick ? ' in `--quick` mode (fewer samples; indicative only)' : '';
    lines.push(`Measured${when}${mode} on ${e.cpu ?? 'an unknown CPU'}, ${e.cores ?? '?'} cores, ${e.platform ?? 'unknown platform'}; ` +
      `Node ${e.node ?? '?'}, AssemblyScript ${e.assemblyscript ?? '?'}.`);
  } else {
    lines.push('Environment unknown: the results file has no `.env.json` beside it.');
  }
  lines.push('', `Source: \`${source}\`. Regenerate with \`npm run bench && npx tsx bench/readme_report.ts\`. ` +
    'Ratios are ganglion over the baseline measured side by side in the same run, oriented so that > 1 means ganglion is better.', '');
  if (results.length === 0) {
    lines.push('_The run produced no results._');
    return lines.join('\n');
  }
  lines.push('| benchmark | value | baseline | baseline value | ratio |', '|---|---:|---|---:|---:|');
  const notes: string[] = [];
  for (const r of results) {
    let name = cell(r.name);
    if (r.note) { notes.push(r.note); name += ` [${notes.length}]`; }
    const base = r.baseline !== undefined && r.baselineValue !== undefined;
    lines.push(`| ${name} | ${formatNumber(r.value)} ${cell(r.unit)} | ${base ? cell(r.baseline!) : '—'} | ` +
      `${base ? `${formatNumber(r.baselineValue!)} ${cell(r.unit)}` : '—'} | ${r.ratio !== undefined ? `${formatNumber(r.ratio)}×` : '—'} |`);
  }
  if (notes.length) {
    lines.push('');
    notes.forEach((n, i) => lines.push(`${i + 1}. ${n.replace(/\n/g, ' ')}`));
  }
  return lines.join('\n');
}

/** The README with the section between the markers replaced (markers appended when absent). */
export function replaceSection(readme: string, section: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if ((start < 0) !== (end < 0)) throw new ReportError(`README has ${start < 0 ? END_MARKER : START_MARKER} but not ${start < 0 ? START_MARKER : END_MARKER}; fix the markers by hand`);
  if (start >= 0 && end < start) throw new ReportError(`README has ${END_MARKER} before ${START_MARKER}; fix the markers by hand`);
  const block = `${START_MARKER}\n${section}\n${END_MARKER}`;
  if (start < 0) return `${readme}${readme === '' || readme.endsWith('\n') ? '' : '\n'}\n${block}\n`;
  return readme.slice(0, start) + block + readme.slice(end + END_MARKER.length);
}

/** Reads a results file and rewrites the README's section in place; returns the section. */
export function updateReadme(readmeFile: string, resultsFile: string, displayRoot = dirname(readmeFile)): string {
  if (!existsSync(readmeFile)) throw new ReportError(`${readmeFile} does not exist`);
  const results = readResults(resultsFile);
  const section = renderSection(results, readEnv(resultsFile), relative(displayRoot, resultsFile) || basename(resultsFile));
  const before = readFileSync(readmeFile, 'utf8');
  const after = replaceSection(before, section);
  if (after !== before) writeFileSync(readmeFile, after);
  return section;
}

function cli(argv: string[]): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  let readme = join(root, 'README.md');
  let results: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--readme') {
      if (argv[i + 1] === undefined) throw new ReportError('--readme needs a file');
      readme = argv[++i];
    } else if (argv[i].startsWith('-')) throw new ReportError(`unknown option ${argv[i]} (usage: readme_report.ts [results.json] [--readme README.md])`);
    else if (results === undefined) results = argv[i];
    else throw new ReportError(`one results file at most, got ${results} and ${argv[i]}`);
  }
  const file = results ?? newestResultsFile(join(root, 'bench', 'results'));
  updateReadme(readme, file);
  process.stdout.write(`updated ${relative(process.cwd(), readme) || readme} from ${relative(process.cwd(), file)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    cli(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof ReportError)) throw e;
    process.stderr.write(`readme_report: ${e.message}\n`);
    process.exit(1);
  }
}
