// Reading the user's ruleset: a file or stdin, as UTF-8 text, with a warning (or, for
// commands that change the kernel, a refusal) when a non-root user could have written it.
import { fstatSync, openSync, readFileSync, readSync, closeSync, type Stats } from 'node:fs';
import { InputError } from '../errors.js';

export interface Input {
  /** Name for messages: the path, or `<stdin>`. */
  name: string;
  text: string;
  /** Why the file is unsafe to trust, if it is (writable by a non-root user or group). */
  unsafe?: string;
}

export function readInput(path: string | undefined): Input {
  if (path === undefined || path === '-') return { name: '<stdin>', text: decode(readStdin(), '<stdin>') };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new InputError(`${path}: cannot read: ${why}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(`${path}: not a regular file`);
    return { name: path, text: readText(fd, path), unsafe: unsafeReason(st) };
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${path}: cannot read: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EAGAIN' || err.code === 'EOF') return Buffer.alloc(0);
    throw new InputError(`<stdin>: cannot read: ${err.message}`);
  }
}

/** Owned by a non-root user, or writable by group/others (unless the group is root's). */
export function unsafeReason(st: Pick<Stats, 'uid' | 'gid' | 'mode'>): string | undefined {
  if (st.uid !== 0) return `owned by uid ${st.uid}, not root`;
  if (st.mode & 0o002) return 'writable by every user';
  if (st.mode & 0o020 && st.gid !== 0) return `writable by group ${st.gid}`;
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The file as a string, read without an intermediate buffer of its size (10 MB at 100k
 * rules). Malformed UTF-8 reads as U+FFFD; only then is the file decoded again, strictly, to
 * say where (or to find that the character was really there).
 */
function readText(fd: number, name: string): string {
  const text = readFileSync(fd, 'utf8');
  return text.includes('\uFFFD') ? decode(bytesFromStart(fd), name) : text;
}

function bytesFromStart(fd: number): Buffer {
  const buf = Buffer.alloc(fstatSync(fd).size);
  let at = 0;
  for (let n = 1; at < buf.length && n > 0; at += n) n = readSync(fd, buf, at, buf.length - at, at);
  return buf.subarray(0, at);
}

function decode(buf: Buffer, name: string): string {
  try {
    return utf8.decode(buf);
  } catch {
    let line = 1;
    for (let i = 0; i < buf.length; i++) {
      if (buf[i] === 10) line++;
      if (buf[i] >= 0x80) {
        try {
          utf8.decode(buf.subarray(buf.lastIndexOf(10, i) + 1, buf.indexOf(10, i) < 0 ? buf.length : buf.indexOf(10, i)));
        } catch {
          throw new InputError(`${name}:${line}: not UTF-8 text (binary input?)`);
        }
      }
    }
    throw new InputError(`${name}: not UTF-8 text (binary input?)`);
  }
}
