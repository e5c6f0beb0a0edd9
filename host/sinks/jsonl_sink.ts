// Outputs as JSON Lines on local disk, with rotation by size and/or age and a
// committed-position contract for exactly-once delivery:
//
//   out.jsonl            the active segment (what `tail -f` follows)
//   out-000000.jsonl     rotated segments, numbered in order
//   out-000001.jsonl
//
//   position() = { segment, bytes }: segment = number of the active segment
//   (= how many were rotated before it), bytes = its length, after flushing
//   every output written so far. The checkpoint stores it after a flush; on
//   recovery truncate(position) deletes what was written after it (later
//   segments included, bringing the committed segment back as the active
//   file), and the replay writes the same bytes again.
//
// Writes are buffered and go out with synchronous writes on flush (or when
// the buffer passes 1 MiB): one ordered stream, no interleaving, and flush()
// means the bytes are in the file (with `fsync: true`, on the disk).
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { serializeOutput, type OutputEvent } from '../output/format.js';
import { selector, type PositionedSink, type Selection } from './output_sink.js';

export interface JsonlPosition {
  segment: number;
  bytes: number;
}

export interface JsonlSinkOptions extends Selection {
  name?: string;
  path: string;
  /** Rotate when the active segment reaches this many bytes. */
  rotateBytes?: number;
  /** Rotate when the active segment is this old (ms, by the clock below). */
  rotateAgeMs?: number;
  fsync?: boolean;
  /** Clock for age rotation (tests pass their own). */
  now?: () => number;
}

const FLUSH_AT = 1 << 20;
/** Outputs held in memory while the file cannot be written (on_failure: continue) before the run stops. */
const MAX_BACKLOG = 256 << 20;

export class JsonlSink implements PositionedSink<JsonlPosition> {
  readonly name: string;
  private readonly path: string;
  private readonly stem: string;
  private readonly ext: string;
  private readonly dir: string;
  private readonly opts: JsonlSinkOptions;
  private readonly wants: (out: OutputEvent) => boolean;
  private readonly now: () => number;
  private fd: number;
  private segment: number;
  /** Bytes of the active segment on disk. */
  private written: number;
  private openedAt: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Bytes a failed write left over (retried first on the next flush). */
  private unwritten: Buffer | null = null;
  /** The file ends inside a line (a write failed mid-line): no rotation before the line is finished. */
  private partialLine = false;
  private closed = false;

  constructor(options: JsonlSinkOptions) {
    this.opts = options;
    this.name = options.name ?? `jsonl:${options.path}`;
    this.path = options.path;
    this.dir = dirname(options.path);
    this.ext = extname(options.path) || '.jsonl';
    this.stem = basename(options.path, extname(options.path));
    this.wants = selector(options);
    this.now = options.now ?? Date.now;
    mkdirSync(this.dir, { recursive: true });
    // Carry on after a restart: the active segment's number follows the rotated ones.
    const rotated = this.rotatedSegments();
    this.segment = rotated.length > 0 ? rotated[rotated.length - 1] + 1 : 0;
    this.fd = openSync(this.path, 'a');
    this.written = fstatSync(this.fd).size;
    this.openedAt = this.now();
  }

  write(out: OutputEvent): void {
    if (this.closed) throw new Error(`${this.name}: write after close`);
    if (!this.wants(out)) return;
    const line = serializeOutput(out) + '\n';
    this.pending.push(line);
    this.pendingBytes += Buffer.byteLength(line);
    // After a failed write the retries wait for flush()/position() (each checkpoint), not every output.
    if (this.unwritten === null) {
      if (this.pendingBytes >= FLUSH_AT) this.flushSync();
    } else if (this.pendingBytes + this.unwritten.length > MAX_BACKLOG) {
      throw Object.assign(new Error(`sink ${this.name}: ${this.pendingBytes + this.unwritten.length} bytes of output wait for ${this.path}, which still cannot be written; stopping rather than grow without bound`), { fatal: true });
    }
  }

  /** Flushes, then returns where the stream ends: the position a checkpoint commits. */
  position(): JsonlPosition {
    this.flushSync();
    return { segment: this.segment, bytes: this.written };
  }

  async flush(): Promise<void> {
    this.flushSync();
  }

