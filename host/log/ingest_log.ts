// The durable ingest log: what makes exactly-once possible. Every accepted
// event gets a sequence number here before it reaches a partition, and a
// producer is acknowledged only once the entry holding its events is fsynced.
// Recovery = newest checkpoint + replay of this log from the checkpoint's seq.
//
// A log is a directory of segment files, each named after the first sequence
// number it may hold (20 digits, so names sort numerically):
//
//   00000000000000000001.log
//   ┌──────────────┬─────────┬─────────┬─────┐
//   │ "GNGLLOG1"   │ entry 0 │ entry 1 │ ... │
//   └──────────────┴─────────┴─────────┴─────┘
//
// Entry (little-endian), 32-byte header then payload:
//
//   0        4        8             16              24       26        28        32
//   ┌────────┬────────┬─────────────┬───────────────┬────────┬─────────┬─────────┬──────────┐
//   │ len u32│ crc u32│ firstSeq u64│ appendedNs i64│kind u16│flags u16│count u32│ payload  │
//   └────────┴────────┴─────────────┴───────────────┴────────┴─────────┴─────────┴──────────┘
//   len    bytes of the whole entry, header included
//   crc    CRC-32 of bytes [8, len): a torn or corrupt entry never replays
//   kind   ENTRY_RECORDS: payload = count input records (host/records.ts) with
//          their seq already stamped (firstSeq + i), stride = payload / count
//          ENTRY_PACKED_RECORDS: the same records packed column by column
//          (host/log/record_packing.ts), what appendRecords writes when it is
//          smaller; readers see them unpacked, as ENTRY_RECORDS
//          ENTRY_KEYS: payload = UTF-8 JSON [[id, "key"], ...], interned keys
//          the following records use (count 0, firstSeq = the next seq)
//          ENTRY_WATERMARK: payload = i64 watermark (ns) that the host moved
//          without an event (idle timeout, end of input), so a replay moves
//          it at the same point of the stream (count 0, firstSeq = the next seq);
//          a pipeline with several input streams appends u32 stream index
//          (bits 0-7) | 0x100 when the stream went idle (readWatermark)
//   records carry their input stream in their flags (host/records.ts)
//          ENTRY_PRODUCER: no records, only the producer trailer below: a
//          frame whose events were all rejected still moves its producer's
//          high-water mark (count 0, firstSeq = the next seq)
//   flags  FLAG_PRODUCER: the payload ends with a producer trailer
//            id (UTF-8) │ idLen u16 │ producerSeq u64
//          naming the producer frame these records came from (see
//          host/pipeline/producers.ts). It sits inside the CRC-covered entry
//          with the records, so recovery can never keep one without the
//          other: a separate entry could be torn apart from its records and
//          either lose the frame (mark without records) or ingest it twice.
//
// Group commit: appends are buffered; one write + fdatasync covers every
// entry appended since the last one, at most every `fsyncIntervalMs` or as soon
// as `fsyncEveryRecords` are pending. `durable` promises resolve after that.
//
// The ingest thread only copies: entries are built in reusable 1 MiB slabs
// (no allocation per entry, so no garbage and no external-memory pressure),
// and the gathered write and the fdatasync both run on libuv's thread pool.
// At high rates a synchronous write would take a large share of the ingest
// thread (docs/perf/). A slab is
// sealed when its commit starts and reused once that write has returned.
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, ftruncateSync, writeSync } from 'node:fs';
import { fdatasync, write, writev } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { IN_SEQ } from '../records.js';
import { aligned, planPack, packInto, packedBytes, unpack, type PackPlan } from './record_packing.js';

export const ENTRY_RECORDS = 1;
export const ENTRY_KEYS = 2;
export const ENTRY_WATERMARK = 3;
const ENTRY_PACKED_RECORDS = 4;
export const ENTRY_PRODUCER = 5;
export const FLAG_PRODUCER = 1;
/** Longest producer id in bytes (the trailer's length field is a u16; ids are validated far below this). */
const MAX_PRODUCER_ID_BYTES = 1024;
const MAGIC = Buffer.from('GNGLLOG1');
const HEADER = 32;
const SLAB_BYTES = 1 << 20;
/** Free slabs kept for reuse; more are allocated (and left to the GC) only while commits lag. */
const SLAB_POOL = 8;
/** Batches packed with one plan before it is made anew (see appendPacked). */
const PACK_REPLAN_EVERY = 64;

