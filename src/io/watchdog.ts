// The confirmation watchdog as a process: our own program, re-executed as
//
//   node <this program's entry script> __watchdog --state-dir DIR --token TOKEN
//
// (process.argv[1], so a single-file bundle starts itself the same way), detached from the
// terminal and session (run.ts spawnDetached). Its output is appended to
// DIR/confirm-watchdog.log (0600). This module starts it, tells it to look again (SIGUSR2,
// only after /proc/PID/cmdline shows it is ours), and waits for it to go; the watchdog's side
// of the handshake is `sayArmed`.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SystemError } from '../errors.js';
import { isWatchdog } from './pending.js';
import { spawnDetached } from './run.js';
import { ensureDir } from './state.js';

export const WATCHDOG_LOG = 'confirm-watchdog.log';
const LOG_LIMIT = 256 * 1024;

/** Start the watchdog for `token`; resolves with its pid once it says it is armed. */
export async function startWatchdog(stateDir: string, token: string, readyTimeoutMs = 10_000): Promise<number> {
  ensureDir(stateDir);
  const fd = openSync(join(stateDir, WATCHDOG_LOG), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    if (fstatSync(fd).size > LOG_LIMIT) ftruncateSync(fd, 0);
    const entry = resolve(process.argv[1] ?? '');
    const child = spawnDetached(process.execPath, [entry, '__watchdog', '--state-dir', resolve(stateDir), '--token', token], { logFd: fd, readyTimeoutMs });
    try {
      await child.ready;
    } catch (e) {
      if (child.pid) killUnready(child.pid);
      throw new SystemError(`the confirmation watchdog did not start: ${(e as Error).message} (see ${join(stateDir, WATCHDOG_LOG)})`);
    }
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The watchdog's half of the handshake: one line on fd 3, then close it. No-op when run by hand. */
export function sayArmed(line: string): void {
  try {
    writeSync(3, line + '\n');
    closeSync(3);
  } catch {
    // not started by startWatchdog (no fd 3): nobody is waiting
  }
}

/** Ask our watchdog to look at the state again now (it exits when its change is settled). */
export function nudgeWatchdog(pid: number | undefined, token: string): boolean {
  return signal(pid, token, 'SIGUSR2'); // never SIGUSR1: it opens node's inspector
}

/** Kill a child of ours that never said it was ready (it has just been spawned: the pid is its). */
function killUnready(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // it exited already
  }
}

function signal(pid: number | undefined, token: string, sig: NodeJS.Signals): boolean {
  if (!pid || !isWatchdog(pid, token)) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Wait until the watchdog for `token` is gone, up to `ms`. True when it is. */
export async function waitWatchdogGone(pid: number | undefined, token: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (isWatchdog(pid, token)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
