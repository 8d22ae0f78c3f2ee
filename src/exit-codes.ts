// Every exit code the tool returns, and the one place errors are mapped to them.
import { PendingConfirmationError, SystemError, UserError } from './errors.js';
import { LockedError } from './io/lock.js';

export const EXIT = {
  /** Success: applied; for plan and check: nothing to change / valid. */
  OK: 0,
  /** Bad input, bad options, no permission, or a failure before anything changed. */
  ERROR: 1,
  /** plan: changes are pending. */
  CHANGES: 2,
  /** apply: nothing to do, the live ruleset already matched. */
  NOTHING_TO_DO: 3,
  /** apply: failed after writing, and the host was rolled back to how it was. */
  ROLLED_BACK: 4,
  /** apply: failed, and rolling back failed too: the host is in an unknown state. */
  ROLLBACK_FAILED: 5,
  /** Another run holds the tool's lock. */
  LOCKED: 6,
  /** reconcile: the live ruleset had drifted from the file and was repaired (applied). */
  REPAIRED: 7,
  /** apply/rollback refused: a change is awaiting confirmation (apply --confirm); confirm --status: one is. */
  PENDING_CONFIRMATION: 8,
  /** confirm: nothing is awaiting confirmation. */
  NOTHING_PENDING: 9,
  /** confirm: too late, the change was rolled back; apply --confirm at a terminal: not confirmed, rolled back. */
  NOT_CONFIRMED: 10,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof LockedError) return EXIT.LOCKED;
  if (err instanceof PendingConfirmationError) return EXIT.PENDING_CONFIRMATION;
  return EXIT.ERROR;
}

/**
 * The twin (`iptables-safe-restore [OPTIONS] [FILE]`) answers as iptables-restore does: 0 on
 * success (nothing to do is success too), 1 on failure — the firewall as it was (bad input,
 * a refused rule, the lock held, rolled back). One code is kept: 5, the rollback failed too
 * and the firewall is in an unknown state; a script testing `$? -ne 0` still sees a failure.
 */
export function twinExitCode(code: ExitCode): ExitCode {
  if (code === EXIT.OK || code === EXIT.NOTHING_TO_DO) return EXIT.OK;
  if (code === EXIT.ROLLBACK_FAILED) return EXIT.ROLLBACK_FAILED;
  return EXIT.ERROR;
}

/** True when the error is expected (a user's mistake or a reported system failure): no stack trace. */
export function isReportable(err: unknown): err is UserError | SystemError {
  return err instanceof UserError || err instanceof SystemError;
}
