import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  END_MARKER, START_MARKER, formatNumber, newestResultsFile, readResults, renderSection, replaceSection, updateReadme, ReportError,
} from '../../bench/readme_report.js';
import { compared, type BenchResult } from '../../bench/lib.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'readme-report-'));
const results: BenchResult[] = [
  compared('e2e: market surveillance, FlatBuffers over ws', 'events/s', 2_400_000, 'RxJS 7 + ws', 180_000, 'loopback, 3 s flat out'),
  { name: 'e2e: latency p99 at 100 K events/s', unit: 'µs', value: 612.5 },
  compared('tree | score', 'ns/row', 250, 'XGBoost native', 430),
];
const env = { timestamp: '2026-11-24T05:41:51.204Z', quick: true, env: { cpu: 'AMD EPYC', cores: 2, node: 'v20.20.2', assemblyscript: '0.28.20', platform: 'linux 6.1' } };
mkdirSync(join(dir, 'results'));
const older = join(dir, 'results', '2026-11-24T05-00-00-000Z.json');
const newer = join(dir, 'results', '2026-11-24T05-41-51-204Z.json');
writeFileSync(older, '[]');
writeFileSync(newer, JSON.stringify(results));
writeFileSync(newer.replace(/\.json$/, '.env.json'), JSON.stringify(env));

test('numbers are short and readable', () => {
  assert.equal([2_400_000, 180_000, 612.5, 13.33, 1.7, 0.0421, 0, 3.2e9].map(formatNumber), ['2.40 M', '180.0 K', '613', '13.3', '1.70', '0.042', '0', '3.20 G']);
});

test('section: environment line, one table row per result, notes, escaped pipes', () => {
  const s = renderSection(results, env, 'bench/results/x.json');
  assert.match(s, /^## Benchmarks\n/);
  assert.match(s, /Measured on 2026-11-24 in `--quick` mode .* on AMD EPYC, 2 cores, linux 6\.1; Node v20\.20\.2, AssemblyScript 0\.28\.20\./);
  assert.match(s, /\| e2e: market surveillance, FlatBuffers over ws \[1\] \| 2\.40 M events\/s \| RxJS 7 \+ ws \| 180\.0 K events\/s \| 13\.3× \|/);
  assert.match(s, /\| e2e: latency p99 at 100 K events\/s \| 613 µs \| — \| — \| — \|/);
  assert.match(s, /\| tree \\\| score \| 250 ns\/row \| XGBoost native \| 430 ns\/row \| 1\.72× \|/);
  assert.match(s, /\n1\. loopback, 3 s flat out$/);
  assert.match(renderSection([], undefined, 'x.json'), /Environment unknown[\s\S]*no results/);
});

test('markers: appended when absent, replaced in place, text around them kept', () => {
  const first = replaceSection('# ganglion\n\nIntro.', 'A');
  assert.is(first, `# ganglion\n\nIntro.\n\n${START_MARKER}\nA\n${END_MARKER}\n`);
  const second = replaceSection(first + '\n## License\n', 'B');
  assert.is(second, `# ganglion\n\nIntro.\n\n${START_MARKER}\nB\n${END_MARKER}\n\n## License\n`);
  assert.is(replaceSection(second, 'B'), second);
  assert.throws(() => replaceSection(`x ${START_MARKER} y`, 'A'), (e: Error) => e instanceof ReportError && /has <!-- bench:start --> but not <!-- bench:end -->/.test(e.message));
  assert.throws(() => replaceSection(`${END_MARKER} ${START_MARKER}`, 'A'), /before/);
});

test('results files: newest picked, malformed ones refused precisely', () => {
  assert.is(newestResultsFile(join(dir, 'results')), newer);
  assert.throws(() => newestResultsFile(join(dir, 'nothing')), /no results in .*run `npm run bench` first/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify([{ name: 'x', unit: 'ops/s', value: '12' }]));
  assert.throws(() => readResults(bad), /bad\.json: result 0 \("x"\): expected a numeric value/);
  writeFileSync(bad, '{"results": []}');
  assert.throws(() => readResults(bad), /expected an array of results/);
  writeFileSync(bad, '[{');
  assert.throws(() => readResults(bad), /is not valid JSON/);
});

test('updateReadme rewrites a temp README between the markers only', () => {
  const readme = join(dir, 'README.md');
  writeFileSync(readme, `# ganglion\n\n${START_MARKER}\nold numbers\n${END_MARKER}\n\n## License\nApache-2.0\n`);
  updateReadme(readme, newer, dir);
  const text = readFileSync(readme, 'utf8');
  assert.not.match(text, /old numbers/);
  assert.match(text, /^# ganglion\n\n<!-- bench:start -->\n## Benchmarks\n/);
  assert.match(text, /Source: `results\/2026-11-24T05-41-51-204Z\.json`/);
  assert.match(text, /<!-- bench:end -->\n\n## License\nApache-2.0\n$/);
});

test('command line: newest file by default, clear error without a stack', () => {
  const readme = join(dir, 'CLI.md');
  writeFileSync(readme, '# x\n');
  const ok = spawnSync(process.execPath, ['--import', 'tsx', 'bench/readme_report.ts', newer, '--readme', readme], { cwd: root, encoding: 'utf8' });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(readFileSync(readme, 'utf8'), /13\.3×/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'bench/readme_report.ts', join(dir, 'missing.json'), '--readme', readme], { cwd: root, encoding: 'utf8' });
  assert.is(bad.status, 1);
  assert.is(bad.stderr.trim(), `readme_report: cannot read ${join(dir, 'missing.json')}`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
