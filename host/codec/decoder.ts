// The one entry point the ingest path calls per frame: picks the codec
// (FlatBuffers for binary frames, JSON for text), fixes "now" for the frame's
// timestamp-window rules, and appends ring records to the caller's batch.
//
//   const decoder = new EventDecoder({ type: TRADE, keyFields: ['trader', 'asset_class'], dictionary, rules });
//   const batch = new RecordBatch(TRADE.stride);
//   const { accepted, rejects } = decoder.decode(frame.data, frame.binary, batch, frame.receivedAtNs);
//   for (const r of rejects) dlq.reject(frame, r);
import { FlatBuffersDecoder } from './flatbuffers_decode.js';
import { JsonDecoder } from './json_decode.js';
import { RecordBatch, RecordWriter, type DecoderConfig, type Reject } from './record_batch.js';
import { nowNs } from './timestamps.js';

export interface DecodeResult {
  /** Records appended to the batch by this frame. */
  accepted: number;
  rejects: Reject[];
}

export class EventDecoder {
  readonly writer: RecordWriter;
  readonly json: JsonDecoder;
  readonly flatbuffers: FlatBuffersDecoder;
  private readonly now: () => bigint;

  /** Throws (with a message meant for the user) when keyFields or rules do not fit the event type. */
  constructor(cfg: DecoderConfig) {
    this.writer = new RecordWriter(cfg);
    this.json = new JsonDecoder(this.writer, { tsUnit: cfg.tsUnit });
    this.flatbuffers = new FlatBuffersDecoder(this.writer);
    this.now = cfg.now ?? nowNs;
  }

  get stride(): number {
    return this.writer.type.stride;
  }

  /** Never throws on bad input: everything wrong with the frame comes back as rejects. */
  decode(data: Uint8Array, binary: boolean, batch: RecordBatch, receivedAtNs?: bigint): DecodeResult {
    if (batch.stride !== this.stride) throw new Error(`record batch stride ${batch.stride} does not match ${this.writer.type.name} records (${this.stride})`);
    const now = this.now();
    this.writer.begin(now, receivedAtNs ?? now);
    const before = batch.count;
    const rejects = binary ? this.flatbuffers.decode(data, batch) : this.json.decode(data, batch);
    return { accepted: batch.count - before, rejects };
  }
}

export { RecordBatch };
export type { DecoderConfig, Reject };
