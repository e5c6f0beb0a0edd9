import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IngestLog, ENTRY_KEYS, ENTRY_RECORDS, ENTRY_PRODUCER } from '../../../host/log/ingest_log.js';
import { inputStride, writeInput, IN_SEQ } from '../../../host/records.js';
import { tempDir, smallDisk } from '../../helpers/tmp.js';

const stride = inputStride(2);

function batch(n: number, base = 0): Uint8Array {
  const buf = new Uint8Array(n * stride);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < n; i++) writeInput(view, i * stride, 1_700_000_000_000_000_000n + BigInt(base + i), 0n, (base + i) % 7, [base + i, -(base + i)]);
  return buf;
}

function seqs(log: IngestLog, from = 0n): bigint[] {
  const out: bigint[] = [];
  for (const e of log.read(from)) {
    if (e.kind !== ENTRY_RECORDS) continue;
    const v = new DataView(e.payload.buffer, e.payload.byteOffset, e.payload.length);
    for (let i = 0; i < e.count; i++) out.push(v.getBigUint64(i * stride + IN_SEQ, true));
  }
  return out;
}

test('stamps consecutive seqs, resolves durable after fsync, reads back from any seq', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  const b1 = batch(5);
  const a = log.appendRecords(b1, 5, stride);
  const b = log.appendRecords(batch(3, 5), 3, stride);
  assert.is(a.firstSeq, 1n);
  assert.is(b.firstSeq, 6n);
  assert.is(new DataView(b1.buffer).getBigUint64(4 * stride + IN_SEQ, true), 5n, 'seq stamped into the caller buffer');
  await Promise.all([a.durable, b.durable]);
  assert.equal(seqs(log), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
  assert.equal(seqs(log, 4n), [4n, 5n, 6n, 7n, 8n]);
  await log.close();
  const again = IngestLog.open(dir.path);
  assert.is(again.nextSeq, 9n);
  assert.equal(again.recovery.truncatedBytes, 0);
  await again.close();
  dir.remove();
});

test('a producer mark travels inside its records entry (packed or not) and in its own entry, and survives reopening', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  const packable = batch(200); // packs by column
  const odd = new Uint8Array(stride * 2).map((_, i) => (i * 131 + 7) & 255); // random bytes: not smaller packed
  log.appendRecords(packable, 200, stride, { id: 'p-1', seq: 41 });
  log.appendRecords(odd, 2, stride, { id: 'p-2', seq: 2 ** 53 - 1 });
  log.appendRecords(batch(3, 500), 3, stride);
  const mark = log.appendProducer({ id: 'p-1', seq: 42 });
  await log.sync();
  await mark;
  await log.close();
  const again = IngestLog.open(dir.path);
  const entries = [...again.read(0n)];
  assert.equal(entries.map((e) => [e.kind, e.count, e.producer]), [
    [ENTRY_RECORDS, 200, { id: 'p-1', seq: 41 }],
    [ENTRY_RECORDS, 2, { id: 'p-2', seq: 2 ** 53 - 1 }],
    [ENTRY_RECORDS, 3, undefined],
    [ENTRY_PRODUCER, 0, { id: 'p-1', seq: 42 }],
  ]);
  assert.equal([...entries[0].payload], [...packable], 'records unchanged by the trailer');
  assert.equal([...entries[1].payload], [...odd]);
  assert.equal(seqs(again).length, 205);
  assert.is(again.nextSeq, 206n);
  await again.close();
  dir.remove();
});

test('a damaged producer trailer tears its entry: never records without their mark, never a mark without its records', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  log.appendRecords(batch(4), 4, stride, { id: 'a', seq: 1 });
  log.appendRecords(batch(4, 4), 4, stride, { id: 'a', seq: 2 });
  await log.sync();
  await log.close();
  const [seg] = readdirSync(dir.path);
  const path = join(dir.path, seg);
  const buf = readFileSync(path);
  buf[buf.length - 3] ^= 0xff; // inside the last entry's seq, in the CRC-covered trailer
  writeFileSync(path, buf);
  const again = IngestLog.open(dir.path);
  assert.ok(again.recovery.truncatedBytes > 0);
  assert.match(again.recovery.truncatedAt!, /CRC mismatch/);
  assert.equal([...again.read(0n)].map((e) => e.producer), [{ id: 'a', seq: 1 }]);
  assert.is(again.nextSeq, 5n);
  await again.close();
  dir.remove();
});

test('keys entries replay in order with the records', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  const k = log.appendKeys([[0, 'AAPL'], [1, 'MSFT']]);
  log.appendRecords(batch(2), 2, stride);
  await k;
  await log.sync();
  const kinds = [...log.read(0n)].map((e) => e.kind);
  assert.equal(kinds, [ENTRY_KEYS, ENTRY_RECORDS]);
  assert.equal([...log.readKeys()], [[[0, 'AAPL'], [1, 'MSFT']]]);
  await log.close();
  dir.remove();
});

