// Writing a file the user named (a saved plan, a saved ruleset): atomically, mode 0600,
// through a temporary file made by `tmp` beside it, never following a symlink at the
// destination (rename replaces the link itself). Durably: the contents are fsynced before the
// rename, the directory after it, so that after a power cut the file is there, whole, or (if
// the cut came first) the previous one is.
import { closeSync, constants, fsyncSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import tmp from 'tmp';
import { InputError } from '../errors.js';

/** `content` may come in pieces, written one after the other (never joined in memory). */
export function writePrivateFile(path: string, content: string | Buffer | readonly string[]): void {
  let t: tmp.FileResult;
  try {
    t = tmp.fileSync({ tmpdir: dirname(path), prefix: `.${basename(path)}.`, mode: 0o600 });
  } catch (e) {
    throw new InputError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    if (typeof content === 'string') writeSync(t.fd, content);
    else if (Buffer.isBuffer(content)) writeSync(t.fd, content);
    else for (const part of content) writeSync(t.fd, part);
    fsyncSync(t.fd);
  } finally {
    closeSync(t.fd);
  }
  try {
    renameSync(t.name, path);
  } catch (e) {
    rmSync(t.name, { force: true });
    throw new InputError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  fsyncDir(dirname(path));
}

/** Make a directory's entries (a file created, renamed or removed in it) survive a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace a file the system keeps (a saved ruleset, `save --out`) as the RHEL script does:
 * the previous contents kept as PATH.save, then the new contents written atomically, 0600.
 * A symlink at PATH is refused: neither followed nor silently replaced.
 */
export function replaceKeepingPrevious(path: string, content: string): { previous: boolean } {
  let st: Stats | undefined;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (st?.isSymbolicLink()) throw new InputError(`${path} is a symbolic link: refusing to write through it (remove the link, or name the file it points to)`);
  if (st && !st.isFile()) throw new InputError(`${path} is not a regular file: refusing to replace it`);
  if (st) {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    let previous: Buffer;
    try {
      previous = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
    writePrivateFile(`${path}.save`, previous);
  }
  writePrivateFile(path, content);
  return { previous: st !== undefined };
}
