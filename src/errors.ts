// Typed errors. Each kind of failure the tool reports has a class here; exit-codes.ts maps
// them to exit codes in one place. A user's mistake is reported as a message, never a stack.

/** One located problem in an input file. */
export interface Diagnostic {
  file: string;
  line: number;
  reason: string;
  /** The offending token, when one can be named. */
  token?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const near = d.token !== undefined && !d.reason.includes(`'${d.token}'`) ? ` (at '${d.token}')` : '';
  return `${d.file}:${d.line}: ${d.reason}${near}`;
}

/** Base class for errors caused by what the user gave us (bad input, bad options). */
export class UserError extends Error {}

/** The input ruleset is invalid; carries every problem found, in line order. */
export class ParseError extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}

/** A bad option or argument on the command line. */
export class UsageError extends UserError {}

/** An input file cannot be read or is not safe to read (permissions, ownership). */
export class InputError extends UserError {}

/** Something outside the user's control failed: a process, the kernel, a namespace. */
export class SystemError extends Error {
  constructor(message: string, readonly detail?: string) {
    super(message);
  }
}

/** The operation needs root (or CAP_NET_ADMIN) and we do not have it. */
export class PermissionError extends UserError {}

/** A change is awaiting confirmation (apply --confirm): a command that would change the kernel refuses. */
export class PendingConfirmationError extends UserError {}

/**
 * A piece of input (a file name, an argument) as a message may show it: control characters as
 * `?` (one line stays one line), at most `max` characters. A root tool may be handed any file.
 */
export function clip(s: string, max = 80): string {
  const flat = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