export interface IngestLogOptions {
  /** Roll to a new segment past this size. */
  segmentBytes?: number;
  /** Longest a producer waits for its fsync. */
  fsyncIntervalMs?: number;
  /** Sync at once when this many records are pending. */
  fsyncEveryRecords?: number;
  /** Delete closed segments whose newest entry is older than this (ms); 0 = keep. */
  retentionMs?: number;
  /** Delete the oldest closed segments while the log is larger than this; 0 = no limit. */
  retentionBytes?: number;
  /**
   * Damage that loses acknowledged events (anything but a torn tail of
   * unacknowledged writes, or a hole the checkpoint already covers) is an
   * error unless this is set; set, the log is cut at the damage and every
   * entry after it is given up (the report names the seqs).
   */
  truncateCorrupt?: boolean;
  /**
   * The newest checkpoint's logSeq: every seq below it is already in a
   * checkpoint. Damage below it loses nothing recovery needs, and the next
   * seq never goes below it (a reused seq would be skipped by the replay).
   */
  committedSeq?: bigint;
  /** Test hook: the clock, ns since epoch. */
  now?: () => bigint;
}

/** A producer's frame: its id and its own sequence number (host/pipeline/producers.ts). */
export interface ProducerMark {
  id: string;
  seq: number;
}

export interface LogEntry {
  kind: number;
  firstSeq: bigint;
  count: number;
  appendedNs: bigint;
  payload: Uint8Array;
  /** The producer frame this entry came from (FLAG_PRODUCER). */
  producer?: ProducerMark;
}

export interface RecoveryReport {
  segments: number;
  entries: number;
  /** Bytes cut from a torn or corrupt tail. */
  truncatedBytes: number;
  /** Where the cut happened, for the log line. */
  truncatedAt?: string;
  /** Every damaged region found, with what it means for the events in it. */
  damage: DamageReport[];
}

/**
 * A damaged region of a segment: bytes [at, end) of `path` hold no valid
 * entry. The events it held are seqs [fromSeq, toSeq) (toSeq undefined: up
 * to the end of the log, count unknown).
 *   torn     a tail cut short by a crash mid-write: never acknowledged (the
 *            ack waits for the fsync of the whole entry), cut silently
 *   covered  every seq in it is below the checkpoint's: results are whole,
 *            only a log replay (`ganglion replay --from/--to`) misses them
 *   lost     acknowledged events nothing else holds: refused, or cut with
 *            truncate_corrupt
 */
export interface DamageReport {
  path: string;
  at: number;
  end: number;
  problem: string;
  fromSeq: bigint;
  toSeq?: bigint;
  kind: 'torn' | 'covered' | 'lost';
  /** The log was cut at `at` (and later segments deleted). */
  cut: boolean;
}

interface Segment { firstSeq: bigint; path: string; bytes: number; lastAppendedNs: bigint }

