// The tool's own lock, so that a cron run and a person never interleave: flock(2) on
// /run/iptables-safe-restore.lock, held by a `flock … cat` child whose stdin is our pipe.
// When we finish, or die in any way, the pipe closes, cat exits and the lock is free. Other
// scripts can take the same lock with flock(1). The holder writes who it is (pid, command,
// since) into the file, so a run that cannot get the lock can say who has it.
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { UserError } from '../errors.js';
import { spawnHolder } from './run.js';

export const DEFAULT_LOCK_FILE = '/run/iptables-safe-restore.lock';

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
        : `another run holds the lock; waited ${waited} s (--lock-wait)`,
    );
  }
}

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(path: string, waitSeconds: number, now: () => Date = () => new Date()): Promise<Lock> {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  closeSync(fd);
  // Infinity: wait as long as it takes (the twin's -w without a value)
  const wait = waitSeconds === Infinity ? [] : waitSeconds > 0 ? ['--wait', String(waitSeconds)] : ['--nonblock'];
  const args = ['--exclusive', ...wait, path, 'cat'];
  const holder = spawnHolder('flock', args);
  try {
    await holder.ready;
  } catch {
    throw new LockedError(readHolder(path), waitSeconds);
  }
  const info: LockHolder = { pid: process.pid, command: process.argv.slice(1).join(' '), since: now().toISOString() };
  const w = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    ftruncateSync(w, 0);
    writeSync(w, JSON.stringify(info) + '\n');
  } finally {
    closeSync(w);
  }
  return { release: () => holder.release() };
}

export function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}
