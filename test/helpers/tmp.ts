import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export function tempDir(prefix = 'ganglion-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A tiny tmpfs, so "disk full" is real, not simulated. Needs root (CI runs as root). */
export function smallDisk(bytes: number): { path: string; remove(): void } {
  const dir = tempDir('ganglion-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir.path]);
  return { path: dir.path, remove: () => { execFileSync('umount', [dir.path]); dir.remove(); } };
}
