import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { IngestLog, ENTRY_KEYS, ENTRY_RECORDS, ENTRY_PRODUCER, parseEntries } from '../../../host/log/ingest_log.js';
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
  // A whole entry that fails its CRC held acknowledged events: refused by default, naming them.
  assert.throws(() => IngestLog.open(dir.path), /CRC mismatch.*seqs 5\.\.8 \(4 events\) are lost/);
  // Cut on request: the entry goes whole, records and mark together, and its seqs are never reused.
  const again = IngestLog.open(dir.path, { truncateCorrupt: true });
  assert.ok(again.recovery.truncatedBytes > 0);
  assert.match(again.recovery.truncatedAt!, /CRC mismatch/);
  assert.equal([...again.read(0n)].map((e) => e.producer), [{ id: 'a', seq: 1 }]);
  assert.ok(again.nextSeq >= 9n, `next seq ${again.nextSeq} reuses a seq the cut gave up`);
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

  // A crash while a new segment was being created leaves it empty: recovered as a torn tail, the next appends land after a fresh magic.
  writeFileSync(join(dir.path, '00000000000000000099.log'), Buffer.alloc(0));
  const empty = IngestLog.open(dir.path);
  assert.equal(empty.recovery.damage.map((d) => d.kind), ['torn']);
  await empty.appendRecords(batch(1), 1, stride).durable;
  await empty.close();
  const afterEmpty = IngestLog.open(dir.path);
  assert.equal(afterEmpty.recovery.damage, []);
  assert.is(seqs(afterEmpty).at(-1), 99n);
  await afterEmpty.close();
  unlinkSync(join(dir.path, '00000000000000000099.log'));

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
  assert.throws(() => IngestLog.open(dir.path), (e: Error) => e.message.includes(segs[0]) && /CRC mismatch/.test(e.message) && /acknowledged events seqs? \d+/.test(e.message) && /truncate_corrupt/.test(e.message));
  const cut = IngestLog.open(dir.path, { truncateCorrupt: true });
  const kept = seqs(cut);
  assert.ok(kept.length < 24);
  assert.equal(kept, Array.from({ length: kept.length }, (_, i) => BigInt(i + 1)));
  assert.is(cut.nextSeq, 25n, 'the seqs given up are never handed out again');
  const [d] = cut.recovery.damage;
  assert.is(d.kind, 'lost');
  assert.ok(d.cut);
  assert.is(d.fromSeq, BigInt(kept.length + 1));
  assert.is(d.toSeq, 25n);
  await cut.close();
  dir.remove();
});

async function fiveEntries(path: string): Promise<void> {
  const log = IngestLog.open(path);
  for (let i = 0; i < 5; i++) await log.appendRecords(batch(10, i * 10), 10, stride).durable;
  await log.close();
}

function flipInEntry(dir: string, entry: number): void {
  const [seg] = readdirSync(dir);
  const path = join(dir, seg);
  const bytes = readFileSync(path);
  const offsets: number[] = [];
  parseEntries(bytes, path, 0, offsets);
  bytes[offsets[entry] + 40] ^= 0x04;
  writeFileSync(path, bytes);
}

test('damage the checkpoint covers is a hole the log steps over; the next seq never goes back', async () => {
  const dir = tempDir();
  await fiveEntries(dir.path);
  flipInEntry(dir.path, 1); // seqs 11..20
  assert.throws(() => IngestLog.open(dir.path), /acknowledged events seqs 11\.\.20 \(10 events\) are lost/);
  const log = IngestLog.open(dir.path, { committedSeq: 31n });
  assert.equal(log.recovery.damage.map((d) => [d.kind, d.fromSeq, d.toSeq, d.cut]), [['covered', 11n, 21n, false]]);
  assert.is(log.nextSeq, 51n);
  assert.equal(seqs(log, 31n), Array.from({ length: 20 }, (_, i) => BigInt(31 + i)), 'entries after the hole are read');
  await log.close();
  dir.remove();
});

