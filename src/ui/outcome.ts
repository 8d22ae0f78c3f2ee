// How a transaction's outcome is told (stdout/stderr) and which exit code it gives: shared by
// every command that changes the kernel, so it lives here, not in one verb.
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Outcome } from '../apply/transaction.js';
import type { Output } from './output.js';

export function report(outcome: Outcome, out: Output): ExitCode {
  switch (outcome.result) {
    case 'nothing-to-do':
      out.result('nothing to do: the live ruleset already matches the target');
      return EXIT.NOTHING_TO_DO;
    case 'applied':
      out.result(`applied: ${outcome.summary} (snapshot ${outcome.snapshot}${outcome.attempts > 1 ? `, ${outcome.attempts} rounds: ${outcome.repairs?.join('; ') || 'Docker changed its rules meanwhile'}` : ''})`);
      return EXIT.OK;
    case 'rolled-back':
      out.error(`FAILED and rolled back to snapshot ${outcome.snapshot}: ${outcome.error}`);
      out.error('the firewall is as it was before this run');
      return EXIT.ROLLED_BACK;
    case 'rollback-failed':
      out.error('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
      out.error(`APPLY FAILED AND ROLLBACK FAILED: the firewall is in an unknown state.`);
      out.error(`  apply error:    ${outcome.error}`);
      out.error(`  rollback error: ${outcome.rollbackError}`);
      out.error(`  snapshot:       ${outcome.snapshot}`);
      out.error('  restore it by hand with:');
      for (const c of outcome.restoreCommands) out.error(`    ${c}`);
      out.error('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
      return EXIT.ROLLBACK_FAILED;
  }
}
