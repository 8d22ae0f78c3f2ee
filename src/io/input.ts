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
//
// Bounds (docs/faults.md, "Input and command line"): only a regular file is read (a FIFO, a
// device, a socket is refused: it could block forever or never end), opened without blocking;
// and no input is read past its limit (limits.ts: a ruleset, a configuration, a saved plan),
// stdin included. Stdin is read once per run, bounded, and kept: the commands that take the
// tool's lock read it before (preflightInputs), so that a writer who never closes it holds up
// only this run, never the lock.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { clip, InputError, UsageError } from '../errors.js';
import { rulesetLimit, type Limit } from '../core/limits.js';

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
  /** The most bytes read (default: limits.ts, a ruleset's). */
  limit?: Limit;
}

/** A file that could not be opened: `code` is the system's (ENOENT, EACCES, …). */
export class CannotReadError extends InputError {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** Refused input: the file (or its directory) is writable by someone other than root. */
export class UnsafeInputError extends InputError {}

export function readInput(path: string | undefined, opts: ReadOptions = {}): Input {
  const limit = opts.limit ?? rulesetLimit();
  if (path === undefined || path === '-') {
    const bytes = readStdin(limit);
    return { name: '<stdin>', text: decode(bytes, '<stdin>'), digest: sha256(bytes) };
  }
  const { fd, st } = openRegular(path, limit);
  try {
    const unsafe = (opts.checkOwnership ?? process.getuid?.() === 0) ? unsafeFile(path, st) : undefined;
    if (unsafe && !opts.force) {
      throw new UnsafeInputError(`${clip(path)}: refusing to read it: ${unsafe}; anyone who can write it controls your firewall (make it root's and not group/world-writable, or give --force)`);
    }
    return { name: path, ...readText(fd, path, limit, st.size), unsafe };
  } finally {
    closeSync(fd);
  }
}

/**
 * Before the tool's lock is taken: refuse each input that could not be read (not a regular file,
 * over its limit) with one line, and read stdin (`-` or undefined), bounded, so that the read
 * under the lock finds it already here.
 */
export function preflightInputs(inputs: ReadonlyArray<{ path: string | undefined; limit?: Limit }>): void {
  let stdin = 0;
  for (const { path, limit = rulesetLimit() } of inputs) {
    if (path === undefined || path === '-') {
      if (++stdin > 1) throw new UsageError('stdin (-) given for two inputs: it can be read only once');
      readStdin(limit);
      continue;
    }
    closeSync(openRegular(path, limit).fd);
  }
}

/** Read a whole file the limit allows: not a regular file, or larger, is an InputError (configuration, saved plan). */
export function readBounded(path: string, limit: Limit): Buffer {
  const { fd, st } = openRegular(path, limit);
  try {
    return readAll(fd, path, limit, st.size);
  } finally {
    closeSync(fd);
  }
}

const KINDS: Array<[keyof Stats, string]> = [
  ['isFIFO', 'a FIFO'], ['isCharacterDevice', 'a character device'], ['isBlockDevice', 'a block device'], ['isSocket', 'a socket'], ['isDirectory', 'a directory'],
];

/**
 * Open for reading without blocking (a FIFO without a writer would block the open itself),
 * and only a regular file within the limit. O_NOCTTY: a terminal named never becomes ours.
 */
function openRegular(path: string, limit: Limit): { fd: number; st: Stats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : (err.code ?? err.message);
    throw new CannotReadError(`${clip(path)}: cannot read: ${why}`, err.code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = KINDS.find(([is]) => (st[is] as () => boolean).call(st))?.[1] ?? 'not a regular file';
      throw new InputError(`${clip(path)}: not a regular file (${kind}): give a regular file, or - to read stdin`);
    }
    if (st.size > limit.bytes) throw overLimit(path, limit);
    return { fd, st };
  } catch (e) {
    closeSync(fd);
    if (e instanceof InputError) throw e;
    throw new InputError(`${clip(path)}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function overLimit(name: string, limit: Limit): InputError {
  return new InputError(`${clip(name)}: larger than the ${formatBytes(limit.bytes)} limit for ${limit.what}${limit.hint ? ` (${limit.hint})` : ''}`);
}

/** 32 MiB, 64 KiB, 1500 bytes. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return `${n} bytes`;
}

/**
 * Up to limit bytes of fd; one byte more is an error (a file that grew, a device, stdin). A
 * regular file's size is known: it is read into one buffer of that size and a byte (no 10 MB
 * copy joining pieces: the benchmark's peak memory); stdin comes in 64 KB pieces.
 */
function readAll(fd: number, name: string, limit: Limit, size?: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let from = fd;
  try {
    for (let first = true; ; first = false) {
      const want = first && size !== undefined ? size + 1 : 65536;
      const chunk = Buffer.allocUnsafe(Math.min(want, limit.bytes + 1 - total));
      let n: number;
      try {
        n = readSync(from, chunk, 0, chunk.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          from = from === fd ? (reopenBlocking(fd) ?? fd) : from;
          if (from === fd) pause(5);
          continue;
        }
        if (code === 'EOF') break;
        throw new InputError(`${clip(name)}: cannot read: ${code ?? (e as Error).message}`);
      }
      if (n === 0) break;
      total += n;
      if (total > limit.bytes) throw overLimit(name, limit);
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
  } finally {
    if (from !== fd) closeSync(from);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

/**
 * A non-blocking pipe or terminal (stdin: loading yargs makes it non-blocking) opened again
 * through /proc, as a blocking one of our own: we wait in read(2), not in a loop. undefined
 * when that cannot be done (a socket); then we poll.
 */
function reopenBlocking(fd: number): number | undefined {
  try {
    return openSync(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Stdin, read once per run (bounded); later reads get the same bytes. */
let stdinBytes: Buffer | undefined;

function readStdin(limit: Limit): Buffer {
  if (stdinBytes && stdinBytes.length > limit.bytes) throw overLimit('<stdin>', limit);
  return (stdinBytes ??= readAll(0, '<stdin>', limit));
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
function readText(fd: number, name: string, limit: Limit, size: number): { text: string; digest: string } {
  const bytes = readAll(fd, name, limit, size);
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
