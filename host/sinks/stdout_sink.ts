// Outputs as JSON Lines on stdout (or any writable stream), for piping into
// jq or another process. Lines are batched per flush; a stream that signals
// backpressure is waited on, never buffered past without bound.
import type { Writable } from 'node:stream';
import { serializeOutput, type OutputEvent } from '../output/format.js';
import { selector, type OutputSink, type Selection } from './output_sink.js';

export interface StdoutSinkOptions extends Selection {
  name?: string;
  stream?: Writable;
}

const FLUSH_AT = 256 * 1024;

export class StdoutSink implements OutputSink {
  readonly name: string;
  private readonly stream: Writable;
  private readonly wants: (out: OutputEvent) => boolean;
  private pending: string[] = [];
  private pendingBytes = 0;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(options: StdoutSinkOptions = {}) {
    this.name = options.name ?? 'stdout';
    this.stream = options.stream ?? process.stdout;
    this.wants = selector(options);
  }

  write(out: OutputEvent): void {
    if (this.closed) throw new Error(`${this.name}: write after close`);
    if (!this.wants(out)) return;
    const line = serializeOutput(out) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_AT && !this.draining) void this.flush();
  }

  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.pending.length === 0) return;
    const data = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.stream.write(data)) {
      this.draining = new Promise<void>((resolve) => {
        const done = () => { this.stream.off('drain', done); this.stream.off('close', done); this.stream.off('error', done); resolve(); };
        this.stream.on('drain', done);
        this.stream.on('close', done);
        this.stream.on('error', done);
      }).finally(() => { this.draining = undefined; });
      await this.draining;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }
}
