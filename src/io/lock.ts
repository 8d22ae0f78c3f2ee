// The tool's own lock, so that a cron run and a person never interleave: flock(2) on
// /run/iptables-safe-restore.lock (other scripts can take the same lock with flock(1)).
//
// Design: the lock lives exactly as long as this process. We open the file ourselves
// (O_CLOEXEC, as libuv opens every file) and hand that descriptor to `flock [-w N|-n] 3`, which
// locks it and exits. A flock(2) lock belongs to the open file description, not to a process:
// once flock(1) has exited, the only descriptor left is ours, so the lock is held by us alone —
// no helper process that a signal to our process group (Ctrl-C, a hang-up) could kill while we
// are still writing or rolling back. It ends when we close the descriptor (release) or die,
// however we die (the kernel closes it). No child inherits it: only stdio is passed on, and
// the descriptor is close-on-exec. A flock(1) still waiting when we are killed (SIGKILL, or
// --lock-wait forever) gets the descriptor's last reference, so it drops the lock as it exits.
//
// Re-entrant within the process: a command that decides from state takes the lock before it
// reads anything (recover, rollback, stop, apply's transaction), and the transaction it runs
// takes it again; the second acquisition of the same file (device and inode) only counts.
//
// The file is never truncated on open or followed through a symlink: it must be a regular file
// with one link that is empty or holds what we write there (one line of JSON: pid, command,
// since — written once we hold it, emptied when we release it), so `--lock-file
// /etc/sysconfig/iptables` or a hard link to it is refused, not overwritten. When the lock is
// held, the message names the holder only if that process is alive and has the file open now;
// otherwise "held by another process".
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readdirSync, readSync, statSync, writeSync, type Stats } from 'node:fs';
import { UserError } from '../errors.js';
import { pidAlive } from './pid.js';
import { lockDescriptor } from './run.js';

export const DEFAULT_LOCK_FILE = '/run/iptables-safe-restore.lock';
/** More than this is not a holder line of ours. */
const MAX_HOLDER_BYTES = 4096;

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export class LockedError extends UserError {
  constructor(readonly holder: LockHolder | undefined, waited: number) {
    super(
      holder
        ? `another run holds the lock: pid ${holder.pid} (${holder.command}), since ${holder.since}; waited ${waited} s (--lock-wait)`
        : `the lock is held by another process; waited ${waited} s (--lock-wait)`,
    );
  }
}

export interface Lock {
  release(): Promise<void>;
}

interface Held {
  fd: number;
  count: number;
}
const held = new Map<string, Held>();

export async function acquireLock(path: string, waitSeconds: number, now: () => Date = () => new Date()): Promise<Lock> {
  const fd = openLockFile(path);
  const st = fstatSync(fd);
  const key = `${st.dev}:${st.ino}`;
  const mine = held.get(key);
  if (mine) {
    closeSync(fd);
    mine.count++;
    return { release: async () => void mine.count-- };
  }
  try {
    refuseForeign(path, st);
    // Infinity: wait as long as it takes (the twin's -w without a value)
    const wait = waitSeconds === Infinity ? [] : waitSeconds > 0 ? ['--wait', String(waitSeconds)] : ['--nonblock'];
    const r = await lockDescriptor(fd, ['--exclusive', ...wait]);
    if (r.exitCode !== 0) {
      if (r.exitCode === 1) throw new LockedError(holderNow(fd, st), waitSeconds);
      throw new UserError(`--lock-file ${path}: flock failed: ${r.stderr.trim().split('\n')[0] || `exit ${r.exitCode}`}`);
    }
    // ours now: nobody of ours writes it meanwhile, so what it holds is settled
    if (fstatSync(fd).size > 0 && !parseHolder(readHead(fd))) throw foreign(path, 'it holds something else');
    const info: LockHolder = { pid: process.pid, command: process.argv.slice(1).join(' '), since: now().toISOString() };
    ftruncateSync(fd, 0);
    writeSync(fd, JSON.stringify(info) + '\n', 0);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const entry: Held = { fd, count: 1 };
  held.set(key, entry);
  return {
    release: async () => {
      if (--entry.count > 0) return;
      held.delete(key);
      try {
        ftruncateSync(fd, 0); // a stale holder line would name a process that is gone
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Run `fn` holding the lock (taken again inside it only counts). */
export async function withLock<T>(path: string, waitSeconds: number, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, waitSeconds);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Open without truncating, creating it 0600 if absent, never through a symlink; a one-line error otherwise. */
function openLockFile(path: string): number {
  try {
    return openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw foreign(path, 'it is a symbolic link');
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied (the lock needs root)' : code === 'ENOENT' ? 'no such directory' : (code ?? (e as Error).message);
    throw new UserError(`--lock-file ${path}: cannot open it: ${why}`);
  }
}

/** Before locking: only a regular file with one link, no bigger than a holder line. */
function refuseForeign(path: string, st: Stats): void {
  if (!st.isFile()) throw foreign(path, 'it is not a regular file');
  if (st.nlink !== 1) throw foreign(path, `it has ${st.nlink} hard links`);
  if (st.size > MAX_HOLDER_BYTES) throw foreign(path, 'it holds something else');
}

function foreign(path: string, why: string): UserError {
  return new UserError(`--lock-file ${path}: refused: ${why} (a lock file must be empty or one of ours; nothing was written to it)`);
}

function readHead(fd: number): string {
  const buf = Buffer.alloc(MAX_HOLDER_BYTES + 1);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, n).toString('utf8');
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as LockHolder;
    return h && Number.isInteger(h.pid) && h.pid > 0 && typeof h.command === 'string' && typeof h.since === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Who holds the lock on the file `st`, read now: the holder line, if the process it names is
 * alive and has this very file open. Undefined when that cannot be known (flock(1) from a
 * script, a line left by a run that died, a pid reused, no right to look).
 */
function holderNow(fd: number, st: Stats): LockHolder | undefined {
  const h = parseHolder(readHead(fd));
  if (!h || !pidAlive(h.pid)) return undefined;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${h.pid}/fd`);
  } catch {
    return undefined;
  }
  for (const n of fds) {
    try {
      const s = statSync(`/proc/${h.pid}/fd/${n}`);
      if (s.dev === st.dev && s.ino === st.ino) return h;
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}