  /**
   * Writes every buffered output. A short write is finished piece by piece;
   * a failed one (a full disk) throws, naming the file and the error, and
   * keeps the bytes not written for the next flush: `written` (and so
   * position()) only ever counts bytes that are in the file.
   */
  flushSync(): void {
    if (this.pending.length === 0 && this.unwritten === null) return;
    let buf = Buffer.from(this.pending.join(''));
    if (this.unwritten) { buf = Buffer.concat([this.unwritten, buf]); this.unwritten = null; }
    this.pending = [];
    this.pendingBytes = 0;
    // Rotation happens between outputs only, so a line never spans two segments.
    const big = this.opts.rotateBytes !== undefined && this.written + buf.length > this.opts.rotateBytes;
    if (big || this.shouldRotate(buf.length)) {
      this.writeLines(buf);
    } else {
      this.writeOut(buf, 0, buf.length);
    }
    if (this.opts.fsync) fsyncSync(this.fd);
  }

  private writeLines(buf: Buffer): void {
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      const end = nl < 0 ? buf.length : nl + 1;
      if (this.written > 0 && !this.partialLine && this.shouldRotate(end - start)) this.rotate();
      this.writeOut(buf, start, end);
      start = end;
    }
  }

  /** buf[start, end) into the file; on an error what is left of buf (from the failure on) is kept for the next flush. */
  private writeOut(buf: Buffer, start: number, end: number): void {
    let at = start;
    try {
      while (at < end) {
        const n = writeSync(this.fd, buf, at, end - at);
        if (n <= 0) throw Object.assign(new Error('write wrote 0 bytes'), { code: 'EIO' });
        at += n;
        this.written += n;
      }
    } catch (e) {
      this.unwritten = Buffer.from(buf.subarray(at));
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOSPC' ? 'no space left on device' : err.message;
      throw new Error(`sink ${this.name}: writing ${this.path} failed (${why}); ${this.unwritten.length} bytes of output not written, the file holds the outputs up to ${this.segment}:${this.written}`);
    } finally {
      if (at > start) this.partialLine = buf[at - 1] !== 10;
    }
  }

  private shouldRotate(adding: number): boolean {
    const { rotateBytes, rotateAgeMs } = this.opts;
    if (this.written === 0) return false;
    if (rotateBytes !== undefined && this.written + adding > rotateBytes) return true;
    return rotateAgeMs !== undefined && this.now() - this.openedAt >= rotateAgeMs;
  }

  private segmentPath(n: number): string {
    return join(this.dir, `${this.stem}-${String(n).padStart(6, '0')}${this.ext}`);
  }

  private rotatedSegments(): number[] {
    const re = new RegExp(`^${this.stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{6})${this.ext.replace('.', '\\.')}$`);
    return readdirSync(this.dir).map((f) => re.exec(f)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
  }

  private rotate(): void {
    if (this.opts.fsync) fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.path, this.segmentPath(this.segment));
    this.segment++;
    this.fd = openSync(this.path, 'a');
    this.written = 0;
    this.openedAt = this.now();
  }

  /**
   * Drops every output after `pos` (recovery). Outputs still buffered are
   * discarded too: they were produced after the checkpoint and will be
   * produced again by the replay.
   */
  truncate(pos: JsonlPosition): void {
    if (pos.segment > this.segment || (pos.segment === this.segment && pos.bytes > this.written)) {
      throw new Error(`${this.name}: cannot truncate to ${pos.segment}:${pos.bytes}, the file ends at ${this.segment}:${this.written}`);
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.unwritten = null;
    this.partialLine = false;
    if (pos.segment < this.segment) {
      closeSync(this.fd);
      unlinkSync(this.path);
      for (const n of this.rotatedSegments()) if (n > pos.segment) unlinkSync(this.segmentPath(n));
      if (!existsSync(this.segmentPath(pos.segment))) throw new Error(`${this.name}: segment ${this.segmentPath(pos.segment)} is missing, cannot truncate to it`);
      renameSync(this.segmentPath(pos.segment), this.path);
      this.segment = pos.segment;
      this.fd = openSync(this.path, 'a');
    }
    ftruncateSync(this.fd, pos.bytes);
    fsyncSync(this.fd);
    this.written = pos.bytes;
    this.openedAt = this.now();
  }

  /** Drops every output: back to the first segment, empty. */
  truncateAll(): void {
    this.truncate({ segment: 0, bytes: 0 });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flushSync();
      if (this.opts.fsync) fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

/** The files a JSONL sink at `path` has written (rotated segments first, then the active one) and their total size. */
export function jsonlFiles(path: string): { files: string[]; bytes: number } {
  const dir = dirname(path), ext = extname(path) || '.jsonl', stem = basename(path, extname(path));
  const re = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{6})${ext.replace('.', '\\.')}$`);
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { return { files: [], bytes: 0 }; }
  const files = names.filter((f) => re.test(f)).sort().map((f) => join(dir, f));
  if (existsSync(path)) files.push(path);
  return { files, bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
}
