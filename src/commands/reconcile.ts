// `reconcile [FILE]`: for cron and timers — keep the kernel at the ruleset file.
//
//   in sync                      prints nothing, exit 0 (and leaves no journal entry)
//   drifted                      applies (transaction: snapshot, verify, rollback), prints one
//                                summary line, exit 7 (REPAIRED)
//   another run holds the lock   exits quietly (the message only with --verbose), exit 6
//   a change awaits confirmation exits quietly (apply --confirm: not ours to undo), exit 8
//   failed and rolled back       exit 4; the rollback failed too: exit 5, loud
//
// FILE defaults to the configuration's `rules-ipv4` / `rules-ipv6`, else the first that exists
// of the distributions' places (RULES_FILES). Under systemd, stderr lines carry journald
// priorities (ui/output.ts).
import { existsSync } from 'node:fs';
import type { Family } from '../core/model.js';
import type { Config } from '../core/config.js';
import { PendingConfirmationError, UserError } from '../errors.js';
import { EXIT, exitCodeFor, type ExitCode } from '../exit-codes.js';
import { LockedError, withLock } from '../io/lock.js';
import { runTransaction } from '../apply/transaction.js';
import type { PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { report } from '../ui/outcome.js';
import { pendingGuard } from './transact.js';

/** Where the distributions keep the ruleset: RHEL/CentOS (iptables-services), then Debian/Ubuntu (netfilter-persistent). */
export const RULES_FILES: Record<Family, readonly string[]> = {
  ipv4: ['/etc/sysconfig/iptables', '/etc/iptables/rules.v4'],
  ipv6: ['/etc/sysconfig/ip6tables', '/etc/iptables/rules.v6'],
};

export interface ReconcileOptions extends PipelineOptions {
  config: Config;
  stateDir: string;
  lockFile: string;
  lockWait: number;
  keep: number;
}

export async function reconcileCommand(o: ReconcileOptions, out: Output): Promise<ExitCode> {
  const file = o.file ?? defaultRulesFile(o.family, o.config);
  const say = (l: string) => out.warn(l);
  let outcome;
  try {
    // holding the lock from the first look at the state to the end of the transaction
    const r = await withLock(o.lockFile, o.lockWait, async () => {
      // a change awaiting confirmation is the operator's to keep or lose: never "repair" it (exit 8)
      const pending = await pendingGuard({ stateDir: o.stateDir, lockWait: o.lockWait, say }, { what: 'reconcile' }, out);
      if (pending.failed !== undefined) return pending.failed;
      return runTransaction({
        inputs: [{ ...o, file, canonical: 'auto', allowEmpty: true }], stateDir: o.stateDir, lockFile: o.lockFile, lockWait: o.lockWait, keep: o.keep,
        reason: `reconcile ${file}`, quietWhenNothingToDo: true, say, guard: pending.guard,
      });
    });
    if (typeof r === 'number') return r;
    outcome = r;
  } catch (e) {
    if (e instanceof PendingConfirmationError) {
      out.verbose(`${e.message}: not reconciled while a change awaits confirmation`);
      return exitCodeFor(e);
    }
    if (!(e instanceof LockedError)) throw e;
    out.verbose(`${e.message}: that run does the work; nothing done`);
    return exitCodeFor(e);
  }
  switch (outcome.result) {
    case 'nothing-to-do':
      out.verbose(`in sync with ${file}`);
      return EXIT.OK;
    case 'applied':
      out.result(`repaired: the live ruleset had drifted from ${file}: ${outcome.summary} (snapshot ${outcome.snapshot})`);
      return EXIT.REPAIRED;
    default:
      return report(outcome, out);
  }
}

/** The configured ruleset file of the family, else the first of RULES_FILES that exists. */
export function defaultRulesFile(family: Family, config: Config, exists: (path: string) => boolean = existsSync): string {
  const configured = config.rules?.[family];
  if (configured) return configured;
  const found = RULES_FILES[family].find(exists);
  if (!found) {
    throw new UserError(`no ruleset file to reconcile with: none of ${RULES_FILES[family].join(', ')} exists (give FILE, or set rules-${family} in the configuration)`);
  }
  return found;
}