function segmentName(seq: bigint): string {
  return seq.toString().padStart(20, '0') + '.log';
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export class IngestLog {
  private segments: Segment[] = [];
  private fd = -1;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The slab entries are being built in, how much of it is used, and the slabs the pending entries sit in. */
  private slab: Buffer | null = null;
  private slabUsed = 0;
  private pendingSlabs: Buffer[] = [];
  private readonly freeSlabs: Buffer[] = [];
  /** The plan the last records batch was packed with, for its stride, and how many batches have used it. */
  private packPlan: PackPlan | null = null;
  private packStride = 0;
  private packUses = 0;
  private pendingRecords = 0;
  private waiters: Array<() => void> = [];
  private failures: Array<(e: Error) => void> = [];
  private syncing = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private failed: Error | null = null;
  /** Every seq below this is fsynced. */
  private durableSeq = 1n;
  readonly recovery: RecoveryReport;
  private _nextSeq: bigint;
  private readonly opts: Required<Omit<IngestLogOptions, 'now'>> & { now: () => bigint };

  private constructor(readonly dir: string, options: IngestLogOptions) {
    this.opts = {
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      fsyncIntervalMs: options.fsyncIntervalMs ?? 2,
      fsyncEveryRecords: options.fsyncEveryRecords ?? 65536,
      retentionMs: options.retentionMs ?? 0,
      retentionBytes: options.retentionBytes ?? 0,
      truncateCorrupt: options.truncateCorrupt ?? false,
      committedSeq: options.committedSeq ?? 1n,
      now: options.now ?? nowNs,
    };
    mkdirSync(dir, { recursive: true });
    const { report, nextSeq } = this.recover();
    this.recovery = report;
    this._nextSeq = nextSeq;
    this.durableSeq = nextSeq;
    this.openActive();
  }

  static open(dir: string, options: IngestLogOptions = {}): IngestLog {
    return new IngestLog(dir, options);
  }

  /** The sequence number the next appended record gets. */
  get nextSeq(): bigint { return this._nextSeq; }
  get firstRetainedSeq(): bigint { return this.segments[0]?.firstSeq ?? this._nextSeq; }
  get bytes(): number { return this.segments.reduce((n, s) => n + s.bytes, 0) + this.pendingBytes; }

  /**
   * Appends `count` records of `stride` bytes, stamping each one's seq in place
   * (so the caller's buffer carries the seqs on to the partitions).
   */
  appendRecords(records: Uint8Array, count: number, stride: number, producer?: ProducerMark): { firstSeq: bigint; durable: Promise<void> } {
    this.assertWritable();
    const trailer = producer ? encodeTrailer(producer) : undefined;
    const firstSeq = this._nextSeq;
    const view = new DataView(records.buffer, records.byteOffset, count * stride);
    // Seqs stay below 2^53 for centuries at any rate, so plain numbers (no BigInt per record).
    const first = Number(firstSeq);
    for (let i = 0; i < count; i++) {
      const seq = first + i;
      view.setUint32(i * stride + IN_SEQ, seq >>> 0, true);
      view.setUint32(i * stride + IN_SEQ + 4, Math.floor(seq / 4294967296), true);
    }
    this._nextSeq += BigInt(count);
    const raw = records.subarray(0, count * stride);
    if (!this.appendPacked(raw, count, stride, firstSeq, trailer)) this.enqueue(ENTRY_RECORDS, firstSeq, count, raw, trailer);
    this.pendingRecords += count;
    return { firstSeq, durable: this.whenDurable() };
  }

  /** Records keys interned since the last call, so replay can rebuild the dictionary. */
  appendKeys(keys: Array<[number, string]>): Promise<void> {
    this.assertWritable();
    this.enqueue(ENTRY_KEYS, this._nextSeq, 0, Buffer.from(JSON.stringify(keys)));
    return this.whenDurable();
  }

  /** Records that a producer frame was handled without any records to log (all rejected, or empty). */
  appendProducer(producer: ProducerMark): Promise<void> {
    this.assertWritable();
    this.enqueue(ENTRY_PRODUCER, this._nextSeq, 0, new Uint8Array(0), encodeTrailer(producer));
    return this.whenDurable();
  }

  /**
   * Resolves once everything appended so far is durable, without forcing a
   * commit (the one already scheduled covers it): a re-acknowledged
   * duplicate waits here for its original.
   */
  settled(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending.length === 0 && !this.syncing) return Promise.resolve();
    return this.whenDurable();
  }

  /** Records a watermark the host advanced on its own (not durable-awaited: it is re-derivable up to the next records). */
  appendWatermark(ns: bigint, stream?: { index: number; idle: boolean }): void {
    this.assertWritable();
    const payload = Buffer.alloc(stream ? 12 : 8);
    payload.writeBigInt64LE(ns, 0);
    if (stream) payload.writeUInt32LE(stream.index | (stream.idle ? 0x100 : 0), 8);
    this.enqueue(ENTRY_WATERMARK, this._nextSeq, 0, payload);
  }

  /** Forces a group commit now; resolves when everything appended so far is durable. */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending.length === 0 && !this.syncing) {
      // A quiet log commits nothing, so a checkpoint's sync is where a removed data directory shows.
      if (this.fd >= 0 && fstatSync(this.fd).nlink === 0) this.fail(deletedSegment(this.segments[this.segments.length - 1].path), []);
      return this.failed ? Promise.reject(this.failed) : Promise.resolve();
    }
    const p = this.whenDurable();
    this.flushSoon(true);
    return p;
  }

  /** Entries holding seq ≥ fromSeq (records entries are sliced), oldest first; keys entries from fromSeq on. */
  *read(fromSeq = 0n): Generator<LogEntry> {
    for (const seg of this.segments) {
      const next = this.segments[this.segments.indexOf(seg) + 1];
      if (next && next.firstSeq <= fromSeq) continue;
      const buf = readFileSync(seg.path);
      for (const e of scanSegment(buf, seg.path, seg.firstSeq).entries) {
        if (e.kind !== ENTRY_RECORDS) {
          if (e.firstSeq >= fromSeq) yield e;
          continue;
        }
        const end = e.firstSeq + BigInt(e.count);
        if (end <= fromSeq) continue;
        if (e.firstSeq >= fromSeq) { yield e; continue; }
        const skip = Number(fromSeq - e.firstSeq);
        const stride = e.payload.length / e.count;
        yield { ...e, firstSeq: fromSeq, count: e.count - skip, payload: e.payload.subarray(skip * stride) };
      }
    }
  }

  /** Every ENTRY_KEYS entry in the retained log (for rebuilding a dictionary with no checkpoint). */
  *readKeys(): Generator<Array<[number, string]>> {
    for (const e of this.read(0n)) if (e.kind === ENTRY_KEYS) yield JSON.parse(Buffer.from(e.payload).toString('utf8'));
  }

  /**
   * Deletes closed segments by age and size. Never deletes a segment holding
   * seq ≥ `protectSeq` (what the newest checkpoint still needs to replay).
   */
  applyRetention(protectSeq: bigint = this._nextSeq): number {
    const now = this.opts.now();
    let removed = 0;
    const total = () => this.segments.reduce((n, s) => n + s.bytes, 0);
    while (this.segments.length > 1) {
      const [oldest, next] = this.segments;
      if (next.firstSeq > protectSeq) break;
      const tooOld = this.opts.retentionMs > 0 && now - oldest.lastAppendedNs > BigInt(this.opts.retentionMs) * 1_000_000n;
      const tooBig = this.opts.retentionBytes > 0 && total() > this.opts.retentionBytes;
      if (!tooOld && !tooBig) break;
      unlinkSync(oldest.path);
      this.segments.shift();
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync().catch(() => undefined);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private assertWritable(): void {
    if (this.closed) throw new Error(`ingest log ${this.dir} is closed`);
    if (this.failed) throw this.failed;
  }

  /**
   * Records packed by column when that is smaller: with the previous batch's
   * plan while it fits (re-planned every PACK_REPLAN_EVERY batches, so a plan
   * widened by one odd batch does not stick), else a plan from these records.
   * False when packing would not save bytes. A batch the old plan did not fit
   * leaves unused bytes in the slab, never in the log.
   */
  private appendPacked(raw: Uint8Array, count: number, stride: number, firstSeq: bigint, trailer: Uint8Array | undefined): boolean {
    const records = aligned(raw);
    const previous = this.packPlan;
    if (previous && this.packStride === stride && ++this.packUses <= PACK_REPLAN_EVERY && this.appendWithPlan(previous, records, count, stride, firstSeq, trailer)) return true;
    const plan = planPack(records, count, stride);
    this.packPlan = plan; this.packStride = stride; this.packUses = 0;
    return this.appendWithPlan(plan, records, count, stride, firstSeq, trailer);
  }

  /** Packs and queues the batch with `plan`; false (nothing queued) when that saves no bytes or a record does not fit the plan. */
  private appendWithPlan(plan: PackPlan, records: Uint8Array, count: number, stride: number, firstSeq: bigint, trailer: Uint8Array | undefined): boolean {
    const bytes = packedBytes(plan, count);
    if (bytes >= count * stride) return false;
    const extra = trailer?.length ?? 0;
    const entry = this.allocEntry(HEADER + bytes + extra);
    if (!packInto(plan, records, count, stride, entry.subarray(HEADER, HEADER + bytes))) return false;
    if (trailer) entry.set(trailer, HEADER + bytes);
    this.seal(entry, ENTRY_PACKED_RECORDS, firstSeq, count, trailer ? FLAG_PRODUCER : 0);
    return true;
  }

  private enqueue(kind: number, firstSeq: bigint, count: number, payload: Uint8Array, trailer?: Uint8Array): void {
    const entry = this.allocEntry(HEADER + payload.length + (trailer?.length ?? 0));
    entry.set(payload, HEADER);
    if (trailer) entry.set(trailer, HEADER + payload.length);
    this.seal(entry, kind, firstSeq, count, trailer ? FLAG_PRODUCER : 0);
  }

  /** Fills in the header of an entry whose payload is written, and queues it. */
  private seal(entry: Buffer, kind: number, firstSeq: bigint, count: number, flags = 0): void {
    entry.writeUInt32LE(entry.length, 0);
    entry.writeBigUInt64LE(firstSeq, 8);
    entry.writeBigInt64LE(this.opts.now(), 16);
    entry.writeUInt16LE(kind, 24);
    entry.writeUInt16LE(flags, 26);
    entry.writeUInt32LE(count, 28);
    entry.writeUInt32LE(crc32(entry.subarray(8)), 4);
    this.pending.push(entry);
    this.pendingBytes += entry.length;
    this.flushSoon(this.pendingRecords + count >= this.opts.fsyncEveryRecords);
  }

  /** `bytes` of the current slab (a fresh one when it is full); entries larger than a slab get their own buffer. */
  private allocEntry(bytes: number): Buffer {
    if (bytes > SLAB_BYTES / 4) return Buffer.allocUnsafeSlow(bytes);
    if (this.slab === null || this.slabUsed + bytes > SLAB_BYTES) {
      this.slab = this.freeSlabs.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabUsed = 0;
      this.pendingSlabs.push(this.slab);
    }
    const at = this.slabUsed;
    // 8-byte aligned entries keep the payload's f64 fields aligned for readers of the slab.
    this.slabUsed += (bytes + 7) & ~7;
    return this.slab.subarray(at, at + bytes);
  }

  private whenDurable(): Promise<void> {
    return new Promise((resolve, reject) => { this.waiters.push(resolve); this.failures.push(reject); });
  }

  private flushSoon(now: boolean): void {
    if (this.syncing) return; // the running commit re-checks when it ends
    if (now) {
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      setImmediate(() => this.commit());
    } else if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = null; this.commit(); }, this.opts.fsyncIntervalMs);
    }
  }

  private commit(): void {
    // After a failure nothing more is written: the entries still pending were refused to their producers.
    if (this.syncing || this.pending.length === 0 || this.fd < 0 || this.failed) return;
    this.syncing = true;
    const batch = this.pending;
    const waiters = this.waiters;
    const failures = this.failures;
    // Sealed: later entries go to fresh slabs while these are being written.
    const slabs = this.pendingSlabs;
    this.pending = []; this.waiters = []; this.failures = []; this.pendingSlabs = [];
    this.slab = null;
    this.pendingBytes = 0; this.pendingRecords = 0;
    const full = this.segments[this.segments.length - 1];
    const first = batch[0].readBigUInt64LE(8);
    if (full.bytes >= this.opts.segmentBytes && first > full.firstSeq) this.roll(first);
    const active = this.segments[this.segments.length - 1];
    const fd = this.fd;
    const upTo = this._nextSeq;
    const before = active.bytes;
    writeAllAsync(fd, batch, (err, total) => {
      for (const s of slabs) if (this.freeSlabs.length < SLAB_POOL) this.freeSlabs.push(s);
      if (err) { this.failCommit(err, failures, fd, active, before); return; }
      active.bytes += total;
      active.lastAppendedNs = this.opts.now();
      fdatasync(fd, (err) => {
        this.syncing = false;
        if (err) { this.failCommit(err, failures, fd, active, before); return; }
        // Durable in a file nobody can open again is not durable: the data directory was removed under us.
        if (fstatSync(fd).nlink === 0) { this.fail(deletedSegment(active.path), failures); return; }
        this.durableSeq = upTo;
        for (const w of waiters) w();
        if (this.pending.length) this.flushSoon(this.pendingRecords >= this.opts.fsyncEveryRecords);
        else {
          // Waiters that arrived during this sync with nothing new to write
          // (sync() on a quiet log) are durable now too.
          const quiet = this.waiters;
          this.waiters = []; this.failures = [];
          for (const w of quiet) w();
        }
      });
    });
  }

  /**
   * Whole entries of a batch that failed part-way would pass their CRC and be
   * replayed after a restart, though their producers were refused and resend
   * them: the segment goes back to its length before the batch (shrinking a
   * file needs no free space).
   */
  private failCommit(err: NodeJS.ErrnoException, failures: Array<(e: Error) => void>, fd: number, active: Segment, before: number): void {
    try { ftruncateSync(fd, before); active.bytes = before; } catch { /* the fd is unusable: the failure below stands */ }
    this.fail(err, failures);
  }

  private fail(err: NodeJS.ErrnoException, failures: Array<(e: Error) => void>): void {
    this.syncing = false;
    const why = err.code === 'ENOSPC' ? 'no space left on device' : err.message;
    this.failed = new Error(`ingest log ${this.dir}: write failed (${why}); events from seq ${this.durableSeq} on are not durable and were not acknowledged`);
    for (const f of [...failures, ...this.failures]) f(this.failed);
    this.failures = []; this.waiters = [];
    this.pending = []; this.pendingBytes = 0; this.pendingRecords = 0;
  }

  /**
   * A new segment, named after the first seq of the entries about to go into
   * it. Named after the next seq instead, a segment rolled while appended
   * entries waited for their commit would hold seqs below its name, and a
   * second roll with no record in between would reopen the same file:
   * retention then deleted the active segment.
   */
  private roll(firstSeq: bigint): void {
    closeSync(this.fd);
    this.fd = -1;
    this.openActive(true, firstSeq);
  }

  private openActive(fresh = false, firstSeq = this._nextSeq): void {
    const last = this.segments[this.segments.length - 1];
    if (!fresh && last) {
      this.fd = openSync(last.path, 'a');
      return;
    }
    const path = join(this.dir, segmentName(firstSeq));
    this.fd = openSync(path, 'a');
    writeSync(this.fd, MAGIC);
    fsyncSync(this.fd);
    fsyncDir(this.dir);
    this.segments.push({ firstSeq, path, bytes: MAGIC.length, lastAppendedNs: this.opts.now() });
  }

  /**
   * Scans every segment. A damaged region is judged by what it can have
   * held: see DamageReport. Only a torn tail is cut without being asked;
   * a region the checkpoint covers stays as a hole the readers step over.
   */
  private recover(): { report: RecoveryReport; nextSeq: bigint } {
    const names = readdirSync(this.dir).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    const report: RecoveryReport = { segments: names.length, entries: 0, truncatedBytes: 0, damage: [] };
    const committed = this.opts.committedSeq;
    let nextSeq = 1n;
    for (let i = 0; i < names.length; i++) {
      const path = join(this.dir, names[i]);
      const buf = readFileSync(path);
      const firstSeq = BigInt(names[i].slice(0, 20));
      const scan = scanSegment(buf, path, firstSeq);
      if (firstSeq > nextSeq) nextSeq = firstSeq;
      report.entries += scan.entries.length;
      let cutAt = -1;
      let e = 0;
      for (const [d, region] of scan.damage.entries()) {
        for (; e < scan.entries.length && scan.offsets[e] < region.at; e++) nextSeq = seqAfter(scan.entries[e], nextSeq);
        const after = scan.entries[e];
        const tail = i === names.length - 1 && d === scan.damage.length - 1 && !after;
        const torn = tail && isTorn(buf, region.at, nextSeq);
        // Where the damaged seqs end: the next readable entry, the next segment, or the damaged entry's own header when it is whole and continues the stream.
        let toSeq = after ? after.firstSeq : i + 1 < names.length ? BigInt(names[i + 1].slice(0, 20)) : torn ? undefined : wholeEntryEnd(buf, region.at, nextSeq);
        let kind: DamageReport['kind'];
        if (torn) {
          kind = nextSeq < committed ? 'covered' : 'torn';
          // Only what the checkpoint covered was acknowledged: the rest of a torn tail never was.
          if (kind === 'covered') toSeq = committed;
        } else kind = toSeq !== undefined && toSeq <= committed ? 'covered' : 'lost';
        const damage: DamageReport = { path, at: region.at, end: region.end, problem: region.problem, fromSeq: nextSeq, ...(toSeq === undefined ? {} : { toSeq }), kind, cut: false };
        report.damage.push(damage);
        if (kind === 'covered' && !tail) continue;
        if (kind === 'lost' && !this.opts.truncateCorrupt) throw new Error(lostMessage(damage, committed, names.length - 1 - i));
        damage.cut = true;
        cutAt = region.at;
        break;
      }
      if (cutAt < 0) {
        for (; e < scan.entries.length; e++) nextSeq = seqAfter(scan.entries[e], nextSeq);
        this.segments.push({ firstSeq, path, bytes: buf.length, lastAppendedNs: scan.entries.at(-1)?.appendedNs ?? statMtimeNs(path) });
        continue;
      }
      // Cut: whatever seqs the given-up entries held are never handed out again.
      let highest = maxSeq(nextSeq, report.damage.at(-1)!.toSeq ?? nextSeq);
      for (; e < scan.entries.length; e++) highest = seqAfter(scan.entries[e], highest);
      report.truncatedBytes += buf.length - cutAt;
      report.truncatedAt = `${path} at byte ${cutAt}: ${report.damage.at(-1)!.problem}`;
      truncateFile(path, Math.max(cutAt, MAGIC.length));
      for (const later of names.slice(i + 1)) {
        const p = join(this.dir, later);
        highest = maxSeq(highest, BigInt(later.slice(0, 20)));
        for (const entry of scanSegment(readFileSync(p), p, BigInt(later.slice(0, 20))).entries) highest = seqAfter(entry, highest);
        report.truncatedBytes += statSync(p).size;
        unlinkSync(p);
      }
      const lost = report.damage.at(-1)!;
      // Cut: the report names everything given up, not just the damaged bytes.
      if (lost.kind === 'lost') lost.toSeq = highest;
      const keptLast = scan.entries.filter((_, k) => scan.offsets[k] < cutAt).at(-1);
      this.segments.push({ firstSeq, path, bytes: Math.max(cutAt, MAGIC.length), lastAppendedNs: keptLast?.appendedNs ?? statMtimeNs(path) });
      nextSeq = highest;
      break;
    }
    // Seqs below the checkpoint's were handed out already, whatever the log still holds.
    return { report, nextSeq: maxSeq(nextSeq, committed) };
  }
}

