// A main thread whose only pending work is a ring wait must still be alive when
// the wait ends: Node does not count Atomics.waitAsync as work, and `ganglion
// run` once exited with code 13 ("unsettled top-level await") while draining
// a partition whose worker had just exited.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ring = pathToFileURL(fileURLToPath(new URL('../../../host/ring/ring.ts', import.meta.url))).href;

function runAlone(body: string): { status: number | null; stdout: string; stderr: string } {
  const script = `import { initRing, ringBytes, RingReader, RingWriter } from ${JSON.stringify(ring)};
const sab = new SharedArrayBuffer(ringBytes(4, 32));
initRing(sab, 0, 4, 32);
${body}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('RingReader.waitAsync with nothing else pending times out and returns (no exit 13)', () => {
  const r = runAlone(`const n = await new RingReader(sab, 0).waitAsync(150);\nconsole.log('available', n);`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'available 0');
});

test('RingWriter.waitForRoomAsync on a full ring with nothing else pending times out and returns', () => {
  const r = runAlone(`const w = new RingWriter(sab, 0);\nw.push(new Uint8Array(4 * 32), 4);\nconst room = await w.waitForRoomAsync(1, 150);\nconsole.log('room', room);`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'room 0');
});

test.run();
