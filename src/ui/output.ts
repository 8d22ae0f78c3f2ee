// Where a command's words go: data and results to stdout, notes and warnings to stderr, so
// that `check --canonical > file` or `plan --json | jq` get only the data.
//
// Under systemd, when stderr is the journal (JOURNAL_STREAM names stderr's device and inode,
// as systemd.exec(5) says to check), every stderr line starts with a syslog priority marker —
// `<3>` error, `<4>` warning, `<6>` info — so that journald records each line's priority
// (`journalctl -p warning` shows the warnings and errors of a reconcile timer).
import { fstatSync } from 'node:fs';

export interface Output {
  /** Data the user asked for (a ruleset, JSON): stdout, verbatim. */
  print(text: string): void;
  /** A one-line result (suppressed by --quiet): stdout. */
  result(line: string): void;
  /** How the result was obtained (suppressed by --quiet): stderr. */
  note(line: string): void;
  /** Detail for --verbose: stderr. */
  verbose(line: string): void;
  /** Something the user should know: stderr, always. */
  warn(line: string): void;
  /** A failure: stderr, always. */
  error(line: string): void;
}

export type Priority = 'err' | 'warning' | 'info';

const SYSLOG_LEVEL: Record<Priority, number> = { err: 3, warning: 4, info: 6 };

/** True when our stderr is connected to the journal (not merely started under systemd). */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(2, { bigint: true });
    return st.dev === BigInt(m[1]) && st.ino === BigInt(m[2]);
  } catch {
    return false;
  }
}

let journal: boolean | undefined;

/** Text for stderr: `PROG: …` (the first line), each line with its priority marker when stderr is the journal. */
export function stderrText(prog: string, text: string, priority: Priority, toJournal?: boolean): string {
  return stderrRaw(`${prog}: ${text}`, priority, toJournal);
}

/** Text that already names its place (`FILE:LINE: reason`): only the priority markers are added. */
export function stderrRaw(text: string, priority: Priority, toJournal = (journal ??= stderrIsJournal())): string {
  const mark = toJournal ? `<${SYSLOG_LEVEL[priority]}>` : '';
  return text
    .split('\n')
    .map((l) => `${mark}${l}\n`)
    .join('');
}

export function consoleOutput(opts: { quiet?: boolean; verbose?: boolean }, prog: string): Output {
  const err = (line: string, p: Priority) => process.stderr.write(stderrText(prog, line, p));
  return {
    print: (text) => process.stdout.write(text),
    result: (line) => {
      if (!opts.quiet) process.stdout.write(line + '\n');
    },
    note: (line) => {
      if (!opts.quiet) err(line, 'info');
    },
    verbose: (line) => {
      if (opts.verbose) err(line, 'info');
    },
    warn: (line) => err(line, 'warning'),
    error: (line) => err(line, 'err'),
  };
}
