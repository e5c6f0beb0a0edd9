// bin/ganglion.js from outside: in a checkout without dist/ and without its
// dev dependencies (a fresh clone before `npm install`), it says what to do
// instead of failing on a missing module; the clone's own command,
// `npm run ganglion -- ...`, runs the CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';

const root = new URL('../../../', import.meta.url).pathname;

test('without dist/ and node_modules: a clear message and exit 1', () => {
  const dir = tempDir('ganglion-clone-');
  try {
    mkdirSync(join(dir.path, 'bin'));
    copyFileSync(join(root, 'bin', 'ganglion.js'), join(dir.path, 'bin', 'ganglion.js'));
    writeFileSync(join(dir.path, 'package.json'), '{"type":"module"}');
    const r = spawnSync(process.execPath, [join(dir.path, 'bin', 'ganglion.js'), 'validate', 'x.yaml'], { encoding: 'utf8', env: (({ GANGLION_FROM_SOURCE: _, ...e }) => e)(process.env) });
    assert.is(r.status, 1);
    assert.match(r.stderr, /the compiled CLI is missing/);
    assert.match(r.stderr, /run `npm install` \(it builds dist\/ and the WebAssembly module\), or `npm run build`/);
    assert.match(r.stderr, /`node bin\/ganglion\.js <command>` or `npm run ganglion -- <command>`/);
    assert.not.match(r.stderr, /ERR_MODULE_NOT_FOUND|at /);
  } finally {
    dir.remove();
  }
});

test('npm run ganglion -- <command> runs the CLI from the clone', () => {
  const out = execFileSync('npm', ['run', '-s', 'ganglion', '--', 'validate', join(root, 'examples', 'position-limits.yaml'), '--data-dir', join(root, 'ganglion-data', 'x')], { cwd: root, encoding: 'utf8' });
  assert.is(out, 'ok\n');
});

test.run();
