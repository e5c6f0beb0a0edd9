// Dead-letter queue: every rejected event or frame, with why, where from and
// when, and its exact bytes — nothing a producer sent is ever silently lost.
//
// Sinks: a JSONL file (one entry per line, appended) and an optional publish
// callback (the runtime wires it to an MQTT topic). Counters per reason code
// feed the metrics (`ganglion_dead_letters_total{reason=...}`).
//
// A line:
//   {"time":"2026-11-24T05:40:00.123456789Z","receivedAtNs":"1795412400123456789",
//    "origin":"mqtt:trades/eu","reason":"range","detail":"\"qty\" = -5 is outside [0, Infinity]",
//    "index":3,"binary":false,"raw":"eyJ0cyI6..."}
//   index: the event's position in its frame, -1 for a whole-frame reject.
//   raw:   base64 of the event's own bytes (JSON text, or a one-event
//          FlatBuffers batch) or of the whole frame; replayable as a frame.
//
// Durability (`fsync`): 'always' writes and fsyncs each entry before reject()
// returns (for exactly-once pipelines that ack after the DLQ write);
// 'interval' (default) writes entries coalesced once per event-loop turn and
// fsyncs at most every fsyncIntervalMs; 'never' leaves flushing to the OS.
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Frame } from './source.js';
import type { Reject } from '../codec/record_batch.js';
import { formatNs } from '../codec/timestamps.js';

export interface DeadLetter {
  time: string;
  receivedAtNs: string;
  origin: string;
  reason: string;
  detail: string;
  index: number;
  binary: boolean;
  raw: string;
}

export interface DeadLetterOptions {
  /** JSONL file to append to (parent directories are created). Omit for no file. */
  path?: string;
  fsync?: 'always' | 'interval' | 'never';
  fsyncIntervalMs?: number;
  /** Called for every entry after it is queued for the file; errors are counted, never thrown. */
  publish?: (entry: DeadLetter, line: string) => void | Promise<void>;
}

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

  constructor(opts: DeadLetterOptions = {}) {
    this.fsyncMode = opts.fsync ?? 'interval';
    this.publish = opts.publish;
    if (opts.path) {
      try {
        makeDirs(dirname(opts.path));
        this.fd = openSync(opts.path, 'a');
      } catch (e) {
        throw new Error(`dead-letter file ${opts.path}: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim());
      }
      if (this.fsyncMode === 'interval') {
        this.timer = setInterval(() => this.sync(), opts.fsyncIntervalMs ?? 1000);
        this.timer.unref();
      }
    } else {
      this.fd = null;
    }
  }

  /** Records one reject of `frame` (an event of it, or the whole frame when index is -1). */
  reject(frame: Pick<Frame, 'origin' | 'receivedAtNs' | 'binary'>, r: Reject): DeadLetter {
    return this.add({ origin: frame.origin, receivedAtNs: frame.receivedAtNs, binary: frame.binary, reason: r.code, detail: r.reason, index: r.index, raw: r.raw });
  }

  add(e: { origin: string; receivedAtNs: bigint; binary: boolean; reason: string; detail: string; index: number; raw: Uint8Array }): DeadLetter {
    if (this.closed) throw new Error('dead-letter queue is closed');
    const entry: DeadLetter = {
      time: formatNs(e.receivedAtNs),
      receivedAtNs: e.receivedAtNs.toString(),
      origin: e.origin,
      reason: e.reason,
      detail: e.detail,
      index: e.index,
      binary: e.binary,
      raw: Buffer.from(e.raw.buffer, e.raw.byteOffset, e.raw.byteLength).toString('base64'),
    };
    this.total++;
    this.perReason.set(e.reason, (this.perReason.get(e.reason) ?? 0) + 1);
    const line = JSON.stringify(entry) + '\n';
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
    return entry;
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
