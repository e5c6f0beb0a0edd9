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
// sinks: every event of that batch has that latency, and the metrics record
// it once per event (weighted by the batch's count), so a large batch weighs
// as much as its events and an output-heavy epoch no more than its inputs. Within a
// partition's share of an epoch, outputs are grouped by operator (byOperator).
import { OUT_BYTES, OUT_KIND, OUT_MARKER, OUT_OP, OUT_SEQ } from '../records.js';

export interface EpochRelease {
  epoch: bigint;
  /** Receive time of the batch that opened this epoch (ns since epoch), or undefined after recovery. */
  receivedAtNs: bigint | undefined;
  /** Output records of this epoch, partition 0 first: 128-byte records back to back. */
  records: Uint8Array[];
  count: number;
  /** Input events of the batch that opened this epoch (0: a watermark without events). */
  events: number;
}

interface PartitionQueue {
  /** Completed epochs not yet released, oldest first, and the open one last. */
  chunks: Array<{ epoch: bigint; parts: Uint8Array[]; count: number }>;
  done: bigint;
}

export class EpochMerger {
  private readonly queues: PartitionQueue[];
  private next: bigint;
  private readonly received = new Map<bigint, { at: bigint; events: number }>();

  constructor(partitions: number, firstEpoch: bigint, private readonly release: (r: EpochRelease) => void) {
    this.next = firstEpoch;
    this.queues = Array.from({ length: partitions }, () => ({ chunks: [{ epoch: firstEpoch, parts: [], count: 0 }], done: firstEpoch - 1n }));
  }

  /** The epoch the next broadcast will close. */
  get nextEpoch(): bigint { return this.next; }

  opened(epoch: bigint, receivedAtNs: bigint, events = 0): void {
    this.received.set(epoch, { at: receivedAtNs, events });
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
      const epoch = this.next;
      for (const q of this.queues) if (q.done < epoch) return;
      // Every partition has closed `epoch`: one epoch at a time, partition 0
      // first, so the order never depends on how far ahead a partition ran.
      const records: Uint8Array[] = [];
      let count = 0;
      for (const q of this.queues) {
        const c = q.chunks[0];
        if (c.epoch !== epoch) throw new Error(`epoch merge: partition queue holds epoch ${c.epoch} where ${epoch} was expected`);
        q.chunks.shift();
        if (c.count > 0) records.push(byOperator(c.parts, c.count));
        count += c.count;
      }
      const opened = this.received.get(epoch);
      this.received.delete(epoch);
      this.next = epoch + 1n;
      this.release({ epoch, receivedAtNs: opened?.at, records, count, events: opened?.events ?? 0 });
    }
  }

  /** Outputs still waiting for slower partitions (for metrics and drain). */
  get pending(): number {
    let n = 0;
    for (const q of this.queues) for (const c of q.chunks) n += c.count;
    return n;
  }
}

/**
 * A partition hands its operators the records of an epoch in runs whose
 * boundaries depend on what the ring held at that instant; after each run
 * every operator's outputs are copied out, so operators interleave run by run.
 * Each operator's own outputs are in a deterministic order, so grouping them
 * by operator (stable) gives the same bytes whatever the run boundaries were.
 */
function byOperator(parts: Uint8Array[], count: number): Uint8Array {
  const out = new Uint8Array(count * OUT_BYTES);
  const views = parts.map((p) => new DataView(p.buffer, p.byteOffset, p.byteLength));
  let maxOp = 0;
  for (const v of views) for (let at = 0; at < v.byteLength; at += OUT_BYTES) maxOp = Math.max(maxOp, v.getUint32(at + OUT_OP, true));
  if (maxOp === 0) {
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  const starts = new Array<number>(maxOp + 2).fill(0);
  for (const v of views) for (let at = 0; at < v.byteLength; at += OUT_BYTES) starts[v.getUint32(at + OUT_OP, true) + 1]++;
  for (let op = 1; op < starts.length; op++) starts[op] += starts[op - 1];
  parts.forEach((p, i) => {
    const v = views[i];
    for (let at = 0; at < p.length; at += OUT_BYTES) {
      const op = v.getUint32(at + OUT_OP, true);
      out.set(p.subarray(at, at + OUT_BYTES), starts[op]++ * OUT_BYTES);
    }
  });
  return out;
}