function deletedSegment(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`segment ${path} was deleted while running (was the data directory removed?)`), { code: 'ENOENT' });
}

function seqAfter(e: LogEntry, at: bigint): bigint {
  return maxSeq(at, e.kind === ENTRY_RECORDS ? e.firstSeq + BigInt(e.count) : e.firstSeq);
}

/** The seq after a damaged entry that spans exactly to the end of the file and whose header continues from `expected`; else undefined. */
function wholeEntryEnd(buf: Buffer, at: number, expected: bigint): bigint | undefined {
  if (buf.length - at < HEADER || at + buf.readUInt32LE(at) !== buf.length) return undefined;
  if (buf.readBigUInt64LE(at + 8) !== expected) return undefined;
  const kind = buf.readUInt16LE(at + 24);
  return kind === ENTRY_RECORDS || kind === ENTRY_PACKED_RECORDS ? expected + BigInt(buf.readUInt32LE(at + 28)) : expected;
}

function maxSeq(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * A crash mid-write leaves the file short: the last entry's header (written
 * first, and continuing the stream at `expectedSeq`) says it runs past the
 * end, or not even a header is left; after a power loss, zeros. A whole
 * entry that fails its CRC, or a short one whose header does not continue
 * the stream, was damaged after it was written.
 */
function isTorn(buf: Buffer, at: number, expectedSeq: bigint): boolean {
  if (buf.length - at < HEADER) return true;
  let zeros = true;
  for (let i = at; i < buf.length && zeros; i++) if (buf[i] !== 0) zeros = false;
  if (zeros) return true;
  const len = buf.readUInt32LE(at);
  if (len < HEADER || at + len <= buf.length) return false;
  return buf.readBigUInt64LE(at + 8) === expectedSeq;
}

