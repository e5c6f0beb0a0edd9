// Single-producer single-consumer ring of fixed-size records inside a shared
// WebAssembly.Memory (or any SharedArrayBuffer), at a 64-byte-aligned offset.
// assembly/bench/ring.ts (bench build) mirrors this layout so WASM code can
// consume (or produce) records in place; test/assembly/ring.test.ts checks
// they agree.
//
//   base+0    producer line (written only by the producer)
//   ┌──────────┬──────────────────┬──────────┬──────────── … 64 B
//   │ head i32 │ producerWaits i32│closed i32│
//   └──────────┴──────────────────┴──────────┴────────────
//   base+64   consumer line (written only by the consumer)
//   ┌──────────┬──────────────────┬─────────────────────── … 64 B
//   │ tail i32 │ consumerSleeps i32│
//   └──────────┴──────────────────┴───────────────────────
//   base+128  configuration line (written once by init, then read-only)
//   ┌──────────┬──────────────┬────────────┬────────────── … 64 B
//   │ magic u32│ capacity u32 │ stride u32 │
//   └──────────┴──────────────┴────────────┴──────────────
//   base+192  data: capacity × stride bytes, slot i at base+192+i·stride
//   ┌────────┬────────┬─────┬──────────────┐
//   │ slot 0 │ slot 1 │ ... │ slot cap-1   │
//   └────────┴────────┴─────┴──────────────┘
//
// head and tail are free-running record counters (mod 2^32, stored as i32 so
// Atomics.wait can watch them); `head - tail` is the fill, slot = counter & (cap-1).
// Capacity is a power of two so the counters wrap cleanly, and records never
// straddle the end: a batch that crosses it is two contiguous runs, so every
// record can be handed to an operator as a plain pointer.
//
// Why head and tail live 64 bytes apart: the producer writes head on every
// batch and the consumer writes tail; on one cache line they would bounce
// between cores on every publish ("false sharing").
//
// Publishing is one Atomics.store of head per batch, not per record. Atomics
// are sequentially consistent (in JS and in WASM), so the record bytes written
// before the store are visible to a consumer that loads the new head.
//
// Sleeping without lost wake-ups (the Dekker pattern, safe under SC atomics):
//   consumer: store consumerSleeps=1; reload head; if it moved, clear the flag
//             and go on; else Atomics.wait(head, seen, timeout); clear the flag.
//   producer: store head; if load(consumerSleeps) == 1 → Atomics.notify(head).
// Either the consumer's reload sees the new head, or the producer's load sees
// the flag; Atomics.wait itself re-checks head == seen atomically. The wait
// also has a timeout so a bug here degrades to latency, never to a hang.
// The same pattern runs the other way for a producer that waits for room
// (producerWaits, watched on tail), which the worker uses for output rings.
// The main thread cannot block (Atomics.wait throws there): it uses
// Atomics.waitAsync through the *Async methods.

export const RING_HEAD = 0;
export const RING_PRODUCER_WAITS = 4;
export const RING_CLOSED = 8;
export const RING_TAIL = 64;
export const RING_CONSUMER_SLEEPS = 68;
export const RING_MAGIC = 128;
export const RING_CAPACITY = 132;
export const RING_STRIDE = 136;
export const RING_HEADER_BYTES = 192;
/** "RNG1": marks an initialised ring, so attaching to a wrong offset fails loudly. */
export const RING_MAGIC_VALUE = 0x31474e52;

/** Default spin before sleeping: long enough to catch a producer mid-burst, short enough not to burn a core. */
export const DEFAULT_SPINS = 2000;

type Backing = WebAssembly.Memory | SharedArrayBuffer;

// Atomics.waitAsync is in Node ≥ 16 but in TypeScript's lib only from es2024.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomicsWaitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): WaitAsyncResult }).waitAsync;

/**
 * Atomics.waitAsync, holding the event loop open while it waits: Node does not
 * count a pending waitAsync as work, so a main thread whose only pending thing
 * is this wait (its worker has just exited, say) would end the process with
 * exit code 13 ("unsettled top-level await") instead of finishing the drain.
 */
async function waitAsync(a: Int32Array, i: number, v: number, timeoutMs: number): Promise<void> {
  const w = atomicsWaitAsync(a, i, v, timeoutMs);
  if (!w.async) return;
  const keepAlive = setInterval(() => {}, 1 << 30);
  try { await w.value; } finally { clearInterval(keepAlive); }
}