test('a whole damaged last entry is lost unless the checkpoint covers it; a torn tail below the checkpoint keeps the seqs', async () => {
  const dir = tempDir();
  await fiveEntries(dir.path);
  flipInEntry(dir.path, 4); // seqs 41..50, the last entry, complete
  assert.throws(() => IngestLog.open(dir.path, { committedSeq: 41n }), /acknowledged events seqs 41\.\.50 \(10 events\) are lost/);
  const copy = tempDir();
  for (const f of readdirSync(dir.path)) writeFileSync(join(copy.path, f), readFileSync(join(dir.path, f)));
  const given = IngestLog.open(copy.path, { committedSeq: 41n, truncateCorrupt: true });
  assert.equal(given.recovery.damage.map((d) => [d.kind, d.fromSeq, d.toSeq, d.cut]), [['lost', 41n, 51n, true]]);
  assert.is(given.nextSeq, 51n);
  await given.close();
  copy.remove();
  const covered = IngestLog.open(dir.path, { committedSeq: 51n });
  assert.equal(covered.recovery.damage.map((d) => [d.kind, d.fromSeq, d.toSeq, d.cut]), [['covered', 41n, 51n, true]]);
  assert.is(covered.nextSeq, 51n);
  await covered.close();

  // A tail cut short (a crash mid-write): cut without a word, yet seqs the checkpoint holds are never reused.
  const [seg] = readdirSync(dir.path);
  truncateSync(join(dir.path, seg), statSync(join(dir.path, seg)).size - 50);
  const torn = IngestLog.open(dir.path, { committedSeq: 35n });
  assert.equal(torn.recovery.damage.map((d) => [d.kind, d.fromSeq, d.toSeq]), [['covered', 31n, 35n]]);
  assert.is(torn.nextSeq, 35n);
  await torn.close();
  dir.remove();

  // Short, but its header does not continue the stream: damaged, not torn by a crash (which never reaches the header).
  const dir2 = tempDir();
  await fiveEntries(dir2.path);
  const [seg2] = readdirSync(dir2.path);
  const path2 = join(dir2.path, seg2);
  const offsets: number[] = [];
  parseEntries(readFileSync(path2), path2, 0, offsets);
  const bytes = readFileSync(path2).subarray(0, statSync(path2).size - 50);
  bytes[offsets[4] + 9] ^= 0x01; // the last entry's firstSeq
  writeFileSync(path2, bytes);
  assert.throws(() => IngestLog.open(dir2.path), /damaged at byte \d+ \(entry length \d+ runs past the end\): acknowledged events seq 41 onwards/);
  dir2.remove();
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

test('after a failed commit nothing refused reaches the segment: reopened with room, the log ends where the acknowledged appends ended', async () => {
  const disk = smallDisk(64 * 1024);
  try {
    const log = IngestLog.open(disk.path, { segmentBytes: 1 << 30 });
    let durableEnd = 1n;
    let failed = false;
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 200 && !failed; i++) {
      try {
        const a = log.appendRecords(batch(100, i * 100), 100, stride);
        const end = a.firstSeq + 100n;
        pending.push(a.durable.then(() => { if (end > durableEnd) durableEnd = end; }, () => { failed = true; }));
        if (i % 3 === 2) await Promise.all(pending.splice(0));
      } catch { failed = true; }
    }
    await Promise.all(pending);
    assert.ok(failed, 'the disk filled up');
    await log.close();
    execFileSync('mount', ['-o', 'remount,size=1m', disk.path]);
    const again = IngestLog.open(disk.path);
    assert.is(again.nextSeq, durableEnd, 'no refused entry was written, not even by close()');
    assert.equal(again.recovery.damage, []);
    await again.close();
  } finally { disk.remove(); }
});

test('a segment deleted under a quiet log fails the next sync (a checkpoint), naming it', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path);
  await log.appendRecords(batch(3), 3, stride).durable;
  await log.sync();
  rmSync(dir.path, { recursive: true, force: true });
  await log.sync().then(() => assert.unreachable('sync resolved'), (e: Error) => assert.match(e.message, /was deleted while running \(was the data directory removed\?\)/));
  assert.throws(() => log.appendRecords(batch(1), 1, stride), /deleted while running/);
  await log.close();
});

test('a segment rolled while appends wait for their commit is named after what it holds; retention never deletes the active one', async () => {
  const dir = tempDir();
  const log = IngestLog.open(dir.path, { segmentBytes: 50, retentionBytes: 1 });
  log.appendRecords(batch(4), 4, stride);
  const first = log.sync();
  await new Promise((r) => setImmediate(r)); // commit 1 is in flight
  log.appendRecords(batch(4, 4), 4, stride);
  log.appendRecords(batch(4, 8), 4, stride); // wait for commit 2
  await first;
  await log.sync();
  await log.appendKeys([[1, 'K']]); // commit 3: no record, the next seq unchanged
  log.applyRetention(log.nextSeq);
  const names = readdirSync(dir.path).sort();
  assert.ok(names.length > 0, 'the active segment is still there');
  await log.appendRecords(batch(1, 12), 1, stride).durable;
  await log.close();
  const again = IngestLog.open(dir.path);
  assert.equal(again.recovery.damage, []);
  assert.is(again.nextSeq, 14n);
  assert.is(seqs(again).at(-1), 13n);
  await again.close();
  dir.remove();
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