export function describeSeqs(from: bigint, to: bigint | undefined): string {
  if (to === undefined) return `seq ${from} onwards (how many is unknown: nothing after the damage says where it ended)`;
  if (to <= from) return `no events, only interned keys or a watermark move logged before seq ${from}`;
  if (to - from === 1n) return `seq ${from} (1 event)`;
  return `seqs ${from}..${to - 1n} (${to - from} events)`;
}

function lostMessage(d: DamageReport, committed: bigint, laterSegments: number): string {
  const from = maxSeq(d.fromSeq, committed);
  const lost = d.toSeq !== undefined && d.toSeq <= from ? `the entries there are lost (${describeSeqs(from, d.toSeq)}; later events would be replayed without them)` : `acknowledged events ${describeSeqs(from, d.toSeq)} are lost`;
  return `ingest log ${d.path}: damaged at byte ${d.at} (${d.problem}): ${lost}` +
    (committed > 1n ? ` (the newest checkpoint covers the seqs below ${committed})` : ' (no checkpoint covers them)') +
    `. Refusing to start. To give them up and go on: set delivery.log.truncate_corrupt: true or run with --truncate-corrupt, ` +
    `which cuts the log at byte ${d.at}${laterSegments > 0 ? ` and deletes ${laterSegments} later segment(s)` : ''}, losing every event from seq ${from} on that the log held`;
}

