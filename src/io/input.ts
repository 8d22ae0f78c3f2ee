// Reading the user's ruleset: a file or stdin, as UTF-8 text.
//
// Ownership: whoever can write the ruleset file controls the firewall. Running as root, a
// file that a non-root user or group could write — or could replace, through its directory —
// is refused (InputError, exit 1) naming the file and the reason; `--force` turns the refusal
// into a warning (Input.unsafe, which callers print). Precisely, refused when:
//   - the file's owner is not root, or it is writable by others, or by a group other than root's;
//   - its directory (and, for a symlink, the link's directory too) is owned by a non-root user,
//     or writable by others or a non-root group — unless the directory is sticky (/tmp): there
//     only the owner (root) can replace or remove the file.
// As a non-root user the check is skipped: such a run cannot change the firewall, and the files
// it previews (--live-from, a copy of another host's ruleset) are naturally the user's own.
import { fstatSync, openSync, readFileSync, closeSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';

export interface Input {
  /** Name for messages: the path, or `<stdin>`. */
  name: string;
  text: string;
  /** `sha256:HEX` of the bytes read (what sha256sum prints for the file): journal, plan, checked-files.ts. */
  digest: string;
  /** Why the file is unsafe to trust, when it is and --force let us read it anyway. */
  unsafe?: string;
}

export interface ReadOptions {
  /** Read a file a non-root user could have written, with a warning instead of a refusal. */
  force?: boolean;
  /** Whether the ownership check applies (default: when running as root). */
  checkOwnership?: boolean;
}

/** Refused input: the file (or its directory) is writable by someone other than root. */
export class UnsafeInputError extends InputError {}

export function readInput(path: string | undefined, opts: ReadOptions = {}): Input {
  if (path === undefined || path === '-') {
    const bytes = readStdin();
    return { name: '<stdin>', text: decode(bytes, '<stdin>'), digest: sha256(bytes) };
  }
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
    const unsafe = (opts.checkOwnership ?? process.getuid?.() === 0) ? unsafeFile(path, st) : undefined;
    if (unsafe && !opts.force) {
      throw new UnsafeInputError(`${path}: refusing to read it: ${unsafe}; anyone who can write it controls your firewall (make it root's and not group/world-writable, or give --force)`);
    }
    return { name: path, ...readText(fd, path), unsafe };
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

/** A directory lets others replace the files in it: unsafe as for a file, unless sticky. */
export function unsafeDirReason(st: Pick<Stats, 'uid' | 'gid' | 'mode'>): string | undefined {
  if (st.uid !== 0) return `owned by uid ${st.uid}, not root`;
  if (st.mode & 0o1000) return undefined; // sticky: only the file's owner (root) may replace it
  return unsafeReason(st);
}

/** Why the opened file (st) at path, or a directory it sits in, is unsafe; undefined when safe. */
function unsafeFile(path: string, st: Stats): string | undefined {
  const own = unsafeReason(st);
  if (own) return own;
  const dirs = new Set([dirname(resolve(path))]);
  try {
    dirs.add(dirname(realpathSync(path)));
  } catch {
    // vanished since we opened it: the directory of the name we were given is checked
  }
  for (const dir of dirs) {
    const why = unsafeDirReason(statSync(dir));
    if (why) return `its directory ${dir} is ${why}`;
  }
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The file as a string, and the digest of its bytes. The bytes are read once and hashed as
 * they are: hashing the string of a 100k-rule file (10 MB) again for the journal, the plan and
 * checked-files.ts encoded it back into a temporary buffer each time, which glibc then kept
 * (measured: +14 MiB of peak memory). Malformed UTF-8 reads as U+FFFD; only then are the bytes
 * decoded again, strictly, to say where (or to find that the character was really there).
 */
function readText(fd: number, name: string): { text: string; digest: string } {
  const bytes = readFileSync(fd);
  const text = bytes.toString('utf8');
  return { text: text.includes('\uFFFD') ? decode(bytes, name) : text, digest: sha256(bytes) };
}

/** `sha256:HEX` of a text as UTF-8 (a ruleset given as text: a snapshot). */
export function textDigest(text: string): string {
  return sha256(Buffer.from(text));
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
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
