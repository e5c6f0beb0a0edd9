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
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { serializeOutput, type OutputEvent } from '../output/format.js';
import { selector, type OutputSink, type Selection } from './output_sink.js';

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

export class JsonlSink implements OutputSink {
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
    if (this.pendingBytes >= FLUSH_AT) this.flushSync();
  }

  /** Flushes, then returns where the stream ends: the position a checkpoint commits. */
  position(): JsonlPosition {
    this.flushSync();
    return { segment: this.segment, bytes: this.written };
  }

  async flush(): Promise<void> {
    this.flushSync();
  }

  flushSync(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    const buf = Buffer.from(data);
    // Rotation happens between outputs only, so a line never spans two segments.
    const big = this.opts.rotateBytes !== undefined && this.written + buf.length > this.opts.rotateBytes;
    if (big || this.shouldRotate(buf.length)) {
      this.writeLines(buf);
    } else {
      writeSync(this.fd, buf);
      this.written += buf.length;
    }
    if (this.opts.fsync) fsyncSync(this.fd);
  }

  private writeLines(buf: Buffer): void {
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      const end = nl < 0 ? buf.length : nl + 1;
      if (this.written > 0 && this.shouldRotate(end - start)) this.rotate();
      writeSync(this.fd, buf, start, end - start);
      this.written += end - start;
      start = end;
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushSync();
    if (this.opts.fsync) fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
  }
}
