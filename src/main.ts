// Entry point: pick the family from the name we were called by, run the command table, and
// turn every error into a message and an exit code (exit-codes.ts). A user's mistake never
// shows a stack trace; an internal bug does, because then the trace is what helps.
import { basename } from 'node:path';
import { runCli, UsageError } from './cli.js';
import { formatDiagnostic, ParseError } from './errors.js';
import { exitCodeFor, isReportable } from './exit-codes.js';

export async function main(argv: string[], invokedAs: string): Promise<number> {
  const prog = basename(invokedAs);
  // A reader that goes away (`| head`) ends our output, not the program with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const family = prog.startsWith('ip6tables') ? 'ipv6' : 'ipv4';
  try {
    return await runCli(argv, { family, prog });
  } catch (err) {
    if (err instanceof ParseError) {
      for (const d of err.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
    } else if (err instanceof UsageError) {
      process.stderr.write(`${prog}: ${err.message}\nTry '${prog} --help'.\n`);
    } else if (isReportable(err)) {
      const detail = 'detail' in err && err.detail ? `\n${err.detail}` : '';
      process.stderr.write(`${prog}: ${err.message}${detail}\n`);
    } else {
      process.stderr.write(`${prog}: internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
    }
    return exitCodeFor(err);
  }
}
