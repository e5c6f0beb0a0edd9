// Puts the outputs of N partitions back into one deterministic order, and
// measures latency from socket receive to sink emit.
//
// After every ingest batch the host broadcasts a watermark carrying the
// batch's epoch number; each partition, once it has processed the batch and
// the watermark, writes an epoch marker into its output ring. So a
// partition's outputs between marker e−1 and marker e are exactly the outputs
// that batch e caused there. When every partition has passed marker e, epoch
// e is complete: its outputs are released partition 0 first, then 1, ..., in
// each partition's own order. That order depends only on the input log, never
// on thread timing, so a replay writes byte-identical files; and "epoch e
// released" is the moment the batch received at receivedAt(e) reached the
// sinks, which is the end-to-end latency the metrics report.
import { OUT_BYTES, OUT_KIND, OUT_MARKER, OUT_SEQ } from '../records.js';

export interface EpochRelease {
  epoch: bigint;
  /** Receive time of the batch that opened this epoch (ns since epoch), or undefined after recovery. */
  receivedAtNs: bigint | undefined;
  /** Output records of this epoch, partition 0 first: 128-byte records back to back. */
  records: Uint8Array[];
  count: number;
}

interface PartitionQueue {
  /** Completed epochs not yet released, oldest first, and the open one last. */
  chunks: Array<{ epoch: bigint; parts: Uint8Array[]; count: number }>;
  done: bigint;
}

export class EpochMerger {
  private readonly queues: PartitionQueue[];
  private next: bigint;
  private readonly received = new Map<bigint, bigint>();

  constructor(partitions: number, firstEpoch: bigint, private readonly release: (r: EpochRelease) => void) {
    this.next = firstEpoch;
    this.queues = Array.from({ length: partitions }, () => ({ chunks: [{ epoch: firstEpoch, parts: [], count: 0 }], done: firstEpoch - 1n }));
  }

  /** The epoch the next broadcast will close. */
  get nextEpoch(): bigint { return this.next; }

  opened(epoch: bigint, receivedAtNs: bigint): void {
    this.received.set(epoch, receivedAtNs);
  }

  /** A drained batch of one partition's output records, in its order. */
  push(partition: number, bytes: Uint8Array, count: number): void {
    const q = this.queues[partition];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let runStart = 0;
    for (let i = 0; i < count; i++) {
      const at = i * OUT_BYTES;
      if (view.getUint32(at + OUT_KIND, true) !== OUT_MARKER) continue;
      const open = q.chunks[q.chunks.length - 1];
      if (i > runStart) { open.parts.push(bytes.subarray(runStart * OUT_BYTES, at)); open.count += i - runStart; }
      const epoch = view.getBigUint64(at + OUT_SEQ, true);
      open.epoch = epoch;
      q.done = epoch;
      q.chunks.push({ epoch: epoch + 1n, parts: [], count: 0 });
      runStart = i + 1;
    }
    if (count > runStart) {
      const open = q.chunks[q.chunks.length - 1];
      open.parts.push(bytes.subarray(runStart * OUT_BYTES, count * OUT_BYTES));
      open.count += count - runStart;
    }
    this.releaseComplete();
  }

  private releaseComplete(): void {
    for (;;) {
      let min = this.queues[0].done;
      for (const q of this.queues) if (q.done < min) min = q.done;
      if (min < this.next) return;
      // Every partition has closed epoch `next` (or skipped it: an epoch
      // without a broadcast never happens, but stay safe if numbering jumps).
      const records: Uint8Array[] = [];
      let count = 0;
      let epoch = this.next;
      for (const q of this.queues) {
        while (q.chunks.length > 1 && q.chunks[0].epoch <= min) {
          const c = q.chunks.shift()!;
          if (c.epoch > epoch) epoch = c.epoch;
          records.push(...c.parts);
          count += c.count;
        }
      }
      const receivedAtNs = this.received.get(min);
      for (const e of this.received.keys()) if (e <= min) this.received.delete(e);
      this.next = min + 1n;
      this.release({ epoch: min, receivedAtNs, records, count });
    }
  }

  /** Outputs still waiting for slower partitions (for metrics and drain). */
  get pending(): number {
    let n = 0;
    for (const q of this.queues) for (const c of q.chunks) n += c.count;
    return n;
  }
}

export { OUT_BYTES };