/**
 * Valid entries of a segment, stepping over damaged regions to the next entry
 * that passes its CRC. `firstSeq` (the segment's name) bounds the seqs a real
 * entry can carry, so the scan pays a CRC only for headers that fit.
 */
export function scanSegment(buf: Buffer, path: string, firstSeq = 0n): { entries: LogEntry[]; offsets: number[]; damage: Array<{ at: number; end: number; problem: string }> } {
  const entries: LogEntry[] = [];
  const offsets: number[] = [];
  const damage: Array<{ at: number; end: number; problem: string }> = [];
  // A segment cut short while it was being created (even to 0 bytes) is a torn header.
  if (buf.length < MAGIC.length) return { entries, offsets, damage: [{ at: 0, end: buf.length, problem: 'torn segment header' }] };
  let parsed = parseEntries(buf, path, 0, offsets);
  entries.push(...parsed.entries);
  let minSeq = firstSeq;
  while (parsed.validBytes < buf.length) {
    for (const e of parsed.entries) minSeq = seqAfter(e, minSeq);
    const at = parsed.validBytes;
    const problem = parsed.problem ?? 'unreadable';
    let next = -1;
    let found: ReturnType<typeof parseEntries> | null = null;
    for (let off = Math.max(at + 1, MAGIC.length); off + HEADER <= buf.length; off++) {
      const len = buf.readUInt32LE(off);
      if (len < HEADER || off + len > buf.length || buf.readUInt16LE(off + 24) > 255) continue;
      const seq = buf.readBigUInt64LE(off + 8);
      if (seq < minSeq || seq - minSeq > 0xffffffffn) continue;
      if (crc32(buf.subarray(off + 8, off + len)) !== buf.readUInt32LE(off + 4)) continue;
      const more: number[] = [];
      const p = parseEntries(buf, path, off, more);
      if (p.entries.length === 0) continue;
      next = off; found = p; offsets.push(...more);
      break;
    }
    damage.push({ at, end: next < 0 ? buf.length : next, problem });
    if (!found) break;
    entries.push(...found.entries);
    parsed = found;
  }
  return { entries, offsets, damage };
}

