// Every exit code the tool returns, and the one place errors are mapped to them.
import { SystemError, UserError } from './errors.js';

export const EXIT = {
  /** Success; for plan and check: nothing to change / valid. */
  OK: 0,
  /** Bad input, bad options, no permission, or a failure before anything changed. */
  ERROR: 1,
  /** plan: changes are pending. */
  CHANGES: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UserError || err instanceof SystemError) return EXIT.ERROR;
  return EXIT.ERROR;
}

/** True when the error is expected (a user's mistake or a reported system failure): no stack trace. */
export function isReportable(err: unknown): err is UserError | SystemError {
  return err instanceof UserError || err instanceof SystemError;
}
