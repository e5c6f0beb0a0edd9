// Checkpoint files: a consistent cut of a pipeline (operator state regions,
// ingest-log position, key dictionary, sink positions) that recovery restores
// before replaying the log from `meta.logSeq`.
//
//   chk-<id, 20 digits>.ckpt
//   ┌────────────┬─────────────┬─────────────┬───────────┬──────────────────────────┬─────────┐
//   │ "GNGLCKP1" │ version u32 │ metaLen u32 │ meta JSON │ sections                 │ crc u32 │
//   └────────────┴─────────────┴─────────────┴───────────┴──────────────────────────┴─────────┘
//   sections: count u32, then per section: nameLen u16, name (UTF-8), byteLen u64, bytes
//   crc: CRC-32 of every byte before it; a file that fails it is skipped on load
//
// Written as `.tmp`, fsynced, renamed into place, then the directory fsynced:
// a crash or a full disk at any point leaves either the old set of checkpoints
// or the new one, never a half-written file under a real name.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, unlinkSync, accessSync, constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from('GNGLCKP1');
/** Test hook (crash tests): pause this many ms after each part of a checkpoint file is written. */
const WRITE_PAUSE_MS = Number(process.env.GANGLION_TEST_CHECKPOINT_PAUSE_MS ?? 0) || 0;
const VERSION = 1;

export interface CheckpointMeta {
  id: number;
  createdAt: string;
  /** Replay the ingest log from here on recovery. */
  logSeq: string;
  [k: string]: unknown;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  sections: Map<string, Uint8Array>;
  path: string;
  bytes: number;
}

/**
 * A whole file in shared memory. Recovery hands the sections to the partition
 * workers; views of a SharedArrayBuffer cross to a worker without a copy,
 * where an ArrayBuffer's would be cloned twice (serialize, deserialize: a
 * copy and page faults that would be most of the recovery time).
 */
function readShared(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.from(new SharedArrayBuffer(size));
    for (let at = 0; at < size;) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) throw new Error(`checkpoint ${path}: file shrank while reading (${at} of ${size} bytes)`);
      at += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

function fileName(id: number): string {
  return `chk-${String(id).padStart(20, '0')}.ckpt`;
}

function encodeCheckpoint(meta: CheckpointMeta, sections: Map<string, Uint8Array>): Buffer[] {
  const metaBytes = Buffer.from(JSON.stringify(meta));
  const head = Buffer.alloc(16 + metaBytes.length + 4);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(metaBytes.length, 12);
  metaBytes.copy(head, 16);
  head.writeUInt32LE(sections.size, 16 + metaBytes.length);
  const parts: Buffer[] = [head];
  for (const [name, bytes] of sections) {
    const n = Buffer.from(name);
    const h = Buffer.alloc(2 + n.length + 8);
    h.writeUInt16LE(n.length, 0);
    n.copy(h, 2);
    h.writeBigUInt64LE(BigInt(bytes.length), 2 + n.length);
    parts.push(h, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }
  let crc = 0;
  for (const p of parts) crc = crc32(p, crc);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(crc, 0);
  parts.push(tail);
  return parts;
}

export function decodeCheckpoint(buf: Buffer, path: string): Checkpoint {
  const bad = (why: string) => new Error(`checkpoint ${path}: ${why}`);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(MAGIC)) throw bad('not a ganglion checkpoint (bad magic)');
  const stored = buf.readUInt32LE(buf.length - 4);
  if (crc32(buf.subarray(0, buf.length - 4)) !== stored) throw bad('CRC mismatch (torn or corrupt file)');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw bad(`unsupported version ${version}`);
  const metaLen = buf.readUInt32LE(12);
  const meta = JSON.parse(buf.subarray(16, 16 + metaLen).toString('utf8')) as CheckpointMeta;
  let off = 16 + metaLen;
  const count = buf.readUInt32LE(off); off += 4;
  const sections = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const nl = buf.readUInt16LE(off); off += 2;
    const name = buf.subarray(off, off + nl).toString('utf8'); off += nl;
    const len = Number(buf.readBigUInt64LE(off)); off += 8;
    if (off + len > buf.length - 4) throw bad(`section ${name} runs past the end`);
    sections.set(name, buf.subarray(off, off + len));
    off += len;
  }
  return { meta, sections, path, bytes: buf.length };
}

export class CheckpointStore {
  constructor(readonly dir: string, readonly keep = 3) {}

  /** Fails fast, with the reason, when the directory cannot hold checkpoints. */
  checkWritable(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      accessSync(this.dir, constants.W_OK);
    } catch (e) {
      throw new Error(`checkpoint directory ${this.dir} is not writable: ${(e as Error).message}`);
    }
  }

  ids(): number[] {
    let names: string[] = [];
    try { names = readdirSync(this.dir); } catch { return []; }
    return names.map((n) => /^chk-(\d{20})\.ckpt$/.exec(n)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])).sort((a, b) => a - b);
  }

  /** Writes durably (tmp, fsync, rename, dir fsync) and prunes to the last `keep`. */
  async write(meta: CheckpointMeta, sections: Map<string, Uint8Array>): Promise<{ path: string; bytes: number; ms: number }> {
    const started = performance.now();
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, fileName(meta.id));
    const tmp = path + '.tmp';
    const parts = encodeCheckpoint(meta, sections);
    let bytes = 0;
    const fh = await open(tmp, 'w');
    try {
      for (const p of parts) {
        await fh.write(p); bytes += p.length;
        // Crash tests widen the window a kill can land in mid-write.
        if (WRITE_PAUSE_MS > 0) await new Promise((r) => setTimeout(r, WRITE_PAUSE_MS));
      }
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      try { unlinkSync(tmp); } catch { /* already gone */ }
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOSPC' ? 'no space left on device' : err.message;
      throw new Error(`checkpoint ${meta.id} not written to ${this.dir}: ${why} (previous checkpoints are intact)`);
    }
    await fh.close();
    renameSync(tmp, path);
    fsyncDirectory(this.dir);
    this.prune();
    return { path, bytes, ms: performance.now() - started };
  }

  /** The newest checkpoint that passes its CRC; corrupt ones are reported and skipped. */
  loadLatest(onSkip: (why: string) => void = () => undefined): Checkpoint | null {
    for (const id of this.ids().reverse()) {
      const path = join(this.dir, fileName(id));
      try {
        return decodeCheckpoint(readShared(path), path);
      } catch (e) {
        onSkip((e as Error).message);
      }
    }
    return null;
  }

  private prune(): void {
    const ids = this.ids();
    for (const id of ids.slice(0, Math.max(0, ids.length - this.keep))) {
      try { unlinkSync(join(this.dir, fileName(id))); } catch { /* raced with another prune */ }
    }
    for (const n of readdirSync(this.dir)) if (n.endsWith('.ckpt.tmp')) { try { unlinkSync(join(this.dir, n)); } catch { /* gone */ } }
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