/** One gathered write on the thread pool; a short write (a filling disk) is finished piece by piece, or fails. */
function writeAllAsync(fd: number, parts: Buffer[], done: (err: NodeJS.ErrnoException | null, total: number) => void): void {
  let total = 0;
  for (const p of parts) total += p.length;
  writev(fd, parts, (err, written) => {
    if (err) { done(err, 0); return; }
    if (written >= total) { done(null, total); return; }
    let skip = written, i = 0;
    while (skip >= parts[i].length) skip -= parts[i++].length;
    const next = (): void => {
      if (i >= parts.length) { done(null, total); return; }
      const p = parts[i];
      write(fd, p, skip, p.length - skip, null, (err, n) => {
        if (err) { done(err, 0); return; }
        if (n === 0) { done(Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' }), 0); return; }
        skip += n;
        if (skip >= p.length) { i++; skip = 0; }
        next();
      });
    };
    next();
  });
}

function statMtimeNs(path: string): bigint {
  return BigInt(Math.round(statSync(path).mtimeMs)) * 1_000_000n;
}

function truncateFile(path: string, bytes: number): void {
  const fd = openSync(path, 'r+');
  try {
    if (bytes <= MAGIC.length) { ftruncateSync(fd, 0); writeSync(fd, MAGIC); } else ftruncateSync(fd, bytes);
    fdatasyncSync(fd);
  } finally { closeSync(fd); }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** The FLAG_PRODUCER trailer: id (UTF-8), idLen u16, seq u64 (little-endian). */
function encodeTrailer(p: ProducerMark): Uint8Array {
  const id = Buffer.from(p.id, 'utf8');
  if (id.length === 0 || id.length > MAX_PRODUCER_ID_BYTES) throw new Error(`producer id must be 1..${MAX_PRODUCER_ID_BYTES} bytes, got ${id.length}`);
  if (!Number.isSafeInteger(p.seq) || p.seq < 0) throw new Error(`producer seq must be a non-negative safe integer, got ${p.seq}`);
  const t = Buffer.allocUnsafe(id.length + 10);
  id.copy(t, 0);
  t.writeUInt16LE(id.length, id.length);
  t.writeBigUInt64LE(BigInt(p.seq), id.length + 2);
  return t;
}

/** Splits a FLAG_PRODUCER payload into records and the producer; a string says what is wrong. */
function decodeTrailer(payload: Uint8Array): { payload: Uint8Array; producer: ProducerMark } | string {
  if (payload.length < 10) return 'producer trailer shorter than 10 bytes';
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const seq = b.readBigUInt64LE(b.length - 8);
  const idLen = b.readUInt16LE(b.length - 10);
  if (idLen === 0 || idLen > MAX_PRODUCER_ID_BYTES || idLen + 10 > b.length) return `producer trailer with an id of ${idLen} bytes`;
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) return `producer seq ${seq} beyond 2^53`;
  const at = b.length - 10 - idLen;
  return { payload: payload.subarray(0, at), producer: { id: b.toString('utf8', at, at + idLen), seq: Number(seq) } };
}

/**
 * Parses a segment up to its first invalid entry; `validBytes` is where that
 * is. `from` > 0 starts at an entry inside it (a scan past damage); `offsets`
 * collects where each entry starts.
 */
export function parseEntries(buf: Buffer, path: string, from = 0, offsets?: number[]): { entries: LogEntry[]; validBytes: number; problem?: string } {
  const entries: LogEntry[] = [];
  if (from === 0 && (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC))) {
    return { entries, validBytes: 0, problem: `not a ganglion log segment (bad magic) in ${path}` };
  }
  let off = from === 0 ? MAGIC.length : from;
  while (off < buf.length) {
    if (buf.length - off < HEADER) return { entries, validBytes: off, problem: 'torn entry header' };
    const len = buf.readUInt32LE(off);
    if (len < HEADER || off + len > buf.length) return { entries, validBytes: off, problem: `entry length ${len} runs past the end` };
    const crc = buf.readUInt32LE(off + 4);
    if (crc32(buf.subarray(off + 8, off + len)) !== crc) return { entries, validBytes: off, problem: 'CRC mismatch' };
    const kind = buf.readUInt16LE(off + 24);
    const flags = buf.readUInt16LE(off + 26);
    const count = buf.readUInt32LE(off + 28);
    if (kind !== ENTRY_RECORDS && kind !== ENTRY_PACKED_RECORDS && kind !== ENTRY_KEYS && kind !== ENTRY_WATERMARK && kind !== ENTRY_PRODUCER) return { entries, validBytes: off, problem: `unknown entry kind ${kind}` };
    if ((flags & ~FLAG_PRODUCER) !== 0) return { entries, validBytes: off, problem: `unknown entry flags 0x${flags.toString(16)}` };
    if (kind === ENTRY_PRODUCER && !(flags & FLAG_PRODUCER)) return { entries, validBytes: off, problem: 'producer entry without its producer' };
    let payload: Uint8Array = buf.subarray(off + HEADER, off + len);
    let producer: ProducerMark | undefined;
    if (flags & FLAG_PRODUCER) {
      const t = decodeTrailer(payload);
      if (typeof t === 'string') return { entries, validBytes: off, problem: t };
      payload = t.payload;
      producer = t.producer;
    }
    if (kind === ENTRY_RECORDS && (count === 0 || payload.length % count !== 0)) return { entries, validBytes: off, problem: 'record payload not a whole number of records' };
    if (kind === ENTRY_PACKED_RECORDS) {
      const u = count === 0 ? 'packed entry with no records' : unpack(payload, count);
      if (typeof u === 'string') return { entries, validBytes: off, problem: u };
      payload = u.records;
    }
    offsets?.push(off);
    entries.push({
      kind: kind === ENTRY_PACKED_RECORDS ? ENTRY_RECORDS : kind, count,
      firstSeq: buf.readBigUInt64LE(off + 8),
      appendedNs: buf.readBigInt64LE(off + 16),
      payload,
      ...(producer ? { producer } : {}),
    });
    off += len;
  }
  return { entries, validBytes: off };
}

/** An ENTRY_WATERMARK payload: the watermark, the stream it moved (0 in one-stream logs) and whether that stream went idle. */
export function readWatermark(payload: Uint8Array): { ns: bigint; stream: number; idle: boolean } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const ns = view.getBigInt64(0, true);
  if (payload.byteLength < 12) return { ns, stream: 0, idle: false };
  const s = view.getUint32(8, true);
  return { ns, stream: s & 0xff, idle: (s & 0x100) !== 0 };
}
