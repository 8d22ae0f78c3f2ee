// Writing a file the user named (a saved plan, later a saved ruleset): atomically, mode
// 0600, through a temporary file made by `tmp` beside it, never following a symlink at the
// destination (rename replaces the link itself).
import { closeSync, fsyncSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import tmp from 'tmp';
import { InputError } from '../errors.js';

/** `content` may come in pieces, written one after the other (never joined in memory). */
export function writePrivateFile(path: string, content: string | readonly string[]): void {
  let t: tmp.FileResult;
  try {
    t = tmp.fileSync({ tmpdir: dirname(path), prefix: `.${basename(path)}.`, mode: 0o600 });
  } catch (e) {
    throw new InputError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    for (const part of typeof content === 'string' ? [content] : content) writeSync(t.fd, part);
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
}
