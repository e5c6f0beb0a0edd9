// What every source (WebSocket, MQTT, file replay) gives the pipeline: raw
// frames plus a way to acknowledge them, and a pause/resume signal for
// backpressure. Decoding is not the source's job (see host/codec/).

export interface Frame {
  /**
   * The frame's bytes exactly as received. Borrowed: valid only during
   * onFrame (sources may reuse the memory); a sink that keeps them copies.
   */
  data: Uint8Array;
  /** true: FlatBuffers; false: JSON text (UTF-8). */
  binary: boolean;
  /** Which source and connection/topic it came from, e.g. `ws:127.0.0.1:53122` or `mqtt:trades/eu`. */
  origin: string;
  /** Receive time on the host clock, ns since epoch (process.hrtime-anchored). */
  receivedAtNs: bigint;
  /** The producer's own sequence number for this frame, when it sent one (acks echo it). */
  producerSeq?: number;
  /**
   * The producer's id, when it gave one: with producerSeq it makes a resend
   * idempotent (host/ingest/producers.ts). Without it delivery is at-least-once.
   */
  producer?: string;
  /**
   * Set by a source when the frame's envelope is unusable (e.g. an MQTT
   * `seq` user property that is not a number): the pipeline dead-letters
   * the whole frame with this code and reason instead of decoding it.
   */
  invalid?: { code: 'bad_producer'; reason: string };
}

/**
 * ack(true) once the frame is accepted (in exactly-once / at-least-once modes:
 * once it is durable in the ingest log); ack(false, reason) when it was
 * rejected as a whole; ack(false, { retry: true }) when it was refused for a
 * reason of the pipeline's (not durable: a full disk, a failed pipeline), so
 * the producer must send it again; `duplicate`: the producer resent a frame
 * that is already in the log (acked again once that original is durable, not
 * ingested again). Sources map this onto their protocol (WS ack frame, MQTT
 * PUBACK timing).
 */
export type Ack = (accepted: boolean, info?: { count?: number; rejected?: number; reason?: string; retry?: boolean; duplicate?: boolean }) => void;

export type RefusalReason = 'frame_too_large' | 'invalid_utf8';

/** A frame a source refused before delivering it (too large, not UTF-8): recorded, never processed. */
export interface RefusedFrame {
  origin: string;
  receivedAtNs: bigint;
  binary: boolean;
  producerSeq?: number;
  /** The dead-letter reason code. */
  reason: RefusalReason;
  /** For people: size, limit and what happened to the connection. */
  detail: string;
  /** The frame's bytes when they are worth keeping (bad UTF-8); never an oversize body. */
  data?: Uint8Array;
}

export interface FrameSink {
  onFrame(frame: Frame, ack: Ack): void;
  /** Records a refused frame (dead letter, counter). Optional: library sinks may ignore refusals. */
  onRefused?(refused: RefusedFrame): void;
}

export interface Source {
  readonly name: string;
  start(sink: FrameSink): Promise<void>;
  /** Stop reading from the network (rings are full). Idempotent. */
  pause(): void;
  /** Room again: read on. Idempotent. */
  resume(): void;
  /** Stop accepting, flush what is buffered into the sink, release sockets. */
  close(): Promise<void>;
}
