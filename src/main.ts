// Entry point: pick the family from the name we were called by, then either the command table
// (`iptables-safe-restore COMMAND …`, cli.ts) or, when the first word is not a command, the
// iptables-restore twin (`iptables-safe-restore [OPTIONS] [FILE]`, commands/twin.ts). Every
// error becomes a message and an exit code (exit-codes.ts; the twin answers 0/1 as
// iptables-restore does). A user's mistake never shows a stack trace; an internal bug does,
// because then the trace is what helps.
import { lstatSync } from 'node:fs';
import { basename } from 'node:path';
import { formatDiagnostic, ParseError, UsageError } from './errors.js';
import { exitCodeFor, isReportable, twinExitCode, type ExitCode } from './exit-codes.js';
import { refuseOptionsNamingFiles } from './option-words.js';
import { isVerbInvocation } from './twin-args.js';
import { stderrRaw, stderrText } from './ui/output.js';

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
  const twin = !isVerbInvocation(argv);
  let code: ExitCode;
  try {
    // an option reached through a file name (a glob) is never taken: option-words.ts
    if (argv[0] !== '--get-yargs-completions') refuseOptionsNamingFiles(argv, existsHere);
    if (twin) {
      const { twinCommand } = await import('./commands/twin.js');
      code = await twinCommand(argv, { family, prog });
    } else {
      const { runCli } = await import('./cli.js');
      code = await runCli(argv, { family, prog });
    }
  } catch (err) {
    report(err, prog, twin);
    code = exitCodeFor(err);
  }
  return twin ? twinExitCode(code) : code;
}

/** A file (of any kind, a dangling link too) of that name in the current directory. */
function existsHere(name: string): boolean {
  try {
    return lstatSync(name, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false; // ENAMETOOLONG, ENOTDIR: no such file here
  }
}

function report(err: unknown, prog: string, twin: boolean): void {
  const write = (text: string) => process.stderr.write(stderrText(prog, text, 'err'));
  if (err instanceof ParseError) {
    process.stderr.write(stderrRaw(err.diagnostics.map(formatDiagnostic).join('\n'), 'err'));
  } else if (err instanceof UsageError) {
    write(`${err.message}\nTry '${prog} ${twin ? '-h' : '--help'}' for more information.`);
  } else if (isReportable(err)) {
    const detail = 'detail' in err && err.detail ? `\n${err.detail}` : '';
    write(`${err.message}${detail}`);
  } else {
    write(`internal error (please report): ${(err as Error)?.stack ?? String(err)}`);
  }
}
