// The twin: `iptables-safe-restore [OPTIONS] [FILE]` with no command word does the job of
// `iptables-restore [OPTIONS] [FILE]`, with its options (twin-args.ts), but Docker-safe: the
// file is parsed, stripped of what Docker (and other preserved owners) own, merged with the
// live owned chains and rules, and applied through the transaction (lock, snapshot, verify,
// rollback). Silent on success, as iptables-restore is; -v says what was done. Exit status:
// exit-codes.ts twinExitCode (0 success, 1 failure, 5 rollback failed).
//
//   (no -n)  the file replaces the user's part of each table it names; others are untouched
//   -n       the file's commands act on the live ruleset as with iptables-restore --noflush
//            (parse.ts `base`); what the user does not own is never removed
//   -t       everything up to `iptables-restore --noflush --test` of what would be written
//   -T NAME  only that table of the file
//   -c       rule counters from the file, for the rules this run writes
// An empty input (or only comments) changes nothing and succeeds, as with iptables-restore
// (an empty rules.v6 saved on a host without IPv6 rules).
import { isTableName, type Family } from '../core/model.js';
import { pipelineArgs } from '../command-options.js';
import { rulesetLimit } from '../core/limits.js';
import { preflightInputs } from '../io/input.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { DEFAULT_LOCK_FILE } from '../io/lock.js';
import { DEFAULT_STATE_DIR } from '../io/state.js';
import { validateOnly, type FamilyInput } from '../apply/transaction.js';
import { parseTwinArgs, VERBS, type TwinArgs } from '../twin-args.js';
import { consoleOutput } from '../ui/output.js';
import { VERSION } from '../version.js';
import { transact } from './transact.js';

/** Seconds to wait for the tool's own lock when -w is not given (a timer's reconcile may hold it briefly). */
export const TWIN_LOCK_WAIT = 60;

export async function twinCommand(argv: string[], g: { family: Family; prog: string }): Promise<ExitCode> {
  const a = parseTwinArgs(argv);
  // silent on success, like iptables-restore: the result line and notes only with -v
  const out = consoleOutput({ quiet: a.quiet || !a.verbose, verbose: a.verbose && !a.quiet }, g.prog);
  if (a.help) {
    out.print(twinHelp(g.prog, a.family ?? g.family));
    return EXIT.OK;
  }
  if (a.version) {
    out.print(`${VERSION}\n`);
    return EXIT.OK;
  }
  if (a.table !== undefined && !isTableName(a.table)) throw new UsageError(`-T: unknown table '${a.table}' (raw, mangle, filter, nat or security)`);
  const input = await twinInput(a, a.family ?? g.family);
  const say = (l: string) => out.warn(l);
  if (a.test) {
    const r = await validateOnly([input], say);
    out.result(`${input.file ?? '<stdin>'}: valid; ${r.changes ? `would change ${r.summary}` : 'nothing would change'}`);
    return EXIT.OK;
  }
  const lockWait = a.lockWait ?? (a.wait === 'forever' ? Infinity : (a.wait ?? TWIN_LOCK_WAIT));
  // as apply: a change awaiting confirmation refuses us (or --force confirms it); --confirm arms one
  const flags = { confirm: a.confirm, force: a.force, files: [a.file ?? '-'], netns: input.netns, dockerSocket: input.dockerSocket, preserve: input.preserve, wait: input.wait };
  const tx = {
    stateDir: input.stateDir!, lockFile: a.lockFile ?? DEFAULT_LOCK_FILE, lockWait, keep: 20,
    reason: `restore${a.noflush ? ' --noflush' : ''} ${input.file ?? '<stdin>'}`, say,
  };
  return transact(flags, tx, () => [input], 'restore', out);
}

async function twinInput(a: TwinArgs, family: Family): Promise<FamilyInput> {
  const base = await pipelineArgs({ file: a.file, backend: a.backend, dockerSocket: a.dockerSocket, preserve: a.preserve, config: a.config, netns: a.netns, force: a.force }, family);
  // before the lock: a FIFO or a device refused, stdin read (bounded) now — io/input.ts
  preflightInputs([{ path: a.file, limit: rulesetLimit(base.maxRulesetSize) }]);
  return {
    ...base, family, canonical: 'auto', stateDir: a.stateDir ?? DEFAULT_STATE_DIR,
    wait: typeof a.wait === 'number' ? a.wait : undefined, waitInterval: a.waitInterval, modprobe: a.modprobe,
    counters: a.counters, noflush: a.noflush, tables: a.table ? [a.table] : undefined, allowEmpty: true,
  };
}

export function twinHelp(prog: string, family: Family): string {
  const tool = family === 'ipv4' ? 'iptables' : 'ip6tables';
  return `Usage: ${prog} [-c] [-v] [-V] [-t] [-h] [-n] [-w [SECONDS]] [-W USECS] [-T table] [-M command] [-4] [-6] [FILE]
       ${prog} COMMAND [options]      (${VERBS.filter((v) => v !== 'completion').join(' ')}; COMMAND --help)

Without a command, does the job of ${tool}-restore: loads FILE (or stdin, or -) — Docker-safe. What Docker
(and any --preserve'd owner) owns is stripped from FILE, its live chains and rules are kept, and only your
part is written, verified, and rolled back on failure.

  -c, --counters            restore rule counters from FILE (for the rules this run writes)
  -n, --noflush             do not flush: FILE's commands act on the live rules, as ${tool}-restore --noflush;
                            what you do not own is never removed
  -t, --test                parse, strip, merge and test (${tool}-restore --test of what would be written); change nothing
  -v, --verbose             say what was done
  -V, --version             print the version
  -h, --help                this help
  -w, --wait [SECONDS]      wait for the xtables lock (and for this tool's lock; default ${TWIN_LOCK_WAIT} s, without SECONDS: forever)
  -W, --wait-interval USECS passed to ${tool}-restore
  -T, --table NAME          restore only this table of FILE
  -M, --modprobe COMMAND    passed to ${tool}-restore
  -4, -6                    IPv4 / IPv6 rules (default: from the program name)
      --backend auto|nft|legacy --state-dir DIR --docker-socket PATH --preserve NAME --config FILE
      --netns NAME --lock-wait SECONDS --lock-file FILE --force --quiet --confirm[=DURATION]   (see '${prog} apply --help')

Exit status: 0 success (also when nothing had to change), 1 failure (nothing changed, or rolled back),
5 failed and the rollback failed too (loud; the firewall is in an unknown state).
Docs: man iptables-safe-restore, or README.md.
`;
}
