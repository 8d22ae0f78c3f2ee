// What a command that changed the kernel with --confirm says and does once the watchdog is
// armed: the deadline and the exact confirm command, then — only when stdin and stdout are a
// terminal — a prompt that accepts only `yes`:
//
//   yes               confirmed (as `confirm` would), exit 0
//   anything else     rolled back at once (the operator said no, or mistyped), exit 10
//   end of input      left to the watchdog (exit 0): it rolls back at the deadline unless
//                     `confirm` runs; a dropped SSH session kills us with SIGHUP instead, and
//                     the watchdog, in a session of its own, is not touched
//   the deadline      the watchdog rolls back; we wait for it and report, exit 10
//
// The prompt never holds up the watchdog: it is a separate process with its own clock.
import { formatDuration } from '../core/duration.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { confirmCommandLine, confirmPending, lastResolution, rollbackPending, settledBy } from '../apply/confirm.js';
import { msLeft, type PendingConfirmation } from '../io/pending.js';
import { ask, isInteractive } from '../io/prompt.js';
import type { Output } from '../ui/output.js';
import { report } from '../ui/outcome.js';

export async function afterArmed(p: PendingConfirmation, o: { stateDir: string; lockWait: number; files?: string[] }, out: Output): Promise<ExitCode> {
  out.warn(`AWAITING CONFIRMATION: rolled back to snapshot ${p.snapshot} at ${p.deadline} (in ${formatDuration(msLeft(p))}) unless confirmed`);
  out.warn(`  confirm from a NEW login (proof that you can still get in): ${confirmCommandLine(o.stateDir)}`);
  // a ruleset read from the terminal has used it up: no prompt then
  if (!isInteractive() || (o.files ?? []).includes('-')) return EXIT.OK;
  const answer = await ask(`Type 'yes' within ${formatDuration(msLeft(p))} to keep these rules (anything else rolls them back now): `, msLeft(p));
  const say = (l: string) => out.warn(l);
  if (answer.kind === 'eof') {
    out.warn(`no answer: left to the watchdog (pid ${p.watchdogPid}): rolled back at ${p.deadline} unless confirmed`);
    return EXIT.OK;
  }
  if (answer.kind === 'line' && answer.text === 'yes') {
    const r = await confirmPending(o.stateDir, { lockWait: o.lockWait || 10, by: 'yes at the prompt', say });
    if (r.result === 'confirmed') {
      out.result('confirmed: the new rules stay');
      return EXIT.OK;
    }
  } else if (answer.kind === 'line') {
    out.warn(`'${answer.text}' is not 'yes': rolling back to snapshot ${p.snapshot} now`);
    const r = await rollbackPending(o.stateDir, p, { why: `refused at the prompt ('${answer.text}')`, lockWait: o.lockWait || 10, say, evenIfWatched: true });
    if (r !== 'settled') {
      const code = report(r, out);
      return code === EXIT.OK || code === EXIT.NOTHING_TO_DO ? EXIT.NOT_CONFIRMED : code;
    }
  }
  await settledBy(o.stateDir, p, 60_000);
  const last = lastResolution(o.stateDir);
  out.warn(last?.result === 'not-confirmed' ? `not confirmed in time: ${last.summary}` : `the change was settled by another run: ${last?.summary ?? 'see history'}`);
  return last?.result === 'confirmed' ? EXIT.OK : EXIT.NOT_CONFIRMED;
}
