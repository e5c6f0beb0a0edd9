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
//          it at the same point of the stream (count 0, firstSeq = the next seq)
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
// At a million events a second the write alone (~100 MB/s into the page
// cache) cost a fifth of the ingest thread when it was synchronous. A slab is
// sealed when its commit starts and reused once that write has returned.
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, ftruncateSync, writeSync } from 'node:fs';
import { fdatasync, write, writev } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { IN_SEQ } from '../records.js';
import { aligned, planPack, packInto, packedBytes, unpack, type PackPlan } from './record_packing.js';

export const ENTRY_RECORDS = 1;
export const ENTRY_KEYS = 2;
export const ENTRY_WATERMARK = 3;
export const ENTRY_PACKED_RECORDS = 4;
export const ENTRY_PRODUCER = 5;
export const FLAG_PRODUCER = 1;
/** Longest producer id in bytes (the trailer's length field is a u16; ids are validated far below this). */
export const MAX_PRODUCER_ID_BYTES = 1024;
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
  /** A corrupt entry before the last segment's tail is an error unless this is set. */
  truncateCorrupt?: boolean;
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
      now: options.now ?? nowNs,
    };
    mkdirSync(dir, { recursive: true });
    const { report, nextSeq } = this.recover();
    this.recovery = report;
    this._nextSeq = nextSeq;
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
  appendWatermark(ns: bigint): void {
    this.assertWritable();
    const payload = Buffer.alloc(8);
    payload.writeBigInt64LE(ns, 0);
    this.enqueue(ENTRY_WATERMARK, this._nextSeq, 0, payload);
  }

  /** Forces a group commit now; resolves when everything appended so far is durable. */
  sync(): Promise<void> {
    if (this.pending.length === 0 && !this.syncing) return this.failed ? Promise.reject(this.failed) : Promise.resolve();
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
      for (const e of parseEntries(buf, seg.path).entries) {
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
    if (this.syncing || this.pending.length === 0 || this.fd < 0) return;
    this.syncing = true;
    const batch = this.pending;
    const waiters = this.waiters;
    const failures = this.failures;
    // Sealed: later entries go to fresh slabs while these are being written.
    const slabs = this.pendingSlabs;
    this.pending = []; this.waiters = []; this.failures = []; this.pendingSlabs = [];
    this.slab = null;
    this.pendingBytes = 0; this.pendingRecords = 0;
    const active = this.segments[this.segments.length - 1];
    const fd = this.fd;
    writeAllAsync(fd, batch, (err, total) => {
      for (const s of slabs) if (this.freeSlabs.length < SLAB_POOL) this.freeSlabs.push(s);
      if (err) { this.fail(err, failures); return; }
      active.bytes += total;
      active.lastAppendedNs = this.opts.now();
      fdatasync(fd, (err) => {
        this.syncing = false;
        if (err) { this.fail(err, failures); return; }
        for (const w of waiters) w();
        if (active.bytes >= this.opts.segmentBytes) this.roll();
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

  private fail(err: NodeJS.ErrnoException, failures: Array<(e: Error) => void>): void {
    this.syncing = false;
    const why = err.code === 'ENOSPC' ? 'no space left on device' : err.message;
    this.failed = new Error(`ingest log ${this.dir}: write failed (${why}); events after seq ${this._nextSeq} are not durable and were not acknowledged`);
    for (const f of [...failures, ...this.failures]) f(this.failed);
    this.failures = []; this.waiters = [];
  }

  private roll(): void {
    closeSync(this.fd);
    this.fd = -1;
    this.openActive(true);
  }

  private openActive(fresh = false): void {
    const last = this.segments[this.segments.length - 1];
    if (!fresh && last) {
      this.fd = openSync(last.path, 'a');
      return;
    }
    const path = join(this.dir, segmentName(this._nextSeq));
    this.fd = openSync(path, 'a');
    writeSync(this.fd, MAGIC);
    fsyncSync(this.fd);
    fsyncDir(this.dir);
    this.segments.push({ firstSeq: this._nextSeq, path, bytes: MAGIC.length, lastAppendedNs: this.opts.now() });
  }

  private recover(): { report: RecoveryReport; nextSeq: bigint } {
    const names = readdirSync(this.dir).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    const report: RecoveryReport = { segments: names.length, entries: 0, truncatedBytes: 0 };
    let nextSeq = 1n;
    for (let i = 0; i < names.length; i++) {
      const path = join(this.dir, names[i]);
      const buf = readFileSync(path);
      const parsed = parseEntries(buf, path);
      report.entries += parsed.entries.length;
      const isLast = i === names.length - 1;
      if (parsed.validBytes < buf.length) {
        if (!isLast && !this.opts.truncateCorrupt) {
          throw new Error(`ingest log ${path}: corrupt entry at byte ${parsed.validBytes} (${parsed.problem}) before the end of the log; ` +
            `set truncate_corrupt to cut the log there (losing ${names.length - 1 - i} later segment(s))`);
        }
        report.truncatedBytes += buf.length - parsed.validBytes;
        report.truncatedAt = `${path} at byte ${parsed.validBytes}: ${parsed.problem}`;
        truncateFile(path, Math.max(parsed.validBytes, MAGIC.length));
        for (const later of names.slice(i + 1)) { report.truncatedBytes += statSync(join(this.dir, later)).size; unlinkSync(join(this.dir, later)); }
        names.length = i + 1;
      }
      const firstSeq = BigInt(names[i].slice(0, 20));
      let last = parsed.entries[parsed.entries.length - 1];
      const lastRecords = [...parsed.entries].reverse().find((e) => e.kind === ENTRY_RECORDS);
      if (lastRecords) nextSeq = lastRecords.firstSeq + BigInt(lastRecords.count);
      else if (firstSeq > nextSeq) nextSeq = firstSeq;
      this.segments.push({ firstSeq, path, bytes: Math.max(parsed.validBytes, MAGIC.length), lastAppendedNs: last?.appendedNs ?? statMtimeNs(path) });
      if (i === names.length - 1) break;
    }
    return { report, nextSeq };
  }
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

export function fsyncDir(dir: string): void {
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

/** Parses a segment up to its first invalid entry; `validBytes` is where that is. */
export function parseEntries(buf: Buffer, path: string): { entries: LogEntry[]; validBytes: number; problem?: string } {
  const entries: LogEntry[] = [];
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { entries, validBytes: 0, problem: `not a ganglion log segment (bad magic) in ${path}` };
  }
  let off = MAGIC.length;
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