function bufferOf(b: Backing): SharedArrayBuffer {
  const buf = b instanceof SharedArrayBuffer ? b : b.buffer;
  if (!(buf instanceof SharedArrayBuffer)) throw new Error('ring: memory must be shared (WebAssembly.Memory({ shared: true }) or SharedArrayBuffer)');
  return buf;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Bytes a ring of `capacity` records of `stride` bytes occupies (header included, rounded to 64). */
export function ringBytes(capacity: number, stride: number): number {
  return RING_HEADER_BYTES + ((capacity * stride + 63) & ~63);
}

/**
 * Writes a fresh header at `base`. `start` seeds head and tail (tests use a
 * value near 2^32 to prove the counters wrap).
 */
export function initRing(memory: Backing, base: number, capacity: number, stride: number, start = 0): void {
  const buf = bufferOf(memory);
  if (base % 64 !== 0) throw new Error(`ring: base ${base} must be 64-byte aligned`);
  if (!isPowerOfTwo(capacity) || capacity > 1 << 30) throw new Error(`ring: capacity ${capacity} must be a power of two ≤ 2^30`);
  if (!Number.isInteger(stride) || stride <= 0 || stride % 8 !== 0) throw new Error(`ring: stride ${stride} must be a positive multiple of 8`);
  if (base + ringBytes(capacity, stride) > buf.byteLength) throw new Error(`ring: ${ringBytes(capacity, stride)} bytes at ${base} do not fit in ${buf.byteLength}`);
  const i32 = new Int32Array(buf);
  const b = base >> 2;
  Atomics.store(i32, b + (RING_HEAD >> 2), start | 0);
  Atomics.store(i32, b + (RING_PRODUCER_WAITS >> 2), 0);
  Atomics.store(i32, b + (RING_CLOSED >> 2), 0);
  Atomics.store(i32, b + (RING_TAIL >> 2), start | 0);
  Atomics.store(i32, b + (RING_CONSUMER_SLEEPS >> 2), 0);
  Atomics.store(i32, b + (RING_CAPACITY >> 2), capacity);
  Atomics.store(i32, b + (RING_STRIDE >> 2), stride);
  Atomics.store(i32, b + (RING_MAGIC >> 2), RING_MAGIC_VALUE);
}

abstract class RingEnd {
  readonly capacity: number;
  readonly stride: number;
  /** Byte offset of slot 0 in the memory. */
  readonly data: number;
  readonly bytes: Uint8Array;
  protected readonly i32: Int32Array;
  protected readonly mask: number;
  protected readonly iHead: number;
  protected readonly iTail: number;
  protected readonly iProducerWaits: number;
  protected readonly iConsumerSleeps: number;
  protected readonly iClosed: number;

  constructor(memory: Backing, readonly base: number) {
    const buf = bufferOf(memory);
    this.i32 = new Int32Array(buf);
    this.bytes = new Uint8Array(buf);
    const b = base >> 2;
    if (base % 64 !== 0 || Atomics.load(this.i32, b + (RING_MAGIC >> 2)) !== RING_MAGIC_VALUE) {
      throw new Error(`ring: no ring initialised at byte ${base}`);
    }
    this.capacity = Atomics.load(this.i32, b + (RING_CAPACITY >> 2));
    this.stride = Atomics.load(this.i32, b + (RING_STRIDE >> 2));
    this.mask = this.capacity - 1;
    this.data = base + RING_HEADER_BYTES;
    this.iHead = b + (RING_HEAD >> 2);
    this.iTail = b + (RING_TAIL >> 2);
    this.iProducerWaits = b + (RING_PRODUCER_WAITS >> 2);
    this.iConsumerSleeps = b + (RING_CONSUMER_SLEEPS >> 2);
    this.iClosed = b + (RING_CLOSED >> 2);
  }

  /** Records published and not yet released, as either side last saw them. */
  fill(): number {
    return (Atomics.load(this.i32, this.iHead) - Atomics.load(this.i32, this.iTail)) | 0;
  }

  /** fill / capacity, 0..1, for the metrics. */
  level(): number {
    return this.fill() / this.capacity;
  }

  get closed(): boolean {
    return Atomics.load(this.i32, this.iClosed) !== 0;
  }

  /** Byte offset of the slot for free-running counter `n`. */
  slotAt(n: number): number {
    return this.data + (n & this.mask) * this.stride;
  }
}

/** Batches up to this many bytes are copied word by word (see push). */
const SMALL_COPY = 256;

export class RingWriter extends RingEnd {
  private readonly f64: Float64Array;
  /** Next counter to write; runs ahead of the published head until publish(). */
  private pending: number;
  /** Last tail seen: re-read only when the cached value says the ring is full. */
  private tailSeen: number;

  constructor(memory: Backing, base: number) {
    super(memory, base);
    this.f64 = new Float64Array(this.bytes.buffer, 0, this.bytes.byteLength >> 3);
    this.pending = Atomics.load(this.i32, this.iHead);
    this.tailSeen = Atomics.load(this.i32, this.iTail);
  }

  /** Free slots now (refreshes the consumer's tail). */
  room(): number {
    this.tailSeen = Atomics.load(this.i32, this.iTail);
    return this.capacity - ((this.pending - this.tailSeen) | 0);
  }

  /** Written but not yet published. */
  get unpublished(): number {
    return (this.pending - Atomics.load(this.i32, this.iHead)) | 0;
  }

  /**
   * Claims the next slot and returns its byte offset, or -1 when the ring is
   * full. The record becomes visible at the next publish().
   */
  next(): number {
    if (((this.pending - this.tailSeen) | 0) >= this.capacity) {
      this.tailSeen = Atomics.load(this.i32, this.iTail);
      if (((this.pending - this.tailSeen) | 0) >= this.capacity) return -1;
    }
    const at = this.data + (this.pending & this.mask) * this.stride;
    this.pending = (this.pending + 1) | 0;
    return at;
  }

  /**
   * Copies up to `count` whole records from `src` (starting at byte
   * `srcOffset`) with at most two set() calls; returns how many fitted.
   * Not published until publish().
   */
  push(src: Uint8Array, count: number, srcOffset = 0): number {
    let n = Math.min(count, this.capacity - ((this.pending - this.tailSeen) | 0));
    if (n < count) n = Math.min(count, this.room());
    if (n <= 0) return 0;
    const stride = this.stride;
    const slot = this.pending & this.mask;
    const first = Math.min(n, this.capacity - slot);
    if (n * stride <= SMALL_COPY && ((src.byteOffset + srcOffset) & 7) === 0) {
      // A few records: a word loop, because set() into shared memory has a fixed cost per call larger than copying them.
      const from = this.f64Of(src);
      let s = (src.byteOffset + srcOffset) >> 3;
      let d = (this.data + slot * stride) >> 3;
      const words = stride >> 3;
      for (let i = 0; i < n; i++) {
        if (i === first) d = this.data >> 3;
        for (let w = 0; w < words; w++) this.f64[d++] = from[s++];
      }
    } else {
      this.bytes.set(src.subarray(srcOffset, srcOffset + first * stride), this.data + slot * stride);
      if (n > first) this.bytes.set(src.subarray(srcOffset + first * stride, srcOffset + n * stride), this.data);
    }
    this.pending = (this.pending + n) | 0;
    return n;
  }

  private srcBuf?: ArrayBufferLike;
  private srcF64?: Float64Array;
  private f64Of(src: Uint8Array): Float64Array {
    if (src.buffer !== this.srcBuf) {
      this.srcBuf = src.buffer;
      this.srcF64 = new Float64Array(src.buffer, 0, src.buffer.byteLength >> 3);
    }
    return this.srcF64!;
  }

  /** Makes every claimed record visible: one atomic store, a notify only if the consumer sleeps. */
  publish(): void {
    Atomics.store(this.i32, this.iHead, this.pending);
    if (Atomics.load(this.i32, this.iConsumerSleeps) !== 0) Atomics.notify(this.i32, this.iHead, 1);
  }

  /** push + publish. */
  write(src: Uint8Array, count: number, srcOffset = 0): number {
    const n = this.push(src, count, srcOffset);
    if (n > 0) this.publish();
    return n;
  }

  /** End of stream: the consumer drains what is left and then sees `closed`. */
  close(): void {
    this.publish();
    Atomics.store(this.i32, this.iClosed, 1);
    Atomics.notify(this.i32, this.iHead);
  }

  /**
   * Blocks (worker threads only) until at least `want` slots are free or
   * `timeoutMs` passes; returns the room. Spins first, then sleeps on tail.
   */
  waitForRoom(want: number, timeoutMs: number, spins = DEFAULT_SPINS): number {
    want = Math.min(want, this.capacity);
    let r = this.room();
    for (let i = 0; i < spins && r < want; i++) r = this.room();
    const deadline = performance.now() + timeoutMs;
    while (r < want) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.store(this.i32, this.iProducerWaits, 1);
      const seen = Atomics.load(this.i32, this.iTail);
      r = this.room();
      if (r < want) Atomics.wait(this.i32, this.iTail, seen, Math.min(left, 50));
      Atomics.store(this.i32, this.iProducerWaits, 0);
      r = this.room();
    }
    return r;
  }

  /** Main-thread form of waitForRoom: resolves with the room once ≥ want or after timeoutMs. */
  async waitForRoomAsync(want: number, timeoutMs: number): Promise<number> {
    want = Math.min(want, this.capacity);
    const deadline = performance.now() + timeoutMs;
    let r = this.room();
    while (r < want) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.store(this.i32, this.iProducerWaits, 1);
      const seen = Atomics.load(this.i32, this.iTail);
      r = this.room();
      if (r < want) {
        await waitAsync(this.i32, this.iTail, seen, Math.min(left, 50));
      }
      Atomics.store(this.i32, this.iProducerWaits, 0);
      r = this.room();
    }
    return r;
  }
}

