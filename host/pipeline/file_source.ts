// Reads a recorded input file as frames, in file order: JSON Lines in frames
// of whole lines, or FlatBuffers batches each prefixed by its u32 LE length.
// Reading stops while the pipeline applies backpressure.
import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import type { FrameSink, Source } from '../ingest/source.js';
import { receiveNowNs } from '../ingest/receive_clock.js';

const CHUNK = 1 << 20;
const LINES_PER_FRAME = 1000;

export function fileFormat(path: string, format?: string): 'jsonl' | 'flatbuffers' {
  if (format === 'jsonl' || format === 'flatbuffers') return format;
  if (format) throw new Error(`file source ${path}: unsupported format '${format}' (jsonl or flatbuffers)`);
  return ['.fb', '.bin'].includes(extname(path)) ? 'flatbuffers' : 'jsonl';
}

export class FileSource implements Source {
  readonly name: string;
  private paused = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(readonly path: string, readonly format: 'jsonl' | 'flatbuffers', name?: string, private readonly onEnd?: () => void) {
    this.name = name ?? `file:${path}`;
  }

  async start(sink: FrameSink): Promise<void> {
    this.done = this.pump(sink).catch((e: Error) => { throw new Error(`file source ${this.path}: ${e.message}`); });
    this.done.catch(() => undefined);
  }

  /** Resolves when the whole file has been handed to the sink. */
  get finished(): Promise<void> { return this.done; }

  private async pump(sink: FrameSink): Promise<void> {
    const fd = openSync(this.path, 'r');
    try {
      let carry = Buffer.alloc(0);
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        if (this.stopped) return;
        while (this.paused && !this.stopped) await new Promise<void>((r) => (this.wake = r));
        const n = readSync(fd, buf, 0, CHUNK, null);
        const data = n > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : carry;
        const used = this.format === 'jsonl' ? this.jsonl(data, sink, n === 0) : this.flatbuffers(data, sink, n === 0);
        carry = Buffer.from(data.subarray(used));
        if (n === 0) break;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      closeSync(fd);
    }
    this.onEnd?.();
  }

  private emit(sink: FrameSink, data: Uint8Array, binary: boolean): void {
    sink.onFrame({ data, binary, origin: this.name, receivedAtNs: receiveNowNs() }, () => undefined);
  }

  private jsonl(data: Buffer, sink: FrameSink, last: boolean): number {
    let start = 0, lines = 0, at = 0;
    for (;;) {
      const nl = data.indexOf(10, at);
      if (nl < 0) break;
      at = nl + 1;
      if (++lines === LINES_PER_FRAME) { this.emit(sink, data.subarray(start, at), false); start = at; lines = 0; }
    }
    if (last && at < data.length) at = data.length;
    if (at > start && data.subarray(start, at).some((b) => b > 32)) this.emit(sink, data.subarray(start, at), false);
    return at;
  }

  private flatbuffers(data: Buffer, sink: FrameSink, last: boolean): number {
    let at = 0;
    while (data.length - at >= 4) {
      const len = data.readUInt32LE(at);
      if (data.length - at - 4 < len) break;
      this.emit(sink, data.subarray(at + 4, at + 4 + len), true);
      at += 4 + len;
    }
    if (last && at < data.length) throw new Error(`truncated FlatBuffers batch at byte ${at} (a u32 length prefix promises more bytes than the file has)`);
    return at;
  }

  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; this.wake?.(); this.wake = null; }
  async close(): Promise<void> { this.stopped = true; this.resume(); }
}
