// The state directory (default /var/lib/iptables-safe-restore): canonical-form cache now,
// snapshots and the journal later. The directory is 0700 and every file 0600; writes are
// atomic (files.ts), so a reader never sees half a file and a symlink planted at the target
// is replaced, never followed. Reads refuse symlinks.
import { accessSync, constants, closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, chmodSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import { fsyncDir, writePrivateFile } from './files.js';

export const DEFAULT_STATE_DIR = '/var/lib/iptables-safe-restore';

/** Create the directory (and its subdirectory) if needed; refuse a symlink or a non-directory. */
export function ensureDir(path: string): void {
  try {
    // the first directory made, if any: it and those below it are new entries of their parents
    const made = mkdirSync(path, { recursive: true, mode: 0o700 });
    if (made !== undefined) for (let d = path; ; d = dirname(d)) {
      fsyncDir(dirname(d));
      if (d === made || d === dirname(d)) break;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw new InputError(`cannot create state directory ${path}: it is on a read-only filesystem: nothing was changed`);
    throw new InputError(`cannot create state directory ${path}: ${code ?? (e as Error).message}`);
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

/** What a run that changes the kernel may write in the state directory (checked before it writes anything). */
const STATE_SUBDIRS = ['cache', 'snapshots'];
const STATE_FILES = ['journal.jsonl', 'in-progress.json', 'confirm-pending.json', 'confirm-watchdog.log', 'cache/checked-files'];

/**
 * Before the first write of any kind (a cache, a snapshot, the journal): the state directory
 * exists (created 0700 if not) and is a plain directory, not a symlink, on a filesystem we can
 * write; its subdirectories are plain directories and the files we write are regular files, none
 * of them a symlink. Throws an InputError naming the first that is not.
 */
export function checkStateDir(stateDir: string): void {
  if (kindOf(stateDir) === 'symlink') throw new InputError(`state directory ${stateDir} is a symlink: refusing to write state through it (name the directory itself)`);
  ensureDir(stateDir);
  try {
    accessSync(stateDir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`state directory ${stateDir} ${code === 'EROFS' ? 'is on a read-only filesystem' : `is not writable (${code})`}: nothing was changed`);
  }
  for (const [names, want] of [[STATE_SUBDIRS, 'dir'], [STATE_FILES, 'file']] as const) {
    for (const name of names) {
      const kind = kindOf(join(stateDir, name));
      if (kind === 'symlink') throw new InputError(`${join(stateDir, name)} is a symlink: refusing to write state through it: nothing was changed`);
      if (kind !== undefined && kind !== want) throw new InputError(`${join(stateDir, name)} is not a plain ${want === 'dir' ? 'directory' : 'file'}: refusing to use it: nothing was changed`);
    }
  }
}

/** Can caches be written in `stateDir` without going through a symlink? (No exception: a cache is optional.) */
export function stateDirUsable(stateDir: string): boolean {
  try {
    checkStateDir(stateDir);
    return true;
  } catch {
    return false;
  }
}

function kindOf(path: string): 'symlink' | 'dir' | 'file' | 'other' | undefined {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}
