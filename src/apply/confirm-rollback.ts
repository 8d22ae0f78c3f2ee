// Rolling back a change that was not confirmed (apply/confirm.ts): the same path as `rollback
// SNAPSHOT` — the snapshot's user-owned parts merged with the Docker rules live NOW, as a
// transaction of its own (snapshotted, verified, journaled) — plus, under the same lock, the
// pending state cleared and a "not-confirmed" journal entry with how long after the deadline
// the rollback had finished.
import { appendJournal, currentUser } from '../io/journal.js';
import { clearPending, msLeft, readPending, watched, type PendingConfirmation } from '../io/pending.js';
import { nudgeWatchdog } from '../io/watchdog.js';
import { snapshotInputs } from '../commands/snapshot-input.js';
import { buildTarget } from '../pipeline.js';
import { runTransaction, type Outcome } from './transaction.js';

/** The change was settled by someone else meanwhile (confirmed, rolled back, or its watchdog is on it). */
class Settled extends Error {}

export interface PendingRollbackOptions {
  /** Why, for the journal: "not confirmed by the deadline", "refused at the prompt". */
  why: string;
  lockWait: number;
  say: (line: string) => void;
  /** Roll back even though its watchdog is alive (the watchdog itself, a refusal at the prompt). */
  evenIfWatched?: boolean;
  /** How long after the deadline it is (ms), as the caller's monotonic clock says (default: the wall clock's). */
  lagMs?: () => number;
  /** The watchdog: its rollback goes on whatever signal arrives (it handles them itself). */
  uninterruptible?: boolean;
}

/**
 * Work out the rollback's target once, well before the deadline, and throw it away: what is
 * slow in it (the kernel's canonical form of the snapshot's user part, from a throwaway
 * namespace) is cached in the state directory, so at the deadline the rollback is one plan
 * and the writes. Changes nothing; failures only cost time later.
 */
export async function warmRollback(stateDir: string, p: PendingConfirmation): Promise<void> {
  const { netns, dockerSocket, preserve, wait } = p.rollback;
  try {
    for (const input of snapshotInputs(stateDir, p.snapshot, { netns, dockerSocket, preserve, wait, stateDir }).inputs) await buildTarget(input);
  } catch {
    // the rollback itself will say what is wrong
  }
}

/** Roll `p` back; 'settled' when, under the lock, it turned out to be no longer ours to roll back. */
export async function rollbackPending(stateDir: string, p: PendingConfirmation, o: PendingRollbackOptions): Promise<Outcome | 'settled'> {
  const { netns, dockerSocket, preserve, wait, lockFile, keep } = p.rollback;
  const { inputs } = snapshotInputs(stateDir, p.snapshot, { netns, dockerSocket, preserve, wait, stateDir });
  try {
    return await runTransaction({
      inputs, stateDir, lockFile, lockWait: o.lockWait, keep, reason: `not confirmed: rollback to ${p.snapshot}`, say: o.say, uninterruptible: o.uninterruptible,
      guard: async () => {
        const q = readPending(stateDir);
        if (!q || q.token !== p.token || (!o.evenIfWatched && watched(q))) throw new Settled();
      },
      settle: (outcome) => {
        if (outcome.result !== 'applied' && outcome.result !== 'nothing-to-do') return;
        clearPending(stateDir);
        const lagMs = o.lagMs?.() ?? -msLeft(p);
        appendJournal(stateDir, {
          time: new Date().toISOString(), id: p.snapshot, result: 'not-confirmed', user: currentUser(), pid: process.pid, command: process.argv.slice(1).join(' '),
          families: p.families, snapshot: p.snapshot, lagMs,
          summary: `change of ${p.appliedAt} by ${p.user} ${o.why}: rolled back to snapshot ${p.snapshot}, ${lagMs} ms ${lagMs >= 0 ? 'after' : 'before'} its deadline ${p.deadline}`,
        });
        if (p.watchdogPid !== process.pid) nudgeWatchdog(p.watchdogPid, p.token);
      },
    });
  } catch (e) {
    if (e instanceof Settled) return 'settled';
    throw e;
  }
}

/**
 * Before a command that changes the kernel (and `recover` at boot): a change awaiting
 * confirmation whose watchdog is gone — killed, or the host restarted — is rolled back now,
 * whatever its deadline. Undefined when there is none.
 */
export async function rollbackOrphan(stateDir: string, o: { lockWait: number; say: (line: string) => void }): Promise<Outcome | undefined> {
  const p = readPending(stateDir);
  if (!p || watched(p)) return undefined;
  o.say(`a change awaiting confirmation (applied ${p.appliedAt} by ${p.user}, deadline ${p.deadline}) has lost its watchdog (killed, or the host restarted): rolling it back to snapshot ${p.snapshot}`);
  const r = await rollbackPending(stateDir, p, { why: 'not confirmed (its watchdog was gone)', lockWait: o.lockWait, say: o.say });
  return r === 'settled' ? undefined : r;
}
