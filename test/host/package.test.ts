// The package as a consumer installs it (`npm pack`, extracted into a fresh
// project's node_modules, its runtime dependencies beside it): its .d.ts
// compile with tsc with and without @types/node, `require('ganglion')` works
// where Node can require ES modules and otherwise says plainly that ganglion
// is ESM-only and what to write instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

const root = new URL('../..', import.meta.url).pathname;
const modules = join(root, 'node_modules');
const tsc = join(modules, 'typescript', 'bin', 'tsc');
const dir = tempDir('ganglion-consumer-');
const nm = join(dir.path, 'node_modules');

test.before(() => {
  mkdirSync(join(nm, 'ganglion'), { recursive: true });
  const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir.path], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1)!;
  execFileSync('tar', ['xzf', join(dir.path, tgz), '-C', join(nm, 'ganglion'), '--strip-components', '1']);
  const deps = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const d of deps) symlinkSync(join(modules, d), join(nm, d));
  writeFileSync(join(dir.path, 'package.json'), '{"type":"module","private":true}');
  writeFileSync(join(dir.path, 'index.ts'), `import { createPipeline, parsePipeline, type OutputEvent, type PipelineStats } from 'ganglion';
const p = await createPipeline(parsePipeline('name: x', 'x.yaml'), { noSources: true });
p.subscribe((o: OutputEvent) => console.log(o.kind));
const s: PipelineStats = p.stats();
console.log(s.partitions.length);
`);
});

/** tsc on the consumer with these `types`; both configurations compile at once (tsc is slow to load zod's types). */
function compile(types: string[], name: string): Promise<string> {
  writeFileSync(join(dir.path, name), JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, types }, files: ['index.ts'] }));
  return new Promise((res) => {
    const c = spawn(process.execPath, [tsc, '-p', join(dir.path, name)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('exit', () => res(out.trim()));
  });
}

test('the public types compile with tsc, without @types/node and with it', async () => {
  mkdirSync(join(nm, '@types'), { recursive: true });
  symlinkSync(join(modules, '@types', 'node'), join(nm, '@types', 'node'));
  const [without, withNode] = await Promise.all([compile([], 'tsconfig.json'), compile(['node'], 'tsconfig.node.json')]);
  assert.is(without, '', 'without @types/node');
  assert.is(withNode, '', 'with @types/node');
});

test("require('ganglion') loads it where Node can require ES modules", () => {
  const out = execFileSync(process.execPath, ['-e', "console.log(typeof require('ganglion').createPipeline)"], { cwd: dir.path, encoding: 'utf8' });
  assert.is(out.trim(), 'function');
});

test("require('ganglion') elsewhere says ESM-only and what to write instead", () => {
  const r = spawnSync(process.execPath, ['--no-experimental-require-module', '-e', "require('ganglion')"], { cwd: dir.path, encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stderr, /ganglion is an ES module package \(ESM only\) and this Node cannot require\(\) it\. Use `import \{ createPipeline \} from 'ganglion'`.*await import\('ganglion'\)/);
  assert.not.match(r.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});

test.after(() => dir.remove());
test.run();
