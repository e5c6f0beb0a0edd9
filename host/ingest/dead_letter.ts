// Dead-letter queue: every rejected event or frame, with why, where from and
// when, and its exact bytes — nothing a producer sent is ever silently lost.
//
// Each entry is the `dead_letter` output of docs/OUTPUTS.md (the one shape
// every sink and topic gets), appended as one line to `<data-dir>/dead-letters.jsonl`:
//   {"id":"dead_letter-7","kind":"dead_letter","origin":"mqtt:trades/eu","reason":"range",
//    "detail":"\"qty\" = -5 is outside [0, Infinity]","index":3,
//    "received_at":"2026-11-24T05:40:00.123456789Z","received_at_ns":"1795412400123456789",
//    "encoding":"utf8","data":"{\"qty\":-5,...}","seq":"1042"}
//   id:    dead_letter-<n>, n counting from 1 and continuing across restarts
//          (read back from the file's last line), so ids never repeat.
//   data:  the event's own bytes (JSON text, or a one-event FlatBuffers batch)
//          or the whole frame; `encoding` utf8 for text, base64 for binary.
//
// Counters per reason code feed the metrics (`ganglion_dead_letters_total{reason=...}`).
// The file is never truncated: on recovery the pipeline re-emits to its sinks
// the entries after the checkpoint's offset (`readFrom`).
//
// Durability (`fsync`): 'always' writes and fsyncs each entry before reject()
// returns (for exactly-once pipelines that ack after the DLQ write);
// 'interval' (default) writes entries coalesced once per event-loop turn and
// fsyncs at most every fsyncIntervalMs; 'never' leaves flushing to the OS.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Frame } from '../sources/source.js';
import type { Reject } from '../codec/record_batch.js';
import { formatDeadLetter, serializeOutput, type DeadLetterInput, type DeadLetterOutput } from '../output/format.js';

export type DeadLetter = DeadLetterOutput;

/** One entry as added: its line and the file offset right after it (what a checkpoint records). */
export interface AddedDeadLetter {
  entry: DeadLetter;
  line: string;
  end: number;
}

export interface DeadLetterOptions {
  /** JSONL file to append to (parent directories are created). Omit for no file. */
  path?: string;
  fsync?: 'always' | 'interval' | 'never';
  fsyncIntervalMs?: number;
  /** Called for every entry after it is queued for the file; errors are counted, never thrown. */
  publish?: (entry: DeadLetter, line: string) => void | Promise<void>;
}

const NO_FILE = { offset: 0, lastN: 0, tornBytes: 0 };

const MAX_BUFFERED = 1 << 20;

export class DeadLetterQueue {
  private readonly fd: number | null;
  private readonly fsyncMode: 'always' | 'interval' | 'never';
  private readonly publish?: DeadLetterOptions['publish'];
  private readonly perReason = new Map<string, number>();
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  total = 0;
  publishErrors = 0;
  /** Bytes cut from a torn last line (a crash in the middle of a write) when the file was opened. */
  readonly tornBytes: number;
  /** File offset after the last entry added (entries are buffered, the offset counts them). */
  private offset: number;
  private lastN: number;

