// A transaction as the commands that change the kernel run it (apply, rollback, the twin;
// stop and reconcile through pendingGuard), with the rules of apply --confirm around it:
//
//   a pending change whose watchdog is gone ──▶ rolled back first (and reported)
//   a pending change being watched ──▶ refused, exit 8; --force confirms it, then goes on
//   --confirm[=DURATION] ──▶ once verified, a watchdog is armed (apply/confirm.ts); the
//                            deadline and the confirm command are printed; a prompt on a
//                            terminal (confirm-prompt.ts)
import { resolve } from 'node:path';
import type { Family } from '../core/model.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { armOnApplied, confirmWindow, refuseWhilePending, rollbackOrphan } from '../apply/confirm.js';
import { runTransaction, type FamilyInput, type TransactionOptions } from '../apply/transaction.js';
import { withLock } from '../io/lock.js';
import { clearPending, type PendingConfirmation } from '../io/pending.js';
import { nudgeWatchdog } from '../io/watchdog.js';
import { checkStateDir } from '../io/state.js';
import type { Output } from '../ui/output.js';
import { report } from '../ui/outcome.js';
import { afterArmed } from './confirm-prompt.js';

export interface ConfirmFlags {
  /** --confirm: '' when given bare (the default window), else a duration. */
  confirm?: string;
  /** --force: confirm a pending change, then go on. */
  force?: boolean;
  /** The files read (a ruleset read from the terminal rules out the prompt). */
  files?: string[];
  netns?: string;
  dockerSocket?: string;
  preserve?: string[];
  wait?: number;
}

type Tx = Omit<TransactionOptions, 'inputs' | 'guard' | 'onApplied' | 'settle'>;

export async function transact(flags: ConfirmFlags, tx: Tx, inputs: () => Promise<FamilyInput[]> | FamilyInput[], what: string, out: Output): Promise<ExitCode> {
  const ms = flags.confirm === undefined ? undefined : confirmWindow(flags.confirm);
  let armed: PendingConfirmation | undefined;
  checkStateDir(tx.stateDir); // before anything is written (an orphan's rollback included)
  // Everything decided from state (an orphan, the inputs: a snapshot, a saved plan's live
  // digest) is read holding the lock, the transaction included; the prompt is not.
  const code = await withLock(tx.lockFile, tx.lockWait, async () => {
    const orphan = await rollbackOrphan(tx.stateDir, { lockWait: tx.lockWait, say: tx.say });
    if (orphan) {
      const code = report(orphan, out);
      if (code !== EXIT.OK && code !== EXIT.NOTHING_TO_DO) return code;
    }
    const ins = await inputs();
    const families: Family[] = ins.map((i) => i.family);
    // paths absolute: the watchdog runs from /
    const abs = (p?: string) => (p === undefined ? undefined : resolve(p));
    const rollback = { netns: abs(flags.netns), dockerSocket: abs(flags.dockerSocket), preserve: flags.preserve, wait: flags.wait, lockFile: resolve(tx.lockFile), keep: tx.keep };
    const onApplied = ms === undefined ? undefined : armOnApplied({ ms, stateDir: tx.stateDir, families, rollback }, (p) => (armed = p));
    // a signal after the watchdog was armed rolls the writes back: the pending change goes with them
    const disarm = () => {
      if (!armed) return;
      clearPending(tx.stateDir);
      nudgeWatchdog(armed.watchdogPid, armed.token);
      armed = undefined;
    };
    const outcome = await runTransaction({ ...tx, inputs: ins, guard: refuseWhilePending(tx.stateDir, { force: flags.force, by: `${what} --force`, say: tx.say }), onApplied, disarm });
    const code = report(outcome, out);
    if (ms !== undefined && outcome.result === 'nothing-to-do') out.warn('nothing changed: nothing to confirm');
    return code;
  });
  return armed && code === EXIT.OK ? afterArmed(armed, { stateDir: tx.stateDir, lockWait: tx.lockWait, files: flags.files }, out) : code;
}

/**
 * For the commands that change the kernel without arming a confirmation (stop, reconcile; they
 * call it holding the lock): a pending change whose watchdog is gone is rolled back first (reported); the
 * returned guard, run under the lock, refuses while a watched change is pending (exit 8; the
 * twin answers 1), or with --force confirms it first.
 */
export async function pendingGuard(
  tx: { stateDir: string; lockWait: number; say: (l: string) => void },
  o: { force?: boolean; what: string },
  out: Output,
): Promise<{ guard: TransactionOptions['guard']; failed?: ExitCode }> {
  const orphan = await rollbackOrphan(tx.stateDir, { lockWait: tx.lockWait, say: tx.say });
  const code = orphan ? report(orphan, out) : EXIT.OK;
  const failed = code !== EXIT.OK && code !== EXIT.NOTHING_TO_DO ? code : undefined;
  return { guard: refuseWhilePending(tx.stateDir, { force: o.force, by: `${o.what} --force`, say: tx.say }), failed };
}
