import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadPipeline } from '../../../host/config/load.js';
import { loadPipelineOffThread } from '../../../host/config/load_off_thread.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const EXAMPLES = ['market-surveillance.yaml', 'payment-fraud.yaml', 'position-limits.yaml'].map((f) => join(ROOT, 'examples', f));

test('off the main thread: the same config, bigints and all, as loadPipeline', async () => {
  for (const file of EXAMPLES) assert.equal(await loadPipelineOffThread(file), loadPipeline(file), file);
});

test('off the main thread: the same ConfigError, issue for issue', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-offthread-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: x\nschema: { type: trades }\noperators:\n  - { name: w, type: window, window: tumbling, size: 1 parsec, field: price }\n');
    let want: ConfigError | undefined;
    try { loadPipeline(file); } catch (e) { want = e as ConfigError; }
    const got = await loadPipelineOffThread(file).then(() => undefined, (e: unknown) => e);
    assert.instance(got, ConfigError);
    assert.ok(want);
    assert.equal((got as ConfigError).issues, want!.issues);
    assert.is((got as ConfigError).message, want!.message);
    const missing = await loadPipelineOffThread(join(dir, 'nope.yaml')).then(() => undefined, (e: unknown) => e);
    assert.match(String((missing as Error).message), /nope\.yaml cannot read pipeline: file not found/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the compiled CLI validates through the bundled worker (dist/host/config/load_worker.bundle.js)', () => {
  assert.ok(existsSync(join(ROOT, 'dist/host/config/load_worker.bundle.js')), 'npm run build makes the bundle');
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-offthread-'));
  try {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'name: x\nschema: { type: trades }\noperators: []\n');
    const env = { ...process.env };
    delete env.GANGLION_FROM_SOURCE;
    const bad = spawnSync(process.execPath, [join(ROOT, 'bin/ganglion.js'), 'run', file], { encoding: 'utf8', env });
    assert.is(bad.status, 1);
    assert.match(bad.stderr, /p\.yaml:3:12 operators: expected at least one operator, found 0 items/);
    writeFileSync(file, 'name: x\nsources: [{ type: synthetic, rate: 1000, events: 500 }]\nschema: { type: trades }\noperators:\n  - { name: z, type: zscore, field: price, threshold: 6 }\nsinks: []\ndelivery: { mode: at_most_once }\n');
    const good = spawnSync(process.execPath, [join(ROOT, 'bin/ganglion.js'), 'run', file, '--no-status', '--duration', '2s', '--data-dir', dir], { encoding: 'utf8', env, timeout: 60_000 });
    assert.is(good.status, 0, good.stderr);
    assert.match(good.stderr, /running x/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test.run();
