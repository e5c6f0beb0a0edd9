// Runs bin/ganglion.js as a separate process (from the TypeScript sources) and
// reads what it wrote: the window-result helpers the replay tests share.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/ganglion.js');

/** Newest (or oldest) file time under `dir`. */
function fileTimes(dir: string, pick: (a: number, b: number) => number, start: number): number {
  let t = start;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = pick(t, e.isDirectory() ? fileTimes(p, pick, start) : statSync(p).mtimeMs);
  }
  return t;
}
// The compiled CLI starts in ~1 s, tsx from source in ~3 s: use dist/ when it
// is not older than any source file (`npm test` rebuilds it first), else the source.
const distFresh = existsSync(join(ROOT, 'dist/host')) && fileTimes(join(ROOT, 'dist/host'), Math.min, Infinity) >= fileTimes(join(ROOT, 'host'), Math.max, 0);
/** The environment that runs the compiled CLI when it is fresh, else the sources. */
export const CLI_ENV: NodeJS.ProcessEnv = (({ GANGLION_FROM_SOURCE: _, ...env }) => (distFresh ? env : { ...env, GANGLION_FROM_SOURCE: '1' }))(process.env);

export interface Exit { code: number | null; signal: NodeJS.Signals | null; stderr: string; timedOut: boolean }

/** `ganglion <args>`; killed (and reported as timedOut) after timeoutMs. */
export function ganglion(args: string[], timeoutMs = 60_000): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: CLI_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stderr, timedOut }); });
  });
}

export interface Out {
  id: string; kind: string; op?: string; key?: string; seq?: string; revision?: number;
  window?: { start_ns: string; end_ns: string };
  values?: Record<string, number | null>;
  [k: string]: unknown;
}

export function readOutputs(path: string): Out[] {
  const text = readFileSync(path, 'utf8');
  return text.length === 0 ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as Out);
}

/**
 * The final result of every time window (tumbling, sliding) of `op`: per key
 * and window start, the emission with the highest revision number.
 */
export function finalWindows(outs: Out[], op: string): Map<string, Out> {
  const m = new Map<string, Out>();
  for (const o of outs) {
    if (o.op !== op || (o.kind !== 'window' && o.kind !== 'revision')) continue;
    const k = `${o.key}|${o.window!.start_ns}`;
    const prev = m.get(k);
    if (!prev || (o.revision ?? 0) >= (prev.revision ?? 0)) m.set(k, o);
  }
  return m;
}

/**
 * The final sessions of `op`: emissions (in output order) not overlapped by a
 * later emission of the same key (a later one that overlaps is a revision or
 * a merge of it); keyed by key, start and end.
 */
export function finalSessions(outs: Out[], op: string): Map<string, Out> {
  const byKey = new Map<string, Out[]>();
  for (const o of outs) if (o.op === op && (o.kind === 'window' || o.kind === 'revision')) byKey.set(o.key!, [...(byKey.get(o.key!) ?? []), o]);
  const m = new Map<string, Out>();
  for (const [key, list] of byKey) {
    list.forEach((o, i) => {
      const s = BigInt(o.window!.start_ns), e = BigInt(o.window!.end_ns);
      const superseded = list.slice(i + 1).some((l) => BigInt(l.window!.start_ns) < e && BigInt(l.window!.end_ns) > s);
      if (!superseded) m.set(`${key}|${o.window!.start_ns}|${o.window!.end_ns}`, o);
    });
  }
  return m;
}
