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
import { appendJournal, currentUser, readJournal, type JournalEntry } from '../io/journal.js';
import { acquireLock } from '../io/lock.js';
import { DEFAULT_STATE_DIR } from '../io/state.js';
import { clearPending, msLeft, readPending, watched, writePending, type PendingConfirmation, type PendingRollback } from '../io/pending.js';
import { nudgeWatchdog, startWatchdog, waitWatchdogGone } from '../io/watchdog.js';
import { rollbackPending } from './confirm-rollback.js';

export { rollbackOrphan, rollbackPending, warmRollback } from './confirm-rollback.js';

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
      seconds: req.ms / 1000, families: req.families, user: who(), command: process.argv.slice(1).join(' '), pid: process.pid, rollback: req.rollback,
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

export type ConfirmResult =
  | { result: 'confirmed'; pending: PendingConfirmation; watchdogGone: boolean }
  | { result: 'nothing' }
  | { result: 'too-late'; last?: JournalEntry; failed?: string };

/** `confirm`: keep the pending change, if its deadline has not passed. */
export async function confirmPending(stateDir: string, o: { lockWait: number; by: string; say: (l: string) => void }): Promise<ConfirmResult> {
  const first = readPending(stateDir);
  if (!first) return resolved(stateDir);
  if (msLeft(first) > 0) {
    const lock = await acquireLock(first.rollback.lockFile, o.lockWait);
    let p: PendingConfirmation | undefined;
    let confirmed = false;
    try {
      p = readPending(stateDir);
      if (p && msLeft(p) > 0) {
        settleConfirmed(stateDir, p, o.by);
        confirmed = true;
      }
    } finally {
      await lock.release();
    }
    if (!p) return resolved(stateDir);
    if (confirmed) return { result: 'confirmed', pending: p, watchdogGone: await waitWatchdogGone(p.watchdogPid, p.token, 3000) };
  }
  return tooLate(stateDir, o.say);
}

/** The deadline has passed: the watchdog rolls back (we wait for it), or, when it is gone, we do. */
async function tooLate(stateDir: string, say: (l: string) => void): Promise<ConfirmResult> {
  const p = readPending(stateDir);
  if (p && watched(p)) await settledBy(stateDir, p, 60_000);
  else if (p) {
    say(`its watchdog is gone: rolling back to snapshot ${p.snapshot} now`);
    const r = await rollbackPending(stateDir, p, { why: 'not confirmed by the deadline (its watchdog was gone)', lockWait: 30, say });
    if (r !== 'settled' && r.result !== 'applied' && r.result !== 'nothing-to-do') return { result: 'too-late', failed: r.result };
  }
  const still = readPending(stateDir);
  return { result: 'too-late', last: lastResolution(stateDir), ...(still ? { failed: 'the change is still pending' } : {}) };
}

/** Wait until the change `p` is settled by someone else (its watchdog), up to `ms`. */
export async function settledBy(stateDir: string, p: PendingConfirmation, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    const q = readPending(stateDir);
    if (!q || q.token !== p.token) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

function resolved(stateDir: string): ConfirmResult {
  const last = lastResolution(stateDir);
  return last?.result === 'not-confirmed' ? { result: 'too-late', last } : { result: 'nothing' };
}

/** The newest of: a change applied, confirmed, or rolled back for want of confirmation. */
export function lastResolution(stateDir: string): JournalEntry | undefined {
  return readJournal(stateDir).reverse().find((e) => e.result === 'applied' || e.result === 'confirmed' || e.result === 'not-confirmed');
}

/** Under the lock: the change stays. */
function settleConfirmed(stateDir: string, p: PendingConfirmation, by: string): void {
  clearPending(stateDir);
  appendJournal(stateDir, {
    time: new Date().toISOString(), id: p.snapshot, result: 'confirmed', user: who(), pid: process.pid, command: process.argv.slice(1).join(' '),
    families: p.families, snapshot: p.snapshot, summary: `change of ${p.appliedAt} confirmed by ${by}, ${formatDuration(msLeft(p))} before its deadline ${p.deadline}`,
  });
  nudgeWatchdog(p.watchdogPid, p.token);
}

/** The user, and where they logged in from (SSH_CONNECTION), for the journal and status. */
export function who(): string {
  const from = process.env.SSH_CONNECTION?.split(' ')[0];
  return `${currentUser()}${from ? ` from ${from}` : ''}`;
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
