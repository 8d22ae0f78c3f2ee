// Where a command's words go: data and results to stdout, notes and warnings to stderr, so
// that `check --canonical > file` or `plan --json | jq` get only the data.
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
}

export function consoleOutput(opts: { quiet?: boolean; verbose?: boolean }, prog: string): Output {
  const err = (line: string) => process.stderr.write(`${prog}: ${line}\n`);
  return {
    print: (text) => process.stdout.write(text),
    result: (line) => {
      if (!opts.quiet) process.stdout.write(line + '\n');
    },
    note: (line) => {
      if (!opts.quiet) err(line);
    },
    verbose: (line) => {
      if (opts.verbose) err(line);
    },
    warn: err,
  };
}
