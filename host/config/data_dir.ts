// The data directory (ingest log, checkpoints, dead letters) must be a
// directory this process can write, or creatable. Node's recursive mkdir
// reports a read-only parent as "ENOENT ... mkdir", which sends a user looking
// for a missing directory; this walks up to the nearest existing ancestor and
// names the real cause and the path it applies to.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const WHY: Record<string, string> = {
  EROFS: 'is on a read-only file system (EROFS)',
  EACCES: 'is not writable by this user (EACCES)',
  EPERM: 'is not writable by this user (EPERM)',
  ENOTDIR: 'is a file, not a directory (ENOTDIR)',
};

/** Why `dir` cannot be used as a data directory, or undefined when it can (it exists writable, or can be created). */
export function dataDirProblem(dir: string): string | undefined {
  const target = resolve(dir);
  let at = target;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(at) !== at) { at = dirname(at); continue; }
      if (code === 'ENOTDIR') { at = dirname(at); continue; }
      return `data dir ${target}: ${at}: ${(e as Error).message}`;
    }
    if (!isDir) return `data dir ${target}: ${at} ${WHY.ENOTDIR}`;
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      return `data dir ${target}: ${at === target ? 'it' : `cannot be created, ${at}`} ${WHY[code] ?? `cannot be written (${code})`}`;
    }
    return undefined;
  }
}

/** mkdir -p, then a writability check, with precise errors (see dataDirProblem) instead of Node's. */
export function makeDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(dataDirProblem(dir) ?? `data dir ${resolve(dir)}: ${(e as Error).message}`);
  }
  // An existing directory on a read-only mount passes mkdir.
  const bad = dataDirProblem(dir);
  if (bad) throw new Error(bad);
}
