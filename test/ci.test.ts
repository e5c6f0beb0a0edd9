// The system packages the tests need are the ones the README tells a user to
// install and the ones .ci/run installs on a fresh machine: a test that
// spawns a tool must not find it missing on a clean clone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const ci = readFileSync(join(root, '.ci/run'), 'utf8');

/** What a test spawns → the Debian package that provides it. */
const TOOLS: Array<[RegExp, string]> = [
  [/mosquitto/, 'mosquitto'],
  [/chromium/, 'chromium'],
  [/['"`]flatc['"`]/, 'flatbuffers-compiler'],
  [/xgboost/, 'python3-xgboost'],
  [/['"`]sqlite3['"`]/, 'sqlite3'],
  [/spawnSync\(['"`]dot['"`]/, 'graphviz'],
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|mjs|py)$/.test(n) ? [p] : [];
  });
}

test('README names every Debian package .ci/run installs, in one apt-get line', () => {
  const installed = [...ci.matchAll(/need\+=\(([\w.-]+)\)/g)].map((m) => m[1]);
  assert.ok(installed.length >= 5, installed.join(' '));
  const apt = /apt-get install ([^\n`]+)/.exec(readme)?.[1] ?? '';
  for (const p of installed) assert.ok(apt.split(/\s+/).includes(p), `README's apt-get line lacks ${p}: ${apt}`);
});

test('every tool a test spawns comes from a package .ci/run installs', () => {
  const sources = files(join(root, 'test')).filter((f) => !f.endsWith('ci.test.ts')).map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const [use, pkg] of TOOLS) {
    if (!use.test(sources)) continue;
    assert.match(ci, `need+=(${pkg})`, `.ci/run does not install ${pkg}`);
  }
});

test.run();
