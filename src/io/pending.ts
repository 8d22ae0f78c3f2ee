// The change awaiting confirmation (`apply --confirm`), on disk in the state directory:
//
//   confirm-pending.json    present from the moment an apply with --confirm has verified its
//                           writes until it is confirmed or rolled back; written atomically,
//                           0600 in the 0700 state directory (state.ts)
//
// It names the snapshot to roll back to, the deadline, the watchdog that will do it (pid and
// a random token the watchdog carries on its command line, so a reused pid is never taken for
// it) and the options the apply ran with, so whoever rolls back (the watchdog, `recover` at
// boot, the next command) works on the same namespace, backend and owners.
//
// Kept free of the process runner: the start-up check of every command reads it.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Family } from '../core/model.js';
import { readStateFile, writeStateFile } from './state.js';

export const PENDING_FILE = 'confirm-pending.json';

export interface PendingConfirmation {
  /** Random; the watchdog is started with `--token TOKEN`, which identifies it in /proc. */
  token: string;
  /** The snapshot taken before the change: what a rollback restores. */
  snapshot: string;
  appliedAt: string;
  /** Absolute time (ISO 8601, UTC) after which the change is rolled back. */
  deadline: string;
  seconds: number;
  families: Family[];
  user: string;
  /** The command that made the change, and its pid. */
  command: string;
  pid: number;
  /** The watchdog's pid, once it has said it is armed. */
  watchdogPid?: number;
  /** How to roll back: the options the change was made with. */
  rollback: PendingRollback;
}

export interface PendingRollback {
  netns?: string;
  dockerSocket?: string;
  preserve?: string[];
  wait?: number;
  lockFile: string;
  keep: number;
}

export function readPending(stateDir: string): PendingConfirmation | undefined {
  try {
    const text = readStateFile(stateDir, PENDING_FILE);
    return text ? (JSON.parse(text) as PendingConfirmation) : undefined;
  } catch {
    return undefined;
  }
}

export function writePending(stateDir: string, p: PendingConfirmation): void {
  writeStateFile(stateDir, PENDING_FILE, JSON.stringify(p, null, 2) + '\n');
}

export function clearPending(stateDir: string): void {
  rmSync(join(stateDir, PENDING_FILE), { force: true });
}

/** Milliseconds from `now` to the deadline (negative once it has passed). */
export function msLeft(p: PendingConfirmation, now: Date = new Date()): number {
  return Date.parse(p.deadline) - now.getTime();
}

/** Is `pid` our watchdog for this token? Its command line says so; a dead or reused pid does not. */
export function isWatchdog(pid: number | undefined, token: string): boolean {
  if (!pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('__watchdog') && argv.includes(token);
  } catch {
    return false;
  }
}

/** The pending change's watchdog is alive. */
export function watched(p: PendingConfirmation): boolean {
  return isWatchdog(p.watchdogPid, p.token);
}