  constructor(opts: DeadLetterOptions = {}) {
    this.fsyncMode = opts.fsync ?? 'interval';
    this.publish = opts.publish;
    if (opts.path) {
      try {
        makeDirs(dirname(opts.path));
        this.fd = openSync(opts.path, 'a+');
        ({ offset: this.offset, lastN: this.lastN, tornBytes: this.tornBytes } = tailState(this.fd));
      } catch (e) {
        throw new Error(`dead-letter file ${opts.path}: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim());
      }
      if (this.fsyncMode === 'interval') {
        this.timer = setInterval(() => this.sync(), opts.fsyncIntervalMs ?? 1000);
        this.timer.unref();
      }
    } else {
      this.fd = null;
      ({ offset: this.offset, lastN: this.lastN, tornBytes: this.tornBytes } = NO_FILE);
    }
  }

  /** Records one reject of `frame` (an event of it, or the whole frame when index is -1); `seq`: the next input seq. */
  reject(frame: Pick<Frame, 'origin' | 'receivedAtNs' | 'binary'>, r: Reject, seq = 0n): AddedDeadLetter {
    return this.add({ origin: frame.origin, receivedAtNs: frame.receivedAtNs, binary: frame.binary, reason: r.code, detail: r.reason, index: r.index, data: r.raw, seq });
  }

  add(e: Omit<DeadLetterInput, 'n'>): AddedDeadLetter {
    if (this.closed) throw new Error('dead-letter queue is closed');
    const entry = formatDeadLetter({ ...e, n: ++this.lastN });
    this.total++;
    this.perReason.set(e.reason, (this.perReason.get(e.reason) ?? 0) + 1);
    const line = serializeOutput(entry) + '\n';
    this.offset += Buffer.byteLength(line);
    if (this.fd !== null) {
      this.pending.push(line);
      this.pendingBytes += line.length;
      if (this.fsyncMode === 'always') { this.flush(); this.sync(); }
      else if (this.pendingBytes >= MAX_BUFFERED) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => { this.scheduled = false; this.flush(); });
      }
    }
    if (this.publish) {
      try {
        const p = this.publish(entry, line);
        if (p && typeof (p as Promise<void>).catch === 'function') (p as Promise<void>).catch(() => { this.publishErrors++; });
      } catch {
        this.publishErrors++;
      }
    }
    return { entry, line, end: this.offset };
  }

  /** Rejects so far per reason code (for metrics). */
  counts(): Record<string, number> {
    return Object.fromEntries(this.perReason);
  }

  /** Writes buffered entries to the file now (no fsync). */
  flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    const data = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    this.dirty = true;
  }

  /** Flushes and fsyncs if anything was written since the last sync. */
  sync(): void {
    this.flush();
    if (this.fd === null || !this.dirty || this.fsyncMode === 'never') return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    if (this.fd !== null) {
      this.flush();
      if (this.fsyncMode !== 'never' && this.dirty) fsyncSync(this.fd);
      closeSync(this.fd);
    }
    this.closed = true;
  }
}

/**
 * mkdir -p, one level at a time: Node 20's mkdirSync({recursive: true}) can
 * spin forever on some pseudo-filesystems (e.g. a path under /proc), and a
 * config typo must fail, not hang the service.
 */
function makeDirs(dir: string): void {
  const parts = resolve(dir).split('/').filter(Boolean);
  let path = '';
  for (const p of parts) {
    path += '/' + p;
    try {
      mkdirSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Entries of a dead-letter file from byte `offset` on (a checkpoint's offset:
 * what the sinks had not committed). Lines that are not dead-letter entries
 * (an older format) are skipped.
 */
export function* readDeadLetters(path: string, offset: number): Generator<AddedDeadLetter> {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return; }
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = '';
    let pos = offset;
    let end = offset;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      pos += n;
      const text = carry + chunk.toString('utf8', 0, n);
      const lines = text.split('\n');
      carry = lines.pop()!;
      for (const l of lines) {
        end += Buffer.byteLength(l) + 1;
        let entry: DeadLetter;
        try { entry = JSON.parse(l) as DeadLetter; } catch { continue; }
        if (entry?.kind === 'dead_letter') yield { entry, line: l + '\n', end };
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** The file's size, its last entry's number, and a torn last line cut off (a line is complete only with its newline). */
function tailState(fd: number): { offset: number; lastN: number; tornBytes: number } {
  let size = fstatSync(fd).size;
  const lastNewline = (before: number): number => {
    const buf = Buffer.alloc(64 * 1024);
    let end = before;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const n = readSync(fd, buf, 0, end - start, start);
      const i = buf.subarray(0, n).lastIndexOf(10);
      if (i >= 0) return start + i;
      end = start;
    }
    return -1;
  };
  let tornBytes = 0;
  if (size > 0) {
    const complete = lastNewline(size) + 1;
    if (complete < size) {
      tornBytes = size - complete;
      ftruncateSync(fd, complete);
      size = complete;
    }
  }
  let lastN = 0;
  if (size > 0) {
    const start = lastNewline(size - 1) + 1;
    const head = Buffer.alloc(Math.min(64, size - start));
    readSync(fd, head, 0, head.length, start);
    const m = /^\{"id":"dead_letter-(\d+)"/.exec(head.toString('utf8'));
    if (m) lastN = Number(m[1]);
  }
  return { offset: size, lastN, tornBytes };
}
