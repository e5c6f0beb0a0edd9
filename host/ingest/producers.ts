// The producer table: per producer id, the highest producer sequence number
// whose frame is in the ingest log. It is what turns a producer's resend into
// exactly-once: a frame with seq ≤ its producer's high-water mark was already
// ingested (or dead-lettered), so it is acknowledged again and not ingested.
//
// Where the truth lives: every logged frame of a producer carries its
// (id, seq) inside its own log entry (FLAG_PRODUCER, host/log/ingest_log.ts),
// every checkpoint holds a snapshot of this table taken at the same instant
// as its log position, and recovery = snapshot + the marks of the replayed
// entries. The in-memory mark moves when a frame is appended, before it is
// durable: a resend arriving in between is a duplicate of a frame that is on
// its way to disk, so its ack waits for that commit (IngestLog.settled).
//
// An id not heard from for `delivery.producer_expiry` (default 7 days, like
// Kafka's transactional ids) is forgotten at the next checkpoint, so ids that
// come and go do not grow the table and every checkpoint without bound; a
// resend older than that would be ingested again.
//
// Sequences must increase per producer; gaps are allowed (a producer may
// number frames it never sends). A producer that starts again from 1 under
// the same id would have every frame dropped as a duplicate: it must keep its
// sequence across its own restarts or take a new id.

/** Ids a producer may use: printable ASCII without spaces, 1..128 characters. */
export const PRODUCER_ID = /^[\x21-\x7e]{1,128}$/;
/** Producer sequence numbers: integers 0..2^53-1 (exact as JS numbers). */
export const MAX_PRODUCER_SEQ = Number.MAX_SAFE_INTEGER;

/** Why a producer id is not acceptable, or undefined when it is. */
export function producerIdProblem(id: string): string | undefined {
  if (PRODUCER_ID.test(id)) return undefined;
  const shown = JSON.stringify(id.length > 40 ? id.slice(0, 40) + '…' : id);
  return `producer id must be 1 to 128 printable ASCII characters without spaces, got ${shown} (${id.length} characters)`;
}

/** Why a producer seq (as text) is not acceptable, or undefined when it is. */
export function producerSeqProblem(seq: string): string | undefined {
  if (/^\d{1,16}$/.test(seq) && Number(seq) <= MAX_PRODUCER_SEQ) return undefined;
  return `seq must be an integer 0..${MAX_PRODUCER_SEQ}, got ${JSON.stringify(seq.slice(0, 40))}`;
}

export class ProducerTable {
  private readonly high = new Map<string, number>();
  /** When each id last logged a frame (ms since epoch), for expiry. */
  private readonly seen = new Map<string, number>();

  get size(): number { return this.high.size; }

  /** True when `seq` is at or below what `id` already logged. */
  isDuplicate(id: string, seq: number): boolean {
    const h = this.high.get(id);
    return h !== undefined && seq <= h;
  }

  /** The producer's frame `seq` is logged (or replayed from the log) at `atMs`. */
  record(id: string, seq: number, atMs: number): void {
    const h = this.high.get(id);
    if (h === undefined || seq > h) this.high.set(id, seq);
    if ((this.seen.get(id) ?? 0) < atMs) this.seen.set(id, atMs);
  }

  /** Forgets ids not heard from since `beforeMs`; returns how many. */
  expire(beforeMs: number): number {
    let n = 0;
    for (const [id, at] of this.seen) {
      if (at >= beforeMs) continue;
      this.seen.delete(id);
      this.high.delete(id);
      n++;
    }
    return n;
  }

  highWater(id: string): number | undefined {
    return this.high.get(id);
  }

  /** For the checkpoint: UTF-8 JSON {"<id>": [seq, lastSeenMs], ...}. */
  snapshot(): Uint8Array {
    const o: Record<string, [number, number]> = {};
    for (const [id, seq] of this.high) o[id] = [seq, this.seen.get(id) ?? 0];
    return Buffer.from(JSON.stringify(o));
  }

  /** From a checkpoint section written by snapshot(). */
  restore(bytes: Uint8Array, where: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    } catch (e) {
      throw new Error(`${where}: producer table is not JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${where}: producer table must be an object of id → [seq, lastSeenMs]`);
    for (const [id, v] of Object.entries(parsed)) {
      const [seq, at] = Array.isArray(v) ? v : [v, 0];
      if (!Number.isSafeInteger(seq) || (seq as number) < 0 || !Number.isFinite(at)) throw new Error(`${where}: producer ${JSON.stringify(id)} has ${JSON.stringify(v)}, expected [seq ≥ 0, lastSeenMs]`);
      this.record(id, seq as number, at as number);
    }
  }
}
