// Talking to a running ganglion from outside the way producers and operators
// do: a WebSocket producer that reads each frame's ack, a /metrics scrape, and
// the dead-letter file. Start the process with ./ganglion.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';

export interface Ack { ack: number; ok: boolean; accepted?: number; rejected?: number; reason?: string }

/** A producer connection: send() resolves with the frame's ack. */
export async function producer(port: number, path = '/ingest'): Promise<{ send(frame: string | Buffer): Promise<Ack>; close(): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}?seq=1`);
  await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
  const waiting: Array<(a: Ack) => void> = [];
  ws.on('message', (d) => waiting.shift()?.(JSON.parse(String(d)) as Ack));
  return {
    send: (frame) => new Promise<Ack>((res, rej) => {
      waiting.push(res);
      ws.send(frame, { binary: false }, (e) => { if (e) rej(e); });
    }),
    close: () => ws.close(),
  };
}

/** Prometheus text → value of `name{labels}` (labels exactly as printed, e.g. 'limit="max_keys"'). */
export async function scrape(port: number): Promise<(name: string, labels?: string) => number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return (name, labels) => {
    const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
}

export interface DeadLetterSeen { code: string; detail: string; raw: Buffer }

/**
 * The dead-letter file's entries, reason code and exact bytes: the bytes as
 * `raw` (base64) or as `data` with its `encoding` (docs/OUTPUTS.md), the
 * detail apart or after the code in `reason` ("code: detail").
 */
export function deadLetters(dataDir: string): DeadLetterSeen[] {
  const file = join(dataDir, 'dead-letters.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const e = JSON.parse(l) as Record<string, string>;
    const raw = e.raw !== undefined ? Buffer.from(e.raw, 'base64') : Buffer.from(e.data, e.encoding === 'base64' ? 'base64' : 'utf8');
    if (e.detail !== undefined) return { code: e.reason, detail: e.detail, raw };
    const at = e.reason.indexOf(': ');
    return { code: at < 0 ? e.reason : e.reason.slice(0, at), detail: at < 0 ? '' : e.reason.slice(at + 2), raw };
  });
}
