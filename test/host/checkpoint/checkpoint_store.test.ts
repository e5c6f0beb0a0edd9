import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointStore } from '../../../host/checkpoint/checkpoint_store.js';
import { tempDir, smallDisk } from '../../helpers/tmp.js';

const meta = (id: number) => ({ id, createdAt: new Date(0).toISOString(), logSeq: String(id * 100) });

test('writes, keeps the last K, loads the newest', async () => {
  const dir = tempDir();
  const store = new CheckpointStore(dir.path, 2);
  for (let id = 1; id <= 4; id++) {
    await store.write(meta(id), new Map([['p0/op0', new Uint8Array([id, 2, 3])], ['dict', new TextEncoder().encode('{"a":1}')]]));
  }
  assert.equal(store.ids(), [3, 4]);
  const latest = store.loadLatest()!;
  assert.is(latest.meta.id, 4);
  assert.is(latest.meta.logSeq, '400');
  assert.equal([...latest.sections.get('p0/op0')!], [4, 2, 3]);
  // Shared memory: recovery passes sections to partition workers without copying them.
  assert.instance(latest.sections.get('p0/op0')!.buffer, SharedArrayBuffer);
  assert.ok(!readdirSync(dir.path).some((n) => n.endsWith('.tmp')));
  dir.remove();
});

test('a corrupt or torn newest checkpoint is skipped with its reason', async () => {
  const dir = tempDir();
  const store = new CheckpointStore(dir.path, 3);
  await store.write(meta(1), new Map([['s', new Uint8Array(1000).fill(7)]]));
  const { path } = await store.write(meta(2), new Map([['s', new Uint8Array(1000).fill(9)]]));
  const bytes = readFileSync(path);
  bytes[500] ^= 1;
  writeFileSync(path, bytes);
  const skipped: string[] = [];
  assert.is(store.loadLatest((w) => skipped.push(w))!.meta.id, 1);
  assert.match(skipped[0], /CRC mismatch/);
  truncateSync(path, statSync(path).size - 100);
  assert.is(store.loadLatest()!.meta.id, 1);
  dir.remove();
});

test('an unwritable directory is a clear error up front', () => {
  const dir = tempDir();
  writeFileSync(join(dir.path, 'file'), 'x');
  const store = new CheckpointStore(join(dir.path, 'file', 'checkpoints'));
  assert.throws(() => store.checkWritable(), /checkpoint directory .*file\/checkpoints is not writable/);
  dir.remove();
});

test('a full disk leaves the previous checkpoints intact and no temp file', async () => {
  const disk = smallDisk(256 * 1024);
  try {
    const store = new CheckpointStore(disk.path, 5);
    await store.write(meta(1), new Map([['s', new Uint8Array(100 * 1024).fill(1)]]));
    let err: Error | null = null;
    try { await store.write(meta(2), new Map([['s', new Uint8Array(400 * 1024).fill(2)]])); } catch (e) { err = e as Error; }
    assert.ok(err);
    assert.match(err!.message, /no space left on device.*previous checkpoints are intact/);
    assert.equal(store.ids(), [1]);
    assert.ok(!readdirSync(disk.path).some((n) => n.endsWith('.tmp')));
    assert.is(store.loadLatest()!.sections.get('s')![0], 1);
  } finally { disk.remove(); }
});

test.run();