export class RingReader extends RingEnd {
  /** Next counter to read (the consumer owns tail, so a local copy is exact). */
  private tail: number;

  constructor(memory: Backing, base: number) {
    super(memory, base);
    this.tail = Atomics.load(this.i32, this.iTail);
  }

  /** Records published and not yet released. */
  available(): number {
    return (Atomics.load(this.i32, this.iHead) - this.tail) | 0;
  }

  /** Byte offset of the first unreleased record. */
  readAt(): number {
    return this.data + (this.tail & this.mask) * this.stride;
  }

  /** How many of `n` available records are contiguous from readAt() (stops at the end of the data area). */
  contiguous(n: number): number {
    return Math.min(n, this.capacity - (this.tail & this.mask));
  }

  /** Hands `n` slots back to the producer; wakes it only if it declared it waits. */
  release(n: number): void {
    this.tail = (this.tail + n) | 0;
    Atomics.store(this.i32, this.iTail, this.tail);
    if (Atomics.load(this.i32, this.iProducerWaits) !== 0) Atomics.notify(this.i32, this.iTail, 1);
  }

  /**
   * Copies up to `max` available records into `dst` (at byte `dstOffset`) and
   * releases them; returns the count. Convenience for the host's drain side.
   */
  read(dst: Uint8Array, max: number, dstOffset = 0): number {
    const n = Math.min(max, this.available());
    if (n <= 0) return 0;
    const stride = this.stride;
    const first = this.contiguous(n);
    const at = this.readAt();
    dst.set(this.bytes.subarray(at, at + first * stride), dstOffset);
    if (n > first) dst.set(this.bytes.subarray(this.data, this.data + (n - first) * stride), dstOffset + first * stride);
    this.release(n);
    return n;
  }

