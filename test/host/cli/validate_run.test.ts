// `ganglion validate` from outside: every problem of a file in one run (a bad
// aggregate does not hide a bad field reference), "did you mean" for a
// misspelt key and field, and "ok" only when `ganglion run` starts: what run
// rejects at start-up (memory too small for the operators, a frame limit of
// 0, a read-only data dir) validate reports too, at its place, with the cause.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ganglion } from '../../helpers/ganglion.js';
import { tempDir } from '../../helpers/tmp.js';

const dir = tempDir('ganglion-validate-');

function file(name: string, text: string): string {
  const p = join(dir.path, name);
  writeFileSync(p, text);
  return p;
}

test('every problem in one run, with did-you-mean for keys and fields', async () => {
  const p = file('many.yaml', `name: many
sources: [{ type: ws, port: 8080, max_frame_bytes: 0 }]
schema: { type: trades }
operators:
  - { name: w, type: window, window: tumbling, size: 1s, field: price, aggregates: [count, vwapp] }
  - { name: z, type: zscore, feild: price }
  - { name: z2, type: zscore, field: prcie }
sinks: [{ type: stdout, operators: [w, z2, nope] }]
`);
  const g = ganglion(['validate', p]);
  assert.is(await g.exited, 1);
  const lines = g.stderr.trim().split('\n');
  assert.equal(lines, [
    `${p}:2:52 sources[0].max_frame_bytes: expected a frame limit of at least 1 byte, like "1MiB", found 0`,
    `${p}:5:92 operators[0].aggregates[1]: expected one of "count", "sum", "min", "max", "mean", "variance", "stddev", "first", "last", "vwap", "var_samp", "stddev_samp" (did you mean "vwap"?), found "vwapp"`,
    `${p}:6:5 operators[1].field: missing required key "field" (expected a field name or <window operator>.<aggregate>)`,
    `${p}:6:30 operators[1].feild: unknown key "feild" (did you mean "field"?); allowed here: type, name, field, mode, alpha, window, threshold, min_samples, direction, epsilon, emit_all, capacity, input, where`,
    `${p}:7:38 operators[2].field: expected a numeric field or <window operator>.<aggregate> (one of: price, qty, side) (did you mean "price"?), found "prcie"`,
    `${p}:8:44 sinks[0].operators[2]: expected an operator name (one of: z2, w, z), found "nope"`,
    `6 problems in ${p}`,
  ]);
  assert.is(g.stdout, '');
});

test('memory too small for the operators: validate says so at its line, and run refuses it too', async () => {
  const p = file('memory.yaml', `name: small
sources: [{ type: synthetic, rate: 1000 }]
schema: { type: trades }
operators: [{ name: z, type: zscore, field: price }]
delivery: { mode: at_most_once }
memory: 1
`);
  const v = ganglion(['validate', p]);
  assert.is(await v.exited, 1);
  assert.match(v.stderr, new RegExp(`^${p}:6:9 memory: expected at least \\d+(\\.\\d)? MiB per partition: these operators, their capacities and the rings need \\d+ bytes, found 1 byte\\n1 problem in `));
  const r = ganglion(['run', p, '--no-status', '--duration', '1s']);
  assert.is(await r.exited, 1, 'run refuses what validate refuses');
  assert.match(r.stderr, /memory exhausted/);
  writeFileSync(p, (await import('node:fs')).readFileSync(p, 'utf8').replace('memory: 1', 'memory: 16MiB'));
  const ok = ganglion(['validate', p]);
  assert.is(await ok.exited, 0, ok.stderr);
  assert.is(ok.stdout, 'ok\n');
});

test('a read-only data dir is reported as such (EROFS and the path), by validate and by run', async () => {
  const ro = tempDir('ganglion-ro-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro.path]);
  try {
    const p = file('ro.yaml', `name: ro
sources: [{ type: synthetic, rate: 1000 }]
schema: { type: trades }
operators: [{ name: z, type: zscore, field: price }]
`);
    const data = join(ro.path, 'data');
    const v = ganglion(['validate', p, '--data-dir', data]);
    assert.is(await v.exited, 1);
    assert.match(v.stderr, `data dir ${data}: cannot be created, ${ro.path} is on a read-only file system (EROFS)`);
    const r = ganglion(['run', p, '--data-dir', data, '--no-status']);
    assert.is(await r.exited, 1);
    assert.match(r.stderr, `data dir ${data}: cannot be created, ${ro.path} is on a read-only file system (EROFS)`);
    assert.not.match(r.stderr, /ENOENT/);
  } finally {
    execFileSync('umount', [ro.path]);
    ro.remove();
  }
});

test.after(() => dir.remove());
test.run();
