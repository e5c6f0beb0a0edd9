// Watermark catch-up (PartitionSetOptions.catchUp) for a pipeline with several
// input streams. Each stream has its own event time: a quote's time says
// nothing about how far the trades have got, so the global maximum and what
// each partition knows are kept per stream, and a catch-up watermark carries
// the stream it is for (flags bits 8-15, host/records.ts). A partition's
// windows on stream s then meet exactly the watermark of stream s up to each
// record, whatever the partition count, as with one stream.
import { IN_FLAGS, IN_KEY, IN_TS, streamOfFlags } from '../records.js';

export class StreamCatchUp {
  /** Per stream, the max event time seen, as (hi, lo) words. */
  private readonly globalHi: Int32Array;
  private readonly globalLo: Uint32Array;
  /** Per (stream, partition): the max event time that partition knows of the stream (records, or watermark + ooo). */
  private readonly knownHi: Int32Array;
  private readonly knownLo: Uint32Array;

  readonly streams: number;

  /** `outOfOrderNs`: per stream, its out-of-orderness (the catch-up watermark is the stream's max − it). */
  constructor(readonly partitions: number, private readonly outOfOrderNs: readonly bigint[]) {
    const streams = this.streams = outOfOrderNs.length;
    this.globalHi = new Int32Array(streams).fill(-0x80000000);
    this.globalLo = new Uint32Array(streams);
    this.knownHi = new Int32Array(streams * partitions).fill(-0x80000000);
    this.knownLo = new Uint32Array(streams * partitions);
  }

  /**
   * Routes `count` records (runs per partition through `run`), sending a
   * partition a catch-up watermark for a record's stream (through `control`)
   * before a record that is behind that stream's maximum reaches it while the
   * partition itself is behind.
   */
  push(
    view: DataView, count: number, offset: number, stride: number,
    partitionOf: (key: number) => number,
    run: (partition: number, at: number, n: number) => void,
    control: (partition: number, watermark: bigint, stream: number) => void,
  ): void {
    const kh = this.knownHi, kl = this.knownLo, n = this.partitions;
    let runStart = 0, runPart = -1;
    for (let i = 0; i < count; i++) {
      const at = offset + i * stride;
      const p = partitionOf(view.getUint32(at + IN_KEY, true));
      const s = streamOfFlags(view.getUint32(at + IN_FLAGS, true));
      const k = s * n + p;
      const hi = view.getInt32(at + IN_TS + 4, true), lo = view.getUint32(at + IN_TS, true);
      const gh = this.globalHi[s], gl = this.globalLo[s];
      const behindGlobal = hi < gh || (hi === gh && lo < gl);
      if (behindGlobal && (kh[k] < gh || (kh[k] === gh && kl[k] < gl))) {
        if (runPart >= 0 && i > runStart) run(runPart, offset + runStart * stride, i - runStart);
        runStart = i;
        runPart = p;
        control(p, ((BigInt(gh) << 32n) | BigInt(gl)) - this.outOfOrderNs[s], s);
        kh[k] = gh; kl[k] = gl;
      } else if (p !== runPart) {
        if (runPart >= 0 && i > runStart) run(runPart, offset + runStart * stride, i - runStart);
        runStart = i;
        runPart = p;
      }
      if (hi > kh[k] || (hi === kh[k] && lo > kl[k])) { kh[k] = hi; kl[k] = lo; }
      if (!behindGlobal) { this.globalHi[s] = hi; this.globalLo[s] = lo; }
    }
    if (runPart >= 0 && count > runStart) run(runPart, offset + runStart * stride, count - runStart);
  }

  /** A watermark `ns` of `stream` went to every partition: each now knows the stream up to ns + out-of-orderness. */
  known(stream: number, ns: bigint): void {
    let k = ns + this.outOfOrderNs[stream];
    if (k > 0x7fffffffffffffffn) k = 0x7fffffffffffffffn;
    const hi = Number(BigInt.asIntN(32, k >> 32n)), lo = Number(BigInt.asUintN(32, k));
    for (let p = 0; p < this.partitions; p++) {
      const i = stream * this.partitions + p;
      if (hi > this.knownHi[i] || (hi === this.knownHi[i] && lo > this.knownLo[i])) { this.knownHi[i] = hi; this.knownLo[i] = lo; }
    }
  }
}
