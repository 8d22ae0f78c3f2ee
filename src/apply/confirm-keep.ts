// Keeping a change that awaits confirmation (apply/confirm.ts): `confirm`, `yes` at the prompt
// and `--force` end here. Before the deadline, under the tool's lock: the pending state goes,
// "confirmed" is journaled, the watchdog is nudged and exits. After it: too late — the
// watchdog rolls back (we wait for it), or, when it is gone, we roll back ourselves.
import { formatDuration } from '../core/duration.js';
import { appendJournal, currentUserAndOrigin, readJournal, type JournalEntry } from '../io/journal.js';
import { acquireLock } from '../io/lock.js';
import { clearPending, msLeft, readPending, watched, type PendingConfirmation } from '../io/pending.js';
import { nudgeWatchdog, waitWatchdogGone } from '../io/watchdog.js';
import { rollbackPending } from './confirm-rollback.js';

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

/** Under the lock: the change stays (journaled; the watchdog told to look again). */
export function settleConfirmed(stateDir: string, p: PendingConfirmation, by: string): void {
  clearPending(stateDir);
  appendJournal(stateDir, {
    time: new Date().toISOString(), id: p.snapshot, result: 'confirmed', user: currentUserAndOrigin(), pid: process.pid, command: process.argv.slice(1).join(' '),
    families: p.families, snapshot: p.snapshot, summary: `change of ${p.appliedAt} confirmed by ${by}, ${formatDuration(msLeft(p))} before its deadline ${p.deadline}`,
  });
  nudgeWatchdog(p.watchdogPid, p.token);
}