  /**
   * Blocks (worker threads only) until a record is available, the ring is
   * closed, or timeoutMs passes; returns available(). Spins `spins` polls first.
   */
  wait(timeoutMs: number, spins = DEFAULT_SPINS): number {
    let n = this.available();
    for (let i = 0; i < spins && n === 0; i++) n = this.available();
    if (n !== 0 || this.closed) return n;
    Atomics.store(this.i32, this.iConsumerSleeps, 1);
    const seen = Atomics.load(this.i32, this.iHead);
    if (((seen - this.tail) | 0) === 0 && !this.closed) Atomics.wait(this.i32, this.iHead, seen, timeoutMs);
    Atomics.store(this.i32, this.iConsumerSleeps, 0);
    return this.available();
  }

  /** Main-thread form of wait(): never blocks the event loop. */
  async waitAsync(timeoutMs: number): Promise<number> {
    let n = this.available();
    if (n !== 0 || this.closed) return n;
    Atomics.store(this.i32, this.iConsumerSleeps, 1);
    const seen = Atomics.load(this.i32, this.iHead);
    if (((seen - this.tail) | 0) === 0 && !this.closed) {
      await waitAsync(this.i32, this.iHead, seen, timeoutMs);
    }
    Atomics.store(this.i32, this.iConsumerSleeps, 0);
    return this.available();
  }
}
