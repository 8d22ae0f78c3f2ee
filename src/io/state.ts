// The state directory (default /var/lib/iptables-safe-restore): canonical-form cache now,
// snapshots and the journal later. The directory is 0700 and every file 0600; writes are
// atomic (files.ts), so a reader never sees half a file and a symlink planted at the target
// is replaced, never followed. Reads refuse symlinks.
import { constants, closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { writePrivateFile } from './files.js';

export const DEFAULT_STATE_DIR = '/var/lib/iptables-safe-restore';

/** Create the directory (and its subdirectory) if needed; refuse a symlink or a non-directory. */
export function ensureDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new InputError(`cannot create state directory ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const st = lstatSync(path);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new InputError(`state directory ${path} is not a plain directory (a symlink?): refusing to use it`);
  if ((st.mode & 0o077) !== 0) chmodSync(path, 0o700);
}

/** Read a state file, or undefined when absent. Never follows a symlink. */
export function readStateFile(dir: string, name: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new InputError(`${join(dir, name)} is a symlink: refusing to read state through it`);
    throw e;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Write a state file atomically, mode 0600. */
export function writeStateFile(dir: string, name: string, content: string | readonly string[]): void {
  ensureDir(dir);
  writePrivateFile(join(dir, name), content);
}

/**
 * Keep the `keep` newest files of `dir` whose names start with `prefix` (by modification
 * time; a cache hit does not refresh it, so the oldest written go first). Never follows
 * a symlink: it is removed like a file.
 */
export function pruneStateFiles(dir: string, prefix: string, keep: number): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  if (names.length <= keep) return;
  const aged = names.map((n) => ({ n, t: lstatSync(join(dir, n)).mtimeMs })).sort((a, b) => b.t - a.t || (a.n < b.n ? 1 : -1));
  for (const { n } of aged.slice(keep)) rmSync(join(dir, n), { force: true });
}