test('a torn tail is detected by CRC and truncated, never replayed', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  log.appendRecords(batch(10), 10, stride);
  await log.appendRecords(batch(10, 10), 10, stride).durable;
  await log.close();
  const [seg] = readdirSync(dir.path);
  const path = join(dir.path, seg);
  const size = statSync(path).size;
  truncateSync(path, size - 17); // torn in the middle of the last entry
  const reopened = IngestLog.open(dir.path);
  assert.ok(reopened.recovery.truncatedBytes > 0);
  assert.is(reopened.nextSeq, 11n);
  assert.equal(seqs(reopened), Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
  await reopened.appendRecords(batch(1), 1, stride).durable;
  assert.is(seqs(reopened).at(-1), 11n);
  await reopened.close();

  // Garbage after the last good entry (a crash mid-write of the header).
  appendFileSync(path, Buffer.from([1, 2, 3, 4, 5]));
  const again = IngestLog.open(dir.path);
  assert.is(again.recovery.truncatedBytes, 5);
  assert.is(again.nextSeq, 12n);
  await again.close();
  dir.remove();
});

test('batches that pack differently (the previous plan fits, then does not) read back byte for byte', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  const sent: Uint8Array[] = [];
  const values = [(i: number) => i % 7, (i: number) => i % 7, (i: number) => 1000 + i, (i: number) => i + 0.5, (i: number) => (i === 3 ? -0 : i), (i: number) => i % 7];
  for (const [k, f] of values.entries()) {
    const n = 50;
    const buf = new Uint8Array(n * stride);
    const view = new DataView(buf.buffer);
    for (let i = 0; i < n; i++) writeInput(view, i * stride, 1_700_000_000_000_000_000n + BigInt(k * 1000 + i), 0n, 1 + (i % 3), [f(i), k]);
    log.appendRecords(buf, n, stride);
    sent.push(buf);
  }
  await log.sync();
  const got = [...log.read(0n)].filter((e) => e.kind === ENTRY_RECORDS).map((e) => Buffer.from(e.payload));
  assert.is(got.length, sent.length);
  got.forEach((g, i) => assert.ok(g.equals(Buffer.from(sent[i])), `batch ${i}`));
  const onDisk = readdirSync(dir.path).reduce((n, f) => n + statSync(join(dir.path, f)).size, 0);
  assert.ok(onDisk < sent.length * 50 * stride * 0.6, `packed: ${onDisk} bytes on disk for ${sent.length * 50 * stride} of records`);
  await log.close();
  dir.remove();
});

test('a flipped bit in an older segment is an error naming the file, unless told to truncate', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path, { segmentBytes: 100 });
  for (let i = 0; i < 6; i++) await log.appendRecords(batch(4, i * 4), 4, stride).durable;
  await log.close();
  const segs = readdirSync(dir.path).sort();
  assert.ok(segs.length >= 3, `rolled into ${segs.length} segments`);
  const first = join(dir.path, segs[0]);
  const bytes = readFileSync(first);
  bytes[bytes.length - 3] ^= 0x10;
  writeFileSync(first, bytes);
  assert.throws(() => IngestLog.open(dir.path), (e: Error) => e.message.includes(segs[0]) && /CRC mismatch/.test(e.message));
  const cut = IngestLog.open(dir.path, { truncateCorrupt: true });
  assert.ok(cut.nextSeq < 25n);
  assert.equal(seqs(cut), Array.from({ length: Number(cut.nextSeq - 1n) }, (_, i) => BigInt(i + 1)));
  await cut.close();
  dir.remove();
});

test('retention drops old segments by size but never what a checkpoint still needs', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path, { segmentBytes: 300, retentionBytes: 700 });
  for (let i = 0; i < 10; i++) await log.appendRecords(batch(4, i * 4), 4, stride).durable;
  const before = readdirSync(dir.path).length;
  assert.is(log.applyRetention(1n), 0, 'protected by the checkpoint at seq 1');
  const removed = log.applyRetention(log.nextSeq);
  assert.ok(removed > 0 && readdirSync(dir.path).length === before - removed);
  const left = seqs(log);
  assert.is(left.at(-1), 40n);
  assert.is(log.firstRetainedSeq, left[0]);
  await log.close();
  dir.remove();
});

test('a full disk fails the append with a clear error and acknowledges nothing', async () => {
  const disk = smallDisk(64 * 1024);
  try {
    const log = IngestLog.open(disk.path, { segmentBytes: 1 << 30 });
    let error: Error | null = null;
    const big = batch(1000);
    for (let i = 0; i < 20 && !error; i++) {
      try { await log.appendRecords(big, 1000, stride).durable; } catch (e) { error = e as Error; }
    }
    assert.ok(error, 'the disk filled up');
    assert.match(error!.message, /no space left on device/);
    assert.match(error!.message, /not acknowledged/);
    assert.throws(() => log.appendRecords(big, 1, stride), /no space left/);
    await log.close();
  } finally { disk.remove(); }
});

test('sync() while a commit is in flight resolves when it lands', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  log.appendRecords(batch(3), 3, stride);
  const first = log.sync();
  await new Promise((r) => setImmediate(r)); // the group commit is running: its fdatasync is in flight
  const second = log.sync();
  const outcome = await Promise.race([Promise.all([first, second]).then(() => 'durable'), new Promise((r) => setTimeout(() => r('stuck'), 2000))]);
  assert.is(outcome, 'durable');
  await log.close();
  dir.remove();
});

test.run();
