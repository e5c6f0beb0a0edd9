// Reads a recorded input file as frames, in file order: JSON Lines in frames
// of whole lines, or FlatBuffers batches each prefixed by its u32 LE length.
// `ganglion run` (file sources) and `ganglion replay` read through the same
// readFrames(), so both cut the input the same way.
//
// Nothing is dropped on this path: the reader waits while the pipeline
// applies backpressure (pause/resume), waits for each frame's ack (a few in
// flight), and a frame the pipeline refuses, or a file it cannot read, ends
// the source with an error the pipeline turns into a failure (non-zero exit).
import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import type { FrameSink, Source } from './source.js';
import { receiveNowNs } from '../ingest/receive_clock.js';

const CHUNK = 1 << 20;
/** Lines per JSONL frame: a batch the partitions take whole while not paused. */
export const LINES_PER_FRAME = 1000;
/** Frames pushed but not yet acknowledged (durable) before the reader waits. */
const IN_FLIGHT = 8;

export function fileFormat(path: string, format?: string): 'jsonl' | 'flatbuffers' {
  if (format === 'jsonl' || format === 'flatbuffers') return format;
  if (format) throw new Error(`file source ${path}: unsupported format '${format}' (jsonl or flatbuffers)`);
  return ['.fb', '.bin'].includes(extname(path).toLowerCase()) ? 'flatbuffers' : 'jsonl';
}

/** The input file itself is malformed (as opposed to the pipeline failing). */
export class FileInputError extends Error {}

export interface ReadFramesOptions {
  /** After each read from the file: bytes read so far. */
  onRead?: (pos: number) => void;
  /** Checked before every frame: true stops reading. */
  stopped?: () => boolean;
}

/**
 * Calls `frame` for every frame of the file, in order, awaiting each call
 * (that is where the caller waits for backpressure). Yields to the event loop
 * once per chunk read so timers and sockets keep running.
 */
export async function readFrames(path: string, format: 'jsonl' | 'flatbuffers', frame: (data: Uint8Array, binary: boolean) => Promise<void>, o: ReadFramesOptions = {}): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    let carry = Buffer.alloc(0);
    let pos = 0;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      if (o.stopped?.()) return;
      const n = readSync(fd, buf, 0, CHUNK, null);
      const base = pos - carry.length;
      pos += n;
      o.onRead?.(pos);
      const data = n > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : carry;
      const last = n === 0;
      let at = 0;
      if (format === 'jsonl') {
        let start = 0, lines = 0;
        for (;;) {
          const nl = data.indexOf(10, at);
          if (nl < 0) break;
          at = nl + 1;
          if (++lines === LINES_PER_FRAME) {
            if (o.stopped?.()) return;
            await frame(data.subarray(start, at), false);
            start = at; lines = 0;
          }
        }
        if (last && at < data.length) at = data.length;
        if (at > start && data.subarray(start, at).some((b) => b > 32)) {
          if (o.stopped?.()) return;
          await frame(data.subarray(start, at), false);
        }
      } else {
        while (data.length - at >= 4) {
          const len = data.readUInt32LE(at);
          if (len === 0) throw new FileInputError(`${path}: empty FlatBuffers batch (length prefix 0) at byte ${base + at}`);
          if (data.length - at - 4 < len) break;
          if (o.stopped?.()) return;
          await frame(data.subarray(at + 4, at + 4 + len), true);
          at += 4 + len;
        }
        if (last && at < data.length) {
          throw new FileInputError(`${path}: truncated FlatBuffers batch at byte ${base + at}: the length prefix promises ${data.length - at >= 4 ? data.readUInt32LE(at) : '?'} bytes, the file has ${data.length - at - 4} left`);
        }
      }
      carry = Buffer.from(data.subarray(at));
      if (last) return;
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    closeSync(fd);
  }
}

export class FileSource implements Source {
  readonly name: string;
  private paused = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private done: Promise<void> = Promise.resolve();

  /** onError: the file could not be read whole or a frame was refused (the pipeline fails on it). */
  constructor(readonly path: string, readonly format: 'jsonl' | 'flatbuffers', name?: string, private readonly onEnd?: () => void, private readonly onError?: (e: Error) => void) {
    this.name = name ?? `file:${path}`;
  }

  async start(sink: FrameSink): Promise<void> {
    this.done = this.pump(sink).catch((e: Error) => {
      const err = e instanceof FileInputError ? new Error(`file source: ${e.message}`) : new Error(`file source ${this.path}: ${e.message}`);
      this.onError?.(err);
      throw err;
    });
    this.done.catch(() => undefined);
  }

  /** Resolves when the whole file has been handed to the sink and acknowledged. */
  get finished(): Promise<void> { return this.done; }

  private async pump(sink: FrameSink): Promise<void> {
    const inFlight: Array<Promise<void>> = [];
    await readFrames(this.path, this.format, async (data, binary) => {
      while (this.paused && !this.stopped) await new Promise<void>((r) => (this.wake = r));
      if (this.stopped) return;
      const acked = new Promise<void>((resolve, reject) => sink.onFrame({ data, binary, origin: this.name, receivedAtNs: receiveNowNs() }, (ok, info) => {
        // A frame whose records all went to the dead-letter queue is handled; anything else not ok was refused.
        if (ok || (info?.rejected ?? 0) > 0) resolve();
        else reject(new Error(`frame refused by the pipeline: ${info?.reason ?? 'no reason given'}`));
      }));
      acked.catch(() => undefined);
      inFlight.push(acked);
      if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
    }, { stopped: () => this.stopped });
    for (const a of inFlight) await a;
    if (!this.stopped) this.onEnd?.();
  }

  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; this.wake?.(); this.wake = null; }
  async close(): Promise<void> { this.stopped = true; this.resume(); }
}
