// apply --confirm: a change that undoes itself unless someone confirms it in time.
//
//   transaction verified ──arm──▶ confirm-pending.json (io/pending.ts) + a detached watchdog
//     ├─ `confirm` before the deadline, from any login ──▶ pending removed, journal
//     │   "confirmed", watchdog nudged: it exits
//     └─ the deadline (or SIGTERM to the watchdog) ──▶ the watchdog rolls back to the snapshot:
//         its user-owned parts merged with the CURRENT Docker rules, journal "not-confirmed"
//   watchdog gone (kill -9, reboot) ──▶ recover / apply / rollback roll the change back
//   (rollbackOrphan); read-only commands warn
//
// The API for the commands that change the kernel (apply, rollback; later the twin and
// reconcile): `armOnApplied` is a transaction's onApplied hook, `refuseWhilePending` its guard,
// `rollbackOrphan` runs before it. Every change of confirm-pending.json happens under the
// tool's lock, so `confirm` and the watchdog's rollback never both win: whichever takes the lock
// first decides; the other finds the pending change gone (or its deadline passed) and says so.
import { randomBytes } from 'node:crypto';
import type { Family } from '../core/model.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import { PendingConfirmationError } from '../errors.js';
import { currentUserAndOrigin, type JournalEntry } from '../io/journal.js';
import { DEFAULT_STATE_DIR } from '../io/state.js';
import { clearPending, msLeft, readPending, watched, writePending, type PendingConfirmation, type PendingRollback } from '../io/pending.js';
import { startWatchdog } from '../io/watchdog.js';
import { settleConfirmed } from './confirm-keep.js';

export { rollbackOrphan, rollbackPending, warmRollback } from './confirm-rollback.js';
export { confirmPending, lastResolution, settledBy, type ConfirmResult } from './confirm-keep.js';

export const DEFAULT_CONFIRM = '60s';
const MIN_MS = 1000;
const MAX_MS = 24 * 3_600_000;

/** `--confirm` ('' when given bare) as milliseconds. */
export function confirmWindow(text: string): number {
  return parseDuration(text === '' ? DEFAULT_CONFIRM : text, '--confirm', MIN_MS, MAX_MS);
}

export interface ConfirmRequest {
  ms: number;
  stateDir: string;
  families: Family[];
  rollback: PendingRollback;
  now?: () => Date;
}

/**
 * A transaction's onApplied hook: record the pending change and start its watchdog, still under
 * the lock. If the watchdog does not start, the hook throws and the transaction rolls back: a
 * change the operator asked to be protected is never left unprotected.
 */
export function armOnApplied(req: ConfirmRequest, armed: (p: PendingConfirmation) => void) {
  return async (snapshot: string): Promise<Partial<JournalEntry>> => {
    const now = (req.now ?? (() => new Date()))();
    const p: PendingConfirmation = {
      token: randomBytes(12).toString('hex'), snapshot, appliedAt: now.toISOString(), deadline: new Date(now.getTime() + req.ms).toISOString(),
      seconds: req.ms / 1000, families: req.families, user: currentUserAndOrigin(), command: process.argv.slice(1).join(' '), pid: process.pid, rollback: req.rollback,
    };
    writePending(req.stateDir, p);
    try {
      p.watchdogPid = await startWatchdog(req.stateDir, p.token);
      writePending(req.stateDir, p);
    } catch (e) {
      clearPending(req.stateDir);
      throw e;
    }
    armed(p);
    return { confirmBy: p.deadline };
  };
}

/** A transaction's guard: refuse while a change awaits confirmation; with `force`, confirm it and go on. */
export function refuseWhilePending(stateDir: string, o: { force?: boolean; by: string; say: (l: string) => void }) {
  return async (): Promise<void> => {
    const p = readPending(stateDir);
    if (!p) return;
    const late = msLeft(p) <= 0;
    if (!o.force || late) {
      throw new PendingConfirmationError(
        `${describe(p)}: ` +
          (late
            ? `its deadline has passed and it is being rolled back${watched(p) ? '' : ` (its watchdog is gone: run '${recoverCommandLine(stateDir)}')`}; try again then`
            : `run '${confirmCommandLine(stateDir)}' to keep it, or wait until it is rolled back; --force confirms it and goes on`),
      );
    }
    settleConfirmed(stateDir, p, o.by);
    o.say(`confirmed the change awaiting confirmation (${describeShort(p)}) before going on (--force)`);
  };
}

export function describe(p: PendingConfirmation, now = new Date()): string {
  const left = msLeft(p, now);
  return `a change is awaiting confirmation (${describeShort(p)}): it is rolled back ${left > 0 ? `at ${p.deadline} (in ${formatDuration(left)})` : `since its deadline ${p.deadline}`} unless confirmed`;
}

function describeShort(p: PendingConfirmation): string {
  return `applied ${p.appliedAt} by ${p.user}, snapshot ${p.snapshot}`;
}

/** The exact command that confirms, as the operator should type it. */
export function confirmCommandLine(stateDir: string): string {
  return `iptables-safe-restore confirm${stateDir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${stateDir}`}`;
}

function recoverCommandLine(stateDir: string): string {
  return `iptables-safe-restore recover${stateDir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${stateDir}`}`;
}
